"""Which burgemeester is told about a case: the local authority for protective measures (pure).

Bewaken en Beveiligen (Circulaire bewaken en beveiligen): in the decentral domain the burgemeester has authority over
the protection of places (public order, art. 172 Gemeentewet), the chief public prosecutor over the protection of
persons. So the burgemeester to tell is the one of the municipality where the threatened person lives (the home is
where measures are taken); a raadslid, wethouder or burgemeester lives in the municipality of office (residence
requirement), so for a gemeente that is the body itself. Provincie and waterschap have no burgemeester: their office
holders' burgemeester is the one of the municipality they live in, else the one where the incident happened; when
neither is known, no burgemeester is routed (the police, always told at high and critical, know the address).
"""

from __future__ import annotations

from shared.contracts.incident import BodyKind, IncidentReport


def burgemeester_municipality(report: IncidentReport) -> str | None:
    """The municipality (GMnnnn) whose burgemeester is the authority for this report, or None when not known."""
    holder = report.office_holder
    if holder.body.kind is BodyKind.GEMEENTE:
        return holder.body.code
    return holder.residence_municipality or report.incident.municipality
