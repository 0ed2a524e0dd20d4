"""Tracing: off by default; on, an event carries the trace it was made in, and consumers continue it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import SpanKind
from pymongo import monitoring

from shared.contracts.envelope import to_record
from shared.contracts.events import IncidentReported
from shared.contracts.incident import IncidentReport
from shared.runtime import tracing
from tests.support.samples import body

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _record_headers() -> dict[str, bytes]:
    event = IncidentReported(case_id="case-0001-abcd", report=IncidentReport.model_validate(body()))
    return to_record(event, source="/weerbaar/test").headers


class Spans(InMemorySpanExporter):
    """What a provider set up as in a service (redaction included) exported."""

    def __init__(self) -> None:
        super().__init__()
        self.provider = TracerProvider()
        self.provider.add_span_processor(tracing.NoQueryValues())
        self.provider.add_span_processor(SimpleSpanProcessor(self))
        self.tracer = self.provider.get_tracer("test")


@pytest.fixture
def spans() -> Iterator[Spans]:
    exported = Spans()
    tracing.use(exported.provider)
    try:
        yield exported
    finally:
        tracing.use(None)


def test_off_an_event_carries_no_trace_context_and_consuming_makes_no_span() -> None:
    assert not tracing.enabled()
    headers = _record_headers()
    assert "ce_traceparent" not in headers
    with tracing.processing("weerbaar.incident.reported.v1", "case-1", [headers]):
        assert not trace.get_current_span().get_span_context().is_valid


def test_an_event_made_in_a_span_carries_it_as_the_cloudevents_tracing_extension(
    spans: Spans,
) -> None:
    with tracing.processing("t", "case-1", [{"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01".encode()}]):
        made_in = trace.get_current_span().get_span_context()
        headers = _record_headers()
    assert headers["ce_traceparent"] == f"00-{TRACE}-{made_in.span_id:016x}-01".encode()


def test_a_consumer_continues_the_first_records_trace_and_links_the_others(spans: Spans) -> None:
    sent = {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01".encode()}
    made = {"ce_traceparent": b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    with tracing.processing("weerbaar.case.triaged.v1", "case-1", [sent, made]):
        pass
    (span,) = spans.get_finished_spans()
    assert span.name == "process weerbaar.case.triaged.v1"
    assert span.kind is SpanKind.CONSUMER
    assert span.parent is not None
    assert (f"{span.parent.trace_id:032x}", f"{span.parent.span_id:016x}") == (TRACE, "00f067aa0ba902b7")
    assert [f"{link.context.span_id:016x}" for link in span.links] == ["b7ad6b7169203331"]
    assert span.attributes is not None
    assert span.attributes["messaging.kafka.message.key"] == "case-1"
    assert span.attributes["messaging.batch.message_count"] == 2


def test_a_failed_handler_marks_its_span(spans: Spans) -> None:
    with pytest.raises(RuntimeError), tracing.processing("t", None, [{}]):
        raise RuntimeError("Jan Jansen was not found")  # the text is not recorded: it may quote data
    (span,) = spans.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "RuntimeError"
    assert span.events == ()


def test_a_record_is_sent_in_the_context_its_event_was_made_in(spans: Spans) -> None:
    with tracing.sending({"ce_traceparent": f"00-{TRACE}-00f067aa0ba902b7-01".encode()}):
        assert f"{trace.get_current_span().get_span_context().trace_id:032x}" == TRACE
    assert not trace.get_current_span().get_span_context().is_valid


def test_traces_start_at_operations_not_at_plumbing() -> None:
    sampler = tracing.OperationsOnly(1.0)

    def decide(name: str, kind: SpanKind) -> Decision:
        return sampler.should_sample(None, 1, name, kind).decision

    assert decide("find cases", SpanKind.CLIENT) is Decision.DROP
    assert decide("weerbaar.case.triaged.v1 receive", SpanKind.CONSUMER) is Decision.DROP
    assert decide("POST /v1/incidents", SpanKind.SERVER) is Decision.RECORD_AND_SAMPLE
    assert decide("process weerbaar.incident.reported.v1", SpanKind.CONSUMER) is Decision.RECORD_AND_SAMPLE
    assert tracing.OperationsOnly(0.0).should_sample(None, 1, "GET", SpanKind.SERVER).decision is Decision.DROP


def test_http_spans_keep_the_query_parameter_names_only(spans: Spans) -> None:
    with spans.tracer.start_as_current_span("GET /v1/cases", attributes={"url.query": "q=Jan+Jansen&page=2"}):
        pass
    (span,) = spans.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["url.query"] == "page&q"


def test_store_spans_are_named_by_command_and_collection_with_the_filter_shape(spans: Spans) -> None:
    command = {"find": "cases", "filter": {"_id": "Jan Jansen", "due_at": {"$lte": 5}}}
    event = monitoring.CommandStartedEvent(command, "weerbaar", 1, ("127.0.0.1", 27017), 1)
    with spans.tracer.start_as_current_span("weerbaar.find") as span:
        tracing.name_store_span(span, event)
    (finished,) = spans.get_finished_spans()
    assert finished.name == "find cases"
    assert finished.attributes is not None
    assert finished.attributes["db.query.summary"] == "find cases _id,due_at:$lte"
