"""OpenTelemetry tracing: one trace per case, from ``POST /v1/incidents`` through every service to the police.

Off unless an OTLP endpoint is configured (``WEERBAAR_OTLP_ENDPOINT`` or the standard
``OTEL_EXPORTER_OTLP_ENDPOINT``); off, every function here returns at its first line and nothing is patched.

On, the context travels with each event:
- HTTP: FastAPI's own telemetry makes the server span (and continues a caller's ``traceparent``);
- an event carries the context it was made in as the CloudEvents distributed-tracing extension (``ce_traceparent``,
  ``ce_tracestate``), so an event that waits in an outbox is still published in its case's trace;
- the aiokafka instrumentation makes the send span and writes the W3C ``traceparent`` header; a consumer handles
  each record (or all of a case's records in a batch) in a ``process <topic>`` span under the producer's context;
- store commands are spans named by command and collection, with the filter's shape (field names and operators,
  ``shared.store.timing.shape``) and never a value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult, TraceIdRatioBased
from opentelemetry.trace import Link, SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from opentelemetry.trace.span import TraceState
    from pymongo import monitoring

    from shared.runtime.settings import CommonSettings

W3C = ("traceparent", "tracestate")
CE_PREFIX = "ce_"
"""CloudEvents' Kafka binding writes an extension attribute ``traceparent`` as the header ``ce_traceparent``."""

_PROPAGATOR = TraceContextTextMapPropagator()
_tracer: Tracer | None = None


def enabled() -> bool:
    return _tracer is not None


def use(provider: TracerProvider | None) -> None:
    """Make this module's spans with ``provider`` (None: tracing off)."""
    global _tracer
    _tracer = provider.get_tracer("weerbaar") if provider is not None else None


def configure(service: str, settings: CommonSettings) -> bool:
    """Set up tracing for this process when an OTLP endpoint is configured; whether it is on."""
    if not settings.otlp_endpoint:
        return False
    # Imported here: a process without tracing loads none of the SDK, the exporter or the instrumentations.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "service.namespace": "weerbaar"}),
        sampler=ParentBased(root=OperationsOnly(settings.trace_sample_ratio)),
    )
    provider.add_span_processor(NoQueryValues())
    endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    AIOKafkaInstrumentor().instrument(tracer_provider=provider)
    PymongoInstrumentor().instrument(tracer_provider=provider, request_hook=name_store_span)
    use(provider)
    return True


def origin() -> dict[str, str]:
    """The context an event is made in, as CloudEvents distributed-tracing attributes; empty outside a trace."""
    if _tracer is None:
        return {}
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return {name: carrier[name] for name in W3C if name in carrier}


def _context_of(headers: Mapping[str, bytes]) -> otel_context.Context | None:
    """The context a record was sent in: the send span's ``traceparent``, else the event's own origin."""
    for prefix in ("", CE_PREFIX):
        if prefix + "traceparent" in headers:
            carrier = {
                name: headers[prefix + name].decode(errors="replace") for name in W3C if prefix + name in headers
            }
            return _PROPAGATOR.extract(carrier)
    return None


@contextlib.contextmanager
def sending(headers: Mapping[str, bytes]) -> Iterator[None]:
    """Publish inside the context the record's event was made in (so the send span belongs to its case's trace)."""
    if _tracer is None:
        yield
        return
    made_in = _context_of({name: value for name, value in headers.items() if name.startswith(CE_PREFIX)})
    token = otel_context.attach(made_in) if made_in is not None else None
    try:
        yield
    finally:
        if token is not None:
            otel_context.detach(token)


@contextlib.contextmanager
def processing(topic: str, key: str | None, headers: Sequence[Mapping[str, bytes]]) -> Iterator[None]:
    """Handle records of one case in a ``process <topic>`` span: under the first one's producer, linked to the rest."""
    if _tracer is None:
        yield
        return
    contexts = [_context_of(h) for h in headers]
    spans = [trace.get_current_span(c).get_span_context() for c in contexts if c is not None]
    attributes: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": topic,
    }
    if key is not None:
        attributes["messaging.kafka.message.key"] = key
    if len(headers) > 1:
        attributes["messaging.batch.message_count"] = len(headers)
    with _tracer.start_as_current_span(
        f"process {topic}",
        context=contexts[0] if contexts and contexts[0] is not None else otel_context.Context(),
        kind=SpanKind.CONSUMER,
        links=[Link(s) for s in spans[1:] if s.is_valid],
        attributes=attributes,
        record_exception=False,  # an exception's text may quote what it failed on
        set_status_on_exception=False,
    ) as span:
        try:
            yield
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(StatusCode.ERROR)
            raise


def note(facts: Mapping[str, str | int]) -> None:
    """Add facts to the current span (an outcome, a kind of error); never personal data."""
    if _tracer is not None:
        trace.get_current_span().set_attributes(dict(facts))


def name_store_span(span: trace.Span, event: monitoring.CommandStartedEvent) -> None:
    """The pymongo instrumentation's hook: a store span named by command and collection, with the filter's shape."""
    from shared.store.timing import command_shape

    collection, command, shape = command_shape(event)
    span.update_name(command if collection == "-" else f"{command} {collection}")
    span.set_attribute("db.query.summary", " ".join(part for part in (command, collection, shape) if part != "-"))


def ops_path(scope: Mapping[str, Any]) -> bool:
    """Probes and scrapes make no traces (FastAPI's telemetry ``exclude``)."""
    return str(scope.get("path", "")) in {"/healthz", "/readyz", "/metrics"}


def query_names(query: str) -> str:
    """``q=Jansen&page=2`` → ``page&q``: a query string's parameter names, never its values."""
    return "&".join(sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)}))


class NoQueryValues(SpanProcessor):
    """HTTP server spans keep a query string's parameter names only (``?q=`` may hold a name)."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        query = (span.attributes or {}).get("url.query")
        if isinstance(query, str) and query:
            span.set_attribute("url.query", query_names(query))


class OperationsOnly(Sampler):
    """Starts traces at operations (a request, an event without a trace, a publish), sampled by trace id ratio.

    A store command or a Kafka poll outside any operation (readiness probes, relays finding nothing, the batch
    poll that carries records of many cases) starts no trace of its own: it would bury the cases' traces.
    """

    def __init__(self, ratio: float) -> None:
        self._ratio = TraceIdRatioBased(ratio)

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        plumbing = kind is SpanKind.CLIENT or (kind is SpanKind.CONSUMER and name.endswith(" receive"))
        if plumbing:
            return SamplingResult(Decision.DROP)
        return self._ratio.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"OperationsOnly{{{self._ratio.get_description()}}}"
