"""Append-only, keyed hash chain of every read and change of case data (collection ``audit``).

Each entry has a sequence number as its ``_id`` (an insert with a taken number fails, so the chain never forks), the
previous entry's hash and its own: an HMAC-SHA256 over its canonical JSON with ``WEERBAAR_AUDIT_KEY``, a key the
database never holds, so someone with database credentials alone cannot recompute the chain after an edit. The head
is anchored outside the database (``shared.web.anchors``: an append-only topic), so even a rewrite with the key shows
against the anchors. ``verify`` recomputes the chain and names the first broken entry: an edited entry breaks its
own hash, a deleted one leaves a gap, ``audit_head`` and the anchors catch a deleted tail. No personal data goes in:
who (sub, role, organisation), when, what (action, case id), why (break-glass reason), the outcome.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.store.mongo import Document
from shared.store.serial import SerialCollection
from shared.web.auth import Principal

GENESIS = "0" * 64
_HASHED = ("seq", "at", "service", "sub", "role", "org", "action", "case_id", "outcome", "reason", "prev_hash")


def entry_hash(entry: dict[str, Any], key: bytes) -> str:
    canonical = json.dumps({k: entry.get(k) for k in _HASHED}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def anchor_mac(key: bytes, *, log: str, seq: int, digest: str) -> str:
    """What proves an anchor was written by a holder of the audit key (not forged onto the topic)."""
    return hmac.new(key, f"anchor|{log}|{seq}|{digest}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Anchor:
    """The chain's head as it was at one moment, kept outside the database."""

    log: str
    """The database whose ``audit`` collection it anchors."""
    seq: int
    hash: str
    mac: str


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    entries: int
    problem: str = ""
    broken: int | None = None
    """The first entry found broken (missing, altered, not chained, or not what an anchor says)."""
    anchors: int = 0


def _broken(count: int, seq: int, problem: str, anchors: int = 0) -> Verdict:
    return Verdict(False, count, problem, seq, anchors)


