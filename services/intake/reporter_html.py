"""The reporter's own case as HTML: server-rendered, no script, every value escaped (``reporter_page.py``)."""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem auto;color:#1b1b1b;max-width:48rem;line-height:1.45}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
.stage{border-left:.4rem solid #154273;background:#eef3f8;padding:.6rem 1rem}.stage b{font-size:1.1rem}
ol.steps{display:flex;gap:.4rem;list-style:none;padding:0;flex-wrap:wrap}
ol.steps li{padding:.2rem .6rem;border:1px solid #ccc;border-radius:1rem;color:#666}
ol.steps li.done{background:#154273;color:#fff;border-color:#154273}
.help li{margin:.5rem 0}dl{display:grid;grid-template-columns:12rem 1fr;gap:.2rem .8rem}dt{color:#555}
.report{border:1px solid #ddd;padding:.6rem 1rem;margin:.6rem 0}
"""

STAGES = (
    ("received", "Ontvangen"),
    ("assessed", "Beoordeeld"),
    ("police_informed", "Politie geïnformeerd"),
    ("aangifte_followup", "Opvolging aangifte"),
    ("closed", "Afgesloten"),
)


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="referrer" content="no-referrer"><style>{STYLE}</style></head>'
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _steps(stage: str) -> str:
    names = [name for name, _ in STAGES]
    reached = names.index(stage) if stage in names else 0
    return (
        '<ol class="steps">'
        + "".join(
            f'<li class="{"done" if i <= reached else ""}">{escape(label)}</li>' for i, (_, label) in enumerate(STAGES)
        )
        + "</ol>"
    )


def _resource(resource: dict[str, Any]) -> str:
    parts = [f"<b>{escape(resource['title'])}</b><br>{escape(resource['text'])}"]
    if resource.get("url"):
        parts.append(f'<br><a href="{escape(resource["url"])}">{escape(resource["url"])}</a>')
    if resource.get("phone"):
        phone = str(resource["phone"])
        parts.append(f'<br>Telefoon: <a href="tel:{escape(phone.replace(" ", ""))}">{escape(phone)}</a>')
    return f"<li>{''.join(parts)}</li>"


def _list(values: Any) -> str:
    return escape(", ".join(str(v) for v in values or ()) or "-")


def _aangifte(aangifte: dict[str, Any]) -> str:
    rows = [
        ("Aangever", f"{aangifte['aangever_name']} ({aangifte['aangever_role']})"),
        ("Wanneer", aangifte["occurred_at"]),
        ("Kanaal", aangifte["channel"] + (f" ({aangifte['platform']})" if aangifte.get("platform") else "")),
        ("Soort", ", ".join(aangifte["incident_types"])),
        ("Wat er gebeurde", aangifte["facts"]),
        ("Dader", aangifte["perpetrator"]),
        ("Omstandigheden", ", ".join(aangifte["circumstances"]) or "-"),
        ("Mogelijke strafbare feiten", "; ".join(f"{q['article']} {q['title']}" for q in aangifte["qualifications"])),
        ("Correspondentie", aangifte["correspondence"]["note"]),
        ("Strafverzwaring", aangifte["aggravation_note"]),
    ]
    table = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows)
    evidence = "".join(f"<li>{escape(e['description'])}</li>" for e in aangifte["evidence"])
    return (
        "<h3>Uw modelaangifte</h3><p>Neem deze mee als u aangifte doet, of verwijs ernaar: de politie kan hem "
        f"overnemen.</p><dl>{table}</dl><p>Bewijs om mee te nemen:</p><ul>{evidence}</ul>"
    )


def _report(report: dict[str, Any]) -> str:
    if report.get("erased"):
        return '<div class="report"><p>Deze melding is gewist.</p></div>'
    filed = report.get("report") or {}
    incident = filed.get("incident") or {}
    body = (
        f"<p>Gemeld op {escape(str(report.get('received_at', '')))}: {_list(incident.get('types'))} "
        f"({escape(str(incident.get('channel', '')))})</p>"
        f"<p>{escape(str(incident.get('description', '')))}</p>"
    )
    if report.get("modelaangifte"):
        body += _aangifte(report["modelaangifte"])
    return f'<div class="report">{body}</div>'


def own_case(view: dict[str, Any]) -> str:
    """The filer's view of their case: the stage, what happens next, the help that fits, their own reports."""
    guidance = view["guidance"]
    help_items = "".join(_resource(r) for r in guidance["resources"])
    reports = "".join(_report(r) for r in view["reports"])
    body = (
        f'<div class="stage"><p>Stand van uw zaak: <b>{escape(guidance["label"])}</b></p>'
        f"<p>{escape(guidance['next'])}</p></div>{_steps(guidance['stage'])}"
        f'<h2>Hulp en advies</h2><ul class="help">{help_items}</ul>'
        f"<h2>Uw melding</h2>{reports}"
        f"<p><small>Zaaknummer <code>{escape(view['case_id'])}</code></small></p>"
    )
    return page("Uw melding bij weerbaar", body)
