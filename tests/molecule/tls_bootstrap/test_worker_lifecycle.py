"""A worker's whole life on the running cluster, after the scenario's other tests (it grows the
cluster, then takes the worker out and back twice), as docs/operations.md tells an operator:

1. scale.yml adds w2: a new systemd host joins the scenario's network, the inventory gains it under
   kube_node and scale.yml runs with -e kubebin_scale_nodes=w2. The new kubelet joins by TLS
   bootstrapping, the nodes already there learn only the route to its pods, a second run changes
   nothing, and verify.yml passes on the grown cluster.
2. remove_node.yml -e node=w2: first against a PodDisruptionBudget that allows no eviction (the
   drain fails within its timeout and leaves w2 cordoned, its services running), then without it:
   w2 is drained, reset and deleted, the other hosts keep running and lose the route to its pods,
   its pod CIDR block is released, and w2 holds nothing the collection put there (compared file by
   file with the fresh host). A rerun changes nothing.
3. scale.yml adds w2 back; the pinned pod runs on it again.
4. reset.yml --limit w2 leaves w2 as clean as the removal did; a second reset changes nothing;
   site.yml converges it again.

The host is removed at the end, so the scenario's destroy finds what it created.
"""

from __future__ import annotations

import json
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
PLAYBOOKS = os.path.join(PROJECT, "playbooks")
RUNNER = AnsibleRunner(os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]))
EXISTING = sorted(RUNNER.get_hosts("k8s_cluster"))
CONTROL_PLANE = sorted(RUNNER.get_hosts("kube_control_plane"))
NEW = "w2"
NEW_VARS = {"ansible_host": "kubebin-tlsboot-w2", "ip": "172.31.253.22"}
SERVICES = ["containerd", "kubelet", "kube-proxy"]
KUBECTL = "/usr/local/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=20s"
BUNDLE = os.environ.get("KUBEBIN_TEST_BUNDLE") or os.path.join(PROJECT, ".cache", "test-bundle")
NAMESPACE = "kubebin-lifecycle"
CIDR_STATE = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "pod-cidrs.yml")

# Where the collection writes on a worker, compared before it came and after it left. OS packages
# stay installed (docs/operations.md): the fresh host gets them before it is looked at, and the
# package manager's own state is left out.
TREE_ROOTS = ["/etc", "/opt", "/usr/local", "/var/lib", "/var/log/pods", "/var/log/containers", "/run/containerd"]
TREE_PRUNED = ["/var/lib/dpkg", "/var/lib/apt", "/var/lib/systemd", "/var/lib/ucf"]


def _host(name, inventory):
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=inventory)


def _playbook(inventory, path, *extra, expect_success=True):
    """(recap per host, output, seconds) of one real ansible-playbook run."""
    start = time.monotonic()
    run = subprocess.run([shutil.which("ansible-playbook"), "-i", inventory, path] + list(extra), capture_output=True, text=True,
                         timeout=1200, check=False)
    seconds = time.monotonic() - start
    output = run.stdout + run.stderr
    print("%s %s: rc %d in %.1f s" % (os.path.basename(path), " ".join(extra), run.returncode, seconds))
    assert (run.returncode == 0) is expect_success, output[-6000:]
    return play_recap(run.stdout), output, seconds


def _invocations(inventory, names):
    return {name: _host(name, inventory).check_output("systemctl show --property=InvocationID --value %s" % " ".join(SERVICES)).split()
            for name in names}


def _kubectl(inventory, args):
    return _host(CONTROL_PLANE[0], inventory).run("%s %s" % (KUBECTL, args))


def _ready(inventory, name):
    out = _kubectl(inventory, "get node %s -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}'" % name)
    return out.rc == 0 and out.stdout.strip() == "True"


def _wait(predicate, seconds, step=3):
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(step)
    return predicate()


def _tree(host):
    """Every path under TREE_ROOTS (the pruned ones left out)."""
    prune = " -o ".join("-path %s" % path for path in TREE_PRUNED)
    listing = host.run("find %s \\( %s \\) -prune -o -print 2>/dev/null" % (" ".join(TREE_ROOTS), prune))
    return set(listing.stdout.splitlines())


