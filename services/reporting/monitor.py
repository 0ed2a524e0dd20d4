"""The monitor's published national figures: reference data with their source, shown beside weerbaar's counts."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.reporting.errors import ReportingError

DEFAULT_PATH = Path(__file__).with_name("data") / "monitor.yaml"


class InvalidMonitor(ReportingError):
    code = "invalid_monitor"


class MonitorPoint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    year: int = Field(description="Year of the survey wave (or of the publication that cites the figure)")
    group: str = Field(description="Who was asked: alle, a role (raadslid, ...), a gender, or a kind of incident")
    percent: float = Field(ge=0, le=100)
    approx: bool = Field(default=False, description="The source gives the figure as approximate (~)")
    period: str | None = Field(default=None, description="The period asked about, when not the ~12 months before")


class MonitorSeries(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    source: str
    question: str
    points: tuple[MonitorPoint, ...]

    def of(self, group: str) -> list[MonitorPoint]:
        return sorted((p for p in self.points if p.group == group), key=lambda p: p.year)


class Monitor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    note: str
    series: tuple[MonitorSeries, ...]

    def get(self, series_id: str) -> MonitorSeries | None:
        return next((s for s in self.series if s.id == series_id), None)


def load_monitor(path: Path | None = None) -> Monitor:
    try:
        return Monitor.model_validate(yaml.safe_load((path or DEFAULT_PATH).read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as exc:
        raise InvalidMonitor(f"{path or DEFAULT_PATH}: {exc}") from exc
