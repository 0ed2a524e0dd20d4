"""Notify's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.notify.acute import AcuteLane
from services.notify.handlers import NotifyHandlers
from services.notify.mailing import MailDelivery, MailRetries
from services.notify.sending import Outboxes, Sender, count_from_zero
from services.notify.service import NotifyService, policy_of
from services.notify.settings import Settings
from services.notify.smtp import MailRelay
from services.notify.store import CASES, NOTIFICATIONS, NotifyStore
from services.notify.webhooks import WebhookDelivery
from shared.runtime.service import Runtime
from shared.security.case_keys import CaseKeys
from shared.web.audit import AuditLog

SERVICE = "notify"


def create_app(settings: Settings) -> FastAPI:
    """Wire notify; nothing connects until the app starts."""
    runtime = Runtime.create(settings, service=SERVICE)
    store = NotifyStore(runtime.db, runtime.cipher)
    audit = AuditLog(runtime.db, service=SERVICE, key=settings.audit_secret)
    runtime.on_startup.append(store.ensure_indexes)
    runtime.on_startup.append(audit.ensure_indexes)
    runtime.forgetful.append(store.forget)
    runtime.ready_probe_collections += [CASES, NOTIFICATIONS]  # readiness reads what notify writes
    count_from_zero()
    sender = Sender(runtime.publisher, source=f"/weerbaar/{SERVICE}", service=SERVICE)
    outboxes = Outboxes(
        store,
        sender,
        service=SERVICE,
        inline_timeout_s=settings.inline_flush_timeout_s,
        full_scan_s=settings.outbox_full_scan_s,
    )
    policy = policy_of(settings)
    keys = CaseKeys(runtime.db, runtime.cipher)
    runtime.forgetful.append(keys.forget)  # partitions moved: another process may have seen those cases erased
    service = NotifyService(store, sender, outboxes, policy, opener=keys)
    acute = AcuteLane(store, sender, service, policy, gate=runtime.gate)
    handlers = NotifyHandlers(runtime, store, service, acute, audit=audit)
    handlers.register()
    # The sweeps scan whole collections on FerretDB: routine work, a bounded share of the store's time.
    runtime.every("escalation_sweeper", settings.sweep_interval_s, service.escalate_due)
    runtime.every("followup_sweeper", settings.sweep_interval_s, service.flag_overdue_followups)
    runtime.every("notify_outbox_relay", settings.outbox_interval_s, outboxes.relay, routine=False)
    if settings.webhook_urls:
        webhooks = WebhookDelivery(store, sender, outboxes, settings, service=SERVICE, gate=runtime.gate)
        runtime.background.append(webhooks.deliver_forever)
    if settings.smtp_host:  # e-mail: the third channel (services/notify/mail.py)
        retries = MailRetries(
            attempts=settings.email_attempts,
            backoff_s=settings.email_backoff_s,
            max_backoff_s=settings.email_max_backoff_s,
            lease_s=settings.smtp_timeout_s + 5,
        )
        mailing = MailDelivery(store, sender, outboxes, MailRelay(settings), policy, retries)
        runtime.every("mail_delivery", settings.email_interval_s, mailing.deliver_due)
    return runtime.build_app(title="weerbaar notify", routers=(handlers.router(),))
