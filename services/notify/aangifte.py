"""The modelaangifte: pre-fill a criminal report from the incident and render it printable (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from shared.contracts.aangifte import Aangifte, Correspondence, EvidenceItem, Qualification
from shared.contracts.incident import Channel, IncidentReport, IncidentType

# Indicative only: the police and the OM qualify the facts. Wetboek van Strafrecht (Sr).
ARTICLES: dict[IncidentType, tuple[tuple[str, str], ...]] = {
    IncidentType.THREAT: (("art. 285 Sr", "bedreiging"),),
    IncidentType.INTIMIDATION: (("art. 284 Sr", "dwang"), ("art. 285 Sr", "bedreiging")),
    IncidentType.STALKING: (("art. 285b Sr", "belaging (stalking)"),),
    IncidentType.HOME_VISIT: (("art. 285b Sr", "belaging (stalking)"), ("art. 138 Sr", "huisvredebreuk")),
    IncidentType.DOXING: (("art. 285d Sr", "doxing: persoonsgegevens verspreiden om te intimideren"),),
    IncidentType.PHYSICAL_VIOLENCE: (("art. 300 Sr", "mishandeling"), ("art. 304 Sr", "strafverzwaring ambt")),
    IncidentType.VERBAL_AGGRESSION: (("art. 266 Sr", "belediging"), ("art. 267 Sr", "strafverzwaring ambt")),
    IncidentType.ONLINE_HATE: (("art. 266 Sr", "belediging"), ("art. 137d Sr", "aanzetten tot haat (indien)")),
    IncidentType.PROPERTY_DAMAGE: (("art. 350 Sr", "vernieling"),),
    IncidentType.SEXUAL_INTIMIDATION: (("art. 429ter Sr", "seksuele intimidatie"),),
}

_EVIDENCE_BY_CHANNEL: dict[Channel, str] = {
    Channel.ONLINE: "Schermafbeeldingen van de berichten met datum, tijd en profiel-URL van de afzender",
    Channel.MAIL: "De brief of e-mail in origineel (met envelop of volledige berichtkop)",
    Channel.PHONE: "Belgeschiedenis met nummer, datum en tijd; eventuele voicemail",
    Channel.IN_PERSON: "Namen en contactgegevens van getuigen",
    Channel.AT_HOME: "Camerabeelden of foto's van de woning en omgeving; getuigen",
    Channel.AT_MEETING: "Notulen of opname van de vergadering; getuigen",
}


def qualifications(types: tuple[IncidentType, ...]) -> tuple[Qualification, ...]:
    """Articles that may apply, each listing the incident types that point to it."""
    by_article: dict[tuple[str, str], list[IncidentType]] = {}
    for incident_type in types:
        for article in ARTICLES.get(incident_type, ()):
            by_article.setdefault(article, []).append(incident_type)
    return tuple(
        Qualification(article=article, title=title, incident_types=tuple(found))
        for (article, title), found in by_article.items()
    )


def evidence_list(report: IncidentReport) -> tuple[EvidenceItem, ...]:
    items = [EvidenceItem(description=_EVIDENCE_BY_CHANNEL[report.incident.channel])]
    if report.incident.platform:
        items.append(EvidenceItem(description=f"Link naar of export van het bericht op {report.incident.platform}"))
    if IncidentType.PROPERTY_DAMAGE in report.incident.types:
        items.append(EvidenceItem(description="Foto's van de schade en een schatting van de kosten"))
    items.append(EvidenceItem(description="Eerdere meldingen of aangiften over dezelfde persoon"))
    return tuple(items)


def circumstances(report: IncidentReport) -> tuple[str, ...]:
    return tuple(name for name, ticked in report.incident.indicators.model_dump().items() if ticked)


def build(report: IncidentReport, *, reported_at: datetime) -> Aangifte:
    """The pre-filled aangifte; correspondence goes to the office address, never home."""
    holder = report.office_holder
    types = tuple(report.incident.types)
    return Aangifte(
        aangever_name=holder.name,
        aangever_role=holder.role,
        reported_by=report.reported_by.kind,
        reported_by_organisation=report.reported_by.organisation,
        contact_email=holder.contact.email,
        contact_phone=holder.contact.phone,
        correspondence=Correspondence(
            body_kind=holder.body.kind,
            body_code=holder.body.code,
            note=f"Correspondentie via het kantooradres (griffie/secretariaat) van {holder.body.code}, "
            "niet via het woonadres",
        ),
        occurred_at=report.incident.occurred_at,
        reported_at=reported_at,
        channel=report.incident.channel,
        platform=report.incident.platform,
        incident_types=types,
        facts=report.incident.description,
        perpetrator=report.incident.perpetrator,
        circumstances=circumstances(report),
        qualifications=qualifications(types),
        evidence=evidence_list(report),
        aggravation_note=(
            f"Het slachtoffer is {holder.role.value}: bij bedreiging, mishandeling en doxing van een ambtsdrager "
            "in of vanwege de uitoefening van het ambt geldt strafverzwaring."
        ),
    )


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