def _os_packages():
    """The OS packages node_prepare and api_proxy install on a Debian worker (their roles' own lists)."""
    with open(os.path.join(PROJECT, "roles", "node_prepare", "vars", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["_node_prepare_packages"]["Debian"] + ["haproxy"]


# The one difference a reset leaves on purpose: the haproxy package stays, stopped and disabled
# (its SysV start links become stop links) and without the configuration the collection wrote over
# its own.
_SYSV = ["/etc/rc%d.d/%%s01haproxy" % level for level in (2, 3, 4, 5)]
CLEAN = "added: %s; gone: %s" % (sorted(path % "K" for path in _SYSV), sorted(
    [path % "S" for path in _SYSV] + ["/etc/systemd/system/multi-user.target.wants/haproxy.service", "/etc/haproxy/haproxy.cfg"]))


def _difference(host, fresh):
    """The paths there now and not on the fresh host, and those of the fresh host gone, as text."""
    now = _tree(host)
    return "added: %s; gone: %s" % (sorted(now - fresh), sorted(fresh - now))


def _pinned_manifest():
    with open(os.path.join(BUNDLE, "manifest.json"), encoding="utf-8") as handle:
        image = next(entry["name"] for entry in json.load(handle)["images"] if entry["purpose"] == "extra" and "/busybox:" in entry["name"])
    labels = {"app": "pinned"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "pinned", "namespace": NAMESPACE},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
             "nodeSelector": {"kubernetes.io/hostname": NEW}, "terminationGracePeriodSeconds": 1,
             "containers": [{"name": "sleep", "image": image, "imagePullPolicy": "IfNotPresent",
                             "command": ["/bin/busybox", "sleep", "3600"]}]}}}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "pinned", "namespace": NAMESPACE},
         "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}},
    ]


def _pinned_phase(inventory):
    out = _kubectl(inventory, "-n %s get pods -l app=pinned -o jsonpath='{.items[*].status.phase}/{.items[*].spec.nodeName}'" % NAMESPACE)
    return out.stdout.strip()


class Life:
    """What the fixture ran, for the tests to read."""

    def __init__(self, inventory, fresh):
        self.inventory = inventory
        self.fresh = fresh
        self.runs = {}

    def run(self, key, playbook, *extra, expect_success=True):
        self.runs[key] = _playbook(self.inventory, os.path.join(PLAYBOOKS, playbook), *extra, expect_success=expect_success)
        return self.runs[key]


