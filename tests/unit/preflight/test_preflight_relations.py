"""Ranges, shapes and relations between settings, by table against the roles' default values."""

import ipaddress

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils import preflight_relations as rel

SPECS = {
    "kubebin_etcd_client_port": {"type": "int"},
    "kubebin_etcd_peer_port": {"type": "int"},
    "kubebin_apiserver_port": {"type": "int"},
    "etcd_health_retries": {"type": "int"},
    "coredns_replicas": {"type": "int"},
    "etcd_health_delay": {"type": "int"},
}
DEFAULTS = {
    "kubebin_etcd_client_port": 2379,
    "kubebin_etcd_peer_port": 2380,
    "etcd_metrics_port": 2381,
    "etcd_health_retries": 20,
    "etcd_health_delay": 3,
    "coredns_replicas": 2,
    "kubebin_apiserver_port": 6443,
    "kubebin_api_proxy_port": 6443,
    "api_proxy_enabled": True,
    "kube_apiserver_bind_address": "192.0.2.11",
    "kube_controller_manager_bind_address": "127.0.0.1",
    "kube_controller_manager_secure_port": 10257,
    "kube_scheduler_bind_address": "127.0.0.1",
    "kube_scheduler_secure_port": 10259,
    "kubelet_config_extra": {},
    "kubebin_mirror_kubernetes": "https://dl.k8s.io",
    "kubebin_mirror_github": "https://github.com",
    "kube_apiserver_service_account_issuer": "https://kubernetes.default.svc.cluster.local",
    "kube_controller_manager_cluster_signing_duration": "8760h",
    "api_proxy_timeout_tunnel": "1h",
    "api_proxy_timeout_connect": "5s",
    "coredns_cpu_request": "100m",
    "coredns_memory_request": "70Mi",
    "coredns_memory_limit": "170Mi",
    "coredns_version": "1.12.1",
    "kubebin_kube_version": "1.36.4",
    "kubebin_kubectl_version": "1.36.4",
    "kubebin_service_cidr": "10.96.0.0/12",
    "kubebin_cluster_dns_ip": "10.96.0.10",
    "coredns_service_ip": "10.96.0.10",
    "kubelet_cluster_dns": ["10.96.0.10"],
}
ALL_IN_ONE = {"name": "cp1", "ips": [ipaddress.ip_address("192.0.2.11")], "groups": ["etcd", "kube_control_plane", "kube_node", "k8s_cluster"]}


def errors_of(**changes):
    values = dict(DEFAULTS, **changes)
    return (rel.check_shapes(values, SPECS) + rel.check_skew(values) + rel.check_ports(ALL_IN_ONE, values)
            + rel.check_bind_addresses(ALL_IN_ONE, values) + rel.check_cluster_dns(values))


def test_the_role_defaults_pass():
    assert errors_of() == []


BAD = [
    ({"kubebin_etcd_client_port": 0}, "kubebin_etcd_client_port 0 is not a port: give a number from 1 to 65535"),
    ({"kubebin_apiserver_port": 70000}, "kubebin_apiserver_port 70000 is not a port"),
    ({"etcd_health_retries": 0}, "etcd_health_retries 0 must be at least 1"),
    ({"coredns_replicas": 0}, "coredns_replicas 0 must be at least 1"),
    ({"etcd_health_delay": -1}, "etcd_health_delay -1 must not be negative"),
    ({"kube_apiserver_service_account_issuer": "kubernetes.default.svc"}, "'kubernetes.default.svc' is not a URL: give a scheme and a host"),
    ({"kube_apiserver_service_account_issuer": "http://issuer.example.com"}, "must be an https URL"),
    ({"kube_controller_manager_cluster_signing_duration": "365d"}, "'365d' is not a Go duration such as 8760h"),
    ({"api_proxy_timeout_tunnel": "one hour"}, "api_proxy_timeout_tunnel 'one hour' is not an HAProxy time"),
    ({"coredns_memory_limit": "170MB"}, "coredns_memory_limit '170MB' is not a Kubernetes quantity"),
    ({"coredns_memory_request": "200Mi"}, "coredns_memory_request 200Mi is above coredns_memory_limit 170Mi"),
    ({"coredns_version": "v1.12.1"}, "coredns_version 'v1.12.1' is not a release X.Y.Z"),
    ({"kubebin_kubectl_version": "1.34.0"}, "kubebin_kubectl_version 1.34.0 is outside the supported skew of kubebin_kube_version 1.36.4"),
    ({"kubebin_etcd_peer_port": 2379}, "etcd client (kubebin_etcd_client_port) and etcd peer (kubebin_etcd_peer_port) both listen on port 2379"),
    ({"etcd_metrics_port": 2379}, "etcd client (kubebin_etcd_client_port) and etcd metrics (etcd_metrics_port) both listen on port 2379"),
    ({"kube_apiserver_bind_address": "192.0.2.99"}, "kube_apiserver_bind_address '192.0.2.99' is not one of the host's IPs"),
    ({"kube_scheduler_secure_port": 10257}, "kube-controller-manager (kube_controller_manager_secure_port) and kube-scheduler"),
    ({"kube_controller_manager_secure_port": 10250, "kube_controller_manager_bind_address": "0.0.0.0"},
     "kube-controller-manager (kube_controller_manager_secure_port) and kubelet (kubelet_config_extra.port) both listen on port 10250"),
    ({"kubebin_api_proxy_port": 2379}, "etcd client (kubebin_etcd_client_port) and local API proxy (kubebin_api_proxy_port) both listen on port 2379"),
    ({"kubelet_config_extra": {"healthzPort": 2381}}, "etcd metrics (etcd_metrics_port) and kubelet healthz"),
    ({"kube_scheduler_bind_address": "192.0.2.99"}, "kube_scheduler_bind_address '192.0.2.99' is neither loopback, the wildcard, nor one of the host's IPs"),
    ({"coredns_service_ip": "10.200.0.10"}, "coredns_service_ip '10.200.0.10' is not an address of kubebin_service_cidr 10.96.0.0/12"),
    ({"coredns_service_ip": "10.96.0.1", "kubelet_cluster_dns": ["10.96.0.1"]}, "coredns_service_ip 10.96.0.1 is the first service address"),
    ({"coredns_service_ip": "10.96.0.53"},
     "the kubelets send pods to DNS 10.96.0.10 (kubelet_cluster_dns) but CoreDNS listens on 10.96.0.53 (coredns_service_ip): set kubebin_cluster_dns_ip"),
    ({"kubelet_cluster_dns": ["10.96.0.53"]}, "the kubelets send pods to DNS 10.96.0.53 (kubelet_cluster_dns) but CoreDNS listens on 10.96.0.10"),
    ({"kubelet_cluster_dns": ["8.8.8.8"]}, "kubelet_cluster_dns: '8.8.8.8' is not an address of kubebin_service_cidr"),
    # One message for the shared setting, none for the two that follow it.
    ({"kubebin_cluster_dns_ip": "10.200.0.10", "coredns_service_ip": "10.200.0.10", "kubelet_cluster_dns": ["10.200.0.10"]},
     "kubebin_cluster_dns_ip '10.200.0.10' is not an address of kubebin_service_cidr 10.96.0.0/12"),
]


