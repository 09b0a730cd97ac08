"""The refusals of remove_node.yml and reset.yml, and which nodes still take pods."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.filter.lifecycle import FilterModule, node_removal_refusals, reset_refusals, schedulable_nodes

GROUPS = {
    "all": ["cp1", "cp2", "e1", "w1", "w2", "spare"],
    "etcd": ["cp1", "e1"],
    "kube_control_plane": ["cp1", "cp2"],
    "kube_node": ["cp1", "w1", "w2"],
    "k8s_cluster": ["cp1", "cp2", "w1", "w2"],
}


def test_a_worker_may_be_removed():
    assert node_removal_refusals("w2", GROUPS) == []
    assert node_removal_refusals(" w2 ", GROUPS) == []


@pytest.mark.parametrize("node, message", [
    ("", "removes one worker, named with -e node=NAME"),
    (None, "removes one worker, named with -e node=NAME"),
    (["w1"], "removes one worker, named with -e node=NAME"),
    ("w9", "node 'w9' is not a host of the inventory"),
    ("cp1", "node 'cp1' is in kube_control_plane and etcd: remove_node.yml removes workers only; cp1 is removed by "
            "remove_control_plane.yml (not built yet) and remove_etcd_member.yml"),
    ("cp2", "node 'cp2' is in kube_control_plane: "),
    ("e1", "node 'e1' is in etcd: remove_node.yml removes workers only; e1 is removed by remove_etcd_member.yml"),
    ("spare", "node 'spare' is not in kube_node"),
])
def test_refused_removals_name_the_node_and_what_to_do(node, message):
    refusals = node_removal_refusals(node, GROUPS)
    assert len(refusals) == 1 and message in refusals[0], refusals


def test_the_only_worker_is_refused():
    groups = dict(GROUPS, kube_node=["w1"])
    assert node_removal_refusals("w1", groups) == [
        "node 'w1' is the only host of kube_node: removing it would leave the cluster no node to run pods on"]


@pytest.mark.parametrize("confirm", [True, "true", "yes", "1", "True"])
def test_a_confirmed_limited_reset_of_workers_passes(confirm):
    assert reset_refusals(["w1", "spare"], GROUPS, confirm, "w1,spare") == []
    # remove_node.yml names its hosts itself: a list stands for the limit
    assert reset_refusals(["w1"], GROUPS, confirm, ["w1"]) == []


def test_a_reset_is_refused_without_confirmation_or_limit_and_for_kept_hosts():
    refusals = reset_refusals(["w1", "cp2", "e1"], GROUPS, "false", "")
    assert refusals == [
        "reset.yml removes everything the collection put on the hosts it runs on: confirm with -e reset_confirm=true",
        "reset.yml needs --limit naming the hosts to reset: it never runs on a whole inventory",
        "host 'cp2' is in kube_control_plane: reset.yml resets hosts that are neither control-plane hosts nor etcd members; "
        "remove it from there first with remove_control_plane.yml (not built yet)",
        "host 'e1' is in etcd: reset.yml resets hosts that are neither control-plane hosts nor etcd members; "
        "remove it from there first with remove_etcd_member.yml",
    ]
    assert len(reset_refusals(["w1"], GROUPS, None, "w1")) == 1


def _node(name, ready="True", unschedulable=False, taints=()):
    return {"metadata": {"name": name},
            "spec": dict({"unschedulable": True} if unschedulable else {}, taints=[{"key": k, "effect": e} for k, e in taints]),
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": ready}]}}


def test_schedulable_nodes_are_ready_uncordoned_and_untainted():
    nodes = {"kind": "List", "items": [
        _node("w3"), _node("w1"), _node("w2"),
        _node("cp1", taints=[("node-role.kubernetes.io/control-plane", "NoSchedule")]),
        _node("w4", ready="False"), _node("w5", ready="Unknown"), _node("w6", unschedulable=True),
        _node("w7", taints=[("example.com/maintenance", "NoExecute")]),
        _node("w8", taints=[("example.com/prefer-not", "PreferNoSchedule")]),
        {"metadata": {"name": "w9"}, "spec": {}, "status": {}},
    ]}
    assert schedulable_nodes(nodes) == ["w1", "w2", "w3", "w8"]
    assert schedulable_nodes(nodes, ["w2"]) == ["w1", "w3", "w8"]
    assert schedulable_nodes(nodes, "w2") == ["w1", "w3", "w8"]
    assert schedulable_nodes({"items": []}) == []


def test_schedulable_nodes_wants_the_node_list():
    with pytest.raises(AnsibleFilterError, match="kubectl get nodes -o json"):
        schedulable_nodes({"kind": "Node"})


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"node_removal_refusals", "reset_refusals", "schedulable_nodes"}
