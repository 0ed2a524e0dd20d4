"""Intake's case store on the real store: what the start-up reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient

from services.intake.domain import Case
from services.intake.store import CaseStore
from services.intake.values import Filer
from shared.runtime.errors import TransientError
from shared.runtime.settings import CommonSettings
from shared.security.crypto import DataCipher
from shared.store import mongo
from shared.store.mongo import Document
from tests.intake.events import bulk_report
from tests.support.endpoints import Endpoints

CIPHER = DataCipher.from_settings(CommonSettings())
NOW = datetime(2026, 11, 21, tzinfo=UTC)
CASES = 1_200


def _opened() -> Case:
    case_id = uuid.uuid4().hex
    case = Case(case_id)
    case.take_report(bulk_report(case_id), now=NOW, links=[], filer=Filer(sub="filer-1", role="reporter"))
    return case


@pytest.mark.integration
async def test_the_scan_of_every_case_at_start_is_not_cut_off_by_the_per_command_socket_timeout(
    endpoints: Endpoints, run_id: str
) -> None:
    # A store whose batches answer slower than the socket timeout (a busy store at start): here the timeout is 1 ms,
    # far below what a batch of 500 cases takes. The scan at start has a budget of its own, so it still reads them all.
    cases = [_opened() for _ in range(CASES)]
    writer = mongo.make_client(endpoints.mongodb_uri, app_name="weerbaar-intake-scan-test")
    db_name = f"test_{run_id}_startscan"
    try:
        store = CaseStore(writer[db_name], CIPHER)
        await store.cases.collection.insert_many([{"_id": c.case_id, **store.codec.to_document(c)} for c in cases])
    finally:
        await writer.close()
    hasty: AsyncMongoClient[Document] = AsyncMongoClient(endpoints.mongodb_uri, tz_aware=True, socketTimeoutMS=1)
    try:
        read = [case.case_id async for case in CaseStore(hasty[db_name], CIPHER).every_case()]
    finally:
        await hasty.close()
    assert sorted(read) == sorted(c.case_id for c in cases)


async def test_a_store_that_does_not_answer_the_scan_at_start_is_a_transient_error_so_start_up_retries() -> None:
    # Nothing listens on port 9 here: the real driver gives up after its server selection timeout, and the scan's
    # budget (minutes) does not stretch that wait.
    gone: AsyncMongoClient[Document] = AsyncMongoClient(
        "mongodb://127.0.0.1:9", serverSelectionTimeoutMS=200, connectTimeoutMS=200
    )
    try:
        with pytest.raises(TransientError, match="store unavailable"):
            [case async for case in CaseStore(gone["weerbaar"], CIPHER).every_case()]
    finally:
        await gone.close()
