"""The dashboard page: self-contained HTML with server-rendered SVG charts (pure; no scripts, no CDN)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from services.reporting.monitor import Monitor
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
    "person": "Op de persoon",
    "office": "Op het ambt",
    "both": "Persoon en ambt",
    "unknown": "Onbekend",
    "alle": "Alle ambtsdragers",
    "email": "E-mail",
    "other": "Overig",
    "n.v.t.": "Offline (n.v.t.)",
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
    ("platform", ("platform",), "Online: naar platform", "Online incidenten naar het platform waarop ze plaatsvonden."),
    (
        "directed",
        ("directed_at",),
        "Gericht op de persoon of op het ambt",
        "Of de agressie op de persoon (uiterlijk, geslacht, gezin, privéleven) of op het ambt gericht was.",
    ),
    (
        "response",
        ("risk_level",),
        "Reactietijd per risiconiveau",
        "Minuten van melding tot eerste doorzending en tot eerste bevestiging door de ontvanger: "
        "mediaan (p50) en de tijd waarbinnen 90% (p90) afgehandeld is.",
    ),
)


# Tables over every published period, whatever the page's window: the trends and the monitor comparison.
TRENDS: dict[str, tuple[str, ...]] = {
    "year": ("year",),
    "year_role": ("year", "role"),
    "year_impact": ("year", "impact_on_functioning"),
    "year_aangifte": ("year", "aangifte_filed"),
    "term_role": ("council_term", "role"),
}
MONITOR_GROUPS = ("alle", "raadslid", "wethouder", "burgemeester")
COLOURS = {
    "alle": "#154273",
    "raadslid": "#2f6fae",
    "wethouder": "#d9822b",
    "burgemeester": "#3a9a5b",
    "functioning": "#a23b72",
    "aangifte": "#d9822b",
}


@dataclass(frozen=True, slots=True)
class Point:
    x: int
    value: float | None  # None: suppressed
    note: str = ""


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    colour: str
    points: tuple[Point, ...]
    dashed: bool = False


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


def line_chart(
    chart: str,
    series: Sequence[Series],
    xs: Sequence[int],
    *,
    width: int = 560,
    height: int = 270,
    unit: str = "%",
    legend_w: int = 125,
) -> str:
    """Lines over years; a suppressed point is drawn as a hatched square on the axis, marked as such."""
    values = [p.value for s in series for p in s.points if p.value is not None]
    top = max([*values, 1.0]) * 1.15
    low_x, high_x = (min(xs), max(xs)) if xs else (0, 1)
    span = max(high_x - low_x, 1)

    def sx(x: int) -> float:
        return 50 + (x - low_x) / span * (width - 80)

    def sy(v: float) -> float:
        return height - 40 - v / top * (height - 85)

    parts = [f'<line class="axis" x1="50" y1="{sy(0):.1f}" x2="{width - 20}" y2="{sy(0):.1f}" stroke="#9aa7b4"/>']
    for x in xs:
        parts.append(f'<text class="axis" x="{sx(x):.1f}" y="{height - 22}">{x}</text>')
    digits = 0 if top >= 10 else 1 if top >= 1 else 2
    for tick in (0.0, top / 2.3, top / 1.15):
        parts.append(f'<text class="axis tick" x="40" y="{sy(tick) + 4:.1f}">{tick:.{digits}f}{unit}</text>')
    for row, line in enumerate(series):
        shown = [p for p in line.points if p.value is not None]
        if len(shown) > 1:
            path = " ".join(f"{sx(p.x):.1f},{sy(p.value or 0):.1f}" for p in shown)
            dash = ' stroke-dasharray="6 4"' if line.dashed else ""
            parts.append(
                f'<polyline class="line" data-series="{escape(line.name)}" points="{path}" fill="none" '
                f'stroke="{line.colour}" stroke-width="2"{dash}/>'
            )
        for p in line.points:
            if p.value is None:
                parts.append(
                    f'<rect class="point suppressed" data-suppressed="true" data-series="{escape(line.name)}" '
                    f'data-x="{p.x}" x="{sx(p.x) - 6:.1f}" y="{sy(0) - 12:.1f}" width="12" height="12" '
                    f'fill="url(#hatch)" stroke="#5a6a7a"><title>{escape(line.name)} {p.x}: niet getoond '
                    "(privacy)</title></rect>"
                )
                continue
            shape = "rect" if line.dashed else "circle"
            geometry = (
                f'x="{sx(p.x) - 4:.1f}" y="{sy(p.value) - 4:.1f}" width="8" height="8"'
                if shape == "rect"
                else f'cx="{sx(p.x):.1f}" cy="{sy(p.value):.1f}" r="4"'
            )
            parts.append(
                f'<{shape} class="point" data-series="{escape(line.name)}" data-x="{p.x}" data-value="{p.value:g}" '
                f'{geometry} fill="{line.colour}"><title>{escape(line.name)} {p.x}: {p.value:g}{unit}'
                f"{escape(p.note)}</title></{shape}>"
            )
        per_row = max(1, (width - 50) // legend_w)
        legend_x, legend_y = 50 + (row % per_row) * legend_w, 12 + (row // per_row) * 14
        style = ' stroke-dasharray="6 4"' if line.dashed else ""
        parts.append(
            f'<line x1="{legend_x}" y1="{legend_y - 4}" x2="{legend_x + 18}" y2="{legend_y - 4}" '
            f'stroke="{line.colour}" stroke-width="2"{style}/>'
            f'<text class="legend" x="{legend_x + 22}" y="{legend_y}">{escape(line.name)}</text>'
        )
    if any(p.value is None for line in series for p in line.points):
        parts.append(
            f'<rect x="50" y="{height - 14}" width="10" height="10" fill="url(#hatch)" stroke="#5a6a7a"/>'
            f'<text class="legend" x="64" y="{height - 5}">niet getoond: minder dan de drempel (privacy)</text>'
        )
    return _svg(chart, width, height, parts)


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


def _percent(part: ReportCell | None, whole: ReportCell | None) -> float | None:
    if part is None or whole is None or part.suppressed or whole.suppressed or not whole.incidents:
        return None
    return round((part.incidents or 0) / whole.incidents * 100, 1)


def _by(cells: Sequence[ReportCell], *dims: str) -> dict[tuple[str, ...], ReportCell]:
    return {tuple(c.dims[d] for d in dims): c for c in cells}


def monitor_comparison(trends: Mapping[str, Sequence[ReportCell]], monitor: Monitor) -> str:
    """The monitor's waves (survey: % of office holders) beside weerbaar's share of office holders with a report."""
    affected = monitor.get("affected")
    survey = [
        Series(
            _label(group),
            COLOURS[group],
            tuple(Point(p.year, p.percent, " (circa)" if p.approx else "") for p in affected.of(group)),
        )
        for group in MONITOR_GROUPS
        if affected and affected.of(group)
    ]
    by_year = _by(trends.get("year", ()), "year")
    by_role = _by(trends.get("year_role", ()), "year", "role")
    years = sorted({int(y) for (y,) in by_year})
    own = []
    for group in MONITOR_GROUPS:
        points = []
        for year in years:
            cell = by_year.get((str(year),)) if group == "alle" else by_role.get((str(year), group))
            if cell is None:
                continue
            share = None if cell.suppressed or cell.share_affected is None else round(cell.share_affected * 100, 2)
            points.append(Point(year, share))
        if points:
            own.append(Series(_label(group), COLOURS[group], tuple(points), dashed=True))
    waves = sorted({p.x for s in survey for p in s.points})
    xs = sorted({*waves, *years})
    left = line_chart("monitor", survey, xs)
    right = (
        line_chart("monitor_weerbaar", own, xs)
        if own
        else '<p class="empty" data-chart="monitor_weerbaar">Nog geen gepubliceerd jaar bij weerbaar.</p>'
    )
    source = affected.source + ": " + affected.question if affected else ""
    return (
        f'<div class="pair"><div><h3>Monitor (enquête), per meting</h3>{left}<p class="source">{escape(source)}</p>'
        f"</div><div><h3>weerbaar: ambtsdragers met een melding (% van allen)</h3>{right}</div></div>"
        f'<p class="note" data-note="monitor">{escape(monitor.note)}</p>'
    )


def shares_trend(trends: Mapping[str, Sequence[ReportCell]], monitor: Monitor) -> str:
    """Share of cases with functioning affected, and with an aangifte, per year; the monitor's figures as squares."""
    totals = _by(trends.get("year", ()), "year")
    years = sorted(int(y) for (y,) in totals)
    lines = []
    for name, table, dim, colour in (
        ("functioneren beïnvloed (weerbaar)", "year_impact", "impact_on_functioning", COLOURS["functioning"]),
        ("aangifte opgenomen (weerbaar)", "year_aangifte", "aangifte_filed", COLOURS["aangifte"]),
    ):
        cells = _by(trends.get(table, ()), "year", dim)
        points = []
        for year in years:
            yes = cells.get((str(year), "ja"))
            total = totals.get((str(year),))
            if total is None or total.suppressed:
                points.append(Point(year, None))
                continue
            if yes is None:
                points.append(Point(year, 0.0))
                continue
            points.append(Point(year, _percent(yes, total)))
        lines.append(Series(name, colour, tuple(points)))
    for series_id, name, colour in (
        ("functioning", "functioneren beïnvloed (monitor)", COLOURS["functioning"]),
        ("aangifte", "aangifte gedaan (monitor)", COLOURS["aangifte"]),
    ):
        reference = monitor.get(series_id)
        if reference:
            marks = tuple(Point(p.year, p.percent, f" · {reference.source}") for p in reference.points)
            lines.append(Series(name, colour, marks, dashed=True))
    xs = sorted({p.x for line in lines for p in line.points})
    if not xs:
        return '<p class="empty">Nog geen gegevens.</p>'
    return line_chart("shares", lines, xs, width=1000, legend_w=240)


