"""The composition every service shares: broker, store, outbox, consumers, health endpoints, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.telemetry import TelemetryConfig
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.principals import service_principal
from shared.messaging.arrivals import Arrivals
from shared.messaging.consuming import (
    Admit,
    Batching,
    CaseHandler,
    Consumer,
    DeadLetters,
    RetryPolicy,
    subscribe,
    watch_urgent,
)
from shared.messaging.kafka import EventPublisher, make_broker
from shared.messaging.kafka_auth import client_options
from shared.messaging.lanes import AcuteGate, is_routine
from shared.messaging.progress import ConsumerProgress
from shared.runtime import metrics, tracing
from shared.runtime.errors import TransientError
from shared.runtime.metrics import DEV_MODE
from shared.runtime.periodic import Every
from shared.runtime.settings import CommonSettings
from shared.security.crypto import DataCipher
from shared.store import mongo
from shared.web.auth import TokenVerifier
from shared.web.headers import SecurityHeaders
from shared.web.http import install_problem_handlers
from shared.web.limits import BodySizeLimit
from shared.web.openapi import describe

log = structlog.get_logger("weerbaar.runtime")

Hook = Callable[[], Awaitable[None]]


class Health(BaseModel):
    status: Literal["ok"]
    service: str


class Readiness(BaseModel):
    status: Literal["ready", "unready"]
    service: str
    dev_mode: Literal[True] | None = Field(default=None, description="present (true) only in dev mode")
    reasons: dict[str, str] | None = Field(default=None, description="unready: what is wrong, by part")


@dataclass
class Runtime:
    """Everything a service needs at its edges; built without I/O, connected in the app's lifespan."""

    service: str
    settings: CommonSettings
    broker: KafkaBroker
    publisher: EventPublisher
    dead_letters: DeadLetters
    client: AsyncMongoClient[mongo.Document]
    db: AsyncDatabase[mongo.Document]
    retry: RetryPolicy
    cipher: DataCipher
    verifier: TokenVerifier
    gate: AcuteGate
    arrivals: Arrivals = field(default_factory=Arrivals)
    subscribers: list[Any] = field(default_factory=list)
    consumed: dict[str, type[BaseModel]] = field(default_factory=dict)
    produced: dict[str, type[BaseModel]] = field(default_factory=dict)
    on_startup: list[Hook] = field(default_factory=list)
    background: list[Hook] = field(default_factory=list)
    progress: ConsumerProgress | None = None
    forgetful: list[Callable[[], None]] = field(default_factory=list)
    """Called when a consumer loses partitions: caches of aggregates whose cases another process may own now."""
    ready_probe_collections: list[str] = field(default_factory=list)
    """What readiness reads (a ``find_one`` by ``_id`` in each, within its timeout); empty: ``<service>_readyz``."""

    @classmethod
    def create(cls, settings: CommonSettings, *, service: str) -> Runtime:
        security = client_options(settings, principal=service_principal(service))
        broker = make_broker(bootstrap=settings.kafka_bootstrap, service=service, security=security)
        publisher = EventPublisher(broker, source=f"/weerbaar/{service}", timeout_s=settings.publish_timeout_s)
        client = mongo.make_client(settings.mongodb_uri, app_name=f"weerbaar-{service}")
        gate = AcuteGate(settings.acute_hold_s, service=service)
        DEV_MODE.labels(service).set(1 if settings.dev_mode else 0)
        runtime = cls(
            service=service,
            settings=settings,
            broker=broker,
            publisher=publisher,
            dead_letters=DeadLetters(publisher, service=service),
            client=client,
            db=client[settings.mongodb_db],
            retry=RetryPolicy(
                attempts=settings.retry_attempts,
                first_backoff_s=settings.retry_backoff_s,
                patience_s=settings.retry_patience_s,
            ),
            cipher=DataCipher.from_settings(settings),
            verifier=TokenVerifier.from_settings(settings),
            gate=gate,
        )
        group = f"{settings.group_prefix}-{service}-acute-watch"
        runtime.subscribers.append(watch_urgent(broker, gate, group_id=group))
        progress = runtime.progress = ConsumerProgress(
            runtime.subscribers,
            service=service,
            stall_s=settings.stall_seconds,
            interval_s=settings.progress_interval_s,
        )
        runtime.every(
            "consumer_progress", settings.progress_interval_s, progress.sample_quietly, routine=False, max_share=0.5
        )
        return runtime

    def consume(
        self,
        topic: str,
        model: type[BaseModel],
        handler: Callable[[Any], Awaitable[None]],
        *,
        per_case: CaseHandler | None = None,
        also: Mapping[str, tuple[type[BaseModel], Callable[[Any], Awaitable[None]]]] | None = None,
        name: str | None = None,
        admit: Admit | None = None,
        pattern: bool = False,
    ) -> None:
        """Subscribe ``handler`` to ``topic`` with this service's retry and DLQ behaviour.

        Routine topics are read in batches (cases side by side, each case in order, one commit per batch); with
        ``per_case`` all of a case's events in a batch go to one call. Urgent topics are read in small batches whose
        cases are all handled at once (``urgent_batch_max_records``), so a burst of acute cases is not worked off one
        record and one commit at a time.
        ``also``: further topics of the same lane read by the same consumer (one group named ``name``, one batch), so
        a case's events from all of them are applied with one load and one save (or, on the acute lane, in order).
        ``admit``: what a record's topic vouches for (``Consumer.admit``). ``pattern``: ``topic`` is a regular
        expression of routine topics, read by a consumer with a name (``Consumer.pattern``).
        """
        also = dict(also or {})
        routine_topic = pattern or is_routine(topic)
        if also and not (name and all(is_routine(t) == routine_topic for t in also)):
            raise ValueError("only topics of one lane are read together, by a consumer with a name")
        if pattern and not name:
            raise ValueError("a consumer of a pattern has a name")
        consumer = Consumer(
            service=self.service,
            topic=topic,
            model=model,
            handler=handler,
            dead_letters=self.dead_letters,
            retry=self.retry,
            gate=self.gate if routine_topic else None,
            lane_patience_s=None if routine_topic else self.settings.urgent_patience_s,
            arrivals=self.arrivals,
            case_handler=per_case,
            concurrency=self.settings.batch_concurrency if routine_topic else self.settings.urgent_batch_max_records,
            also=also,
            name=name,
            admit=admit,
            pattern=pattern,
        )
        self.consumed[topic] = model
        # Every outcome at 0 from the start: an alert's increase() sees the first dead letter, a board shows none.
        outcomes = ("ok", "retried", "dead_lettered") + (() if routine_topic else ("left_to_main_lane",))
        for read in () if pattern else consumer.topics:  # a pattern's topics get their series when read
            for outcome in outcomes:
                metrics.MESSAGES.labels(self.service, read, outcome)
        self.consumed.update({other: other_model for other, (other_model, _) in also.items()})
        group = f"{self.settings.group_prefix}-{self.service}-{name or topic.removeprefix('weerbaar.')}"
        batching = (
            Batching(max_records=self.settings.batch_max_records, max_bytes=self.settings.batch_max_bytes)
            if routine_topic
            else Batching(max_records=self.settings.urgent_batch_max_records, max_bytes=self.settings.batch_max_bytes)
        )
        self.subscribers.append(
            subscribe(self.broker, consumer, group_id=group, batching=batching, on_revoke=self._forget_all)
        )

    def every(
        self,
        name: str,
        interval_s: float,
        work: Callable[[], Awaitable[Any]],
        *,
        routine: bool = True,
        wake: asyncio.Event | None = None,
        max_share: float = 0.05,
    ) -> Every:
        """Run ``work`` in the background every ``interval_s`` from start to shutdown (``shared.runtime.periodic``).

        ``routine`` jobs wait while acute work is on its way; ``wake``: run only after it is set.
        """
        job = Every(name, interval_s, work, gate=self.gate if routine else None, wake=wake, max_share=max_share)

        async def loop() -> None:
            await job.run_forever()

        loop.__name__ = name
        self.background.append(loop)
        return job

    def _forget_all(self) -> None:
        for forget in self.forgetful:
            forget()

    def produces(self, topic: str, model: type[BaseModel], description: str) -> None:
        """Declare a topic this service publishes (documented in its AsyncAPI document)."""
        self.produced[topic] = model
        self.broker.publisher(topic, schema=model, title=f"{topic}:{model.__name__}", description=description)

    async def readiness(self) -> dict[str, str]:
        """Problems that make the service unready; empty when ready."""
        problems: dict[str, str] = {}
        timeout = self.settings.readiness_timeout_s
        if not await self.broker.ping(timeout=timeout):
            problems["broker"] = "no metadata answer from Kafka"
        try:
            await mongo.ping(self.db, timeout)
            await mongo.probe(self.db, self.ready_probe_collections or [f"{self.service}_readyz"], timeout)
        except TransientError as exc:
            problems["store"] = str(exc)
        for sub in self.subscribers:
            consumer = getattr(sub, "consumer", None)
            # A pattern that matches no topic yet (no gemeente has acknowledged) has nothing to hold.
            nothing_to_hold = consumer is not None and sub.pattern is not None and not consumer.subscription()
            if (consumer is None or not consumer.assignment()) and not nothing_to_hold:
                name = sub.topics[0] if sub.topics else (sub.pattern.template if sub.pattern else "?")
                problems[f"consumer:{name}"] = "holds no partitions"
        if self.progress is not None:
            problems.update(self.progress.stalled())
        metrics.READY.labels(self.service).set(0 if problems else 1)
        return problems

    async def _run_startup_hooks(self) -> None:
        for attempt in range(1, 31):
            try:
                for hook in self.on_startup:
                    await hook()
                return
            except TransientError as exc:
                log.warning("startup_waiting", attempt=attempt, error=str(exc))
                await asyncio.sleep(min(0.5 * attempt, 3.0))
        raise RuntimeError("store did not become available at start-up")

    @contextlib.asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        await self._run_startup_hooks()
        await self.broker.start()
        tasks: list[asyncio.Task[None]] = [
            asyncio.create_task(_run(hook), name=hook.__name__) for hook in self.background
        ]
        log.info("service_started")
        try:
            yield
        finally:
            log.info("service_stopping")
            # Uvicorn has finished the HTTP requests in flight. The broker's stop waits (graceful_timeout) for the
            # handlers in flight and commits what they finished; a handler cancelled at the deadline is not
            # committed (FastStream 0.7.8 skips the ack on CancelledError), so it is redelivered, never lost.
            for task in tasks:
                task.cancel()
            # Background loops hold no work that must finish; never let one that is slow to stop hold up the drain.
            _stopped, stuck = await asyncio.wait(tasks, timeout=self.settings.publish_timeout_s)
            if stuck:
                log.warning("background_tasks_did_not_stop", tasks=sorted(t.get_name() for t in stuck))
            await self._drain()
            await self.broker.stop()
            await self.client.close()
            log.info("service_stopped")

    async def _drain(self) -> None:
        """Stop consuming: in-flight handlers finish and commit (an outbox left unsent is relayed after the next start,
        by the service's own relay: intake's ``deliveries``, notify's ``sending``)."""
        for sub in self.subscribers:
            await sub.stop()

    def ops_router(self) -> APIRouter:
        router = APIRouter(tags=["operations"])

        @router.get("/healthz", response_model=Health)
        async def healthz() -> dict[str, str]:
            """The process answers (liveness)."""
            return {"status": "ok", "service": self.service}

        @router.get(
            "/readyz",
            response_model=Readiness,
            responses={503: {"model": Readiness, "description": "Not ready: broker, store or consumers (`reasons`)"}},
        )
        async def readyz() -> JSONResponse:
            """Ready when broker and store answer and every consumer holds partitions (200); otherwise 503."""
            problems = await self.readiness()
            body: dict[str, Any] = {"status": "ready", "service": self.service}
            if self.settings.dev_mode:  # never mistaken for production: keys are this checkout's generated ones
                body["dev_mode"] = True
            if problems:
                return JSONResponse({**body, "status": "unready", "reasons": problems}, 503)
            return JSONResponse(body)

        @router.get(
            "/metrics",
            response_class=PlainTextResponse,
            response_description=f"Prometheus text exposition format ({CONTENT_TYPE_LATEST})",
        )
        async def scrape() -> Response:
            await self.readiness()  # weerbaar_ready as of this scrape
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        return router

    def build_app(self, *, title: str, routers: tuple[APIRouter, ...] = ()) -> FastAPI:
        # FastAPI's own OpenTelemetry spans: on when tracing is configured (shared.runtime.tracing), else free.
        telemetry: TelemetryConfig = {
            "exclude": tracing.ops_path,
            "metrics": False,
            "logs": False,
            "auto_configure": False,
        }
        app = FastAPI(title=title, lifespan=self.lifespan, telemetry=telemetry)
        app.openapi = describe(app)  # type: ignore[method-assign]  # FastAPI's documented way to extend it
        app.state.runtime = self
        app.state.verifier = self.verifier
        install_problem_handlers(app)
        # Outermost last: the headers go on every response, the 413 included; the size limit comes before anything
        # reads the body (FastAPI reads it before the route's dependencies, authentication among them).
        app.add_middleware(BodySizeLimit, max_bytes=self.settings.max_body_bytes)
        app.add_middleware(SecurityHeaders)
        app.include_router(self.ops_router())
        for router in routers:
            app.include_router(router)
        return app


async def _run(hook: Hook) -> None:
    await hook()
