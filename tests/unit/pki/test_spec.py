"""Spec derivation from the inventory (pure): what goes in each certificate and kubeconfig."""

from __future__ import annotations

import time

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_spec import cluster_spec, compact_hosts

from pki_helpers import hosts


def _by_name(spec):
    return {c["name"]: c for c in spec["certificates"]}


def test_apiserver_sans_cover_every_name_the_apiserver_is_reached_by():
    spec = cluster_spec(hosts(), {"api_endpoint": "lb.example.test", "apiserver_extra_sans": ["10.9.9.9", "extra.example.test"],
                                  "cluster_domain": "corp.local", "service_cidr": "10.32.0.0/16,fd00:10::/108"})
    api = _by_name(spec)["apiserver"]
    assert set(api["dns_names"]) == {"cp1", "cp2", "cp3", "lb.example.test", "extra.example.test", "localhost", "kubernetes",
                                     "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.corp.local"}
    assert set(api["ip_addresses"]) == {"127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.0.1", "10.32.0.1", "fd00:10::1", "10.9.9.9"}
    assert api["ca"] == "ca" and api["extended_key_usage"] == ["server_auth"]


def test_etcd_member_certificates_carry_only_that_members_names():
    certs = _by_name(cluster_spec(hosts()))
    for member, ip in (("cp1", "127.0.1.1"), ("cp2", "127.0.1.2")):
        for kind in ("server", "peer"):
            cert = certs["etcd/members/%s/%s" % (member, kind)]
            assert cert["ca"] == "etcd/ca" and cert["common_name"] == member
            assert set(cert["dns_names"]) == {member, "localhost"}
            assert set(cert["ip_addresses"]) == {ip, "127.0.0.1", "::1"}
            assert cert["extended_key_usage"] == ["server_auth", "client_auth"]


def test_kubelet_certificates_per_node_and_only_for_nodes():
    certs = _by_name(cluster_spec(hosts()))
    assert "nodes/cp2/kubelet" not in certs  # cp2 is not in kube_node
    client, serving = certs["nodes/w2/kubelet-client"], certs["nodes/w2/kubelet"]
    assert client["common_name"] == serving["common_name"] == "system:node:w2"
    assert client["organizations"] == serving["organizations"] == ["system:nodes"]
    assert serving["dns_names"] == ["w2"] and serving["ip_addresses"] == ["127.0.2.2"]
    assert client["extended_key_usage"] == ["client_auth"] and serving["extended_key_usage"] == ["server_auth"]


def test_settings_reach_every_certificate():
    spec = cluster_spec(hosts(), {"key_algorithm": "ecdsa-p384", "ca_validity_days": 1000, "leaf_validity_days": 90})
    for cert in spec["certificates"]:
        assert cert["key_algorithm"] == "ecdsa-p384"
        assert cert["validity_days"] == (90 if cert.get("ca") else 1000)


def test_kubeconfig_servers_without_endpoint_use_local_proxy_and_first_control_plane():
    confs = {c["path"]: c for c in cluster_spec(hosts(), {"api_proxy_port": 7443, "apiserver_port": 8443})["kubeconfigs"]}
    for path in ("controller-manager.conf", "scheduler.conf", "kube-proxy.conf", "nodes/w1/kubelet.conf"):
        assert confs[path]["server"] == "https://127.0.0.1:7443"
    assert confs["admin.conf"]["server"] == confs["super-admin.conf"]["server"] == "https://127.0.1.1:8443"
    assert confs["nodes/w1/kubelet.conf"]["user"] == "system:node:w1"
    assert confs["nodes/w1/kubelet.conf"]["client_cert_file"] == "nodes/w1/kubelet-client.crt"


def test_kubeconfig_servers_with_endpoint():
    confs = cluster_spec(hosts(), {"api_endpoint": "fd00::10", "api_endpoint_port": 443})["kubeconfigs"]
    assert {c["server"] for c in confs} == {"https://[fd00::10]:443"}


@pytest.mark.parametrize("settings, host_list, field", [
    ({"apiserver_extra_sans": ["ok.example.test", "not a name!"]}, hosts(), "kubebin_apiserver_extra_sans[1]"),
    ({"api_endpoint": "under_score.example"}, hosts(), "kubebin_api_endpoint"),
    ({"service_cidr": "10.96.0.0/99"}, hosts(), "kubebin_service_cidr"),
    ({"service_cidr": "10.96.0.1/32"}, hosts(), "kubebin_service_cidr: '10.96.0.1/32' has no address after"),
    ({}, [{"name": "cp1", "ips": [], "groups": ["etcd", "kube_control_plane"]}], "cp1 (group etcd): no IP"),
    ({}, [{"name": "CP1", "ips": ["10.0.0.1"], "groups": ["etcd", "kube_control_plane"]}], "lowercase DNS label"),
    ({}, [{"name": "cp1", "ips": ["10.0.0.1"], "groups": ["etcd"]}], "kube_control_plane is empty"),
])
def test_bad_inventory_is_an_error_naming_the_field(settings, host_list, field):
    with pytest.raises(PkiError, match=field.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")):
        cluster_spec(host_list, settings)


def test_compact_hosts_reads_ip_then_ansible_host_ip():
    groups = {"etcd": ["a"], "kube_control_plane": ["a"], "kube_node": ["b", "c"], "other": ["z"]}
    hostvars = {"a": {"ip": "10.0.0.1", "ansible_host": "192.0.2.1"}, "b": {"ansible_host": "10.0.0.2"},
                "c": {"ansible_host": "c.example.test"}, "z": {}}
    assert compact_hosts(groups, hostvars) == [
        {"name": "a", "ips": ["10.0.0.1"], "groups": ["etcd", "kube_control_plane"]},
        {"name": "b", "ips": ["10.0.0.2"], "groups": ["kube_node"]},
        {"name": "c", "ips": [], "groups": ["kube_node"]},
    ]
    override = dict(hostvars, b={"ansible_host": "10.0.0.2", "kubebin_node_ip": "10.1.0.2"})
    assert compact_hosts(groups, override)[1]["ips"] == ["10.1.0.2"]
    with pytest.raises(PkiError, match="host a"):
        compact_hosts(groups, dict(hostvars, a={"ip": "10.0.0.300"}))


def test_derivation_for_500_nodes_is_fast():
    host_list = hosts(workers=["w%d" % i for i in range(500)])
    start = time.perf_counter()
    spec = cluster_spec(host_list)
    elapsed = time.perf_counter() - start
    assert len(spec["certificates"]) == 3 + 10 + 6 + 2 * 501
    assert len(spec["kubeconfigs"]) == 5 + 501
    assert elapsed < 0.5, elapsed
