"""Whether one document matches a MongoDB filter: the few operators the stores use, nothing more.

FerretDB 1.x (SQLite) pushes a filter down to the index only when it is exactly ``{"_id": value}``; any extra
condition (a version check, ``{"$ne": True}``) makes it read and decode every document of the collection. So
``SerialCollection`` reads the one document by ``_id`` and decides the rest here. Anything this module does not
know raises :class:`Unsupported`, and the caller lets the store evaluate the whole filter instead.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

_MISSING = object()
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "$lt": operator.lt,
    "$lte": operator.le,
    "$gt": operator.gt,
    "$gte": operator.ge,
}


class Unsupported(Exception):
    """The filter uses something this matcher does not decide; let the store evaluate it."""


def matches(doc: Mapping[str, Any], selector: Mapping[str, Any]) -> bool:
    """MongoDB's answer to "does ``doc`` match ``selector``" for the supported subset."""
    for key, condition in selector.items():
        if key == "$or":
            if not any(matches(doc, part) for part in _clauses(condition)):
                return False
        elif key == "$and":
            if not all(matches(doc, part) for part in _clauses(condition)):
                return False
        elif key.startswith("$"):
            raise Unsupported(key)
        elif not _field_matches(_lookup(doc, key), condition):
            return False
    return True


def _clauses(condition: Any) -> list[Mapping[str, Any]]:
    if not isinstance(condition, list) or not all(isinstance(c, Mapping) for c in condition):
        raise Unsupported("logical operator without a list of filters")
    return condition


def _lookup(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if isinstance(value, list):
            raise Unsupported(f"path {path!r} crosses an array")
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _is_operator_document(condition: Any) -> bool:
    return isinstance(condition, Mapping) and bool(condition) and all(str(k).startswith("$") for k in condition)


def _field_matches(value: Any, condition: Any) -> bool:
    if not _is_operator_document(condition):
        return _equals(value, condition)
    for op, operand in condition.items():
        if op == "$eq":
            ok = _equals(value, operand)
        elif op == "$ne":
            ok = not _equals(value, operand)
        elif op == "$exists":
            ok = (value is not _MISSING) == bool(operand)
        elif op == "$in":
            ok = any(_equals(value, item) for item in _listed(operand))
        elif op == "$nin":
            ok = not any(_equals(value, item) for item in _listed(operand))
        elif op in _ORDER:
            ok = _ordered(value, operand, _ORDER[op])
        else:
            raise Unsupported(op)
        if not ok:
            return False
    return True


def _listed(operand: Any) -> list[Any]:
    if not isinstance(operand, list):
        raise Unsupported("$in/$nin without a list")
    return operand


def _same(value: Any, target: Any) -> bool:
    if isinstance(value, bool) or isinstance(target, bool):  # in MongoDB true is not 1
        return isinstance(value, bool) and isinstance(target, bool) and value == target
    if isinstance(value, Mapping | list) or isinstance(target, Mapping | list):
        raise Unsupported("comparison of embedded documents or arrays")
    if isinstance(value, datetime) and isinstance(target, datetime):
        return _comparable(value, target) and value == target
    return bool(type(value) is type(target) or _numbers(value, target)) and value == target


def _equals(value: Any, target: Any) -> bool:
    if value is _MISSING:
        return target is None  # MongoDB: {"f": null} matches a missing field
    if isinstance(value, list) and not isinstance(target, list):
        return any(_same(item, target) for item in value)
    return _same(value, target)


def _numbers(a: Any, b: Any) -> bool:
    return all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))


def _comparable(a: datetime, b: datetime) -> bool:
    if (a.tzinfo is None) != (b.tzinfo is None):
        raise Unsupported("naive and aware datetimes")
    return True


def _ordered(value: Any, operand: Any, compare: Callable[[Any, Any], bool]) -> bool:
    if value is _MISSING or value is None or isinstance(value, list):
        if isinstance(value, list):
            raise Unsupported("range condition on an array")
        return False
    if _numbers(value, operand):
        return compare(value, operand)
    if isinstance(value, datetime) and isinstance(operand, datetime):
        return _comparable(value, operand) and compare(value, operand)
    if isinstance(value, str) and isinstance(operand, str):
        return compare(value, operand)
    if type(value) is not type(operand):
        return False  # MongoDB compares only within a type bracket
    raise Unsupported(f"range condition on {type(value).__name__}")
