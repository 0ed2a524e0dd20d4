"""Which records may leave the hand-off topics: only what every reader has passed, and that long enough ago."""

from __future__ import annotations

from aiokafka.structs import TopicPartition

from shared.contracts.topics import INCIDENT_REPORTED, INCIDENT_URGENT
from shared.messaging.handoff import Group, Ripening, readers_of, trim_points

P0 = TopicPartition(INCIDENT_REPORTED, 0)
P1 = TopicPartition(INCIDENT_REPORTED, 1)
U0 = TopicPartition(INCIDENT_URGENT, 0)


def _readers(offset: int, *, tp: TopicPartition = P0, prefix: str = "wb") -> list[Group]:
    """Every service that reads ``tp``'s topic, each in a group of its own that committed ``offset``."""
    return [Group(f"{prefix}-{service}-main", {tp: offset}) for service in readers_of(tp.topic)]


def test_the_report_topic_is_read_by_intake_triage_and_notify_and_the_urgent_one_by_triage_and_notify() -> None:
    assert set(readers_of(INCIDENT_REPORTED)) == {"intake", "triage", "notify"}
    assert set(readers_of(INCIDENT_URGENT)) == {"triage", "notify"}


def test_a_partition_is_trimmed_up_to_the_lowest_offset_its_readers_committed() -> None:
    groups = _readers(40)
    groups[1] = Group(groups[1].name, {P0: 12})
    assert trim_points([P0], groups, prefix="wb") == {P0: 12}


def test_a_service_that_has_not_committed_on_a_partition_holds_it_whole() -> None:
    groups = [g for g in _readers(40) if "-notify-" not in g.name]
    assert trim_points([P0], groups, prefix="wb") == {}
    # on another partition notify has committed: that one goes
    groups.append(Group("wb-notify-main", {P1: 7}))
    groups += [Group(g.name + "-p1", {P1: 9}) for g in groups if "-notify-" not in g.name]
    assert trim_points([P0, P1], groups, prefix="wb") == {P1: 7}


def test_an_acute_watch_group_does_not_stand_for_its_service() -> None:
    groups = [g for g in _readers(40, tp=U0) if "-notify-" not in g.name]
    groups.append(Group("wb-notify-acute-watch", {U0: 40}))
    assert trim_points([U0], groups, prefix="wb") == {}


def test_a_group_of_this_installation_holds_even_when_nobody_runs_it_another_installation_s_does_not() -> None:
    readers = _readers(40)
    restarting = Group("wb-reporting-replay", {P0: 3})
    assert trim_points([P0], [*readers, restarting], prefix="wb") == {P0: 3}
    elsewhere = Group("other-intake-main", {P0: 2})
    assert trim_points([P0], [*readers, elsewhere], prefix="wb") == {P0: 40}


def test_groups_of_another_prefix_do_not_stand_for_this_installation_s_services() -> None:
    assert trim_points([P0], _readers(40, prefix="other"), prefix="wb") == {}


def test_a_topic_nobody_reads_is_never_trimmed() -> None:
    tp = TopicPartition("weerbaar.unknown.v1", 0)
    assert trim_points([tp], [Group("wb-intake-x", {tp: 5})], prefix="wb") == {}


def test_a_point_becomes_due_only_once_every_reader_had_passed_it_the_grace_period_ago() -> None:
    now = [100.0]
    ripening = Ripening(30.0, clock=lambda: now[0])
    assert ripening.due({P0: 10}) == {}
    now[0] = 120.0
    assert ripening.due({P0: 25}) == {}
    now[0] = 130.0
    assert ripening.due({P0: 30}) == {P0: 10}
    now[0] = 151.0
    assert ripening.due({P0: 31}) == {P0: 25}