@pytest.fixture(scope="module")
def life(tmp_path_factory):
    directory = tmp_path_factory.mktemp("grown")
    with open(os.path.join(SCENARIO, "inventory", "hosts.yml"), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    data["all"]["children"]["k8s_cluster"]["children"]["kube_node"]["hosts"][NEW] = NEW_VARS
    (directory / "hosts.yml").write_text(yaml.safe_dump(data))
    os.symlink(os.path.join(SCENARIO, "inventory", "group_vars"), directory / "group_vars")
    inventory = str(directory)
    try:
        # The scenario's own host definition: starts w2 only, the other hosts are running.
        _playbook(inventory, os.path.join(SHARED, "create.yml"))
        new = _host(NEW, inventory)
        assert _wait(lambda: new.run("systemctl is-system-running").stdout.strip() in ("running", "degraded"), 60)
        installed = new.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq %s" % " ".join(_os_packages()))
        assert installed.rc == 0, installed.stderr
        yield Life(inventory, _tree(new))
    finally:
        _host(CONTROL_PLANE[0], inventory).run("%s delete namespace %s --ignore-not-found --wait=false" % (KUBECTL, NAMESPACE))
        _host(CONTROL_PLANE[0], inventory).run("%s delete node %s --ignore-not-found --wait=false" % (KUBECTL, NEW))
        subprocess.run(["docker", "rm", "-f", NEW_VARS["ansible_host"]], capture_output=True, check=False, timeout=120)
        subprocess.run([os.path.join(SHARED, "kubelet-cgroups.sh"), "remove", NEW], capture_output=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def grown(life):
    """scale.yml adding w2, and its rerun, with the service invocations of the old nodes before."""
    before = _invocations(life.inventory, RUNNER.get_hosts("kube_node"))
    life.run("scale", "scale.yml", "-e", "kubebin_scale_nodes=" + NEW)
    life.run("scale again", "scale.yml", "-e", "kubebin_scale_nodes=" + NEW)
    return life, before


# --- 1. scale.yml adds the worker -------------------------------------------------------------

def test_the_new_node_joins_by_tls_bootstrap_and_gets_ready(grown):
    inventory = grown[0].inventory
    assert _wait(lambda: _ready(inventory, NEW), 120)
    new = _host(NEW, inventory)
    # Its client certificate came from the cluster's CSR flow, not from the PKI on the controller.
    assert new.file("/var/lib/kubelet/pki/kubelet-client-current.pem").exists
    assert not new.file("/etc/kubernetes/pki/kubelet.crt").exists
    ip = NEW_VARS["ip"]
    served = new.run("openssl s_client -connect %s:10250 -CAfile /etc/kubernetes/pki/ca.crt -verify_ip %s -verify_return_error "
                     "</dev/null 2>&1" % (ip, ip))
    assert served.rc == 0 and "Verify return code: 0 (ok)" in served.stdout


def test_the_other_hosts_only_learn_the_route_to_the_new_pods(grown):
    life, before = grown
    first = life.runs["scale"][0]
    with open(CIDR_STATE, encoding="utf-8") as handle:
        cidrs = yaml.safe_load(handle)
    for name in EXISTING:
        route = _host(name, life.inventory).check_output("ip -4 route show exact %s" % cidrs[NEW])
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
    assert _invocations(life.inventory, RUNNER.get_hosts("kube_node")) == before


def test_a_second_scale_run_changes_nothing(grown):
    rerun = grown[0].runs["scale again"][0]
    assert {name: counts.changed for name, counts in rerun.items()} == {name: 0 for name in rerun}
    assert NEW in rerun


def test_verify_passes_on_the_cluster_scale_grew(grown):
    """playbooks/verify.yml on the grown inventory: TLS-bootstrapped kubelets (their kubeconfig
    names certificate files), one apiserver and one etcd member, a node added by scale.yml."""
    inventory = grown[0].inventory
    result = verify_playbook.run(inventory, os.path.join(inventory, "verify-report.json"))
    print("verify.yml on the grown cluster: %.1f s" % result.seconds)
    assert result.returncode == 0, result.output[-3000:]
    # everything passes; the failover is not asked for, and one apiserver could not show it anyway
    assert {name: check["ok"] for name, check in result.checks.items() if check["ok"] is not True} == {"failover": None}
    nodes = sorted(RUNNER.get_hosts("kube_node") + [NEW])
    assert result.checks["pods"]["reason"] == "Running and Ready on %s" % ", ".join(nodes)
    assert result.checks["etcd"]["reason"] == "1 healthy members"


# --- 2. remove_node.yml takes it out -----------------------------------------------------------

@pytest.fixture(scope="module")
def pinned(grown):
    """A Deployment pinned to w2 with a PodDisruptionBudget that allows no eviction, Running."""
    life = grown[0]
    manifest = "\n---\n".join(json.dumps(item) for item in _pinned_manifest())
    applied = _host(CONTROL_PLANE[0], life.inventory).run("%s apply -f - <<'EOF'\n%s\nEOF" % (KUBECTL, manifest))
    assert applied.rc == 0, applied.stderr
    assert _wait(lambda: _pinned_phase(life.inventory) == "Running/" + NEW, 120), _pinned_phase(life.inventory)
    return life


def test_a_drain_blocked_by_a_disruption_budget_fails_and_leaves_the_node_cordoned(pinned):
    life = pinned
    _recap, output, seconds = life.run("blocked", "remove_node.yml", "-e", "node=" + NEW, "-e", "kubelet_drain_timeout=20",
                                       expect_success=False)
    assert "disruption budget" in output, output[-4000:]
    assert seconds < 240
    cordoned = _kubectl(life.inventory, "get node %s -o jsonpath='{.spec.unschedulable}'" % NEW)
    assert cordoned.stdout.strip() == "true"
    new = _host(NEW, life.inventory)
    assert all(new.service(name).is_running for name in SERVICES)
    assert _pinned_phase(life.inventory) == "Running/" + NEW


@pytest.fixture(scope="module")
def removed(pinned):
    """remove_node.yml once the budget is gone, and its rerun; the old hosts' services before."""
    life = pinned
    assert _kubectl(life.inventory, "-n %s delete pdb pinned" % NAMESPACE).rc == 0
    before = _invocations(life.inventory, RUNNER.get_hosts("kube_node"))
    with open(CIDR_STATE, encoding="utf-8") as handle:
        block = yaml.safe_load(handle)[NEW]
    life.run("remove", "remove_node.yml", "-e", "node=" + NEW)
    life.run("remove again", "remove_node.yml", "-e", "node=" + NEW)
    return life, before, block


def test_remove_node_deletes_the_node_and_the_others_keep_running(removed):
    life, before, _block = removed
    assert "NotFound" in _kubectl(life.inventory, "get node %s" % NEW).stderr
    for name in RUNNER.get_hosts("kube_node"):
        assert _ready(life.inventory, name), name
    assert _invocations(life.inventory, RUNNER.get_hosts("kube_node")) == before
    # the evicted pod waits for its node: nothing else may run it
    assert _pinned_phase(life.inventory) == "Pending/"


def test_the_removed_node_holds_nothing_the_collection_put_there(removed):
    life = removed[0]
    new = _host(NEW, life.inventory)
    for name in SERVICES + ["kubebin-pod-routes", "haproxy"]:
        assert not new.service(name).is_running and not new.service(name).is_enabled, name
    assert _difference(new, life.fresh) == CLEAN
    assert new.run("iptables-save | grep -E '^:(KUBE-|CNI-)|kubebin-pod-masquerade'").stdout == ""
    assert new.run("ip link show cni0").rc != 0
    assert new.check_output("ip -4 route show root 10.244.0.0/16") == ""
    mounts = new.check_output("awk '{print $5}' /proc/self/mountinfo")
    assert not [m for m in mounts.splitlines() if m.startswith(("/var/lib/kubelet", "/run/containerd/"))]
    # systemd forgot the removed units (the reset reloaded it)
    for name in SERVICES + ["kubebin-pod-routes"]:
        assert new.check_output("systemctl show --property=LoadState --value %s.service" % name) == "not-found", name


def test_the_other_hosts_forget_its_pods_and_its_block_is_released(removed):
    life, _before, block = removed
    for name in EXISTING:
        assert _host(name, life.inventory).check_output("ip -4 route show exact %s" % block) == "", name
    with open(CIDR_STATE, encoding="utf-8") as handle:
        assert NEW not in yaml.safe_load(handle)
    # TLS bootstrap: the node's certificates were on the node only
    assert "no PKI files of %s" % NEW in life.runs["remove"][1]


def test_a_second_removal_changes_nothing(removed):
    rerun = removed[0].runs["remove again"][0]
    assert {name: counts.changed for name, counts in rerun.items()} == {name: 0 for name in rerun}


# --- 3. scale.yml adds it back, 4. reset.yml and site.yml -------------------------------------

def test_scale_adds_the_removed_node_back(removed):
    """The operator's way to add a node, after the removal as before."""
    life = removed[0]
    life.run("add back", "scale.yml", "-e", "kubebin_scale_nodes=" + NEW)
    assert _wait(lambda: _ready(life.inventory, NEW), 120)
    assert _wait(lambda: _pinned_phase(life.inventory) == "Running/" + NEW, 120), _pinned_phase(life.inventory)


@pytest.fixture(scope="module")
def reset(removed):
    """reset.yml on w2 with the pinned pod running there, and its rerun."""
    life = removed[0]
    life.run("reset", "reset.yml", "--limit", NEW, "-e", "reset_confirm=true")
    life.run("reset again", "reset.yml", "--limit", NEW, "-e", "reset_confirm=true")
    return life


def test_reset_leaves_the_host_as_it_came(reset):
    new = _host(NEW, reset.inventory)
    assert _difference(new, reset.fresh) == CLEAN
    for name in SERVICES + ["kubebin-pod-routes", "haproxy"]:
        assert not new.service(name).is_running and not new.service(name).is_enabled, name
    assert reset.runs["reset"][0][NEW].changed > 0
    rerun = reset.runs["reset again"][0]
    assert {name: counts.changed for name, counts in rerun.items()} == {NEW: 0}


def test_site_converges_the_reset_host_again(reset):
    reset.run("site", os.path.join("..", "site.yml"))
    assert _wait(lambda: _ready(reset.inventory, NEW), 120)
    new = _host(NEW, reset.inventory)
    assert all(new.service(name).is_running for name in SERVICES)
    for name in ("add back", "reset", "site"):
        print("%s: %.1f s" % (name, reset.runs[name][2]))
