"""A private local stack (Kafka + FerretDB) for the fault-injection suite: own state dir, own ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "local" / "stack.sh"


@dataclass(frozen=True)
class PrivateStack:
    """Started, killed and restarted by the suite; never the shared stack on 9092/27017."""

    state_dir: Path
    kafka_port: int
    controller_port: int
    mongo_port: int

    @classmethod
    def from_env(cls) -> PrivateStack:
        return cls(
            state_dir=Path(os.environ.get("WEERBAAR_CHAOS_STATE_DIR", ROOT / ".stack-chaos")),
            kafka_port=int(os.environ.get("WEERBAAR_CHAOS_KAFKA_PORT", "19192")),
            controller_port=int(os.environ.get("WEERBAAR_CHAOS_CONTROLLER_PORT", "19193")),
            mongo_port=int(os.environ.get("WEERBAAR_CHAOS_MONGO_PORT", "27118")),
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def mongodb_uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.mongo_port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEERBAAR_")}
        cache = os.environ.get("WEERBAAR_CACHE_DIR")
        env.update(
            {
                "WEERBAAR_STATE_DIR": str(self.state_dir),
                "WEERBAAR_KAFKA_PORT": str(self.kafka_port),
                "WEERBAAR_KAFKA_CONTROLLER_PORT": str(self.controller_port),
                "WEERBAAR_MONGO_PORT": str(self.mongo_port),
                **({"WEERBAAR_CACHE_DIR": cache} if cache else {}),
            }
        )
        return env

    def run(self, *args: str) -> None:
        done = subprocess.run([str(STACK), *args], env=self._env(), capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"stack.sh {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def up(self) -> None:
        self.run("up")

    def down(self) -> None:
        self.run("down")

    def reset(self) -> None:
        self.run("reset")

    def pid(self, name: str) -> int:
        return int((self.state_dir / "pids" / f"{name}.pid").read_text().strip())

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill Kafka or FerretDB of this stack (by the pid in its own state dir) and wait until it is gone."""
        pid = self.pid(name)
        os.kill(pid, sig)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().split()[2]
            except OSError:
                break
            if state == "Z":  # a zombie of a detached session: gone for our purpose
                break
            time.sleep(0.1)

    def restart(self, name: str) -> float:
        """kill -9 one component and bring it back; returns the seconds it was away."""
        started = time.monotonic()
        self.kill(name)
        port = self.kafka_port if name == "kafka" else self.mongo_port
        deadline = time.monotonic() + 30
        while _port_open(port) and time.monotonic() < deadline:  # the dying JVM may hold its port a moment
            time.sleep(0.2)
        for attempt in range(3):
            try:
                self.up()
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                time.sleep(3)
        return time.monotonic() - started


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0