class AuditLog:
    def __init__(self, db: AsyncDatabase[Document], *, service: str, key: bytes) -> None:
        self.name = db.name
        self._key = key
        self.entries: AsyncCollection[Document] = SerialCollection(db, "audit")
        self.head: AsyncCollection[Document] = SerialCollection(db, "audit_head")
        self._service = service
        self._pending: list[tuple[dict[str, Any], asyncio.Future[Document]]] = []
        self._appending = asyncio.Lock()

    async def ensure_indexes(self) -> None:
        await self.entries.create_index("case_id")

    async def record(
        self,
        who: Principal | None,
        action: str,
        *,
        case_id: str | None = None,
        outcome: str = "allowed",
        reason: str | None = None,
    ) -> Document:
        """Append one entry; ``who`` None means the system itself (a sweeper, a consumer)."""
        base: dict[str, Any] = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "service": self._service,
            "sub": who.sub if who else "system",
            "role": who.role.value if who else "system",
            "org": who.org if who else None,
            "action": action,
            "case_id": case_id,
            "outcome": outcome,
            "reason": reason if reason is not None else (who.break_glass_reason if who else None),
        }
        waiter: asyncio.Future[Document] = asyncio.get_running_loop().create_future()
        self._pending.append((base, waiter))
        async with self._appending:
            if not waiter.done():
                batch, self._pending = self._pending, []
                try:
                    for (_, done), entry in zip(batch, await self._append([b for b, _ in batch]), strict=True):
                        done.set_result(entry)
                except BaseException as exc:  # cancelled or store trouble: the whole batch hears it
                    failure = exc if isinstance(exc, Exception) else RuntimeError("audit append was cut off")
                    for _, done in batch:
                        if done is not waiter and not done.done():
                            done.set_exception(failure)
                    waiter.cancel()
                    raise
        return await waiter

    async def _append(self, bases: list[dict[str, Any]]) -> list[Document]:
        """Chain a batch onto the head with one insert and one head move (group commit).

        Under concurrent requests every append used to race for the next number and retry; now the requests of this
        process queue up and the writer appends all that waited. Another process may still take a number first:
        what went in stays, the head moves onto the other's entry, and the rest is chained again.
        """
        written: list[Document] = []
        for _ in range(100):
            if len(written) == len(bases):
                return written
            last = await self._last()
            seq = int(last["seq"]) if last else 0
            prev = str(last["hash"]) if last else GENESIS
            chained = []
            for base in bases[len(written) :]:
                seq += 1
                entry = {**base, "seq": seq, "prev_hash": prev}
                entry["hash"] = prev = entry_hash(entry, self._key)
                chained.append(entry)
            try:
                await self.entries.insert_many([{"_id": e["seq"], **e} for e in chained], ordered=True)
            except BulkWriteError as exc:
                inserted = int(exc.details.get("nInserted", 0))
                written.extend(chained[:inserted])
                if inserted:
                    await self._advance_head(int(chained[inserted - 1]["seq"]), str(chained[inserted - 1]["hash"]))
                # Another writer took the next number (or stopped before moving the head): move the head onto it.
                taken_seq = int(chained[inserted]["seq"])
                taken = await self.entries.find_one({"_id": taken_seq}, {"seq": 1, "hash": 1})
                if taken is not None:
                    await self._advance_head(taken_seq, str(taken["hash"]))
                continue
            written.extend(chained)
            await self._advance_head(int(chained[-1]["seq"]), str(chained[-1]["hash"]))
        if len(written) == len(bases):
            return written
        raise RuntimeError("audit log too contended to append")

    async def _last(self) -> Document | None:
        """The newest entry's number and hash: from the head (an ``_id`` look-up), else by sorting the entries.

        FerretDB sorts by reading the whole collection, so the sort only runs for a log without a head.
        """
        head = await self.head.find_one({"_id": "head"})
        if head is not None:
            return head
        return await self.entries.find_one({}, {"seq": 1, "hash": 1}, sort=[("seq", DESCENDING)])

    async def _advance_head(self, seq: int, digest: str) -> None:
        moved = await self.head.update_one({"_id": "head", "seq": {"$lt": seq}}, {"$set": {"seq": seq, "hash": digest}})
        if moved.matched_count == 0 and await self.head.count_documents({"_id": "head"}) == 0:
            try:
                await self.head.insert_one({"_id": "head", "seq": seq, "hash": digest})
            except DuplicateKeyError:
                await self.head.update_one({"_id": "head", "seq": {"$lt": seq}}, {"$set": {"seq": seq, "hash": digest}})

    async def for_case(self, case_id: str, limit: int = 1000) -> list[Document]:
        cursor = self.entries.find({"case_id": case_id}, {"_id": 0}).sort("seq", 1).limit(limit)
        return await cursor.to_list(None)

    async def current_head(self) -> tuple[int, str] | None:
        """The newest entry's number and hash, as the head record has them."""
        head = await self.head.find_one({"_id": "head"})
        return None if head is None else (int(head["seq"]), str(head["hash"]))

    def anchor(self, seq: int, digest: str) -> Anchor:
        return Anchor(self.name, seq, digest, anchor_mac(self._key, log=self.name, seq=seq, digest=digest))

    async def verify(self, anchors: Sequence[Anchor] = ()) -> Verdict:
        """Walk the whole chain, then hold it against the anchors of this log; the first problem found, if any."""
        mine = sorted((a for a in anchors if a.log == self.name), key=lambda a: a.seq)
        for anchor in mine:
            if not hmac.compare_digest(
                anchor.mac, anchor_mac(self._key, log=anchor.log, seq=anchor.seq, digest=anchor.hash)
            ):
                return _broken(0, anchor.seq, f"the anchor of entry {anchor.seq} is not signed with the audit key")
        anchored = {a.seq: a.hash for a in mine}
        expected_prev, expected_seq, count = GENESIS, 1, 0
        async for entry in self.entries.find({}).sort("seq", 1):
            count += 1
            if entry.get("seq") != expected_seq or entry.get("_id") != expected_seq:
                return _broken(count, expected_seq, f"entry {expected_seq} is missing (found {entry.get('seq')})")
            if entry.get("prev_hash") != expected_prev:
                return _broken(count, expected_seq, f"entry {expected_seq} does not chain onto its predecessor")
            if not hmac.compare_digest(entry_hash(entry, self._key), str(entry.get("hash"))):
                return _broken(count, expected_seq, f"entry {expected_seq} was altered (its keyed hash does not match)")
            if expected_seq in anchored and anchored[expected_seq] != entry["hash"]:
                return _broken(count, expected_seq, f"entry {expected_seq} is not what its anchor says: rewritten")
            expected_prev, expected_seq = str(entry["hash"]), expected_seq + 1
        last = expected_seq - 1
        if mine and mine[-1].seq > last:
            return _broken(count, last + 1, f"entries {last + 1}..{mine[-1].seq} are missing: anchored, then deleted")
        head = await self.head.find_one({"_id": "head"})
        if head is not None and (int(head["seq"]) != last or head["hash"] != expected_prev):
            return _broken(count, last + 1, f"the log ends at {last} but its head says {head['seq']}")
        if head is None and count:
            return _broken(count, last + 1, "the head record is missing")
        return Verdict(True, count, anchors=len(mine))
