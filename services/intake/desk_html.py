"""The OTWB duty officer's page as HTML: server-rendered, no script, every value escaped."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from shared.contracts.incident import Channel, Gender, IncidentType, Role

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1b1b;max-width:72rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left}
.acute{background:#fde8e8}.overdue{font-weight:bold;color:#a30000}
form.box{border:1px solid #ccc;padding:.8rem;margin:.6rem 0;display:grid;grid-template-columns:14rem 1fr;gap:.4rem}
form.box button{grid-column:2;justify-self:start}label{align-self:center}.errors{color:#a30000}
"""

INDICATORS = ("home_address_known", "home_visited", "explicit_threat", "weapon_mentioned", "family_targeted")


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _token(token: str) -> str:
    return f'<input type="hidden" name="access_token" value="{escape(token)}">'


def _options(values: list[str], selected: str = "") -> str:
    return "".join(
        f'<option value="{escape(v)}"{" selected" if v == selected else ""}>{escape(v)}</option>' for v in values
    )


def desk(items: list[dict[str, Any]], *, token: str, errors: list[str] | None = None) -> str:
    """The queue (acute and unacknowledged first) and the form to take a report by phone."""
    rows = []
    for item in items:
        acute = item["level"] in ("high", "critical")
        link = f"/desk/cases/{quote(item['case_id'])}?access_token={quote(token)}"
        waiting = ", ".join(item["unacknowledged"]) or "-"
        rows.append(
            f'<tr class="{"acute" if acute else ""}"><td><a href="{escape(link)}">{escape(item["case_id"][:12])}</a>'
            f"</td><td>{escape(str(item['level']))}</td><td>{escape(item['status'])}</td>"
            f"<td>{escape(str(item['office_holder_role']))} ({escape(str(item['body_code']))})</td>"
            f"<td>{escape(', '.join(item['types']))}</td>"
            f'<td class="{"overdue" if item["overdue"] else ""}">{"te laat" if item["overdue"] else ""}</td>'
            f"<td>{escape(waiting)}</td></tr>"
        )
    queue = (
        "<table><thead><tr><th>zaak</th><th>niveau</th><th>status</th><th>ambtsdrager</th><th>soort</th>"
        f"<th></th><th>niet bevestigd</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else "<p>Geen open zaken.</p>"
    )
    problems = "".join(f"<li>{escape(e)}</li>" for e in errors or [])
    checks = "".join(
        f'<label for="{i}">{escape(i.replace("_", " "))}</label><input type="checkbox" id="{i}" name="{i}">'
        for i in INDICATORS
    )
    form = (
        f'<form class="box" method="post" action="/desk/incidents">{_token(token)}'
        '<label for="name">naam ambtsdrager</label><input id="name" name="name" required maxlength="200">'
        f'<label for="role">functie</label><select id="role" name="role">{_options([r.value for r in Role])}</select>'
        '<label for="body_code">gemeente/provincie/waterschap (code)</label>'
        '<input id="body_code" name="body_code" required placeholder="GM0344">'
        f'<label for="gender">gender</label><select id="gender" name="gender">'
        f"{_options([g.value for g in Gender], 'onbekend')}</select>"
        '<label for="email">e-mail</label><input id="email" name="email" type="email">'
        '<label for="phone">telefoon</label><input id="phone" name="phone">'
        '<label for="occurred_at">wanneer</label>'
        '<input id="occurred_at" name="occurred_at" type="datetime-local" required>'
        f'<label for="types">soort</label><select id="types" name="types" multiple required>'
        f"{_options([t.value for t in IncidentType])}</select>"
        f'<label for="channel">kanaal</label><select id="channel" name="channel">'
        f"{_options([c.value for c in Channel])}</select>"
        '<label for="description">wat is er gebeurd</label><textarea id="description" name="description" rows="3">'
        f'</textarea>{checks}<label for="wants_aangifte">wil aangifte doen</label>'
        '<input type="checkbox" id="wants_aangifte" name="wants_aangifte">'
        '<button type="submit">Melding vastleggen</button></form>'
    )
    return page(
        "OTWB meldkamer",
        (f'<ul class="errors">{problems}</ul>' if problems else "")
        + f"<h2>Wachtrij</h2>{queue}<h2>Melding aannemen (telefonisch, namens de ambtsdrager)</h2>{form}",
    )


def case(view: dict[str, Any], *, token: str) -> str:
    """One case as the OTWB sees it: the facts, notes, and the forms to add a note and to close it."""
    case_id = view["case_id"]
    reports = "".join(
        f"<li>{escape(str(r.get('office_holder_name', '')))}: {escape(', '.join(r.get('incident_types') or []))}"
        f" ({escape(str(r.get('channel', '')))})</li>"
        for r in view.get("reports", [])
    )
    notes = "".join(
        f"<li><b>{escape(n['by']['role'])}</b> {escape(str(n['at']))}: {escape(n['text'])}</li>"
        for n in view.get("notes", [])
    )
    base = f"/desk/cases/{quote(case_id)}"
    back = f"/desk?access_token={quote(token)}"
    closure = view.get("closure")
    closing = (
        f"<p>Afgesloten: {escape(closure['reason'])}</p>"
        if closure
        else f'<form class="box" method="post" action="{escape(base)}/close">{_token(token)}'
        '<label for="reason">reden</label><input id="reason" name="reason" required maxlength="2000">'
        '<button type="submit">Zaak sluiten</button></form>'
    )
    body = (
        f'<p><a href="{escape(back)}">← wachtrij</a></p>'
        f"<p>Zaak <code>{escape(case_id)}</code> · status <b>{escape(view['status'])}</b> · niveau "
        f"<b>{escape(str(view.get('level')))}</b></p><ul>{reports}</ul>"
        f"<h2>Notities</h2><ul>{notes or '<li>nog geen</li>'}</ul>"
        f'<form class="box" method="post" action="{escape(base)}/notes">{_token(token)}'
        '<label for="text">notitie</label><textarea id="text" name="text" rows="3" required></textarea>'
        '<button type="submit">Notitie toevoegen</button></form>'
        f"<h2>Sluiten</h2>{closing}"
    )
    return page(f"Zaak {case_id[:12]}", body)
