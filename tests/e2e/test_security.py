"""Security on the real stack: the authorisation matrix, encryption at rest, the audit chain and erasure."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.runtime.settings import CommonSettings
from shared.store.mongo import Document
from shared.web.audit import AuditLog
from tests.support.auth import headers, token
from tests.support.samples import body
from tests.support.services import SERVICES, RunningServices

pytestmark = pytest.mark.e2e

NAME_PREFIX, EMAIL, PHRASE = "Geheime Wethouder", "geheim.adres@example.nl", "ik weet waar je kinderen op school zitten"
MUNICIPALITY = "GM0344"
ROLES = ("reporter", "otwb", "police", "om", "jenv", "bzk", "burgemeester", "ccv", "admin")
READING_ROLES = {"otwb", "police", "om", "jenv", "burgemeester", "ccv"}
BREAK_GLASS = {"X-Break-Glass-Reason": "matrix test: verifying break-glass access"}


def critical(name: str) -> dict[str, Any]:
    return body(
        **{
            "office_holder.name": name,
            "office_holder.contact": {"email": EMAIL, "phone": "+31 6 1234 5678"},
            "incident.description": f"Brief in de bus: '{PHRASE}'",
            "incident.indicators": {"home_visited": True, "weapon_mentioned": True, "explicit_threat": True},
            "incident.types": ["threat", "home_visit"],
            "incident.perpetrator_handle": "@dreiger_" + uuid.uuid4().hex[:6],
        }
    )


@dataclass
class Filed:
    case_id: str
    filer_sub: str
    name: str
    routes: list[str]


async def _file_and_wait_routed(services: RunningServices) -> Filed:
    sub = f"test-reporter-{uuid.uuid4().hex[:8]}"
    name = f"{NAME_PREFIX} {uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as client:
        created = await client.post("/v1/incidents", json=critical(name), headers=headers("reporter", sub=sub))
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        deadline = time.monotonic() + 60
        while True:
            case = (await client.get(f"/v1/cases/{case_id}", headers={**headers("admin"), **BREAK_GLASS})).json()
            routes = [r["recipient"] for r in (case.get("risk") or {}).get("routes") or []]
            if routes and len(case.get("notifications", {})) >= len(routes):
                return Filed(case_id, sub, name, routes)
            assert time.monotonic() < deadline, case
            await asyncio.sleep(0.3)


async def _notification_id(store: AsyncDatabase[Document], case_id: str, recipient: str) -> str:
    doc = await store["notify_notifications"].find_one({"case_id": case_id, "recipient": recipient})
    assert doc is not None, recipient
    return str(doc["_id"])


def _claims(role: str, filed: Filed) -> dict[str, str]:
    if role == "reporter":
        return {"sub": filed.filer_sub}
    if role == "burgemeester":
        return {"municipality": MUNICIPALITY}
    if role == "otwb":
        return {"org": "OTWB"}
    return {}


@dataclass(frozen=True)
class Call:
    service: str
    method: str
    path: str
    allowed: Callable[[str], bool]
    ok: int = 200
    json: dict[str, Any] | None = None
    extra: dict[str, str] | None = None


async def test_every_endpoint_allows_exactly_the_roles_the_policy_names(
    services: RunningServices, store: AsyncDatabase[Document]
) -> None:
    filed = await _file_and_wait_routed(services)
    assert {"police", "burgemeester"} <= set(filed.routes), filed.routes
    police_nid = await _notification_id(store, filed.case_id, "police")
    routed = set(filed.routes)

    def reads_case(role: str) -> bool:
        return role == "reporter" or (role in READING_ROLES and role in routed)

    def acts(*roles: str) -> Callable[[str], bool]:
        return lambda role: role in roles and reads_case(role)

    case_path = f"/v1/cases/{filed.case_id}"

    calls = [
        Call("intake", "POST", "/v1/incidents", lambda r: r in {"reporter", "otwb"}, 201),
        Call("intake", "GET", f"/v1/cases/{filed.case_id}", reads_case),
        Call("intake", "GET", f"/v1/audit?case_id={filed.case_id}", lambda r: r == "admin"),
        Call("intake", "GET", "/v1/cases", lambda r: r != "bzk"),
        Call("intake", "GET", "/desk", lambda r: r == "otwb"),
        # The reporter's own page: the filer only (a routed party or an admin reads the case over the API).
        Call("intake", "GET", f"/reporter/cases/{filed.case_id}", lambda r: r == "reporter"),
        Call("intake", "POST", f"{case_path}/assign", acts("otwb", "police", "om", "burgemeester"), json={"to": "p1"}),
        Call("intake", "POST", f"{case_path}/notes", acts("otwb", "police", "om", "burgemeester"), 201, {"text": "x"}),
        Call(
            "intake",
            "POST",
            f"{case_path}/assessment",
            acts("police", "om", "burgemeester"),
            json={"level": "critical", "reason": "matrix"},
        ),
        Call("intake", "POST", f"{case_path}/followups", acts("otwb"), 201, {"kind": "otwb_aftercare"}),
        # A critical case with unacknowledged notifications: whoever may close it is refused by its state (409).
        Call("intake", "POST", f"{case_path}/close", acts("otwb", "police", "om"), 409, {"reason": "matrix"}),
        Call("intake", "POST", f"{case_path}/reopen", acts("otwb", "police", "om"), json={"reason": "matrix"}),
        Call("notify", "GET", f"/v1/notifications/{police_nid}", lambda r: r in {"police", "admin"}),
        Call(
            "notify",
            "POST",
            f"/v1/notifications/{police_nid}/ack",
            lambda r: r == "police",
            json={"acknowledged_by": "Team Bedreigde Politici"},
        ),
        Call("notify", "GET", f"/v1/notifications/{police_nid}/aangifte.html", lambda r: r == "police"),
        Call("notify", "GET", "/v1/followups/overdue", lambda r: r in {"police", "om", "admin"}),
        Call("reporting", "GET", "/v1/reports/summary", lambda r: r in {"bzk", "jenv", "admin"}),
        *(
            Call(service, "GET", path, lambda r: True)
            for service in SERVICES
            for path in ("/healthz", "/readyz", "/metrics")
        ),
        # Last: the filer's erasure succeeds (204); an admin's needs a break-glass reason (below).
        Call("intake", "DELETE", f"/v1/cases/{filed.case_id}", lambda r: r == "reporter", 204),
    ]
    checked = 0
    failures: list[str] = []
    async with httpx.AsyncClient(timeout=15) as client:

        async def check(call: Call, who: str, hdrs: dict[str, str], expect: int) -> None:
            nonlocal checked
            body_json = call.json
            if call.path == "/v1/incidents":
                body_json = critical(f"{NAME_PREFIX} {uuid.uuid4().hex[:8]}")
            response = await client.request(
                call.method, services.url(call.service) + call.path, headers=hdrs, json=body_json
            )
            checked += 1
            if response.status_code != expect:
                failures.append(f"{call.method} {call.path} as {who}: {response.status_code}, expected {expect}")
            elif expect in (401, 403):
                if response.headers.get("content-type") != "application/problem+json":
                    failures.append(f"{call.method} {call.path} as {who}: refusal is not problem+json")
                if expect == 401 and not response.headers.get("www-authenticate", "").startswith("Bearer"):
                    failures.append(f"{call.method} {call.path}: 401 without WWW-Authenticate: Bearer")

        # The rows a single role column cannot show (before the case is erased at the end).
        await check(calls[1], "admin with break-glass", {**headers("admin"), **BREAK_GLASS}, 200)
        await check(calls[1], "reporter who did not file", headers("reporter"), 403)
        await check(calls[1], "burgemeester elsewhere", headers("burgemeester", municipality="GM0363"), 403)
        await check(calls[1], "bzk with break-glass header", {**headers("bzk"), **BREAK_GLASS}, 403)
        aangifte = next(c for c in calls if c.path.endswith("/aangifte.html"))
        await check(aangifte, "admin with break-glass", {**headers("admin"), **BREAK_GLASS}, 200)
        ack = next(c for c in calls if c.path.endswith("/ack"))
        await check(ack, "admin with break-glass", {**headers("admin"), **BREAK_GLASS}, 200)
        await check(aangifte, "expired police token", {"Authorization": "Bearer " + _expired("police")}, 401)
        assign = next(c for c in calls if c.path.endswith("/assign"))
        await check(assign, "burgemeester elsewhere", headers("burgemeester", municipality="GM0363"), 403)
        om_part = replace(assign, json={"to": "p1", "part": "om"})
        await check(om_part, "police assigning the OM's part", headers("police"), 403)
        await check(calls[-1], "reporter who did not file", headers("reporter"), 403)
        for call in calls:
            public = call.path in ("/healthz", "/readyz", "/metrics")
            await check(call, "no token", dict(call.extra or {}), 200 if public else 401)
            if not public:
                await check(call, "a forged token", {"Authorization": "Bearer " + _forged()}, 401)
            for role in ROLES:
                expect = call.ok if call.allowed(role) else 403
                await check(call, role, headers(role, **_claims(role, filed)), expect)
        # An admin erases (again: 204, idempotent) only with a reason.
        await check(calls[-1], "admin with break-glass", {**headers("admin"), **BREAK_GLASS}, 204)

    endpoints = len({(c.service, c.method, c.path.split("?")[0]) for c in calls})
    print(f"\nauthorisation matrix: {endpoints} endpoints x {len(ROLES)} roles (+ no token, forged) = {checked} checks")
    assert not failures, "\n".join(failures)
    audit = (
        await httpx.AsyncClient(timeout=10).get(
            services.url("intake") + f"/v1/audit?case_id={filed.case_id}", headers=headers("admin")
        )
    ).json()
    actions = [(e["role"], e["action"], e["outcome"]) for e in audit["entries"]]
    assert ("admin", "case.read", "allowed") in actions
    assert any(e["reason"] == BREAK_GLASS["X-Break-Glass-Reason"] for e in audit["entries"])
    assert ("bzk", "case.read", "denied") not in actions, "bzk is refused by role, before any case is looked at"
    assert ("reporter", "case.read", "denied") in actions


def _forged() -> str:
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    now = int(time.time())
    claims = {"iss": "weerbaar-dev", "aud": "weerbaar", "sub": "x", "role": "admin", "exp": now + 60, "iat": now}
    return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA")


def _expired(role: str) -> str:
    from datetime import UTC, datetime, timedelta

    from shared.web.auth import mint_token
    from tests.support.auth import KEY_DIR

    return mint_token(
        role=role, ttl=timedelta(seconds=10), now=datetime.now(UTC) - timedelta(minutes=5), directory=KEY_DIR
    )


async def _raw_dump(store: AsyncDatabase[Document]) -> str:
    parts = []
    for name in await store.list_collection_names():
        async for doc in store[name].find({}):
            parts.append(f"{name}: {doc!r}")
    return "\n".join(parts)


async def _outboxes_drained(store: AsyncDatabase[Document]) -> None:
    deadline = time.monotonic() + 30
    for name in ("cases", "notify_notifications", "notify_cases"):
        while await store[name].count_documents({"outbox.0": {"$exists": True}}):
            assert time.monotonic() < deadline, f"{name} still has unsent events"
            await asyncio.sleep(0.3)


async def test_the_raw_store_holds_no_plaintext_personal_data(
    services: RunningServices, store: AsyncDatabase[Document]
) -> None:
    filed = await _file_and_wait_routed(services)
    await _outboxes_drained(store)
    dump = await _raw_dump(store)
    assert filed.case_id in dump
    for secret in (filed.name, EMAIL, PHRASE, "1234 5678"):
        assert secret not in dump, f"plaintext {secret!r} found in the raw store"
    # ...while the case file still shows it to whom it may.
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as client:
        case = (await client.get(f"/v1/cases/{filed.case_id}", headers=headers("reporter", sub=filed.filer_sub))).json()
    assert case["reports"][0]["report"]["office_holder"]["name"] == filed.name


async def test_erasure_removes_personal_data_everywhere_and_the_audit_says_so(
    services: RunningServices, store: AsyncDatabase[Document]
) -> None:
    filed = await _file_and_wait_routed(services)
    police_nid = await _notification_id(store, filed.case_id, "police")
    async with httpx.AsyncClient(timeout=10) as client:
        erased = await client.delete(
            services.url("intake") + f"/v1/cases/{filed.case_id}", headers=headers("reporter", sub=filed.filer_sub)
        )
        assert erased.status_code == 204, erased.text
        deadline = time.monotonic() + 30
        while not await store["notify_cases"].count_documents({"_id": filed.case_id, "erased": True}):
            assert time.monotonic() < deadline, "notify did not drop its copy"
            await asyncio.sleep(0.3)
        await _outboxes_drained(store)
        admin = {**headers("admin"), **BREAK_GLASS}
        case = (await client.get(services.url("intake") + f"/v1/cases/{filed.case_id}", headers=admin)).json()
        aangifte = await client.get(
            services.url("notify") + f"/v1/notifications/{police_nid}/aangifte.html", headers=headers("police")
        )
        trail = (
            await client.get(services.url("intake") + f"/v1/audit?case_id={filed.case_id}", headers=headers("admin"))
        ).json()
    assert all(r["erased"] and r["report"] is None for r in case["reports"])
    assert case["reports"][0]["facts"]["types"] == ["threat", "home_visit"], "non-personal facts stay for reporting"
    assert case["risk"]["level"], "the assessment stays"
    assert aangifte.status_code == 404
    erasure = [(e["role"], e["outcome"]) for e in trail["entries"] if e["action"] == "case.erase"]
    assert erasure == [("reporter", "requested"), ("reporter", "erased")], "the request, then its outcome"
    dump = await _raw_dump(store)
    for secret in (filed.name, EMAIL, PHRASE):
        assert secret not in dump
    sealed_left = [
        doc["_id"]
        async for doc in store["notify_notifications"].find({"case_id": filed.case_id, "sealed": {"$ne": "erased"}})
    ]
    assert not sealed_left, "even encrypted copies are dropped"


async def test_the_audit_chain_detects_an_edited_or_deleted_entry(
    services: RunningServices, store: AsyncDatabase[Document]
) -> None:
    filed = await _file_and_wait_routed(services)
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(3):
            await client.get(
                services.url("intake") + f"/v1/cases/{filed.case_id}", headers=headers("reporter", sub=filed.filer_sub)
            )
    # A copy of the log in a database of its own, so tampering does not disturb the other tests.
    copy_db = store.client[f"{store.name}_audit_copy"]
    await asyncio.sleep(0.5)  # let concurrent writers of this run finish their head update
    head = await store["audit_head"].find_one({"_id": "head"})
    assert head is not None
    entries = await store["audit"].find({"seq": {"$lte": head["seq"]}}).sort("seq", 1).to_list(None)
    try:
        await copy_db["audit"].insert_many(entries)
        await copy_db["audit_head"].insert_one(head)
        log = AuditLog(copy_db, service="test", key=CommonSettings().audit_secret)  # the services' dev key
        intact = await log.verify()
        assert intact.ok, intact.problem
        middle = entries[len(entries) // 2]["_id"]
        await copy_db["audit"].update_one({"_id": middle}, {"$set": {"role": "tampered"}})
        edited = await log.verify()
        assert not edited.ok
        assert "altered" in edited.problem
        await copy_db["audit"].update_one({"_id": middle}, {"$set": {"role": entries[len(entries) // 2]["role"]}})
        assert (await log.verify()).ok
        await copy_db["audit"].delete_one({"_id": middle})
        assert not (await log.verify()).ok
        await copy_db["audit"].insert_one(entries[len(entries) // 2])
        await copy_db["audit"].delete_one({"_id": entries[-1]["_id"]})
        tail = await log.verify()
        assert not tail.ok
        assert "head" in tail.problem
    finally:
        await store.client.drop_database(copy_db.name)
    assert token("admin")  # the helper mints for every role
