"""playbooks/scale.yml adds a worker to the running cluster (after the other tests: it grows it).

A new systemd host w2 joins the scenario's network; the inventory gains it under kube_node and
scale.yml runs with -e kubebin_scale_nodes=w2, as docs/operations.md tells an operator. The new
kubelet joins by TLS bootstrapping (the token the run applied), gets its serving certificate
approved, and the nodes already there learn only the route to its pods: their services keep
running and they run the route tasks alone. A second run changes nothing. The host is removed at
the end, so the scenario's destroy finds what it created.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
import testinfra
import verify_playbook
import yaml
from play_recap import play_recap
from testinfra.utils.ansible_runner import AnsibleRunner

PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
SCENARIO = os.path.join(PROJECT, "molecule", "tls_bootstrap")
SHARED = os.path.join(PROJECT, "molecule", "shared")
RUNNER = AnsibleRunner(os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]))
EXISTING = sorted(RUNNER.get_hosts("k8s_cluster"))
CONTROL_PLANE = sorted(RUNNER.get_hosts("kube_control_plane"))
NEW = "w2"
NEW_VARS = {"ansible_host": "kubebin-tlsboot-w2", "ip": "172.31.253.22"}
SERVICES = ["containerd", "kubelet", "kube-proxy"]
KUBECTL = "/usr/local/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf"


def _host(name, inventory):
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=inventory)


def _playbook(inventory, path, *extra):
    run = subprocess.run([shutil.which("ansible-playbook"), "-i", inventory, path] + list(extra), capture_output=True, text=True,
                         timeout=1200, check=False)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    return play_recap(run.stdout)


def _invocations(inventory):
    return {name: _host(name, inventory).check_output("systemctl show --property=InvocationID --value %s" % " ".join(SERVICES)).split()
            for name in RUNNER.get_hosts("kube_node")}


def _ready(inventory, name):
    out = _host(CONTROL_PLANE[0], inventory).run(
        "%s get node %s -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}'" % (KUBECTL, name))
    return out.rc == 0 and out.stdout.strip() == "True"


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """(inventory, recap of the scale run, recap of its rerun, service invocations before)."""
    directory = tmp_path_factory.mktemp("grown")
    with open(os.path.join(SCENARIO, "inventory", "hosts.yml"), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    data["all"]["children"]["k8s_cluster"]["children"]["kube_node"]["hosts"][NEW] = NEW_VARS
    (directory / "hosts.yml").write_text(yaml.safe_dump(data))
    os.symlink(os.path.join(SCENARIO, "inventory", "group_vars"), directory / "group_vars")
    inventory = str(directory)
    before = _invocations(inventory)
    try:
        # The scenario's own host definition: starts w2 only, the other hosts are running.
        _playbook(inventory, os.path.join(SHARED, "create.yml"))
        scale = os.path.join(PROJECT, "playbooks", "scale.yml")
        first = _playbook(inventory, scale, "-e", "kubebin_scale_nodes=" + NEW)
        rerun = _playbook(inventory, scale, "-e", "kubebin_scale_nodes=" + NEW)
        yield inventory, first, rerun, before
    finally:
        _host(CONTROL_PLANE[0], inventory).run("%s delete node %s --ignore-not-found --wait=false" % (KUBECTL, NEW))
        subprocess.run(["docker", "rm", "-f", NEW_VARS["ansible_host"]], capture_output=True, check=False, timeout=120)
        subprocess.run([os.path.join(SHARED, "kubelet-cgroups.sh"), "remove", NEW], capture_output=True, check=False, timeout=120)


def test_the_new_node_joins_by_tls_bootstrap_and_gets_ready(grown):
    inventory = grown[0]
    deadline = time.monotonic() + 120
    while not _ready(inventory, NEW) and time.monotonic() < deadline:
        time.sleep(3)
    assert _ready(inventory, NEW)
    new = _host(NEW, inventory)
    # Its client certificate came from the cluster's CSR flow, not from the PKI on the controller.
    assert new.file("/var/lib/kubelet/pki/kubelet-client-current.pem").exists
    assert not new.file("/etc/kubernetes/pki/kubelet.crt").exists
    ip = NEW_VARS["ip"]
    served = new.run("openssl s_client -connect %s:10250 -CAfile /etc/kubernetes/pki/ca.crt -verify_ip %s -verify_return_error "
                     "</dev/null 2>&1" % (ip, ip))
    assert served.rc == 0 and "Verify return code: 0 (ok)" in served.stdout


def test_the_other_hosts_only_learn_the_route_to_the_new_pods(grown):
    inventory, first, _rerun, before = grown
    cidrs = yaml.safe_load(open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "pod-cidrs.yml"), encoding="utf-8"))
    for name in EXISTING:
        route = _host(name, inventory).check_output("ip -4 route show exact %s" % cidrs[NEW])
        assert "via %s" % NEW_VARS["ip"] in route, (name, route)
    # pod_network's routes entry point alone: its argument check, the run-once allocation (counted
    # on every host), the routes script and its run (5 measured). The node stack is over 60 tasks.
    # The first control-plane host also ran the cluster objects (the bootstrap token) and,
    # delegated, the serving-request approval.
    workers = [name for name in EXISTING if name not in CONTROL_PLANE]
    assert workers, "the scenario needs a worker besides the new one"
    for name in workers:
        assert first[name].tasks <= 5, (name, first[name])
    assert first[NEW].tasks > 60, first[NEW]
    assert _invocations(inventory) == before


def test_a_second_scale_run_changes_nothing(grown):
    rerun = grown[2]
    assert {name: counts.changed for name, counts in rerun.items()} == {name: 0 for name in rerun}
    assert NEW in rerun


def test_verify_passes_on_the_cluster_scale_grew(grown):
    """playbooks/verify.yml on the grown inventory: TLS-bootstrapped kubelets (their kubeconfig
    names certificate files), one apiserver and one etcd member, a node added by scale.yml."""
    inventory = grown[0]
    result = verify_playbook.run(inventory, os.path.join(inventory, "verify-report.json"))
    print("verify.yml on the grown cluster: %.1f s" % result.seconds)
    assert result.returncode == 0, result.output[-3000:]
    # everything passes; the failover is not asked for, and one apiserver could not show it anyway
    assert {name: check["ok"] for name, check in result.checks.items() if check["ok"] is not True} == {"failover": None}
    nodes = sorted(RUNNER.get_hosts("kube_node") + [NEW])
    assert result.checks["pods"]["reason"] == "Running and Ready on %s" % ", ".join(nodes)
    assert result.checks["etcd"]["reason"] == "1 healthy members"
