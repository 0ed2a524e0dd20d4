"""One way to consume: parse, handle with bounded retries, dead-letter what cannot be handled."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog
from aiokafka import ConsumerRebalanceListener, ConsumerRecord
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import LogicSubscriber
from faststream.message import StreamMessage
from pydantic import BaseModel
from pymongo.errors import ConnectionFailure

from shared.contracts.envelope import Record, header_text, parse_value
from shared.contracts.topics import dlq_topic
from shared.messaging.arrivals import Arrivals
from shared.messaging.kafka import EventPublisher
from shared.messaging.lanes import HOLD_TOPICS, RELEASE_TOPIC, AcuteGate, routine
from shared.runtime import metrics, tracing
from shared.runtime.detached import Detached
from shared.runtime.errors import NotYetVisible, PermanentError, Unavailable

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[M], Awaitable[None]]
CaseHandler = Callable[[str, list[Any]], Awaitable[None]]
"""Handles every event of one case in a batch at once: one load, all events applied, one save."""
Admit = Callable[[str, Any], Any]
"""What a record's topic vouches for: given the topic and the parsed event, what the handlers get; or a
``PermanentError``, and the record is dead-lettered with its reason (``Consumer.admit``)."""

log = structlog.get_logger("weerbaar.consuming")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    first_backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    patience_s: float = 300.0
    """How long a ``NotYetVisible`` event is retried (the other topic catches up) before it is dead-lettered."""

    def backoff(self, attempt: int) -> float:
        return float(min(self.first_backoff_s * (2 ** (attempt - 1)), self.max_backoff_s))


class DeadLetters:
    """Publishes a record that could not be handled to ``<topic>.dlq`` with the reason in headers."""

    def __init__(self, publisher: EventPublisher, *, service: str) -> None:
        self._publisher = publisher
        self._service = service

    async def send(self, record: ConsumerRecord[Any, Any], *, reason: str, kind: str, attempts: int) -> None:
        # Traced, the dead letter's send writes its own W3C context (under the original's): not a second copy of it.
        replaced = tracing.W3C if tracing.enabled() else ()
        headers = {name: bytes(value) for name, value in (record.headers or ()) if name not in replaced}
        headers.update(
            {
                "dlq_reason": reason[:2000].encode(),
                "dlq_error_kind": kind.encode(),
                "dlq_attempts": str(attempts).encode(),
                "dlq_source_topic": record.topic.encode(),
                "dlq_source_partition": str(record.partition).encode(),
                "dlq_source_offset": str(record.offset).encode(),
                "dlq_service": self._service.encode(),
                "dlq_failed_at": datetime.now(UTC).isoformat().encode(),
            }
        )
        await self._publisher.send(
            Record(
                topic=dlq_topic(record.topic),
                key=record.key if isinstance(record.key, bytes) else b"",
                value=record.value if isinstance(record.value, bytes) else b"",
                headers=headers,
            )
        )


_OUTAGES = (Unavailable, ConnectionFailure, KafkaConnectionError, KafkaTimeoutError)


def is_outage(exc: BaseException) -> bool:
    """The store or the broker is unreachable (directly or as the cause of a wrapped error).

    Such a failure says nothing about the message: it is retried until the dependency returns, never
    dead-lettered (a store restart would otherwise send every message in flight to the DLQ).
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _OUTAGES):
            return True
        seen = seen.__cause__
    return False


async def _raw_body(message: StreamMessage[Any]) -> bytes:
    """Decoder that leaves the body alone: parsing happens in ``consume`` so failures reach the DLQ."""
    return message.body


