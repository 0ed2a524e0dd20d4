"""The CSV export of report cells, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from shared.contracts.events import ReportCell

FIGURE_FIELDS = (
    "share_affected",
    "minutes_to_notification_p50",
    "minutes_to_notification_p90",
    "minutes_to_acknowledgement_p50",
    "minutes_to_acknowledgement_p90",
)
# A spreadsheet reads a cell starting with one of these as a formula (or strips it and then does): OWASP CSV injection.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(value: object) -> str:
    """The cell as text; one that a spreadsheet would evaluate gets a leading apostrophe, whatever the vocabulary."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def as_csv(cells: Sequence[ReportCell], dims: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    rows: list[list[object]] = [[*dims, "incidents", "affected_office_holders", "suppressed", *FIGURE_FIELDS]]
    for cell in cells:
        figures = cell.model_dump(include=set(FIGURE_FIELDS))
        rows.append(
            [
                *(cell.dims.get(d, "") for d in dims),
                cell.incidents,
                cell.affected_office_holders,
                str(cell.suppressed).lower(),
                *(figures[f] for f in FIGURE_FIELDS),
            ]
        )
    writer.writerows([[spreadsheet_safe(v) for v in row] for row in rows])
    return out.getvalue()
