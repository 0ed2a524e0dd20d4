"""Intake's use cases: take a report into a case, and keep the case file in step with the other services' events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog

from services.intake import domain
from services.intake.errors import CaseNotFound, ConcurrentCaseUpdate, IdempotencyConflict
from services.intake.store import CaseStore
from shared.contracts.events import (
    AcuteSignal,
    CaseErased,
    CaseFollowup,
    CaseTriaged,
    ErasureReason,
    IncidentReported,
    NotificationStatus,
    ReportSource,
    new_id,
)
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import INCIDENT_URGENT
from shared.detached import Detached
from shared.errors import TransientError
from shared.outbox import outbox_entry
from shared.pseudonym import office_holder_ref, perpetrator_ref
from shared.runtime import Runtime
from shared.urgency import possibly_acute

log = structlog.get_logger("weerbaar.intake")


class Outcome(StrEnum):
    OPENED = "opened"  # a new case
    ADDED = "added"  # a further report of an incident that already has a case
    REPEATED = "repeated"  # this very report was stored before (retry)


@dataclass(frozen=True, slots=True)
class Receipt:
    case_id: str
    report_id: str
    outcome: Outcome
    status: str


class IntakeService:
    def __init__(self, runtime: Runtime, store: CaseStore) -> None:
        self._runtime = runtime
        self._store = store
        self._key = runtime.settings.pseudonym_secret
        self._source = f"/weerbaar/{runtime.service}"
        self._signals = Detached("acute_signal_failed")

    def seal_for(self, case_id: str) -> domain.Seal:
        cipher = self._runtime.cipher
        return lambda value: cipher.seal_json(value, context=case_context(case_id))

    def open_report(self, case_id: str, sealed: str) -> dict[str, Any] | None:
        """The report as filed, or None once erased."""
        if sealed == domain.ERASED:
            return None
        opened: dict[str, Any] = self._runtime.cipher.open_json(sealed, context=case_context(case_id))
        return opened

    async def report_incident(
        self, report: IncidentReport, idempotency_key: str | None, filer: dict[str, str | None] | None = None
    ) -> Receipt:
        """Take a report into its case; durable in the store (with its outgoing event) before this returns."""
        acute = possibly_acute(report)
        gate = self._runtime.gate
        candidate = new_id()  # the new case's id, unless the incident or this very request has a case already
        if acute:
            self._signal_acute(candidate)
        # A possibly acute report: routine work steps aside in every service (the heads-up) and in this process (the
        # hold) while it is stored, and the urgent record takes over from there. A routine report over HTTP does not
        # step aside: somebody waits for the answer (the gate is for background work: consumers and sweeps).
        with gate.holding(acute):
            return await self._take_report(report, idempotency_key, filer, acute=acute, candidate=candidate)

    def _signal_acute(self, case_id: str) -> None:
        """Tell every service, without waiting for the broker, that acute work for ``case_id`` is on its way."""
        self._signals.start(self._send_signal(case_id))

    async def _send_signal(self, case_id: str) -> None:
        try:
            await self._runtime.publisher.publish(AcuteSignal(case_id=case_id))
        except TransientError as exc:  # only a heads-up: the urgent record carries the work and is never lost
            log.warning("acute_signal_not_sent", case_id=case_id, error=type(exc).__name__)

    async def _take_report(
        self,
        report: IncidentReport,
        idempotency_key: str | None,
        filer: dict[str, str | None] | None,
        *,
        acute: bool,
        candidate: str,
    ) -> Receipt:
        fingerprint = domain.body_fingerprint(report)
        key_id = domain.idempotency_id(idempotency_key) if idempotency_key else None
        earlier = await self._store.find_key(key_id) if key_id else None
        if earlier is not None:
            if earlier["fingerprint"] != fingerprint:
                raise IdempotencyConflict("this Idempotency-Key was used with another body")
            case_id, report_id = str(earlier["case_id"]), str(earlier["report_id"])
        else:
            holder = office_holder_ref(report.office_holder, key=self._key)
            case_id = await self._store.claim_incident(domain.dedup_key(holder, report), candidate)
            report_id = new_id()
            if key_id:
                claim = await self._store.claim_key(
                    key_id, {"fingerprint": fingerprint, "case_id": case_id, "report_id": report_id}
                )
                if claim["fingerprint"] != fingerprint:
                    raise IdempotencyConflict("this Idempotency-Key was used with another body")
                case_id, report_id = str(claim["case_id"]), str(claim["report_id"])
        links = await self._links(report, case_id)
        event = IncidentReported(
            event_id=domain.report_event_id(report_id),
            case_id=case_id,
            report_id=report_id,
            source=ReportSource.HTTP,
            report=report,
            linked_case_ids=tuple(link["case_id"] for link in links),
        )
        outbox = [outbox_entry(event, source=self._source)]
        if acute:
            outbox.insert(0, outbox_entry(event, source=self._source, topic=INCIDENT_URGENT))
        outcome, status = await self._store_report(event, links, outbox=outbox, filer=filer)
        with structlog.contextvars.bound_contextvars(case_id=case_id, event_id=event.event_id):
            log.info("incident_reported", outcome=outcome.value, linked=len(links))
        opened = outcome is Outcome.OPENED
        # Publish first (the urgent record is the acute path); a new case's outbox is known without reading it back.
        await self._runtime.outbox.flush_quietly(self._store.cases, case_id, created_with=outbox if opened else None)
        if opened:
            await self._apply_parked(case_id)
        return Receipt(case_id=case_id, report_id=report_id, outcome=outcome, status=status)

    async def record_stream_report(self, event: IncidentReported) -> None:
        """Reports from bulk or automated sources open (or join) their case here; our own are already stored."""
        links = await self._links(event.report, event.case_id)
        outcome, _ = await self._store_report(event, links, outbox=[])
        if outcome is Outcome.OPENED:
            await self._apply_parked(event.case_id)
        if outcome is not Outcome.REPEATED:
            log.info("stream_report_recorded", outcome=outcome.value, source=event.source.value)

    async def _links(self, report: IncidentReport, case_id: str) -> list[dict[str, str]]:
        keys = ["oh:" + office_holder_ref(report.office_holder, key=self._key)]
        if report.incident.perpetrator_handle:
            keys.append("pp:" + perpetrator_ref(report.incident.perpetrator_handle, key=self._key))
        return domain.links_of(await self._store.link(keys, case_id))

    async def _store_report(
        self,
        event: IncidentReported,
        links: list[dict[str, str]],
        *,
        outbox: list[dict[str, Any]],
        filer: dict[str, str | None] | None = None,
    ) -> tuple[Outcome, str]:
        seal = self.seal_for(event.case_id)
        for _ in range(10):
            now = datetime.now(UTC)
            async with self._store.editing(event.case_id) as edit:
                case = edit.case
                if case is not None:
                    if event.event_id in case.get("seen", []):
                        return Outcome.REPEATED, str(case["status"])
                    added = await edit.apply(
                        event_id=event.event_id,
                        set_fields={**domain.added_report_update(case, event, links, filer), "updated_at": now},
                        push={
                            "reports": domain.report_entry(event, seal=seal, filer=filer),
                            "timeline": domain.timeline_entry(event, domain.report_summary(event, first=False)),
                        },
                        outbox=outbox,
                    )
                    if added:
                        return Outcome.ADDED, str(case["status"])
                    continue
            opened = domain.new_case(event, now=now, links=links, seal=seal, filer=filer)
            if await self._store.insert_case(opened, event_id=event.event_id, outbox=outbox):
                return Outcome.OPENED, opened["status"]  # the caller applies what was parked for it
            # opened concurrently: add to it
        raise ConcurrentCaseUpdate("case kept changing while a report was added")

    # --- erasure and retention -----------------------------------------------------------------------------------

    async def erase(self, case_id: str, reason: ErasureReason) -> bool:
        """Tombstone the case's personal data, unlink its pseudonyms and tell the others; False if erased before."""
        for _ in range(10):
            now = datetime.now(UTC)
            event = CaseErased(case_id=case_id, reason=reason, erased_at=now)
            async with self._store.editing(case_id) as edit:
                case = edit.case
                if case is None:
                    raise CaseNotFound(f"no case {case_id}")
                if case.get("erased"):
                    return False
                erased = await edit.apply(
                    event_id=event.event_id,
                    set_fields={**domain.erasure_update(case, at=now, reason=reason.value), "updated_at": now},
                    push={"timeline": domain.timeline_entry(event, f"Personal data erased ({reason.value})")},
                    outbox=[outbox_entry(event, source=self._source)],
                )
            if erased:
                await self._store.forget(case_id)
                with structlog.contextvars.bound_contextvars(case_id=case_id, event_id=event.event_id):
                    log.info("case_erased", reason=reason.value)
                await self._runtime.outbox.flush_quietly(self._store.cases, case_id)
                return True
        raise ConcurrentCaseUpdate("case kept changing while it was erased")

    async def expired_closed_cases(self, *, retention_days: int, limit: int = 100) -> list[str]:
        cutoff = datetime.now(UTC) - timedelta(days=retention_days)
        return await self._store.closed_before(cutoff, limit=limit)

    # --- case view -------------------------------------------------------------------------------------------

    async def apply_triaged(self, event: CaseTriaged) -> None:
        summary = f"Triaged: {event.level.value} (score {event.score:g}, policy {event.policy_version})"
        await self._apply(event, lambda case: domain.triaged_update(case, event), summary)

    async def apply_notification_status(self, event: NotificationStatus) -> None:
        summary = f"Notification to {event.recipient.value}: {event.status.value}"
        await self._apply(event, lambda case: domain.notification_update(case, event), summary)

    async def apply_followup(self, event: CaseFollowup) -> None:
        summary = f"Follow-up by {event.organisation}: {event.kind.value}"
        followup = {
            "kind": event.kind.value,
            "organisation": event.organisation,
            "outcome": event.outcome,
            "at": event.occurred,
        }
        await self._apply(
            event, lambda case: domain.followup_update(case, event), summary, push={"followups": followup}
        )

    async def _apply(
        self,
        event: CaseTriaged | NotificationStatus | CaseFollowup,
        update: Callable[[dict[str, Any]], dict[str, Any]],
        summary: str,
        push: dict[str, Any] | None = None,
    ) -> None:
        """Apply an event to the case once: deduplicated by event id, optimistic on the case version."""
        async with self._store.editing(event.case_id) as edit:
            case = edit.case
            if case is not None:
                if event.event_id in case.get("seen", []):
                    return
                pushes = {"timeline": domain.timeline_entry(event, summary), **(push or {})}
                set_fields = {**update(case), "updated_at": datetime.now(UTC)}
                if not await edit.apply(event_id=event.event_id, set_fields=set_fields, push=pushes):
                    raise ConcurrentCaseUpdate("case changed concurrently")
                return
        await self._store.park(
            case_id=event.case_id, event_id=event.event_id, kind=type(event).__name__, value=event.model_dump_json()
        )
        if await self._store.get(event.case_id) is not None:
            await self._apply_parked(event.case_id)  # opened meanwhile: do not leave it parked

    async def _apply_parked(self, case_id: str) -> None:
        """Apply, in their original order, the events that arrived before the case was opened."""
        appliers: dict[str, Callable[[Any], Awaitable[None]]] = {
            "CaseTriaged": lambda raw: self.apply_triaged(CaseTriaged.model_validate_json(raw)),
            "NotificationStatus": lambda raw: self.apply_notification_status(
                NotificationStatus.model_validate_json(raw)
            ),
            "CaseFollowup": lambda raw: self.apply_followup(CaseFollowup.model_validate_json(raw)),
        }
        for parked in await self._store.parked_for(case_id):
            await appliers[parked["kind"]](parked["value"])
            await self._store.unpark(case_id, parked["event_id"])


def case_context(case_id: str) -> str:
    """Associated data of a case's sealed reports: a blob copied to another case does not open."""
    return f"intake/case/{case_id}"
