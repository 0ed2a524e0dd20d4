"""Notify's aggregates: which erasures reach the copy it keeps; whom an acknowledgement's topic speaks for."""

from __future__ import annotations

import pytest

from services.notify.errors import WrongRecipient
from services.notify.model import CaseNotifications, vouched_ack
from shared.contracts.events import NotificationAck
from shared.contracts.topics import NOTIFICATION_ACK, Recipient, ack_topic


def test_an_erasure_of_another_filers_report_leaves_the_copy_and_one_of_its_own_report_drops_it() -> None:
    kept = CaseNotifications(case_id="c", report_id="r-1")
    assert not kept.holds_any(("r-2",)), "another filer withdrew its report: the notifications stay"
    assert kept.holds_any(("r-1", "r-2"))
    assert kept.holds_any(()), "the whole case"
    assert CaseNotifications(case_id="c").holds_any(("r-2",)), "a copy of unknown origin is erased, not kept"


def _ack(recipient: Recipient, municipality: str | None = None) -> NotificationAck:
    return NotificationAck(
        case_id="case-0001", notification_id="n", recipient=recipient, acknowledged_by="desk", municipality=municipality
    )


def test_a_recipients_topic_vouches_for_that_recipient_only() -> None:
    police = ack_topic(Recipient.POLICE)
    own = _ack(Recipient.POLICE)
    assert vouched_ack(police, own) == own
    with pytest.raises(WrongRecipient, match="cannot be for om"):
        vouched_ack(police, _ack(Recipient.OM))
    with pytest.raises(WrongRecipient, match="cannot be for burgemeester"):
        vouched_ack(police, _ack(Recipient.BURGEMEESTER, "GM0344"))


def test_a_gemeentes_topic_vouches_for_its_municipality_only() -> None:
    gm0344 = ack_topic(Recipient.BURGEMEESTER, "GM0344")
    assert gm0344 == "weerbaar.notification.ack.burgemeester.gm0344.v1"
    assert vouched_ack(gm0344, _ack(Recipient.BURGEMEESTER)).municipality == "GM0344"
    assert vouched_ack(gm0344, _ack(Recipient.BURGEMEESTER, "GM0344")).municipality == "GM0344"
    with pytest.raises(WrongRecipient, match="cannot acknowledge for GM0363"):
        vouched_ack(gm0344, _ack(Recipient.BURGEMEESTER, "GM0363"))
    with pytest.raises(WrongRecipient):
        vouched_ack(gm0344, _ack(Recipient.POLICE))


def test_the_operators_topic_may_name_any_recipient_and_other_topics_none() -> None:
    on_behalf = _ack(Recipient.OM)
    assert vouched_ack(NOTIFICATION_ACK, on_behalf) == on_behalf
    for stranger in ("weerbaar.notification.ack.nobody.v1", "weerbaar.notification.ack.burgemeester.v1", "test.x"):
        with pytest.raises(WrongRecipient):
            vouched_ack(stranger, _ack(Recipient.POLICE))
