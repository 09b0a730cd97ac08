"""The preflight checks, one problem at a time, against a valid baseline."""

import copy
import ipaddress

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils import preflight_spec as spec_checks
from ansible_collections.kubebin.cluster.plugins.module_utils.preflight import all_errors, host_model, preflight_errors, scale_node_errors


def host(name, ip, *groups, **extra):
    return dict({"name": name, "node_name": name, "ips": [ipaddress.ip_address(ip)], "arch": "amd64", "groups": list(groups)}, **extra)


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
    "etcd_backup_schedule": "*-*-* 02:30:00",
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


@pytest.mark.parametrize(
    "values, explicit, ips",
    [
        ({"ip": "192.0.2.21"}, {"ip"}, ["192.0.2.21"]),
        ({"ip": None, "ansible_host": "192.0.2.99"}, {"ansible_host"}, ["192.0.2.99"]),
        ({"ip": "192.0.2.21", "ansible_host": "192.0.2.99"}, {"ip", "ansible_host"}, ["192.0.2.21"]),
        # An inventory kubebin_node_ip wins, as in the PKI; the role default (ip, else ansible_host) does not count.
        ({"ip": "192.0.2.21", "kubebin_node_ip": "198.51.100.7"}, {"ip", "kubebin_node_ip"}, ["198.51.100.7"]),
        ({"ip": "192.0.2.21", "kubebin_node_ip": "w1.example.com"}, {"ip"}, ["192.0.2.21"]),
        ({"ip": ["192.0.2.21"]}, {"ip"}, ["192.0.2.21"]),
    ],
)
def test_the_host_address_follows_the_pki_rule(values, explicit, ips):
    model, errors = host_model("w1", ["kube_node", "k8s_cluster"], values, explicit)
    assert errors == []
    assert [str(a) for a in model["ips"]] == ips


@pytest.mark.parametrize(
    "values, expected",
    [
        ({"ansible_host": "w1.example.com"}, "host 'w1' has no IP: set its 'ip' variable (ansible_host 'w1.example.com' is not an IP address)"),
        ({}, "host 'w1' has no IP: set its 'ip' variable"),
        ({"ip": "192.0.2.256"}, "host 'w1': ip '192.0.2.256' is not an IP address"),
        ({"ip": "192.0.2.21,2001:db8::21"}, "host 'w1': ip gives 2 addresses (192.0.2.21, 2001:db8::21); give the host's one cluster IP"),
        ({"ip": ["192.0.2.21", "192.0.2.22"]}, "host 'w1': ip gives 2 addresses"),
    ],
)
def test_a_bad_host_address_is_named(values, expected):
    errors = host_model("w1", ["kube_node"], values, set(values))[1]
    assert len(errors) == 1 and expected in errors[0], errors


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda h: h[1]["groups"].remove("etcd"), "odd member count"),
        (lambda h: h[3]["groups"].remove("kube_node"), "inventory group 'kube_node' is missing or empty"),
        (lambda h: h[3].update(ips=[ipaddress.ip_address("192.0.2.11")]), "hosts 'cp1' and 'w1' have the same ip 192.0.2.11"),
        (lambda h: h[3].update(ips=[ipaddress.ip_address("127.0.0.1")]), "host 'w1': 127.0.0.1 is a loopback address"),
        (lambda h: h[3].update(ips=[ipaddress.ip_address("169.254.0.5")]), "host 'w1': 169.254.0.5 is a link-local address"),
        (lambda h: h[3].update(ips=[ipaddress.ip_address("224.0.0.5")]), "host 'w1': 224.0.0.5 is a multicast address"),
        (lambda h: h[3].update(ips=[ipaddress.ip_address("0.0.0.0")]), "host 'w1': 0.0.0.0 is the unspecified address"),
        (lambda h: h[3].update(node_name="W1"), "node name 'W1' is not a valid DNS label"),
        (lambda h: h[3].update(node_name="cp1"), "hosts 'cp1' and 'w1' have the same node name 'cp1'"),
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
        ({"pod_cidr": "10.244.0.0/16,"}, "kubebin_pod_cidr '10.244.0.0/16,' has an empty part (a trailing or doubled comma)"),
        ({"service_cidr": "10.96.0.0/12,,fd00:10:96::/112", "pod_cidr": "10.244.0.0/16,fd00:10:244::/56"},
         "kubebin_service_cidr '10.96.0.0/12,,fd00:10:96::/112' has an empty part"),
        ({"service_cidr": "10.0.0.0/8", "pod_cidr": "172.16.0.0/16"}, "kubebin_service_cidr 10.0.0.0/8 is too large"),
        ({"pod_cidr": "10.100.0.0/16"}, "kubebin_service_cidr 10.96.0.0/12 overlaps kubebin_pod_cidr 10.100.0.0/16"),
        ({"pod_cidr": "192.0.2.0/24", "node_cidr_mask_size": "26"}, "kubebin_pod_cidr 192.0.2.0/24 overlaps the hosts' network: it contains cp1 (192.0.2.11)"),
        ({"pod_cidr": "10.244.0.0/30", "node_cidr_mask_size": "30"}, "must be longer than the prefix"),
        ({"node_cidr_mask_size": "x"}, "kubebin_node_cidr_mask_size 'x' is not a number"),
        ({"service_cidr": "10.96.0.0/16,10.97.0.0/16"}, "at most one IPv4 and one IPv6 CIDR"),
        ({"cluster_domain": "Cluster_Local"}, "kubebin_cluster_domain 'Cluster_Local' is not a valid DNS name"),
        ({"kube_version": "1.20.0"}, "kubebin_kube_version '1.20.0' is not supported"),
        ({"kube_version": "v1.36.4"}, "without a leading 'v'"),
        ({"etcd_version": "3.4.23"}, "kubebin_etcd_version '3.4.23' is not supported"),
        ({"containerd_version": "1.5.0"}, "kubebin_containerd_version '1.5.0' is not supported"),
        ({"etcd_data_dir": "/tmp/etcd"}, "etcd_data_dir '/tmp/etcd' is inside a temporary directory"),
        ({"etcd_data_dir": "/var/tmp/etcd"}, "etcd_data_dir '/var/tmp/etcd' is inside a temporary directory"),
        ({"etcd_backup_schedule": "every night"}, "etcd_backup_schedule 'every night' is not a systemd calendar event"),
        ({"etcd_backup_schedule": "*-*-* 24:00"}, "hour '24' is outside 0..23"),
    ],
)
def test_setting_problems_are_named(settings, expected):
    errors = errors_with(**settings)
    assert len(errors) == 1, errors
    assert expected in errors[0]


