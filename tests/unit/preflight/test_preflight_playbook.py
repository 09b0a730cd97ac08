"""playbooks/preflight.yml run by real ansible-playbook: the action reads every role's defaults and
specs, templates them per host and reports in its own words. The inventories point at hosts that
do not exist, so a run that contacted one would fail as unreachable."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
PREFLIGHT = os.path.join(HERE, "..", "..", "..", "playbooks", "preflight.yml")


def inventory(etcd, control_plane, nodes, **cluster_vars):
    """An inventory in kubespray's layout; each host is (name, ip) and unreachable by design."""

    def hosts(members):
        return {name: {"ip": ip, "ansible_host": "%s.invalid" % name} for name, ip in members}

    return {"all": {
        "vars": dict({"ansible_connection": "ssh", "ansible_python_interpreter": sys.executable}, **cluster_vars),
        "children": {
            "etcd": {"hosts": hosts(etcd)},
            "k8s_cluster": {"children": {"kube_control_plane": {"hosts": hosts(control_plane)}, "kube_node": {"hosts": hosts(nodes)}}},
        },
    }}


def run(tmp_path, inv, *args):
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = subprocess.run([playbook, "-i", str(path), PREFLIGHT] + list(args), capture_output=True, text=True, timeout=600, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_STDOUT_CALLBACK="json"))
    report = json.loads(proc.stdout[proc.stdout.index("{"):])
    results = [r for play in report["plays"] for task in play["tasks"] for r in task["hosts"].values()
               if task["task"]["name"].endswith("Check the inventory and the settings of every role")]
    assert len(results) == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert report["stats"], proc.stdout[-2000:]
    assert not any(s.get("unreachable") for s in report["stats"].values()), "preflight contacted a host"
    return proc.returncode, results[0]


def _names(inv):
    kids = inv["all"]["children"]
    groups = [kids["etcd"]] + list(kids["k8s_cluster"]["children"].values())
    return [h for g in groups for h in g["hosts"]]


CP3 = [("cp1", "192.0.2.11"), ("cp2", "192.0.2.12"), ("cp3", "192.0.2.13")]
W2 = [("w1", "192.0.2.21"), ("w2", "192.0.2.22")]

VALID = {
    "three control-plane hosts with etcd, two workers": inventory(CP3, CP3, W2),
    "dual stack with calico": inventory(CP3, CP3, W2, kubebin_service_cidr="10.96.0.0/12,fd00:10:96::/112",
                                        kubebin_pod_cidr="10.244.0.0/16,fd00:10:244::/56", pod_network_plugin="calico"),
    "IPv6 only with flannel": inventory([("cp1", "2001:db8::11")], [("cp1", "2001:db8::11")], [("w1", "2001:db8::21")],
                                        kubebin_service_cidr="fd00:10:96::/112", kubebin_pod_cidr="fd00:10:244::/56",
                                        pod_network_plugin="flannel"),
    "dedicated etcd hosts": inventory([("e1", "192.0.2.1"), ("e2", "192.0.2.2"), ("e3", "192.0.2.3")], CP3[:1], W2),
    "a control plane without kubelets and a pod CIDR for the workers only": inventory(CP3, CP3, W2, kubebin_pod_cidr="10.244.0.0/23"),
    # 250 nodes run in the pure table (test_preflight_errors.py); here the whole action on 60.
    "a /16 pod CIDR with 60 nodes": inventory(CP3, CP3, [("n%d" % i, str(ipaddress.ip_address("198.18.0.0") + i)) for i in range(1, 61)]),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_inventories_pass(tmp_path, name):
    code, result = run(tmp_path, VALID[name])
    assert code == 0 and result["problems"] == [], result.get("msg")
    # Every option of every role's argument spec, on every host.
    assert result["checked_settings"] > 150 and result["checked_hosts"] == len(set(_names(VALID[name])))


BAD = [
    ({"kubebin_cluster_name": ["a", "b"]}, 'kubebin_cluster_name must be a string, got a list ["a", "b"]; give a single value'),
    ({"containerd_snapshotter": "zfs"}, "containerd_snapshotter 'zfs' is not one of overlayfs, native"),
    ({"kubelet_max_pod": 200}, "did you mean kubelet_max_pods?"),
    ({"kube_proxy_mode": ["ipvs"]}, "kube_proxy_mode must be a string, got a list"),
    ({"kubebin_etcd_client_port": 2380}, "host 'cp1': etcd client (kubebin_etcd_client_port) and etcd peer (kubebin_etcd_peer_port) both listen on port 2380"),
    ({"kubebin_pki_leaf_validity_days": 4000}, "kubebin_pki_leaf_validity_days"),
    ({"kubebin_artifacts_source": "bundle", "kubebin_bundle_dir": "/nonexistent/bundle"}, "/nonexistent/bundle"),
    # scale.yml's parameter: workers of the inventory only.
    ({"kubebin_scale_nodes": "w2,w3"}, "kubebin_scale_nodes names 'w3', which is not a host of group kube_node"),
]


@pytest.mark.parametrize("extra, expected", BAD)
def test_a_bad_value_fails_naming_it(tmp_path, extra, expected):
    code, result = run(tmp_path, inventory(CP3, CP3, W2), "-e", json.dumps(extra))
    assert code != 0 and result["failed"]
    assert any(expected in p for p in result["problems"]), result["problems"]
    assert "nothing was changed on any host" in result["msg"]


@pytest.mark.parametrize("given", ["w2", "w1, w2", '["w2"]'])
def test_the_nodes_scale_yml_adds_are_a_known_parameter(tmp_path, given):
    extra = given if given.startswith("[") else json.dumps(given)
    code, result = run(tmp_path, inventory(CP3, CP3, W2), "-e", '{"kubebin_scale_nodes": %s}' % extra)
    assert code == 0 and result["problems"] == [], result.get("msg")


def test_a_host_var_is_checked_for_its_host_only(tmp_path):
    inv = inventory(CP3, CP3, W2)
    inv["all"]["children"]["k8s_cluster"]["children"]["kube_node"]["hosts"]["w2"]["kubelet_max_pods"] = "lots"
    code, result = run(tmp_path, inv)
    assert code != 0
    assert result["problems"] == ["kubelet_max_pods must be an integer, got a string 'lots' (host w2)"]


def test_every_problem_is_reported_at_once_and_check_mode_runs_the_same(tmp_path):
    extra = {"kubebin_etcd_peer_port": 0, "kubebin_mirror_github": "github.com", "kubelet_node_labels": ["a=b"]}
    # One message per mistake: the mirror is checked once (with the artifact sources), not by two checks.
    code, result = run(tmp_path, inventory(CP3, CP3, W2), "--check", "-e", json.dumps(extra))
    assert code != 0
    assert len(result["problems"]) == 3, result["problems"]
