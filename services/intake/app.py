"""Intake's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake.deliveries import Deliveries
from services.intake.desk import DeskRoutes
from services.intake.handlers import IntakeHandlers
from services.intake.queue import CaseQueue
from services.intake.reporter_page import ReporterPage
from services.intake.service import IntakeService
from services.intake.settings import Settings
from services.intake.store import CaseStore
from services.intake.workflow import Workflow
from services.intake.workflow_routes import WorkflowRoutes
from shared.contracts.events import AuditAnchored, ErasureReason
from shared.contracts.principals import service_principal
from shared.contracts.topics import AUDIT_ANCHORS, CASE_ASSESSED, CASE_STAGE, CASE_WORKFLOW
from shared.contracts.workflow import CaseAssessed, CaseStageChanged, CaseWorkflow
from shared.messaging.handoff import HandOff
from shared.messaging.kafka_auth import client_options
from shared.messaging.lanes import taking_turns
from shared.runtime.service import Runtime
from shared.security.case_keys import CaseKeys
from shared.web.anchors import AnchorReader, AuditAnchoring, AuditWatch
from shared.web.audit import AuditLog

SERVICE = "intake"


def create_app(settings: Settings) -> FastAPI:
    """Wire intake; nothing connects until the app starts."""
    runtime = Runtime.create(settings, service=SERVICE)
    store = CaseStore(runtime.db, runtime.cipher)
    runtime.forgetful.append(store.cases.forget)
    audit = AuditLog(runtime.db, service=SERVICE, key=settings.audit_secret)
    runtime.on_startup.append(store.ensure_indexes)
    runtime.on_startup.append(audit.ensure_indexes)
    deliveries = Deliveries(
        runtime.publisher,
        store,
        service=SERVICE,
        inline_timeout_s=settings.inline_flush_timeout_s,
        confirm_after_s=settings.outbox_confirm_after_s,
    )
    # Publishing and confirming is the relay's work, not a scan (it scans only at start): at half the time, cases whose
    # events are out are confirmed within a run's time, not after twenty runs' (the default share is for scans).
    runtime.every("intake_outbox_relay", settings.outbox_interval_s, deliveries.relay_once, max_share=0.5)
    service = IntakeService(
        store,
        deliveries,
        publisher=runtime.publisher,
        gate=runtime.gate,
        pseudonym_key=settings.pseudonym_secret,
        keys=CaseKeys(runtime.db, runtime.cipher),
    )
    handlers = IntakeHandlers(
        runtime, store, service, audit=audit, rate_limit_per_minute=settings.rate_limit_per_minute
    )
    handlers.register()
    runtime.on_startup.append(service.adopt_parked_events)
    runtime.produces(CASE_WORKFLOW, CaseWorkflow, "Assigned, note added, closed, reopened (no free text)")
    runtime.produces(CASE_ASSESSED, CaseAssessed, "A person's decision on the level; triage routes it")
    runtime.produces(CASE_STAGE, CaseStageChanged, "The stage the filers read changed (a filer consented to e-mail)")
    queue = CaseQueue()
    store.watchers.append(queue.put)
    workflow = Workflow(store, deliveries, queue, ack_levels=settings.escalate_levels)
    runtime.on_startup.append(workflow.load_queue)

    async def erase_expired() -> None:
        """Anonymise closed cases past their retention period; each erasure is audited as the system's."""
        expired = await service.expired_closed_cases(retention_days=settings.retention_days_closed)
        async for case_id in taking_turns(expired):
            if await service.erase(case_id, ErasureReason.RETENTION):
                await audit.record(None, "case.erase", case_id=case_id, reason="retention period passed")

    runtime.every("intake_retention", settings.retention_sweep_interval_s, erase_expired)
    # The audit chain (every service writes it; intake keeps watch): its head anchored outside the database, and
    # the whole chain verified against the anchors on a schedule (a failure counts in the metric alerts watch).
    runtime.produces(AUDIT_ANCHORS, AuditAnchored, "The audit chain's head, anchored outside the database")
    anchoring = AuditAnchoring(audit, runtime.publisher, service=SERVICE)
    runtime.every("audit_anchor", settings.audit_anchor_interval_s, anchoring.anchor)
    login = client_options(settings, principal=service_principal(SERVICE))
    watch = AuditWatch(audit, AnchorReader(settings.kafka_bootstrap, login), service=SERVICE)
    runtime.every("audit_verify", settings.audit_verify_interval_s, watch.check)
    # A report (a bulk source's in clear) leaves the hand-off topics once every service has taken it.
    handoff = HandOff(settings.kafka_bootstrap, login, prefix=settings.group_prefix, grace_s=settings.handoff_grace_s)
    runtime.every("intake_handoff_trim", settings.handoff_trim_s, handoff.trim_once)
    desk = DeskRoutes(store, service, workflow, audit=audit, verifier=runtime.verifier)
    reporter = ReporterPage(store, audit=audit)
    routers = (handlers.router(), WorkflowRoutes(workflow, audit=audit).router(), desk.router(), reporter.router())
    return runtime.build_app(title="weerbaar intake", routers=routers)
