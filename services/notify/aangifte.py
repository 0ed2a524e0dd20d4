"""The modelaangifte rendered printable (pure, no I/O); pre-filling it is ``shared/contracts/prefill.py``."""

from __future__ import annotations

from html import escape

from shared.contracts.aangifte import Aangifte


def _row(label: str, value: object) -> str:
    return f"<tr><th>{escape(label)}</th><td>{escape('' if value is None else str(value))}</td></tr>"


def render_html(aangifte: Aangifte, *, case_id: str, notification_id: str) -> str:
    """A printable rendition; every value is HTML-escaped."""
    rows = "".join(
        [
            _row("Aangever", aangifte.aangever_name),
            _row("Functie", aangifte.aangever_role.value),
            _row(
                "Gemeld door",
                aangifte.reported_by.value
                + (f" ({aangifte.reported_by_organisation})" if aangifte.reported_by_organisation else ""),
            ),
            _row("E-mail", aangifte.contact_email),
            _row("Telefoon", aangifte.contact_phone),
            _row("Correspondentieadres", aangifte.correspondence.note),
            _row("Pleegdatum en -tijd", aangifte.occurred_at.isoformat()),
            _row("Gemeld op", aangifte.reported_at.isoformat()),
            _row("Kanaal", aangifte.channel.value),
            _row("Platform", aangifte.platform),
            _row("Soort", ", ".join(t.value for t in aangifte.incident_types)),
            _row("Dader", aangifte.perpetrator),
            _row("Omstandigheden", ", ".join(aangifte.circumstances)),
        ]
    )
    articles = "".join(f"<li>{escape(q.article)}: {escape(q.title)}</li>" for q in aangifte.qualifications)
    evidence = "".join(f"<li>&#9744; {escape(e.description)}</li>" for e in aangifte.evidence)
    return (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        f"<title>Modelaangifte {escape(case_id)}</title>"
        "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}th{text-align:left;padding-right:1em;"
        "vertical-align:top}@media print{.noprint{display:none}}</style></head><body>"
        "<h1>Modelaangifte bedreiging en agressie tegen een politiek ambtsdrager</h1>"
        f"<p>Zaak {escape(case_id)} &middot; melding {escape(notification_id)}</p>"
        f"<table>{rows}</table>"
        f'<h2>Verklaring</h2><p style="white-space:pre-wrap">{escape(aangifte.facts)}</p>'
        f"<h2>Mogelijke strafbare feiten (indicatief)</h2><ul>{articles}</ul><p>{escape(aangifte.aggravation_note)}</p>"
        f"<h2>Bewijsmiddelen</h2><ul>{evidence}</ul>"
        "<p>Handtekening aangever: ______________________ &nbsp; Datum: ____________</p>"
        "</body></html>"
    )