@dataclass(frozen=True, slots=True)
class Consumer:
    """Binds a topic's model and handler to the retry and dead-letter behaviour."""

    service: str
    topic: str
    model: type[BaseModel]
    handler: Callable[[Any], Awaitable[None]]
    dead_letters: DeadLetters
    retry: RetryPolicy
    gate: AcuteGate | None = None
    """Routine topics wait here while acute work is on its way (``shared/messaging/lanes.py``); urgent: none."""
    lane_patience_s: float | None = None
    """Urgent topics only: how long an event waits for what it needs before it is left to its copy on the main topic.

    Every urgent record has a copy on a main topic (same event id), so giving up here loses nothing. It waits aside
    (``waiting_aside``), not in its batch: the lane takes its next batch meanwhile. A batch that waited would hold up
    every acute case behind this one, and what it waits for may only come in a later batch of the same consumer; a
    bulk-fed case that triage rated high sends its decision down the acute lane while its report travels the main
    topic, minutes behind under a backlog (the acute probes' notify hop: up to 3.5 s, the whole patience).
    """
    waiting_aside: Detached = field(default_factory=lambda: Detached("urgent_wait_aside_failed"))

    arrivals: Arrivals | None = None
    """Shared by the service's consumers: a handler waiting for what its event needs wakes when its case moves."""
    case_handler: CaseHandler | None = None
    """Optional fast path for batches: all of a case's events at once. On any failure the case's records take the
    one-by-one path (``consume``), whose retry and dead-letter rules decide; handlers dedupe by event id, so what
    the fast path applied before it failed is not applied twice."""
    concurrency: int = 8
    """Cases of one batch handled at the same time; one case's records always in order."""
    also: Mapping[str, tuple[type[BaseModel], Callable[[Any], Awaitable[None]]]] = field(default_factory=dict)
    """Further topics read by the same consumer (one group, one batch): their model and one-by-one handler. A case's
    events from all of them reach ``case_handler`` together, so the case is loaded and saved once per batch."""

    name: str | None = None
    """What the consumer is called when it reads several topics (its group and its AsyncAPI operation)."""
    admit: Admit | None = None
    """Where a record was written says who wrote it (the broker lets only one principal write some topics): given
    the topic and the parsed event, the value the handlers get, or a ``PermanentError`` that dead-letters the record.
    Notify takes a recipient's acknowledgement topic as the acknowledger's identity this way."""
    pattern: bool = False
    """``topic`` is a regular expression: the consumer reads every topic it matches (a new one from the next
    metadata refresh on); ``admit`` tells them apart."""

    @property
    def topics(self) -> tuple[str, ...]:
        return (self.topic, *self.also)

    def _route(self, topic: str) -> tuple[type[BaseModel], Callable[[Any], Awaitable[None]]]:
        return self.also.get(topic) or (self.model, self.handler)

    async def consume_batch(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Handle a batch: records grouped by case, cases side by side (bounded), each case's records in order.

        Never raises but for cancellation: the batch is committed after this returns (AckPolicy.ACK), and a record
        that could not be handled has been dead-lettered by then. A cancelled batch is not committed and is read
        again; handlers dedupe by event id.
        """
        by_case: dict[str | None, list[ConsumerRecord[Any, Any]]] = {}
        for record in records:
            by_case.setdefault(case_of(record), []).append(record)
        if self.gate is not None:
            await self.gate.passage()  # acute work first: before a batch is taken on
        limit = asyncio.Semaphore(self.concurrency)

        async def one_case(case: str | None, mine: list[ConsumerRecord[Any, Any]]) -> None:
            async with limit:
                at_once = case is not None and self.case_handler is not None and len(mine) > 1
                if at_once and await self._case_at_once(str(case), mine):
                    return
                for record in mine:
                    await self.consume(record)

        async with asyncio.TaskGroup() as group:
            for case, mine in by_case.items():
                group.create_task(one_case(case, mine))

    async def _case_at_once(self, case: str, records: list[ConsumerRecord[Any, Any]]) -> bool:
        """The fast path: True when every record of the case was handled by one call of ``case_handler``."""
        assert self.case_handler is not None
        headers = [{n: bytes(v) for n, v in (r.headers or ())} for r in records]
        try:
            events = [parse_value(self._route(r.topic)[0], r.value, h) for r, h in zip(records, headers, strict=True)]
            if self.admit is not None:
                events = [self.admit(r.topic, event) for r, event in zip(records, events, strict=True)]
        except Exception:  # noqa: BLE001 - a bad record: the one-by-one path dead-letters it with its reason
            return False
        if self.gate is not None:
            await self.gate.passage(unless=case)
        started = time.perf_counter()
        with (
            structlog.contextvars.bound_contextvars(topic=records[0].topic, case_id=case, batch=len(records)),
            routine(self.gate, case) if self.gate is not None else contextlib.nullcontext(),
            tracing.processing(records[0].topic, case, headers),
        ):
            try:
                await self.case_handler(case, events)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the one-by-one path retries and dead-letters
                log.info("case_batch_falls_back", error=type(exc).__name__)
                tracing.note({"weerbaar.outcome": "falls_back", "error.type": type(exc).__name__})
                return False
            finally:
                metrics.HANDLE_SECONDS.labels(self.service, records[0].topic).observe(time.perf_counter() - started)
        for record in records:
            metrics.MESSAGES.labels(self.service, record.topic, "ok").inc()
        if self.arrivals is not None:
            self.arrivals.announce(case)
        return True

    async def consume(self, record: ConsumerRecord[Any, Any]) -> None:
        case = case_of(record)
        if self.gate is not None:
            await self.gate.passage(unless=case)
        headers = {name: bytes(value) for name, value in (record.headers or ())}
        with (
            structlog.contextvars.bound_contextvars(
                topic=record.topic,
                event_id=header_text(headers, "ce_id"),
                case_id=header_text(headers, "ce_subject"),
            ),
            routine(self.gate, case) if self.gate is not None else contextlib.nullcontext(),
            tracing.processing(record.topic, case, [headers]),
        ):
            started = time.perf_counter()
            try:
                await self._handle(record, headers, case)
            finally:
                metrics.HANDLE_SECONDS.labels(self.service, record.topic).observe(time.perf_counter() - started)

    async def _handle(self, record: ConsumerRecord[Any, Any], headers: dict[str, bytes], case: str | None) -> None:
        attempt = 0
        started = time.monotonic()
        while True:
            attempt += 1
            mark = self.arrivals.mark() if self.arrivals is not None else 0
            try:
                await self._apply(record, headers)
            except PermanentError as exc:
                await self._dead_letter(record, reason=str(exc), kind=exc.code, attempts=attempt)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - everything else is treated as transient
                reason = f"{type(exc).__name__}: {exc}"
                waited = time.monotonic() - started
                impatient = self.lane_patience_s is not None and waited >= self.lane_patience_s
                if isinstance(exc, NotYetVisible) and self.lane_patience_s is not None:
                    if impatient:
                        self._left_to_main_lane(record, attempt, exc)
                    else:  # the lane goes on with its next records; this one waits aside for what it needs
                        log.info("urgent_event_waits_aside", attempt=attempt, error=type(exc).__name__)
                        self.waiting_aside.start(self._wait_aside(record, headers, case, started, mark))
                    return
                waiting = isinstance(exc, NotYetVisible) and waited < self.retry.patience_s
                if is_outage(exc) or waiting:
                    metrics.MESSAGES.labels(self.service, record.topic, "retried").inc()
                    log.warning("handler_waits_for_dependency", attempt=attempt, error=type(exc).__name__)
                    if waiting and case is not None and self.arrivals is not None:
                        await self.arrivals.wait(case, mark, self.retry.backoff(attempt))  # or sooner: it arrived
                    else:
                        await asyncio.sleep(self.retry.backoff(attempt))
                    continue
                if attempt >= self.retry.attempts:
                    await self._dead_letter(
                        record,
                        reason=f"gave up after {attempt} attempts: {reason}",
                        kind="transient_exhausted",
                        attempts=attempt,
                    )
                    return
                metrics.MESSAGES.labels(self.service, record.topic, "retried").inc()
                log.warning("handler_retry", attempt=attempt, error=type(exc).__name__)
                await asyncio.sleep(self.retry.backoff(attempt))
            else:
                metrics.MESSAGES.labels(self.service, record.topic, "ok").inc()
                if case is not None and self.arrivals is not None:
                    self.arrivals.announce(case)
                return

    async def _apply(self, record: ConsumerRecord[Any, Any], headers: dict[str, bytes]) -> None:
        """Parse the record as its topic's model, admit it, and hand it to its handler."""
        model, handler = self._route(record.topic)
        event = parse_value(model, record.value, headers)
        if self.admit is not None:
            event = self.admit(record.topic, event)
        await handler(event)

    async def _wait_aside(
        self, record: ConsumerRecord[Any, Any], headers: dict[str, bytes], case: str | None, started: float, mark: int
    ) -> None:
        """An urgent event whose dependency has not arrived: retried each time its case moves in this process (without
        arrivals to watch: after each backoff), until the lane's patience is up; then, or on any other failure, left
        to its main-topic copy (whose consumer retries and dead-letters as every routine one does)."""
        assert self.lane_patience_s is not None
        attempt = 1
        while (left := self.lane_patience_s - (time.monotonic() - started)) > 0:
            if case is not None and self.arrivals is not None:
                # Tried again only once its case moved in this process: what it needs arrives through a consumer
                # here, and a retry before that would only cost the store (a bulk-fed decision waits in vain).
                if not await self.arrivals.wait(case, mark, left):
                    break
            else:
                await asyncio.sleep(min(left, self.retry.backoff(attempt)))
            attempt += 1
            mark = self.arrivals.mark() if self.arrivals is not None else 0
            try:
                await self._apply(record, headers)
            except NotYetVisible:
                continue
            except Exception as exc:  # noqa: BLE001 - the main-topic copy retries and dead-letters
                self._left_to_main_lane(record, attempt, exc)
                return
            metrics.MESSAGES.labels(self.service, record.topic, "ok").inc()
            if case is not None and self.arrivals is not None:
                self.arrivals.announce(case)
            return
        self._left_to_main_lane(record, attempt, NotYetVisible("the lane's patience is up"))

    def _left_to_main_lane(self, record: ConsumerRecord[Any, Any], attempt: int, exc: BaseException) -> None:
        metrics.MESSAGES.labels(self.service, record.topic, "left_to_main_lane").inc()
        tracing.note({"weerbaar.outcome": "left_to_main_lane"})
        log.warning("left_to_main_lane", attempt=attempt, error=type(exc).__name__)

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], *, reason: str, kind: str, attempts: int) -> None:
        while True:
            try:
                await self.dead_letters.send(record, reason=reason, kind=kind, attempts=attempts)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the DLQ itself is unreachable: the record waits for it
                # Never skip the record: nothing is committed while it waits (a batch commits as a whole, and a
                # nack would rewind only one partition of a batch), and a shutdown leaves it to be read again.
                log.error("dead_letter_failed", error=type(exc).__name__)
                await asyncio.sleep(self.retry.max_backoff_s)
        metrics.MESSAGES.labels(self.service, record.topic, "dead_lettered").inc()
        tracing.note({"weerbaar.outcome": "dead_lettered", "weerbaar.error_kind": kind})
        log.warning("event_dead_lettered", kind=kind, attempts=attempts)


