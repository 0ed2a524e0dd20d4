"""Disclosure control of a table of cells (pure).

Primary suppression hides a cell whose incidents or distinct office holders fall under the threshold. Secondary
suppression then makes sure no hidden value can be recovered by subtraction from a margin (the same table asked for
with one dimension fewer): along every dimension, each line of cells holds either no hidden cell or at least two,
adding the next-smallest cell of a line until that holds everywhere. A line of one cell needs no partner: its margin
is the cell itself, so the coarser table suppresses it by the primary rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RawCell:
    """An unprotected cell: exact counts, and the response-time samples behind it."""

    dims: dict[str, str]
    incidents: int
    affected: int
    minutes_to_notification: tuple[float, ...] = field(default=())
    minutes_to_acknowledgement: tuple[float, ...] = field(default=())


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
