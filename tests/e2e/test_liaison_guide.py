"""The liaison guide's consumer (docs/liaisons.md), run as written with a gemeente's credentials: it reads only its
own municipality's notifications and its acknowledgement reaches notify."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts.topics import burgemeester_topic
from shared.messaging.kafka_auth import operator_options
from tests.support.auth import headers
from tests.support.docs import example
from tests.support.endpoints import Endpoints
from tests.support.probe import ensure_topics
from tests.support.samples import critical_in
from tests.support.services import RunningServices

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "liaisons.md"
OWN, OTHER = "GM0344", "GM0363"
GROUP = "gemeente-gm0344-liaison"  # as the guide names it
BREAK_GLASS = {"X-Break-Glass-Reason": "liaison guide test: checking the acknowledgement"}


def guide_consumer() -> str:
    """The guide's consumer, as published."""
    return example(GUIDE, "consumer")


async def _group_at_end(bootstrap: str, topic: str) -> None:
    """The guide's group starts at the current end (what earlier runs left is not this test's)."""
    await ensure_topics(bootstrap, [topic])
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False, **operator_options()
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # the topic may be newer than the consumer's first look
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert partitions
        consumer.assign(partitions)
        await consumer.commit(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def test_the_guides_consumer_reads_only_its_own_municipality_and_acknowledges(
    services: RunningServices, endpoints: Endpoints, tmp_path: Path
) -> None:
    await _group_at_end(endpoints.kafka_bootstrap, burgemeester_topic(OWN))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    login = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "weerbaar"), "kafka-credentials", "--principal", "gemeente-gm0344",
        stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    credentials, _ = await asyncio.wait_for(login.communicate(), 60)
    assert login.returncode == 0
    (tmp_path / "kafka-credentials.json").write_bytes(credentials)
    (tmp_path / "liaison.py").write_text(guide_consumer())
    liaison = await asyncio.create_subprocess_exec(
        sys.executable, "liaison.py", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    lines: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as intake:
            others = (await intake.post("/v1/incidents", json=critical_in(OTHER), headers=headers("reporter"))).json()
            own = (await intake.post("/v1/incidents", json=critical_in(OWN), headers=headers("reporter"))).json()
            await asyncio.wait_for(_read_until(liaison, own["case_id"], lines), 120)
            deadline = time.monotonic() + 60
            while True:
                case = (
                    await intake.get(f"/v1/cases/{own['case_id']}", headers={**headers("admin"), **BREAK_GLASS})
                ).json()
                if case["notifications"].get("burgemeester", {}).get("status") == "acknowledged":
                    break
                assert time.monotonic() < deadline, case["notifications"]
                await asyncio.sleep(0.3)
    finally:
        liaison.kill()
        await liaison.wait()
    seen = "\n".join(lines)
    assert own["case_id"] in seen
    assert others["case_id"] not in seen, "another municipality's case reached this gemeente"
    assert "critical" in seen


async def _read_until(process: asyncio.subprocess.Process, case_id: str, lines: list[str]) -> None:
    assert process.stdout is not None
    while line := (await process.stdout.readline()).decode():
        lines.append(line)
        if case_id in line:
            return
    raise AssertionError("the liaison stopped: " + "".join(lines[-20:]))