def case_of(record: ConsumerRecord[Any, Any]) -> str | None:
    """The case a record is about: every weerbaar record is keyed by its case id."""
    return record.key.decode(errors="replace") if isinstance(record.key, bytes) else None


@dataclass(frozen=True, slots=True)
class Batching:
    """How routine consumers take records: bounded by count and by bytes."""

    max_records: int = 200
    max_bytes: int = 4 * 1024 * 1024


class ForgetOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc] # aiokafka ships no type hints
    """Calls ``forget`` when the consumer loses partitions: another process may own those cases now."""

    def __init__(self, forget: Callable[[], None]) -> None:
        self._forget = forget

    async def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            self._forget()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None


def subscribe(
    broker: KafkaBroker,
    consumer: Consumer,
    *,
    group_id: str,
    batching: Batching | None = None,
    on_revoke: Callable[[], None] | None = None,
) -> LogicSubscriber[Any]:
    """Register ``consumer`` on the broker: commit after handling, start from the earliest offset.

    With ``batching`` the consumer takes up to ``max_records`` at once (``getmany``) and commits once per batch,
    after every record of it was handled (the acute lane's batches are small and all their cases run at once);
    without it one record at a time.
    """
    name = f"consume_{(consumer.name or consumer.topic).replace('.', '_').replace('-', '_')}"
    if consumer.pattern and (batching is None or consumer.also):
        raise ValueError("a pattern is read in batches, alone")
    if batching is None:

        async def on_message(msg: KafkaMessage) -> None:
            await consumer.consume(msg.raw_message)

        on_message.__name__ = name
        subscriber = broker.subscriber(
            consumer.topic,
            group_id=group_id,
            auto_offset_reset="earliest",
            decoder=_raw_body,
            max_poll_interval_ms=300_000,
        )
        subscriber(on_message)
        return subscriber

    async def on_batch(msg: KafkaMessage) -> None:
        await consumer.consume_batch(msg.raw_message)  # a batch subscriber's raw message is the tuple of records

    on_batch.__name__ = name
    batch_subscriber = broker.subscriber(
        *(() if consumer.pattern else consumer.topics),
        pattern=consumer.topic if consumer.pattern else None,
        batch=True,
        max_records=batching.max_records,
        batch_timeout_ms=100,
        fetch_max_bytes=batching.max_bytes,
        max_partition_fetch_bytes=min(batching.max_bytes, 1024 * 1024),
        listener=ForgetOnRevoke(on_revoke) if on_revoke is not None else None,
        group_id=group_id,
        auto_offset_reset="earliest",
        decoder=_raw_body,
        # A batch is committed once its slowest case is done, and a case may wait for what its event needs for
        # ``RetryPolicy.patience_s`` (300 s): the group must not evict the consumer meanwhile.
        max_poll_interval_ms=int((consumer.retry.patience_s + 300) * 1000),
    )
    batch_subscriber(on_batch)
    return batch_subscriber


def watch_urgent(broker: KafkaBroker, gate: AcuteGate, *, group_id: str) -> LogicSubscriber[Any]:
    """Hold ``gate`` for a case seen on an urgent topic (or signalled), release it when its police notification is out.

    Reads from the latest offset: records from before a start hold nothing.
    """

    async def on_urgent(msg: KafkaMessage) -> None:
        record: ConsumerRecord[Any, Any] = msg.raw_message  # one record: this subscriber is not a batch one
        case = case_of(record)
        if case is None:
            return  # every record on these topics is keyed by its case; an unkeyed one holds nothing
        if record.topic == RELEASE_TOPIC:
            gate.release(case)
        else:
            gate.hold(case)

    subscriber = broker.subscriber(
        *sorted(HOLD_TOPICS),
        RELEASE_TOPIC,
        group_id=group_id,
        auto_offset_reset="latest",
        decoder=_raw_body,
        include_in_schema=False,  # reads only keys; the AsyncAPI text names it
    )
    subscriber(on_urgent)
    return subscriber
