"""Reporting's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.reporting.handlers import ReportingHandlers
from services.reporting.population import load_population
from services.reporting.publishing import StatsPublisher
from services.reporting.settings import Settings
from services.reporting.store import ReportingStore
from shared.runtime import Runtime

SERVICE = "reporting"


def create_app(settings: Settings) -> FastAPI:
    """Wire reporting; nothing connects until the app starts."""
    runtime = Runtime.create(settings, service=SERVICE)
    store = ReportingStore(runtime.db)
    population = load_population(settings.population_path)
    stats = StatsPublisher(
        store,
        runtime.publisher,
        threshold=settings.disclosure_threshold,
        population=population,
        debounce_s=settings.stats_debounce_s,
        gate=runtime.gate,
    )
    runtime.on_startup.append(store.ensure_indexes)
    runtime.background.append(stats.run_forever)
    handlers = ReportingHandlers(runtime, store, settings, population, stats)
    handlers.register()
    return runtime.build_app(title="weerbaar reporting", routers=(handlers.router(),))
