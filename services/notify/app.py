"""Notify's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.notify.handlers import NotifyHandlers
from services.notify.service import NotifyService
from services.notify.settings import Settings
from services.notify.store import NotifyStore
from services.notify.webhooks import WebhookDelivery
from shared.audit import AuditLog
from shared.runtime import Runtime

SERVICE = "notify"


def create_app(settings: Settings) -> FastAPI:
    """Wire notify; nothing connects until the app starts."""
    runtime = Runtime.create(settings, service=SERVICE)
    store = NotifyStore(runtime.db, runtime.cipher)
    audit = AuditLog(runtime.db, service=SERVICE)
    runtime.on_startup.append(store.ensure_indexes)
    runtime.on_startup.append(audit.ensure_indexes)
    runtime.outbox.watch(store.notifications)
    runtime.outbox.watch(store.cases)
    service = NotifyService(runtime, store, settings)
    handlers = NotifyHandlers(runtime, store, service, audit=audit)
    handlers.register()
    interval = settings.sweep_interval_s
    runtime.background.append(handlers.sweeper("escalation_sweeper", interval, service.escalate_due))
    runtime.background.append(handlers.sweeper("followup_sweeper", interval, service.flag_overdue_followups))
    if settings.webhook_urls:
        webhooks = WebhookDelivery(store, runtime.outbox, settings, service=SERVICE, gate=runtime.gate)
        runtime.background.append(webhooks.deliver_forever)
    return runtime.build_app(title="weerbaar notify", routers=(handlers.router(),))
