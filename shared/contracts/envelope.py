"""CloudEvents 1.0 binary content mode for Kafka: attributes as ``ce_*`` headers, the model as JSON value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel, ValidationError

from shared.contracts.events import Envelope
from shared.runtime import tracing
from shared.runtime.errors import InvalidEvent

M = TypeVar("M", bound=BaseModel)

CONTENT_TYPE = "application/json"
_FORMAT = JSONFormat()


@dataclass(frozen=True, slots=True)
class Record:
    """A Kafka record ready to send (or as received)."""

    topic: str
    key: bytes
    value: bytes
    headers: dict[str, bytes]

    def stored(self) -> dict[str, Any]:
        """The record as a JSON document (an outbox entry, a sealed copy): every field text."""
        return {
            "topic": self.topic,
            "key": self.key.decode(),
            "value": self.value.decode(),
            "headers": {name: value.decode() for name, value in self.headers.items()},
        }

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Record:
        """The record a ``stored()`` document holds."""
        return cls(
            topic=str(stored["topic"]),
            key=str(stored["key"]).encode(),
            value=str(stored["value"]).encode(),
            headers={name: str(value).encode() for name, value in stored["headers"].items()},
        )


def to_record(event: Envelope, *, source: str, topic: str | None = None, key: str | None = None) -> Record:
    """Map an event model to a Kafka record with CloudEvents headers; key = subject = case id.

    Made inside a trace, the record carries it as the distributed-tracing extension (``ce_traceparent``,
    ``ce_tracestate``): an event that waits in an outbox is published in the trace it was made in.
    """
    subject = key or event.subject()
    cloud_event = CloudEvent(
        attributes={
            "id": event.event_id,
            "source": source,
            "type": event.ce_type,
            "subject": subject,
            "time": event.occurred,
            "datacontenttype": CONTENT_TYPE,
            **tracing.origin(),
        },
        data=event.on_the_wire().model_dump_json().encode(),
    )
    message = ce_kafka.to_binary(cloud_event, _FORMAT)
    return Record(
        topic=topic or event.topic,
        key=subject.encode(),
        value=message.value or b"",
        headers=dict(message.headers),
    )


def header_text(headers: Mapping[str, bytes] | None, name: str) -> str | None:
    """A header's text, or None."""
    if not headers or name not in headers:
        return None
    return headers[name].decode("utf-8", errors="replace")


def parse_value(model: type[M], value: bytes | None, headers: Mapping[str, bytes] | None) -> M:
    """Validate a record's value against its model; any defect raises InvalidEvent with the reason."""
    expected_type = getattr(model, "ce_type", None)
    actual_type = header_text(headers, "ce_type")
    if expected_type and actual_type and actual_type != expected_type:
        raise InvalidEvent(f"ce_type {actual_type!r} is not {expected_type!r}")
    if not value:
        raise InvalidEvent("empty value")
    try:
        return model.model_validate_json(value)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()[:10]
        )
        raise InvalidEvent(f"schema validation failed: {fields}") from exc
