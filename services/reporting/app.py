"""Reporting's composition root."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import FastAPI

from services.reporting.book import FactBook
from services.reporting.disclosure import Rounding
from services.reporting.domain import Disclosure
from services.reporting.handlers import ReportingHandlers
from services.reporting.monitor import load_monitor
from services.reporting.population import load_population
from services.reporting.projection import Projection
from services.reporting.publishing import StatsPublisher
from services.reporting.settings import Settings
from services.reporting.store import COLLECTION, ReportingStore
from shared.runtime.service import Runtime

SERVICE = "reporting"


def create_app(settings: Settings) -> FastAPI:
    """Wire reporting; nothing connects until the app starts."""
    runtime = Runtime.create(settings, service=SERVICE)
    store = ReportingStore(runtime.db)
    book = FactBook(store)  # every fact in memory: tabulating reads nothing
    population = load_population(settings.population_path)
    disclosure = disclosure_of(settings)
    stats = StatsPublisher(book, runtime.publisher, disclosure=disclosure, population=population)
    runtime.on_startup += [store.ensure_indexes, book.load]
    runtime.ready_probe_collections.append(COLLECTION)  # readiness reads what reporting writes
    runtime.forgetful += [store.sheets.forget, book.forget]  # another process may own those cases now
    runtime.every("stats", settings.stats_debounce_s, stats.publish_changes, wake=stats.due)
    runtime.every("stats-calendar", 600, stats.new_day)  # a closed period is released without waiting for facts
    projection = Projection(store, book)
    handlers = ReportingHandlers(runtime, projection, book, disclosure, population, stats, load_monitor())
    handlers.register()
    return runtime.build_app(title="weerbaar reporting", routers=(handlers.router(),))


def disclosure_of(settings: Settings) -> Disclosure:
    """The disclosure control the settings ask for; the rounding key is derived from the pseudonym secret."""
    key = hmac.new(settings.pseudonym_secret, b"weerbaar-reporting-rounding", hashlib.sha256).digest()
    return Disclosure(
        threshold=settings.disclosure_threshold,
        rounding=Rounding(key, settings.rounding_base),
        method=settings.disclosure_method,
        lag_days=settings.release_lag_days,
    )
