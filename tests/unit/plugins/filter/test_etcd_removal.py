"""The decisions of remove_etcd_member.yml: inventory refusals, then quorum, health and fault tolerance."""

from __future__ import annotations

import pytest

from ansible_collections.kubebin.cluster.plugins.filter.etcd_removal import etcd_member_removal, etcd_removal_refusals
from ansible.errors import AnsibleFilterError

GROUPS = {
    "all": ["e1", "e2", "e3", "w1"],
    "etcd": ["e1", "e2", "e3"],
    "kube_control_plane": ["e1"],
    "kube_node": ["w1"],
}


def _member(n, started=True):
    entry = {"ID": 0x1000 + n, "peerURLs": ["https://10.0.0.%d:2380" % n]}
    if started:
        entry.update(name="e%d" % n, clientURLs=["https://10.0.0.%d:2379" % n])
    return entry


def cluster(count, dead=(), unstarted=()):
    """member list and endpoint health of COUNT members; DEAD do not answer, UNSTARTED were added only."""
    members = [_member(n, n not in unstarted) for n in range(1, count + 1)]
    health = [{"endpoint": "https://10.0.0.%d:2379" % n, "health": n not in dead, **({"error": "context deadline exceeded"} if n in dead else {})}
              for n in range(1, count + 1) if n not in unstarted]
    return {"header": {}, "members": members}, health


def decide(count, name, dead=(), unstarted=(), accept=False):
    members, health = cluster(count, dead, unstarted)
    number = int(name[1:])
    return etcd_member_removal(members, health, name, "https://10.0.0.%d:2380" % number, accept)


def test_an_inventory_member_may_go_on_to_the_live_checks():
    assert etcd_removal_refusals("e3", GROUPS) == []
    assert etcd_removal_refusals(" e3 ", GROUPS) == []


@pytest.mark.parametrize("member, message", [
    ("", "removes one etcd member, named with -e member=NAME"),
    (None, "removes one etcd member, named with -e member=NAME"),
    ("e9", "member 'e9' is not a host of the inventory"),
    ("w1", "host 'w1' is not in group etcd"),
])
def test_inventory_refusals_name_the_member(member, message):
    refusals = etcd_removal_refusals(member, GROUPS)
    assert len(refusals) == 1 and message in refusals[0], refusals


def test_the_only_member_is_refused():
    refusals = etcd_removal_refusals("e1", dict(GROUPS, etcd=["e1"]))
    assert len(refusals) == 1 and "'e1' is the only member of group etcd" in refusals[0]


def test_a_live_member_of_three_is_refused_without_acceptance():
    result = decide(3, "e3")
    assert result["listed"] and result["id"] == "1003"
    assert (result["tolerance_before"], result["tolerance_after"]) == (1, 0)
    assert result["refusals"] == [
        "'e3' answers: removing it from 3 members leaves 2, which tolerate 0 failed members instead of 1 until a "
        "replacement joins. To replace it, rerun with -e accept_tolerance_loss=true and add the replacement right "
        "after (docs/operations.md, \"Replacing an etcd member\")"]


@pytest.mark.parametrize("accept", [True, "true", "yes", "1"])
def test_accepting_the_lower_tolerance_lets_a_replacement_go_on(accept):
    assert decide(3, "e3", accept=accept)["refusals"] == []


def test_a_dead_member_of_three_is_removed_without_acceptance():
    result = decide(3, "e3", dead=[3])
    assert result["refusals"] == [] and result["id"] == "1003"
    assert (result["tolerance_before"], result["tolerance_after"]) == (0, 0)
    assert result["answering"] == ["e1", "e2"]


def test_a_live_member_of_an_even_count_keeps_the_tolerance():
    result = decide(4, "e4")
    assert (result["tolerance_before"], result["tolerance_after"]) == (1, 1)
    assert result["refusals"] == []


def test_a_live_member_of_five_lowers_the_tolerance_from_two_to_one():
    result = decide(5, "e1")
    assert (result["tolerance_before"], result["tolerance_after"]) == (2, 1)
    assert "removing it from 5 members leaves 4, which tolerate 1 failed member instead of 2" in result["refusals"][0]


def test_a_live_member_is_refused_while_another_one_is_dead_even_when_accepted():
    result = decide(3, "e1", dead=[3], accept=True)
    assert len(result["refusals"]) == 1
    assert "no quorum" in result["refusals"][0] or "not healthy" in result["refusals"][0]
    five = decide(5, "e1", dead=[5], accept=True)
    assert five["refusals"] == [
        "the cluster is not healthy: e5 does not answer, and 'e1' does; remove the silent member first, or bring it back"]


def test_dead_members_are_removed_one_after_the_other_while_the_quorum_holds():
    first = decide(5, "e4", dead=[4, 5])
    assert first["refusals"] == [] and (first["tolerance_before"], first["tolerance_after"]) == (0, 0)


def test_a_removal_that_costs_the_quorum_is_refused():
    result = decide(3, "e3", dead=[2, 3])
    assert result["refusals"] == [
        "removing 'e3' would leave 2 members of which 1 answer (e2 silent): no quorum. Bring the silent members back first"]


def test_a_member_added_but_never_started_is_found_by_its_peer_url():
    result = decide(3, "e3", unstarted=[3])
    assert result["listed"] and result["id"] == "1003" and result["refusals"] == []
    assert result["members"] == ["e1", "e2", "https://10.0.0.3:2380"]


def test_a_member_no_longer_listed_is_a_rerun_with_nothing_to_remove():
    members, health = cluster(2)
    result = etcd_member_removal(members, health, "e3", "https://10.0.0.3:2380")
    assert result == {"listed": False, "id": "", "members": ["e1", "e2"], "answering": ["e1", "e2"],
                      "tolerance_before": 0, "tolerance_after": None, "refusals": []}


def test_the_last_listed_member_is_refused():
    result = decide(1, "e1")
    assert result["refusals"] == ["'e1' is the cluster's only member: removing it would end the cluster"]


@pytest.mark.parametrize("members, health", [("x", []), ({"members": "x"}, []), ({"members": []}, {"x": 1})])
def test_malformed_input_is_an_error(members, health):
    with pytest.raises(AnsibleFilterError):
        etcd_member_removal(members, health, "e1", "https://10.0.0.1:2380")
