"""nth_ip: the address arithmetic behind kubebin_cluster_dns_ip, for both families."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.filter.network import allocate_node_cidrs, nth_ip


@pytest.mark.parametrize(
    "cidrs, index, address",
    [
        ("10.96.0.0/12", 10, "10.96.0.10"),
        ("10.96.0.0/12,fd00:10:96::/112", 10, "10.96.0.10"),
        ("fd00:10:96::/112,10.96.0.0/12", 10, "fd00:10:96::a"),
        ("192.168.0.0/24", 255, "192.168.0.255"),
        ("10.0.0.0/8", "1", "10.0.0.1"),
    ],
)
def test_nth_ip(cidrs, index, address):
    assert nth_ip(cidrs, index) == address


@pytest.mark.parametrize("cidrs, index", [("10.0.0.0/29", 10), ("10.0.0.1/24", 1), ("nonsense", 1), ("10.0.0.0/24", -1)])
def test_nth_ip_refuses_what_has_no_such_address(cidrs, index):
    with pytest.raises(AnsibleFilterError):
        nth_ip(cidrs, index)


# --- allocate_node_cidrs: the bridge network's per-node pod CIDRs ---------------------------

IPS = {"a": "10.0.0.1", "b": "10.0.0.2", "c": "10.0.0.3"}


def test_new_nodes_get_the_lowest_free_blocks_in_order():
    plan = allocate_node_cidrs(["a", "b", "c"], "10.244.0.0/16", 24, ips=IPS)
    assert plan == {"cidrs": {"a": "10.244.0.0/24", "b": "10.244.1.0/24", "c": "10.244.2.0/24"}, "errors": []}


def test_fixed_and_remembered_blocks_are_kept_and_skipped():
    plan = allocate_node_cidrs(["a", "b", "c"], "10.244.0.0/16", 24, fixed={"c": "10.244.0.0/24"},
                               remembered={"b": "10.244.5.0/24"}, ips=IPS)
    assert plan["cidrs"] == {"c": "10.244.0.0/24", "b": "10.244.5.0/24", "a": "10.244.1.0/24"}
    assert plan["errors"] == []


def test_a_remembered_block_a_fixed_one_took_is_reallocated():
    plan = allocate_node_cidrs(["a", "b"], "10.244.0.0/16", 24, fixed={"a": "10.244.3.0/24"},
                               remembered={"b": "10.244.3.0/24"}, ips=IPS)
    assert plan["cidrs"] == {"a": "10.244.3.0/24", "b": "10.244.0.0/24"}


def test_a_full_pod_cidr_names_the_node_left_without_a_block():
    plan = allocate_node_cidrs(["a", "b", "c"], "10.244.0.0/23", 24, ips=IPS)
    assert plan["cidrs"] == {"a": "10.244.0.0/24", "b": "10.244.1.0/24"}
    assert plan["errors"] == ["no free /24 left in kubebin_pod_cidr 10.244.0.0/23 for node c"]


@pytest.mark.parametrize("fixed, message", [
    ("10.245.0.0/24", "node a: pod CIDR 10.245.0.0/24 is outside kubebin_pod_cidr 10.244.0.0/16 (pod_network_node_cidr)"),
    ("10.0.0.0/8", "node a: pod CIDR 10.0.0.0/8 is outside kubebin_pod_cidr 10.244.0.0/16 (pod_network_node_cidr)"),
    # Host bits set: no network, as preflight reads it (the bridge would get a shifted subnet).
    ("10.244.1.5/24", "node a: pod CIDR 10.244.1.5/24 is not an IPv4 CIDR (pod_network_node_cidr)"),
    ("10.244.0.0/24,", "node a: pod CIDR 10.244.0.0/24, is not an IPv4 CIDR (pod_network_node_cidr)"),
    ("fd00::/64", "node a: pod CIDR fd00::/64 is not an IPv4 CIDR (pod_network_node_cidr)"),
])
def test_a_bad_fixed_block_is_named(fixed, message):
    assert allocate_node_cidrs(["a"], "10.244.0.0/16", 24, fixed={"a": fixed}, ips=IPS)["errors"] == [message]


def test_duplicates_and_missing_ips_are_problems():
    plan = allocate_node_cidrs(["a", "b"], "10.244.0.0/16", 24, fixed={"a": "10.244.7.0/24", "b": "10.244.7.0/24"}, ips={"a": "x"})
    assert "node b has no `ip`: routes to its pods need it" in plan["errors"]
    assert any(e.startswith("two nodes have the same pod CIDR") for e in plan["errors"])


@pytest.mark.parametrize("pod_cidr", ["fd00:10:244::/56", "10.244.0.0/16,fd00:10:244::/56", "nonsense"])
def test_the_bridge_network_takes_one_ipv4_pod_cidr(pod_cidr):
    plan = allocate_node_cidrs(["a"], pod_cidr, 24, ips=IPS)
    assert plan["errors"] == ["pod_network_plugin bridge supports one IPv4 kubebin_pod_cidr; %s is not (use flannel or calico)" % pod_cidr]


def test_the_search_stays_short_in_a_large_pod_cidr():
    nodes = ["n%03d" % i for i in range(300)]
    plan = allocate_node_cidrs(nodes, "10.0.0.0/8", 24, ips=dict.fromkeys(nodes, "10.0.0.1"))
    assert plan["errors"] == [] and len(set(plan["cidrs"].values())) == 300
    assert plan["cidrs"]["n299"] == "10.1.43.0/24"
