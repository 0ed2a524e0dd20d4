"""The dashboard page: self-contained HTML with server-rendered SVG charts (pure; no scripts, no CDN)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from shared.contracts.events import ReportCell

LABELS: dict[str, str] = {
    "online": "Online",
    "offline": "Offline (fysiek, telefoon, post)",
    "vrouw": "Vrouw",
    "man": "Man",
    "anders": "Anders",
    "onbekend": "Onbekend",
    "raadslid": "Raadsleden",
    "wethouder": "Wethouders",
    "burgemeester": "Burgemeesters",
    "statenlid": "Statenleden",
    "gedeputeerde": "Gedeputeerden",
    "waterschapsbestuurder": "Waterschapsbestuurders",
    "low": "Laag",
    "medium": "Midden",
    "high": "Hoog",
    "critical": "Kritiek",
}
ORDER = ("low", "medium", "high", "critical")

# (chart id, group_by, title, explanation)
CHARTS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("trend", ("period",), "Meldingen per maand", "Aantal gemelde incidenten per maand waarin ze plaatsvonden."),
    ("channel", ("channel_group",), "Online of offline", "Waar het incident plaatsvond."),
    (
        "gender",
        ("gender",),
        "Naar geslacht",
        "Incidenten, en welk deel van alle ambtsdragers van dat geslacht het trof.",
    ),
    ("role", ("role",), "Naar functie", "Incidenten, en welk deel van alle ambtsdragers in die functie het trof."),
    ("risk", ("risk_level",), "Risiconiveau", "Inschatting van het risico bij de triage."),
    (
        "response",
        ("risk_level",),
        "Reactietijd per risiconiveau",
        "Minuten van melding tot eerste doorzending en tot eerste bevestiging door de ontvanger: "
        "mediaan (p50) en de tijd waarbinnen 90% (p90) afgehandeld is.",
    ),
)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float | None  # None: suppressed or unknown
    text: str
    note: str = ""


def _label(value: str) -> str:
    return LABELS.get(value, value)


def _count_bars(cells: Sequence[ReportCell], dim: str, threshold: int) -> list[Bar]:
    bars = []
    ordered = sorted(cells, key=lambda c: (ORDER.index(c.dims[dim]) if c.dims[dim] in ORDER else 9, c.dims[dim]))
    for cell in ordered:
        if cell.suppressed or cell.incidents is None:
            bars.append(Bar(_label(cell.dims[dim]), None, f"< {threshold}", "niet getoond (privacy)"))
            continue
        note = f"{cell.affected_office_holders} getroffen"
        if cell.share_affected is not None:
            note += f" ({cell.share_affected * 100:.1f}% van allen)"
        bars.append(Bar(_label(cell.dims[dim]), float(cell.incidents), str(cell.incidents), note))
    return bars


def _bar(x: float, y: float, w: float, h: float, bar: Bar, series: str = "") -> str:
    if bar.value is None:
        return (
            f'<rect class="bar suppressed" data-suppressed="true" data-label="{escape(bar.label)}" '
            f'x="{x:.1f}" y="{y:.1f}" width="{max(w, 4):.1f}" height="{h:.1f}" fill="url(#hatch)"/>'
        )
    return (
        f'<rect class="bar {series}" data-label="{escape(bar.label)}" data-value="{bar.value:g}" '
        f'x="{x:.1f}" y="{y:.1f}" width="{max(w, 1):.1f}" height="{h:.1f}"><title>{escape(bar.label)}: '
        f"{escape(bar.text)}</title></rect>"
    )


def vertical_chart(chart: str, bars: Sequence[Bar], *, width: int = 760, height: int = 240) -> str:
    top = max([b.value for b in bars if b.value is not None] or [1.0]) or 1.0  # all zero: nothing to scale
    slot = (width - 40) / max(len(bars), 1)
    parts = []
    for i, bar in enumerate(bars):
        h = (bar.value or top * 0.04) / top * (height - 60)
        x = 30 + i * slot + slot * 0.15
        y = height - 30 - h
        parts.append(_bar(x, y, slot * 0.7, h, bar))
        parts.append(f'<text class="value" x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}">{escape(bar.text)}</text>')
        parts.append(f'<text class="axis" x="{x + slot * 0.35:.1f}" y="{height - 12}">{escape(bar.label)}</text>')
    return _svg(chart, width, height, parts)


def horizontal_chart(chart: str, rows: Sequence[Sequence[Bar]], *, width: int = 760, series: Sequence[str] = ()) -> str:
    """One row per category; several bars per row when ``series`` names them (e.g. p50 and p90)."""
    values = [b.value for row in rows for b in row if b.value is not None]
    top = max(values or [1.0]) or 1.0  # all zero (every response within seconds): nothing to scale
    per_bar, gap = 18, 12
    parts = []
    y = 5.0
    for row in rows:
        parts.append(f'<text class="axis row" x="0" y="{y + 13:.1f}">{escape(row[0].label)}</text>')
        for j, bar in enumerate(row):
            w = (bar.value or 0) / top * (width - 420)
            parts.append(_bar(200, y, w, per_bar - 3, bar, series[j] if series else ""))
            label = f"{series[j]}: " if series else ""
            extra = f" · {bar.note}" if bar.note else ""
            text = escape(label + bar.text + extra)
            parts.append(f'<text class="value" x="{206 + max(w, 4):.1f}" y="{y + 12:.1f}">{text}</text>')
            y += per_bar
        y += gap
    return _svg(chart, width, int(y), parts)


def _svg(chart: str, width: int, height: int, parts: Sequence[str]) -> str:
    return (
        f'<svg class="chart" data-chart="{chart}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def _minutes(value: float | None) -> str:
    if value is None:
        return "onvoldoende gegevens"
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} uur"


def response_rows(cells: Sequence[ReportCell]) -> list[list[Bar]]:
    rows = []
    for cell in sorted(cells, key=lambda c: ORDER.index(c.dims["risk_level"]) if c.dims["risk_level"] in ORDER else 9):
        label = _label(cell.dims["risk_level"])
        pairs = [
            ("doorgezonden", cell.minutes_to_notification_p50, cell.minutes_to_notification_p90),
            ("bevestigd", cell.minutes_to_acknowledgement_p50, cell.minutes_to_acknowledgement_p90),
        ]
        row = []
        for what, p50, p90 in pairs:
            row.append(Bar(label, p50, f"{what} p50 {_minutes(p50)}"))
            row.append(Bar(label, p90, f"{what} p90 {_minutes(p90)}"))
        rows.append(row)
    return rows


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1b2733}
header{background:#154273;color:#fff;padding:18px 28px}header h1{margin:0;font-size:24px}
header p{margin:6px 0 0;opacity:.9}main{display:grid;grid-template-columns:repeat(auto-fit,minmax(620px,1fr));
gap:18px;padding:18px 28px}section{background:#fff;border-radius:8px;padding:14px 18px;box-shadow:0 1px 3px #0002}
section h2{margin:0 0 4px;font-size:18px}section p{margin:0 0 10px;color:#4a5a6a;font-size:14px}
.tiles{display:flex;gap:18px;padding:18px 28px 0}.tile{background:#fff;border-radius:8px;padding:12px 18px;
box-shadow:0 1px 3px #0002;min-width:180px}.tile b{display:block;font-size:28px;color:#154273}
svg text{font-size:12px;fill:#1b2733}svg text.axis{text-anchor:middle}svg text.row{text-anchor:start}
svg text.value{font-size:11px}rect.bar{fill:#2f6fae}rect.p90{fill:#8fb4d9}rect.suppressed{stroke:#9aa7b4}
svg[data-chart=trend] text.value{text-anchor:middle}footer{padding:0 28px 24px;color:#4a5a6a;font-size:13px}
"""


