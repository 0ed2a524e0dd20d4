"""Benchmark settings (``WEERBAAR_BENCH_*`` plus the stack's endpoints)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[1]


class BenchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEERBAAR_", extra="ignore", frozen=True)

    kafka_bootstrap: str = "localhost:9092"
    mongodb_uri: str = "mongodb://localhost:27017"
    mongodb_db: str = "weerbaar"
    intake_port: int = 8081
    bench_records: int = Field(default=1_000, ge=100, description="Cases in the end-to-end run")
    bench_perf_records: int = Field(
        default=200_000, ge=1_000, description="Kafka's Producer/ConsumerPerformance: enough to get past JVM warm-up"
    )
    bench_relay_records: int = Field(default=5_000, ge=100, description="Raw aiokafka producer and both raw relays")
    bench_relay_batch: int = Field(default=500, ge=1, description="Batched relay: most records per getmany")
    bench_store_docs: int = Field(default=2_000, ge=100, description="Store ceiling: ~1 KB documents updated by _id")
    bench_store_clients: int = Field(default=8, ge=1, description="Store ceiling: concurrent clients")
    bench_store_seconds: float = Field(default=10.0, gt=0, description="Store ceiling: seconds per mode")
    bench_http_requests: int = Field(default=500, ge=50)
    bench_http_concurrency: int = Field(default=16, ge=1)
    bench_http_rate: float = Field(default=200.0, gt=0, description="Fixed request rate for the latency target")
    bench_http_seconds: float = Field(default=5.0, gt=0)
    bench_http_deadline_s: float = Field(
        default=5.0, gt=0, description="Fixed-rate phase: a request unanswered by then counts as late"
    )
    bench_backlog: int = Field(default=20_000, ge=0, description="Routine reports in flight for the acute probe")
    bench_backlog_mix: Literal["routine", "feed"] = Field(
        default="routine",
        description="routine: only reports triage rates below high (routine work all through the pipeline); feed: "
        "the synthetic feed as it comes, a third of it rated high and sent down the acute lane beside the probes",
    )
    bench_acute_probes: int = Field(default=20, ge=1)
    bench_timeout_s: float = Field(default=240.0, gt=0, description="Longest wait for one phase")
    state_dir: Path = ROOT / ".stack"
    bench_out: Path = ROOT / ".artifacts" / "bench"
