"""The real cluster works: the bundle's binaries run, nodes are Ready, leaders hold their leases,
the scheduler places pods on every node, they run, and kube-proxy programs a Service.

Everything here talks to the real upstream programs of the test bundle (tests/bundle) through real
kubectl with the admin kubeconfig on the first control-plane host.
"""

from __future__ import annotations

import json
import os
import time

import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

testinfra_hosts = ["ansible://k8s_cluster"]

INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
RUNNER = AnsibleRunner(INVENTORY)
CONTROL_PLANE = sorted(RUNNER.get_hosts("kube_control_plane"))
NODES = sorted(RUNNER.get_hosts("kube_node"))
ETCD = sorted(RUNNER.get_hosts("etcd"))
BUNDLE = os.environ.get("KUBEBIN_TEST_BUNDLE") or os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".cache", "test-bundle")
NAMESPACE = "kubebin-verify"
KUBECTL = "/usr/local/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=20s"
# One web pod per node; each serves its own name (its hostname).
PODS = {"web-%s" % node for node in NODES}


def _manifest() -> dict:
    with open(os.path.join(BUNDLE, "manifest.json"), encoding="utf-8") as handle:
        return json.load(handle)


MANIFEST = _manifest()
VERSIONS = {entry["name"]: entry["version"] for entry in MANIFEST["artifacts"]}
TEST_IMAGE = next(image["name"] for image in MANIFEST["images"] if image["purpose"] == "extra" and "/busybox:" in image["name"])


def _host(name):
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY)


def _ip(name):
    variables = RUNNER.get_variables(name)
    return variables.get("ip") or variables["ansible_host"]


def _kubectl(*args, check=True):
    result = _host(CONTROL_PLANE[0]).run("%s %s" % (KUBECTL, " ".join(args)))
    if check:
        assert result.rc == 0, "kubectl %s: %s" % (" ".join(args), result.stderr)
    return result


def _kubectl_json(*args):
    return json.loads(_kubectl(*args, "-o", "json").stdout)


def _wait(what, probe, timeout=180, every=3):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        ok, last = probe()
        if ok:
            return last
        time.sleep(every)
    pytest.fail("%s within %d s; last: %s" % (what, timeout, last))


# --- the bundle's binaries are what runs ------------------------------------------------------

# (binary, groups that run it, how its --version names the version)
_PROGRAMS = [
    ("kube-apiserver", "kube_control_plane", "Kubernetes v{kube-apiserver}"),
    ("kube-controller-manager", "kube_control_plane", "Kubernetes v{kube-controller-manager}"),
    ("kube-scheduler", "kube_control_plane", "Kubernetes v{kube-scheduler}"),
    ("kubelet", "kube_node", "Kubernetes v{kubelet}"),
    ("kube-proxy", "kube_node", "Kubernetes v{kube-proxy}"),
    ("etcd", "etcd", "etcd Version: {etcd}"),
    ("containerd", "kube_node", " v{containerd} "),
    ("runc", "kube_node", "runc version {runc}"),
    ("crictl", "kube_node", "crictl version v{crictl}"),
]


@pytest.mark.parametrize("binary,group,expected", _PROGRAMS, ids=[p[0] for p in _PROGRAMS])
def test_each_component_runs_the_bundle_binary(host, binary, group, expected):
    if host.backend.host not in RUNNER.get_hosts(group):
        pytest.skip("%s does not run on %s" % (binary, host.backend.host))
    path = "/usr/local/bin/%s" % binary
    output = host.run_test("%s --version" % path).stdout
    assert expected.format(**VERSIONS) in output, output
    if binary not in ("runc", "crictl"):
        # the running process is that file, not another copy
        pid = host.check_output("systemctl show -p MainPID --value %s" % binary)
        assert pid != "0", "%s is not running" % binary
        assert host.check_output("readlink /proc/%s/exe" % pid) == path


@pytest.mark.parametrize("unit,group", [("kubelet", "kube_node"), ("kube-proxy", "kube_node")])
def test_component_configs_decode_strictly(host, unit, group):
    """Upstream falls back to lenient decoding, with this message, when a field is unknown."""
    if host.backend.host not in RUNNER.get_hosts(group):
        pytest.skip("%s does not run on %s" % (unit, host.backend.host))
    journal = host.check_output("journalctl -u %s --no-pager -o cat" % unit)
    assert "strict decoding error" not in journal and "unknown field" not in journal


# --- control plane ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", CONTROL_PLANE)
def test_readyz_verbose_passes_every_check(name):
    output = _kubectl("--server=https://%s:6443" % _ip(name), "get", "--raw='/readyz?verbose'").stdout
    checks = [line for line in output.splitlines() if line.startswith("[")]
    assert len(checks) > 10, output
    assert all(line.startswith("[+]") for line in checks), output
    assert output.strip().endswith("readyz check passed"), output


