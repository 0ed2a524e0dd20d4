"""Intake's use cases: take a report into a case, and keep the case file in step with the other services' events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from services.intake import domain
from services.intake.deliveries import Deliveries
from services.intake.domain import Case, Outcome
from services.intake.errors import CaseNotFound, IdempotencyConflict
from services.intake.guidance import tell_reporters
from services.intake.store import CaseRepository
from services.intake.values import CaseStatus, Filer, Link
from shared.contracts.events import (
    AcuteSignal,
    CaseFollowup,
    CaseTriaged,
    ErasureReason,
    IncidentReported,
    NotificationStatus,
    ReportSource,
    new_id,
)
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import INCIDENT_REPORTED, INCIDENT_URGENT
from shared.messaging.kafka import EventPublisher
from shared.messaging.lanes import AcuteGate
from shared.messaging.urgency import possibly_acute
from shared.runtime.detached import Detached
from shared.runtime.errors import TransientError
from shared.security.case_keys import sealed
from shared.security.pseudonym import office_holder_ref, perpetrator_ref

log = structlog.get_logger("weerbaar.intake")

CaseEvent = CaseTriaged | NotificationStatus | CaseFollowup
"""What the other services tell the case file."""


class Keys(Protocol):
    """The per-case keys (``shared.case_keys.CaseKeys``; a fake in unit tests): intake creates and destroys them."""

    async def create(self, case_id: str, key: bytes | None = None) -> bytes: ...

    async def for_case(self, case_id: str) -> bytes: ...

    async def destroy(self, case_id: str, *, reason: str) -> None: ...

    async def opened(self, events: Sequence[IncidentReported]) -> list[IncidentReported]: ...


@dataclass(frozen=True, slots=True)
class Receipt:
    case_id: str
    report_id: str
    outcome: Outcome
    status: str
    merged: bool = False
    """Whether the caller's report joined a case the caller had filed before (see ``Case.merged_for``)."""


