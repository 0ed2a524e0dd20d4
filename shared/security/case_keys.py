"""Per-case keys (crypto-shredding): every report intake publishes is sealed with its case's own key.

The key directory is the collection ``case_keys``, one document per case: ``key``, the case's 32-byte AES key sealed
with the data key (``WEERBAAR_DATA_KEYS``, which the database never holds), so database credentials alone open
nothing. Intake creates a case's key with the case and destroys it when the whole case is erased (the document
becomes a tombstone without key material); triage and notify read it to open the reports they need in clear. Once it
is destroyed, every copy of the case's reports, on the topics, in dead letters and in any store that kept the sealed
form, is unreadable for everyone.

Readers keep the keys they read (bounded LRU): one store read per case and process, not per record; an erasure drops
the case's key (``forget``) in every service that consumes ``CaseErased``.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import structlog
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contracts.events import IncidentReported
from shared.contracts.incident import IncidentReport
from shared.runtime.errors import InvalidEvent, PermanentError
from shared.security.crypto import DataCipher, DecryptionError, new_case_key, open_for_case, seal_for_case
from shared.security.reseal import SealedField
from shared.store.mongo import Document
from shared.store.serial import SerialCollection

CASE_KEYS = "case_keys"
SEALED_FIELDS = (SealedField(CASE_KEYS, "key", "case-key/{id}"),)
"""The wrapped case keys, re-wrapped with the active data key by ``weerbaar keys reseal``."""

log = structlog.get_logger("weerbaar.case_keys")


class UnknownCaseKey(PermanentError):
    """A sealed report of a case without a key: intake stores the key before it publishes anything sealed with it,
    so this key will never come (a record from another installation): dead-letter it, do not wait."""

    code = "unknown_case_key"


def key_context(case_id: str) -> str:
    """Associated data of a wrapped case key: a key copied to another case's document does not open."""
    return f"case-key/{case_id}"


def report_context(case_id: str, report_id: str) -> str:
    """Associated data of a sealed report: a sealed report moved to another case or report does not open."""
    return f"weerbaar/case/{case_id}/report/{report_id}"


def sealed(event: IncidentReported, key: bytes) -> IncidentReported:
    """The event with its report sealed for the topic; the clear copy stays for this process (never published)."""
    blob = seal_for_case(
        key,
        event.plain_report.model_dump_json().encode(),
        context=report_context(event.case_id, event.report_id),
    )
    return event.model_copy(update={"sealed_report": blob})


def open_report(event: IncidentReported, key: bytes) -> IncidentReported:
    """The event with its sealed report opened (the clear copy is for this process: ``on_the_wire`` drops it)."""
    if event.sealed_report is None:
        return event
    try:
        raw = open_for_case(key, event.sealed_report, context=report_context(event.case_id, event.report_id))
    except DecryptionError as exc:
        raise InvalidEvent(f"sealed report does not open: {exc}") from exc
    return event.model_copy(update={"report": IncidentReport.model_validate(json.loads(raw))})


class CaseKeys:
    """The key directory: create (intake), read with a cache (every reader), destroy at erasure (intake)."""

    def __init__(self, db: AsyncDatabase[Document], cipher: DataCipher, *, cached: int = 20_000) -> None:
        self._collection = SerialCollection(db, CASE_KEYS)
        self._cipher = cipher
        self._cached = cached
        self._keys: OrderedDict[str, bytes] = OrderedDict()

    def forget(self, case_id: str | None = None) -> None:
        """Drop the key this process holds of a case (it was erased), or of all."""
        if case_id is None:
            self._keys.clear()
        else:
            self._keys.pop(case_id, None)

    async def create(self, case_id: str, key: bytes | None = None) -> bytes:
        """A new case's key (``key``, or a fresh one), stored with one insert; the stored one if it has one already."""
        key = key or new_case_key()
        document = {"_id": case_id, "key": self._cipher.seal(key, context=key_context(case_id))}
        try:
            await self._collection.insert_one(document)
        except DuplicateKeyError:
            found = await self._read(case_id)
            if found is None:  # destroyed: a report arriving after the erasure starts a new key
                await self._collection.replace_one({"_id": case_id}, document)
                found = key
            key = found
        self._keep(case_id, key)
        return key

    async def key_of(self, case_id: str) -> bytes | None:
        """The case's key; None once destroyed. Raises ``UnknownCaseKey`` when the case has none."""
        key = self._keys.get(case_id)
        if key is not None:
            self._keys.move_to_end(case_id)
            return key
        key = await self._read(case_id)
        if key is not None:
            self._keep(case_id, key)
        return key

    async def for_case(self, case_id: str) -> bytes:
        """Intake's: the key of a case that exists (created now if it predates the keys, or was erased)."""
        try:
            key = await self.key_of(case_id)
        except UnknownCaseKey:
            key = None
        return key if key is not None else await self.create(case_id)

    async def destroy(self, case_id: str, *, reason: str) -> None:
        """Erase the key: the document keeps no key material, only when and why (idempotent)."""
        self.forget(case_id)
        tombstone = {"_id": case_id, "destroyed_at": datetime.now(UTC), "reason": reason}
        await self._collection.replace_one({"_id": case_id}, tombstone, upsert=True)

    async def opened(self, events: Sequence[IncidentReported]) -> list[IncidentReported]:
        """The events with their reports in clear; those of a destroyed case key are left out (the case was erased)."""
        out: list[IncidentReported] = []
        for event in events:
            if event.sealed_report is None:
                out.append(event)
                continue
            key = await self.key_of(event.case_id)
            if key is None:
                log.info("report_of_erased_case_skipped", case_id=event.case_id, event_id=event.event_id)
                continue
            out.append(open_report(event, key))
        return out

    async def _read(self, case_id: str) -> bytes | None:
        found = await AsyncCollection.find_one(self._collection, {"_id": case_id})
        if found is None:
            raise UnknownCaseKey(f"case {case_id} has no key: its sealed reports open nowhere")
        wrapped = found.get("key")
        if not wrapped:
            return None
        return self._cipher.open(str(wrapped), context=key_context(case_id))

    def _keep(self, case_id: str, key: bytes) -> None:
        if not self._cached:
            return
        self._keys[case_id] = key
        self._keys.move_to_end(case_id)
        while len(self._keys) > self._cached:
            self._keys.popitem(last=False)


class Opener(Protocol):
    """What a consumer of reports needs: ``CaseKeys`` in the services, ``PlainReports`` in unit tests."""

    async def opened(self, events: Sequence[IncidentReported]) -> list[IncidentReported]: ...

    def forget(self, case_id: str | None = None) -> None: ...


class PlainReports:
    """The opener for code that receives reports in clear only (unit tests of the use cases)."""

    async def opened(self, events: Sequence[IncidentReported]) -> list[IncidentReported]:
        return list(events)

    def forget(self, case_id: str | None = None) -> None:
        """Holds no keys."""
