"""The host model every role uses: one address rule, the same as the PKI's and preflight's."""

import pytest

from ansible_collections.kubebin.cluster.plugins.filter.hosts import FilterModule, cluster_hosts, node_ip
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_spec import compact_hosts


@pytest.mark.parametrize(
    "host_vars, address",
    [
        ({"ip": "10.0.0.1", "ansible_host": "10.9.9.9"}, "10.0.0.1"),
        # An IP ansible_host and no ip: the address is ansible_host (it was refused by the etcd role before).
        ({"ansible_host": "10.0.0.2"}, "10.0.0.2"),
        # kubebin_node_ip set in the inventory wins everywhere, not only in the certificates.
        ({"ip": "10.0.0.1", "kubebin_node_ip": "10.1.0.1", "ansible_host": "h.example.com"}, "10.1.0.1"),
        ({"ansible_host": "h.example.com"}, ""),
        ({"ip": "fd00::1"}, "fd00::1"),
        ({"ip": "10.0.0.1,fd00::1"}, "10.0.0.1"),
        ({"ip": ["10.0.0.1"]}, "10.0.0.1"),
        ({"ip": ""}, ""),
    ],
)
def test_node_ip_follows_the_one_rule(host_vars, address):
    assert node_ip("h", {"h": host_vars}) == address


def test_cluster_hosts_is_the_inventory_in_order_with_url_hosts():
    groups = {"all": ["cp1", "w1", "w2"], "etcd": ["cp1"], "kube_control_plane": ["cp1"], "kube_node": ["w1", "w2"]}
    hostvars = {
        "cp1": {"ip": "10.0.0.1", "group_names": ["etcd", "kube_control_plane"]},
        "w1": {"kubebin_node_ip": "fd00::21", "ansible_host": "w1.example.com", "group_names": ["kube_node"], "kubebin_node_name": "worker-1"},
        "w2": {"ansible_host": "10.0.0.22", "group_names": ["kube_node"], "kubebin_arch": "arm64"},
    }
    assert cluster_hosts(groups, hostvars) == [
        {"name": "cp1", "node_name": "cp1", "ip": "10.0.0.1", "url_host": "10.0.0.1", "arch": "amd64", "groups": ["etcd", "kube_control_plane"]},
        {"name": "w1", "node_name": "worker-1", "ip": "fd00::21", "url_host": "[fd00::21]", "arch": "amd64", "groups": ["kube_node"]},
        {"name": "w2", "node_name": "w2", "ip": "10.0.0.22", "url_host": "10.0.0.22", "arch": "arm64", "groups": ["kube_node"]},
    ]
    # The PKI names the same address in each host's certificates.
    pki = {h["name"]: h["ips"] for h in compact_hosts(groups, hostvars)}
    assert {h["name"]: [h["ip"]] for h in cluster_hosts(groups, hostvars)} == pki


@pytest.mark.parametrize(
    "value, names",
    [
        # -e kubebin_scale_nodes=w3,w4 gives text; a vars file gives a list.
        ("w3,w4", ["w3", "w4"]),
        (" w3 , w4 ,", ["w3", "w4"]),
        ("w3", ["w3"]),
        (["w3", " w4 "], ["w3", "w4"]),
        ([], []),
        ("", []),
        (None, []),
    ],
)
def test_comma_list_takes_text_or_a_list(value, names):
    assert FilterModule().filters()["comma_list"](value) == names


def test_etcd_members_are_the_etcd_group_in_order_with_one_pair_of_ports():
    hosts = [
        {"name": "cp1", "ip": "10.0.0.1", "url_host": "10.0.0.1", "groups": ["etcd", "kube_control_plane"]},
        {"name": "w1", "ip": "10.0.0.21", "url_host": "10.0.0.21", "groups": ["kube_node"]},
        {"name": "e2", "ip": "fd00::2", "url_host": "[fd00::2]", "groups": ["etcd"]},
        {"name": "e3", "ip": "", "url_host": "", "groups": ["etcd"]},
    ]
    assert FilterModule().filters()["etcd_members"](hosts, 12379, 12380) == [
        {"name": "cp1", "ip": "10.0.0.1", "peer_url": "https://10.0.0.1:12380", "client_url": "https://10.0.0.1:12379"},
        {"name": "e2", "ip": "fd00::2", "peer_url": "https://[fd00::2]:12380", "client_url": "https://[fd00::2]:12379"},
        # No address: the etcd role refuses the member by name before it writes any URL.
        {"name": "e3", "ip": "", "peer_url": "https://:12380", "client_url": "https://:12379"},
    ]
