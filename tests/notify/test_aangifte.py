"""The modelaangifte: qualifications per incident type, and an escaped printable rendition."""

from __future__ import annotations

from datetime import UTC, datetime

from services.notify import aangifte
from shared.contracts import prefill
from shared.contracts.incident import IncidentReport, IncidentType
from tests.support.samples import body


def test_incident_types_map_to_articles() -> None:
    found = prefill.qualifications((IncidentType.THREAT, IncidentType.STALKING, IncidentType.DOXING))
    assert [q.article for q in found] == ["art. 285 Sr", "art. 285b Sr", "art. 285d Sr"]
    assert prefill.qualifications((IncidentType.OTHER,)) == ()


def test_html_rendition_escapes_what_the_reporter_wrote() -> None:
    report = IncidentReport.model_validate(body(**{"incident.description": "<script>alert(1)</script> & meer"}))
    document = prefill.build(report, reported_at=datetime.now(UTC))
    html = aangifte.render_html(document, case_id="case-1", notification_id="n-1")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; meer" in html
    assert "art. 285 Sr" in html
    assert "niet via het woonadres" in html
