"""The key directory on the real store: a case's key stored wrapped, read back, unknown, and destroyed for good."""

from __future__ import annotations

import uuid

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.runtime.settings import CommonSettings
from shared.security.case_keys import CASE_KEYS, CaseKeys, UnknownCaseKey
from shared.security.crypto import DataCipher
from shared.store.mongo import Document

pytestmark = pytest.mark.integration


async def test_a_case_key_is_stored_wrapped_read_back_and_destroyed_for_good(store: AsyncDatabase[Document]) -> None:
    cipher = DataCipher.from_settings(CommonSettings())
    case_id = f"case-{uuid.uuid4().hex[:12]}"
    key = await CaseKeys(store, cipher).create(case_id)
    stored = await store[CASE_KEYS].find_one({"_id": case_id})
    assert stored is not None
    assert stored["key"].startswith("enc:v1:"), "wrapped with the data key, never the key itself"
    reader = CaseKeys(store, cipher)
    assert await reader.key_of(case_id) == key
    assert await CaseKeys(store, cipher).create(case_id) == key, "a second create keeps the stored key"
    await CaseKeys(store, cipher).destroy(case_id, reason="request")
    reader.forget(case_id)  # what a CaseErased does in every reader
    assert await reader.key_of(case_id) is None
    tombstone = await store[CASE_KEYS].find_one({"_id": case_id})
    assert tombstone is not None
    assert set(tombstone) == {"_id", "destroyed_at", "reason"}


async def test_a_case_without_a_key_is_refused_at_once(store: AsyncDatabase[Document]) -> None:
    reader = CaseKeys(store, DataCipher.from_settings(CommonSettings()))
    with pytest.raises(UnknownCaseKey):
        await reader.key_of(f"case-{uuid.uuid4().hex[:12]}")