def term_bars(cells: Sequence[ReportCell], threshold: int) -> str:
    rows = []
    for cell in sorted(cells, key=lambda c: (c.dims["council_term"], c.dims["role"])):
        label = f"{_label(cell.dims['role'])} {cell.dims['council_term']}"
        if cell.suppressed or cell.share_affected is None:
            text = f"< {threshold}" if cell.suppressed else f"{cell.incidents} (geen populatie bekend)"
            rows.append(
                [Bar(label, None if cell.suppressed else 0.0, text, "" if not cell.suppressed else "niet getoond")]
            )
            continue
        share = cell.share_affected * 100
        rows.append([Bar(label, share, f"{share:.2f}%", f"{cell.affected_office_holders} getroffen")])
    if not rows:
        return '<p class="empty">Nog geen afgesloten raadsperiode met meldingen.</p>'
    return horizontal_chart("term", rows)


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
svg[data-chart=trend] text.value{text-anchor:middle}svg text.tick{text-anchor:end}svg text.legend{font-size:11px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px}.pair h3{font-size:14px;margin:4px 0}
p.note{background:#fff6e0;border-left:4px solid #d9822b;padding:6px 10px;color:#1b2733}p.source{font-size:12px}
section.wide{grid-column:1/-1}footer{padding:0 28px 24px;color:#4a5a6a;font-size:13px}
"""


def render(
    tables: Mapping[str, Sequence[ReportCell]],
    total: ReportCell | None,
    *,
    threshold: int,
    window_text: str,
    trends: Mapping[str, Sequence[ReportCell]] | None = None,
    monitor: Monitor | None = None,
    rounding_base: int = 1,
) -> str:
    """The whole page: tiles with the headline figures, the monitor comparison and trends, one section per chart."""
    trends = trends or {}
    sections = []
    if monitor is not None:
        sections.append(
            '<section class="wide"><h2>Vergeleken met de Monitor Integriteit en Veiligheid</h2>'
            "<p>Links de landelijke enquête per meting, rechts het deel van de ambtsdragers dat bij weerbaar een "
            f"melding deed, per gepubliceerd jaar.</p>{monitor_comparison(trends, monitor)}</section>"
        )
        sections.append(
            '<section class="wide"><h2>Functioneren beïnvloed en aangifte: het verloop</h2><p>Deel van de meldingen '
            "per jaar waarin het functioneren werd beïnvloed en waarin de politie een aangifte opnam; vierkantjes: "
            "de cijfers van de monitor en de minister (ander meetpunt: slachtoffers in de enquête).</p>"
            f"{shares_trend(trends, monitor)}</section>"
        )
    sections.append(
        "<section><h2>Getroffen ambtsdragers per raadsperiode</h2><p>Deel van alle ambtsdragers in de functie met "
        "een melding, per afgesloten gemeenteraadsperiode (verkiezing tot verkiezing).</p>"
        f"{term_bars(trends.get('term_role', ()), threshold)}</section>"
    )
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
    rounded = (
        f"; alle andere aantallen zijn willekeurig afgerond op een veelvoud van {rounding_base}, zodat een "
        "verborgen aantal niet uit totalen, andere tabellen of eerdere publicaties is af te leiden"
        if rounding_base > 1
        else ", en soms ook een ander klein aantal, zodat een verborgen aantal niet uit totalen is af te leiden"
    )
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
<footer>Privacy: aantallen onder {threshold} worden niet getoond ("&lt; {threshold}", gearceerd){rounded}. Alleen
afgesloten maanden, kwartalen en jaren worden gepubliceerd. Er is nooit een uitsplitsing naar gemeente.
Aandelen: getroffen ambtsdragers gedeeld door het totaal aantal ambtsdragers in die groep.</footer>
</body></html>"""
