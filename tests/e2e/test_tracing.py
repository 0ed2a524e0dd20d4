"""One trace per case: a report is followed from POST /v1/incidents through triage and notify to the police
notification, with reporting in the same trace (the services export to an OTLP receiver in the test process)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable

import httpx
import pytest

from shared.contracts import topics
from shared.contracts.topics import Recipient, notify_topic
from tests.support.auth import BearerAuth
from tests.support.endpoints import Endpoints
from tests.support.otlp import CLIENT, PRODUCER, SERVER, ReceivedSpan, TraceReceiver
from tests.support.probe import TopicProbe
from tests.support.samples import acute_body, unique_body
from tests.support.services import RunningServices

pytestmark = pytest.mark.e2e

POLICE = notify_topic(Recipient.POLICE)
ACUTE_WAY = {
    ("intake", "POST /v1/incidents"),
    ("triage", f"process {topics.INCIDENT_URGENT}"),
    ("notify", f"process {topics.CASE_TRIAGED_URGENT}"),
    ("notify", f"{POLICE} send"),
    ("reporting", f"process {topics.CASE_TRIAGED}"),
}
ROUTINE_WAY = {
    ("intake", "POST /v1/incidents"),
    ("triage", f"process {topics.INCIDENT_REPORTED}"),
    ("notify", f"process {topics.CASE_TRIAGED}"),
    ("reporting", f"process {topics.CASE_TRIAGED}"),
}


def _has(way: set[tuple[str, str]]) -> Callable[[list[ReceivedSpan]], bool]:
    return lambda spans: way <= {(s.service, s.name) for s in spans}


def _path_to(span: ReceivedSpan, spans: list[ReceivedSpan], root: str) -> list[ReceivedSpan]:
    """The spans from ``span`` up to (not including) ``root``; fails on a missing link."""
    by_id = {s.span_id: s for s in spans}
    path = [span]
    while path[-1].parent_id != root:
        parent = path[-1].parent_id
        assert parent in by_id, f"{path[-1].service}: {path[-1].name} has a parent outside the trace"
        path.append(by_id[parent])
    return path


async def test_one_trace_follows_an_acute_report_from_intake_to_the_police(
    services: RunningServices, endpoints: Endpoints, traces: TraceReceiver
) -> None:
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    probe = TopicProbe(endpoints.kafka_bootstrap, [POLICE])
    await probe.start()
    acute = acute_body()
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10, auth=BearerAuth("reporter")) as client:
        response = await client.post(
            "/v1/incidents",
            json=acute,
            headers={"Idempotency-Key": uuid.uuid4().hex, "traceparent": f"00-{trace_id}-{caller_span}-01"},
        )
    assert response.status_code == 201, response.text
    case_id = response.json()["case_id"]
    try:
        (police, *_) = await probe.wait_for(POLICE, case_id)
    finally:
        await probe.stop()

    spans = await traces.wait(trace_id, _has(ACUTE_WAY))
    import asyncio

    await asyncio.sleep(2)
    spans = traces.spans(trace_id)
    for s in spans:
        print(
            "SPAN",
            s.service,
            s.kind,
            s.name,
            s.span_id,
            s.parent_id,
            {k: v for k, v in s.attributes.items() if k.startswith(("db.query", "url", "messaging.dest"))},
        )

    # one trace, four services, and the police notification's send span reached through an unbroken chain of parents
    assert {s.service for s in spans} == {"intake", "triage", "notify", "reporting"}
    sent = next(s for s in spans if s.name == f"{POLICE} send" and s.kind == PRODUCER)
    way = _path_to(sent, spans, caller_span)
    assert (way[-1].service, way[-1].kind) == ("intake", SERVER), "the trace continues the caller's"
    assert [s.service for s in way if s.name.startswith("process ")] == ["notify", "triage"]
    for span in spans:
        if span.name.startswith("process "):
            assert span.attributes["messaging.kafka.message.key"] == case_id
    # the liaison's record carries the trace: the W3C header of its send, and the event's origin (CloudEvents)
    assert police.headers["traceparent"].split("-")[1] == trace_id
    assert police.headers["ce_traceparent"].split("-")[1] == trace_id
    # store commands are spans with the filter's shape, never a value; no personal data anywhere in the trace
    store = [s for s in spans if s.kind == CLIENT and "db.query.summary" in s.attributes]
    assert {s.service for s in store} >= {"intake", "triage", "notify"}
    assert all(case_id not in s.attributes["db.query.summary"] for s in store)
    personal = (acute["office_holder"]["name"], acute["office_holder"]["contact"]["email"], "weten waar je woont")
    for span in spans:
        text = f"{span.name} {span.attributes}"
        assert not any(value in text for value in personal), f"personal data in {span.service}: {span.name}"


async def test_a_routine_report_keeps_its_trace_through_the_batches(
    services: RunningServices, traces: TraceReceiver
) -> None:
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    calm = unique_body(
        **{"incident.indicators": {}, "incident.types": ["verbal_aggression"], "incident.description": "Boze mail"}
    )
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10, auth=BearerAuth("reporter")) as client:
        response = await client.post(
            "/v1/incidents", json=calm, headers={"traceparent": f"00-{trace_id}-{caller_span}-01"}
        )
    assert response.status_code == 201, response.text
    case_id = response.json()["case_id"]

    spans = await traces.wait(trace_id, _has(ROUTINE_WAY))

    (root,) = [s for s in spans if s.parent_id == caller_span]
    assert (root.service, root.name, root.kind) == ("intake", "POST /v1/incidents", SERVER)
    assert {s.service for s in spans} == {"intake", "triage", "notify", "reporting"}
    triaged = next(s for s in spans if s.name == f"process {topics.INCIDENT_REPORTED}" and s.service == "triage")
    assert triaged.attributes["messaging.kafka.message.key"] == case_id
    assert [s.service for s in _path_to(triaged, spans, caller_span)][-1] == "intake"


async def test_a_request_whose_trace_is_not_sampled_leaves_no_spans(
    services: RunningServices, endpoints: Endpoints, traces: TraceReceiver
) -> None:
    """The caller's sampling decision holds across the services (and the test services record nothing else)."""
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    probe = TopicProbe(endpoints.kafka_bootstrap, [topics.CASE_TRIAGED])
    await probe.start()
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10, auth=BearerAuth("reporter")) as client:
        response = await client.post(
            "/v1/incidents", json=unique_body(), headers={"traceparent": f"00-{trace_id}-{caller_span}-00"}
        )
    assert response.status_code == 201, response.text
    try:
        (decision, *_) = await probe.wait_for(topics.CASE_TRIAGED, response.json()["case_id"])
    finally:
        await probe.stop()
    assert decision.headers["traceparent"].split("-")[1] == trace_id, "the context travels, unsampled"
    await asyncio.sleep(2)  # two export rounds of the services (OTEL_BSP_SCHEDULE_DELAY 0.5 s): nothing may come
    assert traces.spans(trace_id) == []
