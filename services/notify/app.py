"""Notify's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.notify.handlers import NotifyHandlers
from services.notify.settings import Settings
from services.notify.store import NotifyStore
from shared.runtime import Runtime

SERVICE = "notify"


def create_app(settings: Settings) -> FastAPI:
    """Wire notify; nothing connects until the app starts."""
    runtime = Runtime.create(settings, service=SERVICE)
    store = NotifyStore(runtime.db)
    runtime.on_startup.append(store.ensure_indexes)
    runtime.outbox.watch(store.notifications)
    NotifyHandlers(runtime, store).register()
    return runtime.build_app(title="weerbaar notify")
