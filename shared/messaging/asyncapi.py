"""AsyncAPI 3.0 documents generated from a service's broker, with the contract models as payloads."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from faststream.specification.asyncapi import AsyncAPI
from pydantic import BaseModel

from shared.messaging.lanes import HOLD_TOPICS, RELEASE_TOPIC
from shared.runtime.service import Runtime


def document(runtime: Runtime, *, version: str) -> dict[str, Any]:
    """The service's AsyncAPI document: FastStream's channels and operations, our models as message payloads.

    Subscribers take the raw record (parsing happens in ``shared.messaging.consuming`` so bad records reach the DLQ), so
    FastStream sees no payload type for them; the model each topic carries is filled in from the runtime.
    """
    spec: dict[str, Any] = (
        AsyncAPI(runtime.broker, title=f"weerbaar {runtime.service}", version=version, description=_describe(runtime))
        .to_specification()
        .to_jsonable()
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    messages = spec["components"].get("messages", {})
    for channel in spec.get("channels", {}).values():
        model = runtime.consumed.get(channel["address"])
        if model is None:
            continue
        for ref in channel.get("messages", {}).values():
            name = unquote(ref["$ref"].rsplit("/", 1)[-1])  # a pattern's address is escaped in the reference
            messages[name]["payload"] = {"$ref": f"#/components/schemas/{model.__name__}"}
        _add_schema(schemas, model)
    if not _uses(spec, "EmptyPayload"):
        schemas.pop("EmptyPayload", None)
    spec["servers"] = {
        "kafka": {"host": "localhost:9092", "protocol": "kafka", "description": "WEERBAAR_KAFKA_BOOTSTRAP"}
    }
    for channel in spec.get("channels", {}).values():
        channel["servers"] = [{"$ref": "#/servers/kafka"}]
    return spec


def _describe(runtime: Runtime) -> str:
    consumed = ", ".join(sorted(runtime.consumed)) or "nothing"
    produced = ", ".join(sorted(runtime.produced)) or "nothing"
    return (
        f"Consumes {consumed}. Produces {produced}. Values are JSON of the models below, keys are case ids, "
        "CloudEvents 1.0 attributes travel as ce_* headers; records that cannot be handled go to <topic>.dlq. "
        f"Also watches the keys of {', '.join(sorted(HOLD_TOPICS))} and {RELEASE_TOPIC} "
        "(group <prefix>-<service>-acute-watch) so routine work steps aside while an acute case is on its way."
    )


def _add_schema(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault(model.__name__, schema)


def _uses(spec: dict[str, Any], name: str) -> bool:
    return f"#/components/schemas/{name}" in json.dumps(spec)
