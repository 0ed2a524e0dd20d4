"""Re-seal stored personal fields with the active data key (``weerbaar keys reseal``), after a rotation.

Each service declares where it keeps sealed values (:class:`SealedField`: collection, field, the associated-data
context of its document); this walks them, opens what an older key sealed and seals it with the active one. A
document is written only if the field is still what was read (compare and set), so a service that changed it
meanwhile wins and the next run picks it up; ``remaining`` counts what still names another key: remove the old key
only once a run reports none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.security.crypto import PREFIX, DataCipher
from shared.store.mongo import Document


@dataclass(frozen=True, slots=True)
class SealedField:
    """A top-level field holding a sealed string (``report``), a list of them (``outbox[]``) or a list of
    sub-documents each with one (``reports[].sealed``); ``context`` is formatted with the document's ``id``."""

    collection: str
    path: str
    context: str

    @property
    def top(self) -> str:
        return self.path.split("[]")[0]


@dataclass
class Resealed:
    resealed: int = 0
    remaining: int = 0
    by_collection: dict[str, int] = field(default_factory=dict)


def _is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX + ":")


def _renew(value: Any, path: str, cipher: DataCipher, context: str) -> tuple[Any, int]:
    """The value with every sealed string of an older key sealed again; and how many were."""
    if path.endswith("[]"):
        if not isinstance(value, list):
            return value, 0
        renewed = [_renew(item, "", cipher, context) for item in value]
        return [v for v, _ in renewed], sum(n for _, n in renewed)
    if "[]." in path:
        inner = path.split("[].", 1)[1]
        if not isinstance(value, list):
            return value, 0
        out, count = [], 0
        for item in value:
            if isinstance(item, dict) and _is_sealed(item.get(inner)):
                new, n = _renew(item[inner], "", cipher, context)
                out.append({**item, inner: new})
                count += n
            else:
                out.append(item)
        return out, count
    if not _is_sealed(value) or DataCipher.key_id_of(value) == cipher.active:
        return value, 0
    return cipher.seal(cipher.open(value, context=context), context=context), 1


async def reseal(db: AsyncDatabase[Document], cipher: DataCipher, fields: Sequence[SealedField]) -> Resealed:
    result = Resealed()
    collections: dict[str, list[SealedField]] = {}
    for sealed_field in fields:
        collections.setdefault(sealed_field.collection, []).append(sealed_field)
    for name, group in collections.items():
        collection = db[name]
        async for document in collection.find({}, {f.top: 1 for f in group}):
            old: dict[str, Any] = {}
            new: dict[str, Any] = {}
            count = 0
            for sealed_field in group:
                value = document.get(sealed_field.top)
                context = sealed_field.context.format(id=document["_id"])
                renewed, n = _renew(value, sealed_field.path, cipher, context)
                if n:
                    old[sealed_field.top], new[sealed_field.top] = value, renewed
                    count += n
            if not count:
                continue
            written = await collection.update_one({"_id": document["_id"], **old}, {"$set": new})
            if written.modified_count:
                result.resealed += count
                result.by_collection[name] = result.by_collection.get(name, 0) + count
            else:
                result.remaining += count  # changed meanwhile: the next run takes it
    return result