class IntakeService:
    def __init__(
        self,
        store: CaseRepository,
        deliveries: Deliveries,
        *,
        publisher: EventPublisher,
        gate: AcuteGate,
        pseudonym_key: bytes,
        keys: Keys,
    ) -> None:
        self._store = store
        self._keys = keys
        self._deliveries = deliveries
        self._publisher = publisher
        self._gate = gate
        self._key = pseudonym_key
        self._signals = Detached("acute_signal_failed")

    # --- reports over HTTP ----------------------------------------------------------------------------------------

    async def report_incident(
        self, report: IncidentReport, idempotency_key: str | None, filer: Filer | None = None
    ) -> Receipt:
        """Take a report into its case; durable in the store (with its outgoing event) before this returns."""
        acute = possibly_acute(report)
        candidate = new_id()  # the new case's id, unless the incident or this very request has a case already
        if acute:
            self._signals.start(self._send_signal(candidate))
        # A possibly acute report: routine work steps aside in every service (the heads-up) and in this process (the
        # hold) while it is stored, and the urgent record takes over from there. A routine report over HTTP does not
        # step aside: somebody waits for the answer (the gate is for background work: consumers and sweeps).
        with self._gate.holding(acute):
            return await self._take_report(report, idempotency_key, filer, acute=acute, candidate=candidate)

    async def _send_signal(self, case_id: str) -> None:
        """Tell every service, without waiting for the broker, that acute work for ``case_id`` is on its way."""
        try:
            await self._publisher.publish(AcuteSignal(case_id=case_id))
        except TransientError as exc:  # only a heads-up: the urgent record carries the work and is never lost
            log.warning("acute_signal_not_sent", case_id=case_id, error=type(exc).__name__)

    async def _take_report(
        self, report: IncidentReport, idempotency_key: str | None, filer: Filer | None, *, acute: bool, candidate: str
    ) -> Receipt:
        case_id, report_id, new = await self._claim(report, idempotency_key, candidate)
        publish_on = (INCIDENT_URGENT, INCIDENT_REPORTED) if acute else (INCIDENT_REPORTED,)
        now = datetime.now(UTC)

        async def take(case: Case, key: bytes) -> Outcome:
            links = await self._links(report, case_id)
            event = IncidentReported(
                event_id=domain.report_event_id(report_id),
                case_id=case_id,
                report_id=report_id,
                source=ReportSource.HTTP,
                report=report,
                linked_case_ids=tuple(link.case_id for link in links),
            )
            # Published sealed with the case's key (crypto-shredding); the case keeps the report as it keeps it.
            outcome = case.take_report(sealed(event, key), now=now, links=links, filer=filer, publish_on=publish_on)
            tell_reporters(case, now=now)
            return outcome

        if new:  # no case can exist yet: one insert, no read before it
            # The key first: a stored case's outbox must never hold a report sealed with a key that is not stored
            # (a retry of this request finds the key, whichever of the two writes failed).
            case, key = Case(case_id), await self._keys.create(case_id)
            outcome = await take(case, key)
            await self._store.add(case)
        else:
            async with self._store.case(case_id) as case:
                if case.has_report(report_id):
                    outcome = Outcome.REPEATED
                else:
                    outcome = await take(case, await self._keys.for_case(case_id))
        with structlog.contextvars.bound_contextvars(case_id=case_id, event_id=domain.report_event_id(report_id)):
            log.info("incident_reported", outcome=outcome.value)
        if outcome is not Outcome.REPEATED:
            await self._deliveries.publish(case)  # the urgent record first in the outbox: the acute path
        sub, org = (filer.sub, filer.org) if filer else (None, None)
        merged = case.merged_for(sub, report_id, org)
        # A report that joined someone else's case is told only what it is itself: received (need-to-know).
        alone = sub is not None and len(case.filed_by(sub, org)) == len(case.reports)
        status = case.status.value if alone else CaseStatus.RECEIVED.value
        return Receipt(case_id=case_id, report_id=report_id, outcome=outcome, status=status, merged=merged)

    async def _claim(
        self, report: IncidentReport, idempotency_key: str | None, candidate: str
    ) -> tuple[str, str, bool]:
        """The report's case id and report id, and whether both are new (then no case of that id exists).

        The incident's claim first (the first report's case wins), then the Idempotency-Key's (an earlier request
        with the key wins, with its case and report id); no look-up before either: a claim returns what holds.
        """
        holder = office_holder_ref(report.office_holder, key=self._key)
        case_id = await self._store.claim_incident(domain.dedup_key(holder, report), candidate)
        report_id = fresh = new_id()
        if idempotency_key:
            fingerprint = domain.body_fingerprint(report)
            claim = await self._store.claim_key(
                domain.idempotency_id(idempotency_key),
                {"fingerprint": fingerprint, "case_id": case_id, "report_id": report_id},
            )
            if claim["fingerprint"] != fingerprint:
                raise IdempotencyConflict("this Idempotency-Key was used with another body")
            case_id, report_id = str(claim["case_id"]), str(claim["report_id"])
        return case_id, report_id, case_id == candidate and report_id == fresh

    def office_holder_ref(self, report: IncidentReport) -> str:
        """The office holder's keyed pseudonym (what OM and JenV see instead of a name)."""
        return office_holder_ref(report.office_holder, key=self._key)

    async def _links(self, report: IncidentReport, case_id: str) -> list[Link]:
        keys = ["oh:" + office_holder_ref(report.office_holder, key=self._key)]
        if report.incident.perpetrator_handle:
            keys.append("pp:" + perpetrator_ref(report.incident.perpetrator_handle, key=self._key))
        return domain.links_of(await self._store.link(keys, case_id))

    # --- reports from bulk or automated sources -------------------------------------------------------------------

    async def take_stream_report(self, event: IncidentReported) -> None:
        await self.apply_events(event.case_id, [event])

    async def apply_event(self, event: CaseEvent) -> None:
        await self.apply_events(event.case_id, [event])

    async def apply_events(self, case_id: str, events: Sequence[IncidentReported | CaseEvent]) -> None:
        """A batch's events of one case, from every topic intake reads: one load, one save.

        Reports from bulk or automated sources open (or join) their case here (our own are already in it); the other
        services' events keep the case view current. Reports go first, so a decision in the same batch finds its case
        opened; a case not opened yet keeps what comes early until its report comes (a triage decision may overtake
        the bulk report it is about). A report from the stream most often opens its case: a case this process knows
        nothing of is then presumed new (no read; one that exists after all is read on the retry).
        """
        now = datetime.now(UTC)
        reports = [e for e in events if isinstance(e, IncidentReported)]
        others = [e for e in events if not isinstance(e, IncidentReported)]
        async with self._store.case(case_id, presume_new=bool(reports)) as case:
            for delivered in reports:
                if case.has_report(delivered.report_id):
                    continue  # taken over HTTP (or delivered before): no link look-up, no write
                opened = await self._keys.opened([delivered])
                if not opened:
                    continue  # sealed for a case whose key was destroyed: erased, nothing to take
                report = opened[0]
                links = await self._links(report.plain_report, case_id)
                outcome = case.take_report(report, now=now, links=links)
                log.info("stream_report_recorded", outcome=outcome.value, source=report.source.value)
            for event in others:
                _record(case, event, now)
            told = tell_reporters(case, now=now)
        if told is not None:  # a consumer's unit keeps no outbox otherwise: publish what it caused now
            await self._deliveries.publish(case)

    async def adopt_parked_events(self) -> None:
        """Apply what an earlier version of intake parked in a collection of its own (at start; usually nothing)."""
        kinds: dict[str, type[CaseEvent]] = {m.__name__: m for m in (CaseTriaged, NotificationStatus, CaseFollowup)}
        for case_id, parked in (await self._store.parked_earlier()).items():
            await self.apply_events(case_id, [kinds[kind].model_validate_json(value) for kind, value in parked])
            await self._store.drop_parked(case_id)

    # --- erasure and retention ------------------------------------------------------------------------------------

    async def erase(
        self, case_id: str, reason: ErasureReason, *, filer: str | None = None, org: str | None = None
    ) -> bool:
        """Tombstone the case's personal data, unlink its pseudonyms and tell the others; False if erased before.

        ``filer`` (of ``org``): only the reports this subject filed (the whole case when they are all its reports).
        """
        async with self._store.case(case_id) as case:
            if not case.opened:
                raise CaseNotFound(f"no case {case_id}")
            now = datetime.now(UTC)
            if filer is None:
                erased = case.erase(now=now, reason=reason)
            else:
                erased = case.erase_reports_of(filer, now=now, reason=reason, org=org)
            if case.erased is not None:
                # The whole case: its key goes first (again, if a crash cut an earlier erasure short), so every
                # sealed copy of its reports is unreadable before anyone is told; the case is saved after.
                await self._keys.destroy(case_id, reason=case.erased.reason.value)
        if erased is None:
            return False
        if not erased.report_ids:  # the whole case: its pseudonym links and claims go too
            await self._store.forget(case_id)
        with structlog.contextvars.bound_contextvars(case_id=case_id, event_id=erased.event_id):
            log.info("case_erased", reason=reason.value)
        await self._deliveries.publish(case)
        return True

    async def expired_closed_cases(self, *, retention_days: float, limit: int = 100) -> list[str]:
        cutoff = datetime.now(UTC) - timedelta(days=retention_days)
        return await self._store.closed_before(cutoff, limit=limit)


def _record(case: Case, event: CaseEvent, now: datetime) -> None:
    if isinstance(event, CaseTriaged):
        case.record_triage(event, now=now)
    elif isinstance(event, NotificationStatus):
        case.record_notification(event, now=now)
    else:
        case.record_followup(event, now=now)
