"""An OTLP/HTTP trace receiver in the test process: the services under test export their spans to it.

OTLP over HTTP is a POST of a protobuf ``ExportTraceServiceRequest`` to ``/v1/traces``; the receiver decodes it with
``opentelemetry-proto`` (the exporter's own message definitions) and keeps the spans in memory.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanMessage

SERVER = SpanMessage.SpanKind.SPAN_KIND_SERVER
CLIENT = SpanMessage.SpanKind.SPAN_KIND_CLIENT
PRODUCER = SpanMessage.SpanKind.SPAN_KIND_PRODUCER
CONSUMER = SpanMessage.SpanKind.SPAN_KIND_CONSUMER


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    service: str
    attributes: dict[str, Any] = field(default_factory=dict)
    links: tuple[str, ...] = ()
    """Trace ids this span links to."""


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, which) if which else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


class TraceReceiver:
    """Listens on a free loopback port until stopped; ``spans()`` returns what arrived so far."""

    def __init__(self) -> None:
        self._spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                receiver._keep(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _keep(self, request: ExportTraceServiceRequest) -> None:
        received = []
        for resource_spans in request.resource_spans:
            service = str(_attributes(resource_spans.resource.attributes).get("service.name", "?"))
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        ReceivedSpan(
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            name=span.name,
                            kind=span.kind,
                            service=service,
                            attributes=_attributes(span.attributes),
                            links=tuple(link.trace_id.hex() for link in span.links),
                        )
                    )
        with self._lock:
            self._spans.extend(received)

    def spans(self, trace_id: str | None = None) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self._spans if trace_id is None or s.trace_id == trace_id]

    async def find(self, matches: Callable[[ReceivedSpan], bool], *, timeout_s: float = 30.0) -> ReceivedSpan:
        """The first span that ``matches``, once it has arrived; raises after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [s for s in self.spans() if matches(s)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching span after {timeout_s} s")
            await asyncio.sleep(0.2)

    async def wait(
        self, trace_id: str, done: Callable[[list[ReceivedSpan]], bool], *, timeout_s: float = 30.0
    ) -> list[ReceivedSpan]:
        """The trace's spans once ``done`` says they are complete; raises after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            spans = self.spans(trace_id)
            if done(spans):
                return spans
            if time.monotonic() > deadline:
                names = sorted({f"{s.service}: {s.name}" for s in spans})
                raise AssertionError(f"trace {trace_id} incomplete after {timeout_s} s; it has {names}")
            await asyncio.sleep(0.2)
