"""The preflight checks, one problem at a time, against a valid baseline."""

import copy

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils.preflight import preflight_errors


def host(name, ip, *groups, **extra):
    return dict({"name": name, "node_name": name, "ip": ip, "ansible_host": None, "arch": "amd64", "groups": list(groups)}, **extra)


CP = ("etcd", "kube_control_plane", "k8s_cluster")
NODE = ("kube_node", "k8s_cluster")
HOSTS = [
    host("cp1", "192.0.2.11", *CP),
    host("cp2", "192.0.2.12", *CP),
    host("cp3", "192.0.2.13", *CP),
    host("w1", "192.0.2.21", *NODE),
]
SETTINGS = {
    "kube_version": "1.36.4",
    "kubectl_version": "1.37.1",
    "etcd_version": "3.6.14",
    "containerd_version": "2.3.4",
    "runc_version": "1.4.3",
    "cni_plugins_version": "1.9.1",
    "crictl_version": "1.36.0",
    "service_cidr": "10.96.0.0/12",
    "pod_cidr": "10.244.0.0/16",
    "node_cidr_mask_size": "24",
    "cluster_domain": "cluster.local",
    "api_endpoint": "",
    "apiserver_extra_sans": [],
    "etcd_data_dir": "",
}


def errors_with(hosts=None, **settings):
    merged = dict(SETTINGS, **settings)
    return preflight_errors(HOSTS if hosts is None else hosts, merged)


def test_valid_baseline_has_no_errors():
    assert not errors_with()


def test_dual_stack_and_endpoint_and_sans_are_valid():
    assert not errors_with(
        service_cidr="10.96.0.0/12,fd00:10:96::/112",
        pod_cidr="10.244.0.0/16,fd00:10:244::/56",
        api_endpoint="api.example.com",
        apiserver_extra_sans=["203.0.113.10", "*.api.example.com", "k8s.example.com"],
    )


def test_ansible_host_ip_is_used_when_ip_is_missing():
    hosts = copy.deepcopy(HOSTS)
    hosts[3].update(ip=None, ansible_host="192.0.2.99")
    assert not errors_with(hosts)


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda h: h[1]["groups"].remove("etcd"), "odd member count"),
        (lambda h: h[3]["groups"].remove("kube_node"), "inventory group 'kube_node' is missing or empty"),
        (lambda h: h[3].update(ip=None, ansible_host="w1.example.com"), "host 'w1' has no IP: set its 'ip' variable (ansible_host 'w1.example.com'"),
        (lambda h: h[3].update(ip="192.0.2.256"), "host 'w1': ip '192.0.2.256' is not an IP address"),
        (lambda h: h[3].update(ip="192.0.2.11"), "hosts 'cp1' and 'w1' have the same ip 192.0.2.11"),
        (lambda h: h[3].update(node_name="W1"), "node name 'W1' is not a valid DNS label"),
        (lambda h: h[3].update(node_name="cp1"), "hosts 'cp1' and 'w1' have the same node name 'cp1'"),
        (lambda h: h[3].update(arch="s390x"), "kubebin_arch 's390x' is not one of amd64, arm64"),
        (lambda h: h[3]["groups"].remove("k8s_cluster"), "host 'w1' is in kube_control_plane or kube_node but not under group 'k8s_cluster'"),
    ],
)
def test_inventory_problems_are_named(change, expected):
    hosts = copy.deepcopy(HOSTS)
    change(hosts)
    errors = errors_with(hosts)
    assert len(errors) == 1, errors
    assert expected in errors[0]


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({"service_cidr": "10.96.0.0/33"}, "kubebin_service_cidr: '10.96.0.0/33' is not a valid network CIDR"),
        ({"service_cidr": "10.96.0.1/12"}, "kubebin_service_cidr: '10.96.0.1/12' is not a valid network CIDR"),
        ({"service_cidr": ""}, "kubebin_service_cidr is empty"),
        ({"service_cidr": "10.0.0.0/8", "pod_cidr": "172.16.0.0/16"}, "kubebin_service_cidr 10.0.0.0/8 is too large"),
        ({"pod_cidr": "10.100.0.0/16"}, "kubebin_service_cidr 10.96.0.0/12 overlaps kubebin_pod_cidr 10.100.0.0/16"),
        ({"pod_cidr": "192.0.2.0/24", "node_cidr_mask_size": "26"}, "kubebin_pod_cidr 192.0.2.0/24 overlaps the hosts' network: it contains cp1 (192.0.2.11)"),
        ({"pod_cidr": "10.244.0.0/30", "node_cidr_mask_size": "30"}, "must be longer than the prefix"),
        ({"pod_cidr": "10.244.0.0/24", "node_cidr_mask_size": "25"}, "holds only 2 node ranges of /25, fewer than the 4 hosts"),
        ({"node_cidr_mask_size": "x"}, "kubebin_node_cidr_mask_size 'x' is not a number"),
        ({"service_cidr": "10.96.0.0/16,10.97.0.0/16"}, "at most one IPv4 and one IPv6 CIDR"),
        ({"cluster_domain": "Cluster_Local"}, "kubebin_cluster_domain 'Cluster_Local' is not a valid DNS name"),
        ({"api_endpoint": "https://lb:6443"}, "kubebin_api_endpoint 'https://lb:6443' is neither an IP address nor a DNS name"),
        ({"apiserver_extra_sans": ["ok.example.com", "bad name"]}, "kubebin_apiserver_extra_sans: 'bad name'"),
        ({"kube_version": "1.20.0"}, "kubebin_kube_version '1.20.0' is not supported"),
        ({"kube_version": "v1.36.4"}, "without a leading 'v'"),
        ({"etcd_version": "3.4.23"}, "kubebin_etcd_version '3.4.23' is not supported"),
        ({"containerd_version": "1.5.0"}, "kubebin_containerd_version '1.5.0' is not supported"),
        ({"cgroup_driver": "cgroup"}, "kubebin_cgroup_driver 'cgroup' is not one of systemd, cgroupfs"),
        ({"etcd_data_dir": "/tmp/etcd"}, "etcd_data_dir '/tmp/etcd' is inside a temporary directory"),
        ({"etcd_data_dir": "/var/tmp/etcd"}, "etcd_data_dir '/var/tmp/etcd' is inside a temporary directory"),
    ],
)
def test_setting_problems_are_named(settings, expected):
    errors = errors_with(**settings)
    assert len(errors) == 1, errors
    assert expected in errors[0]


def test_every_problem_is_reported_at_once():
    hosts = copy.deepcopy(HOSTS)
    hosts[3].update(ip=None)
    errors = errors_with(hosts, kube_version="2.0.0", service_cidr="bad")
    assert len(errors) == 3