def test_every_problem_is_reported_at_once():
    hosts = copy.deepcopy(HOSTS)
    hosts[3].update(node_name="W1")
    errors = errors_with(hosts, kube_version="2.0.0", service_cidr="bad")
    assert len(errors) == 3


WORKERS = [host("n%d" % i, "192.0.2.%d" % (100 + i), *NODE) for i in range(1, 4)]


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({"pod_cidr": "10.244.0.0/24", "node_cidr_mask_size": "25"},
         "kubebin_pod_cidr 10.244.0.0/24 holds only 2 node ranges of /25, fewer than the 4 hosts that run a kubelet (group kube_node)"),
        ({"node_cidr_mask_size": "25", "max_pods": 126}, "kubebin_node_cidr_mask_size 25 leaves 125 pod addresses per node, fewer than kubelet_max_pods 126"),
        ({"pod_cidr": "10.244.0.0/16,fd00:10:244::/56", "service_cidr": "10.96.0.0/12,fd00:10:96::/112", "pod_network_plugin": "calico",
          "node_cidr_mask_size_ipv6": 80},
         "kube_controller_manager_node_cidr_mask_size_ipv6 80 is more than 16 bits longer than kubebin_pod_cidr fd00:10:244::/56"),
        ({"service_cidr": "10.96.0.0/12,fd00:10:96::/112"},
         "kubebin_service_cidr (IPv4/IPv6) and kubebin_pod_cidr (IPv4) must have the same address families"),
        ({"service_cidr": "10.96.0.0/12,fd00:10:96::/112", "pod_cidr": "fd00:10:244::/56,10.244.0.0/16", "pod_network_plugin": "calico"},
         "list their families in a different order"),
        ({"pod_cidr": "fd00:10:244::/56", "service_cidr": "fd00:10:96::/112", "pod_network_plugin": "calico"},
         "host 'cp1' has no IPv6 address (it has 192.0.2.11) but the cluster's primary family is IPv6"),
        ({"pod_cidr": "10.244.0.0/16,fd00:10:244::/56", "service_cidr": "10.96.0.0/12,fd00:10:96::/112", "pod_network_plugin": "bridge"},
         "pod_network_plugin bridge routes IPv4 pod networks only"),
    ],
)
def test_families_and_capacity(settings, expected):
    hosts = HOSTS + WORKERS
    errors = errors_with(hosts, **settings)
    if "primary family is IPv6" in expected:
        assert len(errors) == 7 and all("no IPv6 address" in e for e in errors), errors
    else:
        assert len(errors) == 1, errors
    assert expected in errors[0]


