"""Disclosure control of a table of cells (pure).

Two methods (docs/reporting.md). ``consistent`` (the default): primary suppression of small cells, and every shown
count randomly rounded to a multiple of ``base`` by a draw that depends only on the secret and on *which* cases (or
office holders) make up the cell, so the same cell gets the same value in every table, query and snapshot, and a
margin minus the shown cells is never an exact value. ``per_table`` is the method it replaced, kept to show the
attacks it allowed (tests/reporting/test_disclosure_attacks.py): exact counts, and per table:

Primary suppression hides a cell whose incidents or distinct office holders fall under the threshold. Secondary
suppression then makes sure no hidden value can be recovered by subtraction from a margin (the same table asked for
with one dimension fewer): along every dimension, each line of cells holds either no hidden cell or at least two,
adding the next-smallest cell of a line until that holds everywhere. A line of one cell needs no partner: its margin
is the cell itself, so the coarser table suppresses it by the primary rule.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Method(StrEnum):
    CONSISTENT = "consistent"
    PER_TABLE = "per_table"


@dataclass(frozen=True, slots=True)
class RawCell:
    """An unprotected cell: exact counts, and the response-time samples behind it."""

    dims: dict[str, str]
    incidents: int
    affected: int
    minutes_to_notification: tuple[float, ...] = field(default=())
    minutes_to_acknowledgement: tuple[float, ...] = field(default=())
    cases: frozenset[str] = field(default=frozenset())
    refs: frozenset[str] = field(default=frozenset())


@dataclass(frozen=True, slots=True)
class Rounding:
    """Random rounding to a multiple of ``base``, unbiased, with the draw keyed by the cell's contributors.

    ``n = base*q + r`` is published as ``base*(q+1)`` with probability ``r/base``, else ``base*q``. The "probability"
    is a keyed hash (HMAC-SHA256 with ``secret``) of the sorted contributors: deterministic, so asking again (or
    asking another table holding the same cell) gives the same value and averaging gains nothing.
    """

    secret: bytes
    base: int = 5

    def draw(self, label: str, contributors: Iterable[str]) -> float:
        message = "\x1f".join([label, *sorted(contributors)]).encode()
        digest = hmac.new(self.secret, message, hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def round(self, n: int, label: str, contributors: Iterable[str]) -> int:
        if self.base <= 1:
            return n
        q, r = divmod(n, self.base)
        if r == 0:
            return n
        return self.base * (q + 1) if self.draw(label, contributors) < r / self.base else self.base * q


def primary(cells: Sequence[RawCell], *, threshold: int) -> set[int]:
    """Indexes of cells with fewer than ``threshold`` incidents or affected office holders."""
    return {i for i, c in enumerate(cells) if c.incidents < threshold or c.affected < threshold}


def _lines(cells: Sequence[RawCell], dimension: str) -> list[list[int]]:
    """Groups of cells that differ only in ``dimension``: they add up to a margin someone can ask for."""
    groups: dict[tuple[tuple[str, str], ...], list[int]] = defaultdict(list)
    for i, cell in enumerate(cells):
        groups[tuple(sorted((k, v) for k, v in cell.dims.items() if k != dimension))].append(i)
    return list(groups.values())


def secondary(cells: Sequence[RawCell], hidden: set[int]) -> set[int]:
    """Extend ``hidden`` until no line along any dimension has exactly one hidden cell.

    A cell that is alone in some line equals a margin of a coarser table, where it would be shown; so the
    complementary cell is preferably one that is not alone in any line, then the smallest.
    """
    hidden = set(hidden)
    dimensions = sorted({k for c in cells for k in c.dims})
    lines = {d: _lines(cells, d) for d in dimensions}
    alone = {line[0] for d in dimensions for line in lines[d] if len(line) == 1}

    def cost(i: int) -> tuple[bool, int, int, list[tuple[str, str]]]:
        return i in alone, cells[i].incidents, cells[i].affected, sorted(cells[i].dims.items())

    changed = True
    while changed:
        changed = False
        for dimension in dimensions:
            for line in lines[dimension]:
                shown = [i for i in line if i not in hidden]
                if len(line) - len(shown) == 1 and shown:
                    hidden.add(min(shown, key=cost))
                    changed = True
    return hidden


def protect(cells: Sequence[RawCell], *, threshold: int) -> set[int]:
    """Indexes of the cells to suppress: primary, then secondary."""
    return secondary(cells, primary(cells, threshold=threshold))
