"""The population table: how many office holders there are, per role and (where known) gender."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from services.reporting.errors import ReportingError

DEFAULT_PATH = Path(__file__).with_name("population.yaml")


class InvalidPopulation(ReportingError):
    code = "invalid_population"


@dataclass(frozen=True, slots=True)
class Population:
    """``roles[role]["total"]`` and optionally ``roles[role][gender]``."""

    roles: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def of(self, dims: Mapping[str, str]) -> int | None:
        """The population behind a cell, or None when the table does not know it."""
        role, gender = dims.get("role"), dims.get("gender")
        roles = [role] if role else list(self.roles)
        if not roles or any(r not in self.roles for r in roles):
            return None
        key = gender or "total"
        counts = [self.roles[r].get(key) for r in roles]
        if any(c is None for c in counts):
            return None
        total = sum(c for c in counts if c is not None)
        return total or None


def load_population(path: Path | None = None) -> Population:
    """Read the YAML table (``roles: {raadslid: {total: 8700, vrouw: 3000, man: 5700}, ...}``)."""
    raw = yaml.safe_load((path or DEFAULT_PATH).read_text(encoding="utf-8")) or {}
    roles = raw.get("roles")
    if not isinstance(roles, dict):
        raise InvalidPopulation(f"{path}: expected a 'roles' mapping")
    parsed: dict[str, dict[str, int]] = {}
    for role, counts in roles.items():
        if not isinstance(counts, dict) or not all(isinstance(v, int) and v >= 0 for v in counts.values()):
            raise InvalidPopulation(f"{path}: role {role!r} needs non-negative integer counts")
        parsed[str(role)] = {str(k): int(v) for k, v in counts.items()}
    return Population(parsed)