VALID_INVENTORIES = {
    "dual stack": (
        [host("cp1", "192.0.2.11", *CP), host("w1", "192.0.2.21", *NODE)],
        {"service_cidr": "10.96.0.0/12,fd00:10:96::/112", "pod_cidr": "10.244.0.0/16,fd00:10:244::/56",
         "pod_network_plugin": "calico", "node_cidr_mask_size_ipv6": 64},
    ),
    "IPv6 only": (
        [dict(host("cp1", "2001:db8::11", *CP)), dict(host("w1", "2001:db8::21", *NODE))],
        {"service_cidr": "fd00:10:96::/112", "pod_cidr": "fd00:10:244::/56", "pod_network_plugin": "flannel", "node_cidr_mask_size_ipv6": 64},
    ),
    "dedicated etcd hosts": (
        [host("e%d" % i, "192.0.2.%d" % i, "etcd") for i in (1, 2, 3)] + [host("cp1", "192.0.2.11", "kube_control_plane", "k8s_cluster"),
                                                                          host("w1", "192.0.2.21", *NODE)],
        {},
    ),
    "a control plane without kubelets fills a pod CIDR made for the workers": (
        [host("cp%d" % i, "192.0.2.1%d" % i, *CP) for i in (1, 2, 3)] + [host("w%d" % i, "192.0.2.%d" % (20 + i), *NODE) for i in (1, 2)],
        {"pod_cidr": "10.244.0.0/23", "node_cidr_mask_size": "24"},
    ),
    "a /16 pod CIDR with 250 nodes": (
        [host("cp1", "192.0.2.11", *CP)] + [host("w%d" % i, str(ipaddress.ip_address("198.18.0.0") + i), *NODE) for i in range(1, 251)],
        {"pod_cidr": "10.244.0.0/16", "node_cidr_mask_size": "24"},
    ),
}


@pytest.mark.parametrize("name", sorted(VALID_INVENTORIES))
def test_valid_inventories_pass(name):
    hosts, settings = VALID_INVENTORIES[name]
    assert errors_with(hosts, **settings) == []


def test_all_errors_checks_each_option_once_per_host_and_leaves_a_mistyped_value_out(monkeypatch):
    calls = []
    real = spec_checks.option_problems

    def counted(name, spec, value):
        calls.append(name)
        return real(name, spec, value)

    monkeypatch.setattr(spec_checks, "option_problems", counted)
    specs = {"kubebin_service_cidr": {"type": "str"}, "kubelet_max_pods": {"type": "int"}, "ip": {"type": "str"}}
    groups = {"etcd": ["a"], "kube_control_plane": ["a"], "kube_node": ["a"], "k8s_cluster": ["a"]}
    values = {"a": {"ip": "192.0.2.11", "kubebin_service_cidr": ["10.96.0.0/12"], "kubelet_max_pods": 110}}
    errors = all_errors(groups, values, {"a": ["ip"]}, specs, ["kubebin_"])
    assert sorted(calls) == sorted(specs)
    # The list is reported by its type check only, not again by the network checks.
    assert [e for e in errors if "kubebin_service_cidr" in e] == [
        "kubebin_service_cidr must be a string, got a list [\"10.96.0.0/12\"]; give a single value"
    ]


SCALE_HOSTS = [
    {"name": "cp1", "groups": ["etcd", "kube_control_plane", "kube_node", "k8s_cluster"]},
    {"name": "e1", "groups": ["etcd"]},
    {"name": "w1", "groups": ["kube_node", "k8s_cluster"]},
    {"name": "w2", "groups": ["kube_node", "k8s_cluster"]},
]


@pytest.mark.parametrize("value", [None, "", [], "w1", "w1,w2", " w2 , w1", ["w2"]])
def test_scale_nodes_naming_inventory_workers_pass(value):
    assert scale_node_errors(value, SCALE_HOSTS) == []


@pytest.mark.parametrize("value, expected", [
    ("w3", ["kubebin_scale_nodes names 'w3', which is not a host of group kube_node: add the new node to kube_node in the "
            "inventory first, then run scale.yml"]),
    (["w1", "e1"], ["kubebin_scale_nodes names 'e1', which is not a host of group kube_node: add the new node to kube_node in "
                    "the inventory first, then run scale.yml"]),
    ("cp1,w2", ["kubebin_scale_nodes names 'cp1', which is in kube_control_plane and etcd: scale.yml adds workers only; a "
                "control-plane host or an etcd member takes site.yml"]),
    ({"w1": None}, ["kubebin_scale_nodes must name hosts, as a list or a comma-separated string (w3,w4), not dict"]),
])
def test_scale_nodes_outside_the_workers_are_refused(value, expected):
    assert scale_node_errors(value, SCALE_HOSTS) == expected
