"""Erasure reaches the decisions on the log: the office holder's pseudonym, which every decision of a case carries,
is gone from `weerbaar.case.triaged.v1` (compacted by case once triage published the latest decision again without
it) and from the acute lane's copies (trimmed behind their readers), while the case's figures can still be rebuilt."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.contracts import topics
from shared.contracts.events import CaseTriaged, erased_office_holder_ref
from shared.contracts.incident import IncidentReport
from shared.messaging.kafka import provision_topics
from shared.messaging.kafka_auth import operator_options
from shared.runtime.settings import CommonSettings
from shared.security.pseudonym import office_holder_ref
from tests.chaos.verify import read_raw
from tests.support.auth import headers
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.samples import body
from tests.support.services import RunningServices
from tests.support.waiting import until

pytestmark = pytest.mark.e2e

ADMIN = {**headers("admin"), "X-Break-Glass-Reason": "erasure test: does the erasure reach the decisions on the log"}
DECISIONS = [topics.CASE_TRIAGED, topics.CASE_TRIAGED_URGENT]


@contextlib.asynccontextmanager
async def _compacted_within(bootstrap: str, ms: int) -> AsyncIterator[None]:
    """The decisions topic's policy with a bound of ``ms`` instead of a day; the policy itself again afterwards."""
    configs = {**topics.policy_of(topics.CASE_TRIAGED).configs(), "max.compaction.lag.ms": str(ms)}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-compaction", **operator_options())
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topics.CASE_TRIAGED, configs=configs)])
    finally:
        await admin.close()
    try:
        yield
    finally:
        await provision_topics(bootstrap, security=operator_options())


async def test_an_erased_case_s_pseudonym_leaves_the_decisions_on_the_log(
    services: RunningServices, endpoints: Endpoints
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    marker = uuid.uuid4().hex[:10]
    sent = body(**{"office_holder.name": f"P. Seudoniem-{marker}"})
    pseudonym = office_holder_ref(
        IncidentReport.model_validate(sent).office_holder, key=CommonSettings().pseudonym_secret
    ).encode()

    async with _compacted_within(bootstrap, 1000):
        probe = TopicProbe(bootstrap, [*DECISIONS, topics.CASE_ERASED])
        await probe.start()
        try:
            async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as client:
                filed = await client.post("/v1/incidents", json=sent, headers=headers("reporter"))
                assert filed.status_code == 201, filed.text
                case_id = filed.json()["case_id"]
                (decided,) = await probe.wait_for(topics.CASE_TRIAGED, case_id, timeout=60)
                assert pseudonym in decided.value, "the decision does not carry the pseudonym: this proves nothing"
                erased = await client.delete(f"/v1/cases/{case_id}", headers=ADMIN)
                assert erased.status_code == 204, erased.text
            (erasure,) = await probe.wait_for(topics.CASE_ERASED, case_id, timeout=60)
            copy = (await probe.wait_for(topics.CASE_TRIAGED, case_id, count=2, timeout=60))[-1]
        finally:
            await probe.stop()
        redacted = CaseTriaged.model_validate_json(copy.value)
        assert redacted.event_id == CaseTriaged.model_validate_json(decided.value).event_id
        assert redacted.facts.office_holder_ref == erased_office_holder_ref(case_id)

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **operator_options())
        await producer.start()
        try:

            async def gone_from_the_log() -> bool:
                held = await read_raw(bootstrap, DECISIONS)
                if not [r for r in held if r.value and pseudonym in r.value]:
                    return True
                # Compaction cleans only segments the broker rolled, and it rolls a partition's segment at its
                # next record: the erasure delivered again (as after a crash) makes triage append its copy again.
                await producer.send_and_wait(
                    topics.CASE_ERASED,
                    erasure.value,
                    key=case_id.encode(),
                    headers=[(k, v.encode()) for k, v in erasure.headers.items()],
                )
                return False

            await until(
                "the pseudonym compacted out of the decisions and trimmed from their acute copies",
                gone_from_the_log,
                within_s=90,
                every_s=1.0,
            )
        finally:
            await producer.stop()

    # What the log keeps of the case is its latest decision without the pseudonym: its figures can be rebuilt.
    kept = [r for r in await read_raw(bootstrap, [topics.CASE_TRIAGED]) if r.key == case_id.encode()]
    assert kept, "the case's decision left the log altogether"
    last = CaseTriaged.model_validate_json(kept[-1].value)
    assert last.event_id == redacted.event_id
    assert last.facts.office_holder_ref == erased_office_holder_ref(case_id)