def render(
    tables: Mapping[str, Sequence[ReportCell]],
    total: ReportCell | None,
    *,
    threshold: int,
    window_text: str,
) -> str:
    """The whole page: tiles with the headline figures, then one section per chart."""
    sections = []
    for chart, group_by, title, explanation in CHARTS:
        cells = tables.get(chart, ())
        if not cells:
            body = '<p class="empty">Nog geen gegevens in deze periode.</p>'
        elif chart == "trend":
            body = vertical_chart(chart, _count_bars(cells, group_by[0], threshold))
        elif chart == "response":
            body = horizontal_chart(chart, response_rows(cells), series=("p50", "p90", "p50", "p90"))
        else:
            body = horizontal_chart(chart, [[b] for b in _count_bars(cells, group_by[0], threshold)])
        sections.append(f"<section><h2>{escape(title)}</h2><p>{escape(explanation)}</p>{body}</section>")
    shown = total is not None and not total.suppressed
    incidents = str(total.incidents) if shown and total else f"< {threshold}"
    affected = str(total.affected_office_holders) if shown and total else f"< {threshold}"
    return f"""<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Weerbaar bestuur: agressie en bedreiging</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body><header><h1>Agressie en bedreiging tegen decentrale politieke ambtsdragers</h1>
<p>Meldingen bij weerbaar · {escape(window_text)}</p></header>
<div class="tiles"><div class="tile" data-tile="incidents"><b>{incidents}</b>gemelde incidenten</div>
<div class="tile" data-tile="affected"><b>{affected}</b>getroffen ambtsdragers</div></div>
<svg width="0" height="0" aria-hidden="true"><defs><pattern id="hatch" width="6" height="6"
patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eef1f4"/>
<line x1="0" y1="0" x2="0" y2="6" stroke="#9aa7b4" stroke-width="2"/></pattern></defs></svg>
<main>{"".join(sections)}</main>
<footer>Privacy: aantallen onder {threshold} worden niet getoond ("&lt; {threshold}"), en soms ook een ander klein
aantal, zodat een verborgen aantal niet uit totalen is af te leiden. Er is nooit een uitsplitsing naar gemeente.
Aandelen: getroffen ambtsdragers gedeeld door het totaal aantal ambtsdragers in die groep.</footer>
</body></html>"""