@pytest.mark.parametrize("lease", ["kube-controller-manager", "kube-scheduler"])
def test_leader_lease_has_a_control_plane_holder(lease):
    spec = _kubectl_json("-n", "kube-system", "get", "lease", lease)["spec"]
    holder = spec.get("holderIdentity", "")
    assert holder.split("_", 1)[0] in CONTROL_PLANE, spec


# --- nodes, scheduling, pods, services ----------------------------------------------------------

def test_every_node_is_ready():
    def probe():
        nodes = _kubectl_json("get", "nodes")["items"]
        ready = {n["metadata"]["name"] for n in nodes
                 if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])}
        return ready == set(NODES), sorted(ready)
    _wait("every kube_node host a Ready Node", probe)


_PODS = """
apiVersion: v1
kind: Namespace
metadata: {name: %(ns)s}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: %(ns)s}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""

_POD = """
---
apiVersion: v1
kind: Pod
metadata: {name: web-%(node)s, namespace: %(ns)s, labels: {app: web}}
spec:
  nodeSelector: {kubernetes.io/hostname: %(node)s}
  tolerations: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]
  containers:
    - name: web
      image: %(image)s
      imagePullPolicy: Never
      command: [/bin/busybox, sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www']
      ports: [{containerPort: 8080}]
      readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 2}
"""


@pytest.fixture(scope="module")
def web_pods():
    text = _PODS % {"ns": NAMESPACE} + "".join(_POD % {"ns": NAMESPACE, "node": node, "image": TEST_IMAGE} for node in NODES)
    first = _host(CONTROL_PLANE[0])
    first.run_test("cat > /tmp/kubebin-verify.yaml <<'EOF'\n%s\nEOF" % text)
    _kubectl("apply", "-f", "/tmp/kubebin-verify.yaml")

    def probe():
        pods = _kubectl_json("-n", NAMESPACE, "get", "pods")["items"]
        ready = {p["spec"].get("nodeName"): p["status"].get("podIP") for p in pods
                 if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))}
        return set(ready) == set(NODES), ready
    yield _wait("a ready web pod on every node", probe, timeout=240)


def test_scheduler_placed_a_running_pod_on_every_node(web_pods):
    pods = _kubectl_json("-n", NAMESPACE, "get", "pods")["items"]
    assert {p["spec"]["nodeName"] for p in pods if p["status"]["phase"] == "Running"} == set(NODES)
    # placed by the scheduler (nodeSelector), not by nodeName in the manifest
    for pod in pods:
        assert any(c["type"] == "PodScheduled" and c["status"] == "True" for c in pod["status"]["conditions"])


def test_kube_proxy_programs_the_service_on_every_node(host, web_pods):
    if host.backend.host not in NODES:
        pytest.skip("kube-proxy runs on kube_node hosts")
    cluster_ip = _kubectl_json("-n", NAMESPACE, "get", "service", "web")["spec"]["clusterIP"]
    answers = set()
    for _attempt in range(12):
        result = host.run("python3 -c \"import urllib.request; print(urllib.request.urlopen('http://%s/index.html', timeout=5)"
                          ".read().decode().strip())\"" % cluster_ip)
        if result.rc == 0:
            answers.add(result.stdout.strip())
        if answers == PODS:
            break
    # the Service IP answers with its endpoints, which are spread over the nodes
    assert answers and answers <= PODS, answers


def test_coredns_is_ready_and_answers_for_the_cluster(web_pods):
    """CoreDNS from the bundle's image: every replica ready, and a pod resolves a Service name
    through the kube-dns Service IP (kube-proxy) to CoreDNS (the kubernetes plugin)."""
    def probe():
        status = _kubectl_json("-n", "kube-system", "get", "deployment", "coredns")["status"]
        return status.get("readyReplicas", 0) == status.get("replicas", -1) > 0, status
    _wait("CoreDNS ready", probe)
    web_ip = _kubectl_json("-n", NAMESPACE, "get", "service", "web")["spec"]["clusterIP"]
    out = _kubectl("-n", NAMESPACE, "exec", "web-%s" % NODES[0], "--", "/bin/busybox", "nslookup",
                   "web.%s.svc.cluster.local" % NAMESPACE).stdout
    assert web_ip in out, out


def test_pods_reach_each_other_across_nodes(web_pods):
    source = _kubectl_json("-n", NAMESPACE, "get", "pod", "web-%s" % NODES[0])
    assert source["status"]["phase"] == "Running"
    for node, pod_ip in web_pods.items():
        out = _kubectl("-n", NAMESPACE, "exec", "web-%s" % NODES[0], "--", "/bin/busybox", "wget", "-q", "-O", "-",
                       "http://%s:8080/index.html" % pod_ip).stdout.strip()
        assert out == "web-%s" % node
