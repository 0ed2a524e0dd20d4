"""The modelaangifte pre-filled from an incident report (pure): part of the police's view of a case."""

from __future__ import annotations

from datetime import datetime

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