@pytest.mark.parametrize("changes, expected", BAD)
def test_each_bad_relation_is_named(changes, expected):
    errors = errors_of(**changes)
    assert len(errors) == 1, errors
    assert expected in errors[0]


GOOD = [
    {"kubebin_api_proxy_port": 16443, "kube_apiserver_bind_address": "192.0.2.11"},
    {"api_proxy_enabled": False, "kubebin_apiserver_port": 6443},
    {"coredns_service_ip": "10.96.0.53", "kubelet_cluster_dns": ["10.96.0.53"]},
    {"kubebin_cluster_dns_ip": "10.96.0.53", "coredns_service_ip": "10.96.0.53", "kubelet_cluster_dns": ["10.96.0.53"]},
    {"kubebin_service_cidr": "fd00:10:96::/112", "kubebin_cluster_dns_ip": "fd00:10:96::a", "coredns_service_ip": "fd00:10:96::a",
     "kubelet_cluster_dns": ["fd00:10:96::a"]},
    {"kubebin_kubectl_version": "1.37.0"},
    {"kube_controller_manager_cluster_signing_duration": "720h30m"},
    {"api_proxy_timeout_connect": "500ms"},
    {"kube_scheduler_bind_address": "192.0.2.11"},
    {"kubebin_etcd_client_port": "not checked here: a type error"},
]


@pytest.mark.parametrize("changes", GOOD)
def test_valid_variations_pass(changes):
    assert errors_of(**changes) == []


def test_an_apiserver_on_the_wildcard_is_refused_and_clashes_with_the_local_proxy():
    errors = errors_of(kube_apiserver_bind_address="0.0.0.0")
    assert len(errors) == 2, errors
    assert "kube-apiserver (kubebin_apiserver_port) and local API proxy (kubebin_api_proxy_port) both listen on port 6443" in errors[0]
    assert "kube_apiserver_bind_address '0.0.0.0' is not one of the host's IPs" in errors[1]


NODES = [
    {"name": "w1", "ips": [], "groups": ["kube_node"]},
    {"name": "w2", "ips": [], "groups": ["kube_node"]},
]


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"w1": "10.244.7.0/24"}, None),
        ({"w1": "10.244.7.0/24", "w2": "10.244.8.0/24"}, None),
        ({"w1": "10.245.0.0/24"}, "host 'w1': pod_network_node_cidr '10.245.0.0/24' is not inside kubebin_pod_cidr 10.244.0.0/16"),
        ({"w1": "10.244.7.0/25"}, "is a /25, but node ranges are /24 (kubebin_node_cidr_mask_size)"),
        ({"w1": "10.244.7.1/24"}, "is not a network CIDR"),
        ({"w1": "10.244.7.0/24", "w2": "10.244.7.0/24"}, "host 'w2': pod_network_node_cidr '10.244.7.0/24' overlaps the range of host 'w1'"),
    ],
)
def test_per_host_pod_ranges(overrides, expected):
    values = {name: {"pod_network_node_cidr": cidr} for name, cidr in overrides.items()}
    errors = rel.check_node_cidrs(NODES, values, "10.244.0.0/16", 24)
    if expected is None:
        assert errors == []
    else:
        assert len(errors) == 1 and expected in errors[0], errors
