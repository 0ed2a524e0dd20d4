"""Store commands are timed by filter shape: names and operators only, never the values in the filter."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY

from shared.store import mongo
from shared.store.timing import shape
from tests.support.endpoints import Endpoints


def test_shape_names_fields_and_operators_in_a_stable_order() -> None:
    assert shape({"due_at": {"$lte": 5}, "acknowledged": {"$ne": True}}) == "acknowledged:$ne,due_at:$lte"


def test_shape_keeps_values_out() -> None:
    secret = "Jan Jansen, Dorpsstraat 1"
    assert secret not in shape({"_id": secret, "name": secret, "n": {"$in": [secret]}})


def test_shape_of_an_empty_filter_is_a_dash() -> None:
    assert shape({}) == "-"
    assert shape(None) == "-"


def test_shape_of_a_logical_operator_lists_its_branches() -> None:
    assert shape({"$or": [{"a": 1}, {"b": {"$gt": 2}}]}) == "$or(a;b:$gt)"


@pytest.mark.integration
async def test_a_scan_on_the_real_store_is_counted_under_its_shape(endpoints: Endpoints) -> None:
    collection = f"storetime_{uuid.uuid4().hex[:8]}"
    labels = {"service": "storetime-test", "collection": collection, "command": "find", "outcome": "ok"}
    client = mongo.make_client(endpoints.mongodb_uri, app_name="weerbaar-storetime-test")
    try:
        docs = client["weerbaar_test_storetime"][collection]
        await docs.insert_one({"_id": "a", "due_at": 3})
        await docs.find_one({"_id": "a"})
        await docs.find_one({"due_at": {"$lte": 5}})
        await docs.find_one({"due_at": {"$lte": 5}})
    finally:
        await client.close()
    by_id = REGISTRY.get_sample_value("weerbaar_store_seconds_count", {**labels, "shape": "_id"})
    by_due = REGISTRY.get_sample_value("weerbaar_store_seconds_count", {**labels, "shape": "due_at:$lte"})
    assert (by_id, by_due) == (1.0, 2.0)
