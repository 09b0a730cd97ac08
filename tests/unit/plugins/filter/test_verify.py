"""The judgement of playbooks/verify.yml: every check passes on a healthy cluster's observations,
and each one fails, with its reason, when the property it proves is broken."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.filter.verify import FilterModule, verify_checks
from ansible_collections.kubebin.cluster.plugins.plugin_utils import cluster_verify

CP = ["cp1", "cp2"]
HOSTS = [
    {"name": "cp1", "node_name": "cp1", "ip": "10.0.0.11", "url_host": "10.0.0.11", "groups": ["kube_control_plane", "kube_node", "etcd"]},
    {"name": "cp2", "node_name": "cp2", "ip": "10.0.0.12", "url_host": "10.0.0.12", "groups": ["kube_control_plane", "etcd"]},
    {"name": "w1", "node_name": "w1", "ip": "10.0.0.21", "url_host": "10.0.0.21", "groups": ["kube_node"]},
]
RUN = "abc123xyz0"
PLAINTEXT = "kubebin-verify-plaintext-" + RUN
PATHS = ["/healthz", "/livez", "/readyz", "/version", "/api"]


def _ok(value):
    return {"rc": 0, "stdout": json.dumps(value), "stderr": ""}


def _node(name, ip, control_plane=False):
    node = {"metadata": {"name": name, "labels": {}}, "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "addresses": [{"type": "InternalIP", "address": ip}]}}
    if control_plane:
        node["metadata"]["labels"][cluster_verify.CONTROL_PLANE_LABEL] = ""
        node["spec"]["taints"] = [{"key": cluster_verify.CONTROL_PLANE_TAINT, "effect": "NoSchedule"}]
    return node


def _pod(name, node, ip, web=True):
    labels = {cluster_verify.WEB_POD_LABEL[0]: cluster_verify.WEB_POD_LABEL[1]} if web else {"kubebin.io/verify-pod": name}
    return {"kind": "Pod", "metadata": {"name": name, "labels": labels}, "spec": {"nodeName": node},
            "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": "True"}]}}


def _service(name, ip, node_port=None):
    port = {"port": 80, "nodePort": node_port} if node_port else {"port": 80}
    return {"kind": "Service", "metadata": {"name": name}, "spec": {"clusterIP": ip, "ports": [port]}}


NODES = _ok({"items": [_node("cp1", "10.0.0.11", True), _node("w1", "10.0.0.21")]})
# The agnhost pod serves neither a page nor a shell: the pod checks and the reach plan leave it out.
WORKLOAD = _ok({"items": [_pod("web-0", "cp1", "10.244.0.5"), _pod("web-1", "w1", "10.244.1.5"), _pod("agnhost", "w1", "10.244.1.9", web=False),
                          _service("web-0", "10.96.0.50"), _service("web-1", "10.96.0.51"), _service("web-nodeport", "10.96.0.52", 30080)]})


def _reach(plan):
    results = []
    for entry in plan:
        lines = ["self " + entry["pod"]]
        for probe in entry["probes"]:
            kind, name = probe.split("=", 2)[:2]
            lines.append("%s %s %s" % (kind, name, name))
        results.append({"item": entry, "rc": 0, "stdout": "\n".join(lines)})
    return {"results": results}


def _leases(controller_manager, scheduler):
    return _ok({"items": [{"metadata": {"name": "kube-controller-manager"}, "spec": {"holderIdentity": controller_manager}},
                          {"metadata": {"name": "kube-scheduler"}, "spec": {"holderIdentity": scheduler}}]})


def _healthy():
    plan = cluster_verify.reach_plan(WORKLOAD, "kubebin-verify")
    flags = {host: {"kube-apiserver": {"secure-port": "6443", "audit-log-path": "/var/log/kubernetes/audit.log",
                                       "encryption-provider-config": "/etc/kubernetes/pki/encryption-config.yaml"},
                    "kube-controller-manager": {"secure-port": "10257"}, "kube-scheduler": {"secure-port": "10259"}} for host in CP}
    encrypted = b"k8s:enc:aescbc:v1:key1:" + bytes(range(40))
    return {
        "run_id": RUN,
        "hosts": HOSTS,
        "taints": {"cp1": True, "w1": True},
        "control_plane_names": CP,
        "flags": flags,
        "readyz": {h: {"rc": 0, "stdout": "[+]ping ok\n[+]etcd ok\n[+]poststarthook/rbac ok\nreadyz check passed"} for h in CP},
        "health": {h: {"results": [{"item": "kube-controller-manager", "status": 200, "content": "ok"},
                                   {"item": "kube-scheduler", "status": 200, "content": "ok"}]} for h in CP},
        "anonymous": {h: _ok({p: 200 if p in cluster_verify.HEALTH_PATHS else 401 for p in PATHS}) for h in CP},
        "anonymous_paths": PATHS,
        "audit": {"cp1": {"rc": 0, "stdout": "3"}, "cp2": {"rc": 1, "stdout": "0"}},
        "nodes": NODES,
        "leases": _leases("cp1_5f0c", "cp2_99aa"),
        "etcd": {"health": _ok([{"endpoint": "https://10.0.0.11:2379", "health": True}, {"endpoint": "https://10.0.0.12:2379", "health": True}]),
                 "members": 2},
        "schedulable": cluster_verify.schedulable(NODES),
        "pods": WORKLOAD,
        "plan": plan,
        "reach": _reach(plan),
        "node_port": {"results": [{"item": {"name": h}, "status": 200, "content": "web-1\n"} for h in ("cp1", "w1")]},
        "dns": {"result": {"rc": 0, "stdout": "Name: kubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\nAddress: 10.96.0.50\n"},
                "expected": {"kubernetes.default.svc.cluster.local": "10.96.0.1", "web-0.kubebin-verify.svc.cluster.local": "10.96.0.50"}},
        "logs": {"result": {"rc": 0, "stdout": "kubebin-verify serving web-0\n"}, "expected": "kubebin-verify serving web-0"},
        "port_forward": {"result": {"rc": 0, "stdout": "web-0\n"}, "expected": "web-0"},
        "rbac": {"status": 403},
        "node_restriction": {"result": {"results": [{"item": [url, node], "status": 200 if node == "cp1" else 403}
                                                    for url in ("https://10.0.0.11:6443", "https://10.0.0.12:6443") for node in ("cp1", "w1")]},
                             "own": "cp1", "other": "w1"},
        "secret": {"result": _ok({"kvs": [{"value": base64.b64encode(encrypted).decode()}]}),
                   "key": "/registry/secrets/kubebin-verify/probe-" + RUN, "plaintext": PLAINTEXT},
        "kubelet_anonymous": {"results": [{"item": {"name": h}, "status": 401} for h in ("cp1", "w1")]},
        "failover": {"asked": True, "before": {"kube-controller-manager": "cp1", "kube-scheduler": "cp2"},
                     "after": _leases("cp2_77ee", "cp1_1234"), "rollout": {"rc": 0, "stdout": 'deployment "failover-probe" successfully rolled out'},
                     "restarted": {"results": [{"item": {"key": "kube-controller-manager", "value": "cp1"}, "status": 200},
                                               {"item": {"key": "kube-scheduler", "value": "cp2"}, "status": 200}]}},
        "extension": {"image": "registry.k8s.io/e2e-test-images/agnhost:2.63.0", "pod": "agnhost", "path": "/apis/verify.kubebin.io/v1",
                      "result": _ok({url: {"api": {"rc": 0, "stdout": "NOW: 2026-12-04 19:30:00.1 +0000 UTC m=+20.5", "stderr": ""},
                                           "denied": {"rc": 1, "stdout": "", "stderr": 'error: failed to create configmap: admission webhook '
                                                      '"configmaps.verify.kubebin.io" denied the request: the configmap contains unwanted key and value'},
                                           "admitted": {"rc": 0, "stdout": "configmap/verify-admitted created (server dry run)", "stderr": ""}}
                                     for url in ("https://10.0.0.11:6443", "https://10.0.0.12:6443")})},
        "error": "",
    }


# Checks whose probes go through another check's part (an exec that fails probes nothing; the
# webhook and the aggregated API are probed by one command).
DEPENDENTS = {"exec": {"pod network", "cluster ip"}, "webhook": {"aggregated api"}, "aggregated api": {"webhook"}}


UNREACHABLE_WEBHOOK = 'Internal error occurred: failed calling webhook "configmaps.verify.kubebin.io": dial tcp 10.96.0.60:443: i/o timeout'


def _set_extension(observed, url, probe, **values):
    results = json.loads(observed["extension"]["result"]["stdout"])
    results[url][probe].update(values)
    observed["extension"]["result"]["stdout"] = json.dumps(results)


def _by_name(observed, skip=()):
    return {check["name"]: check for check in cluster_verify.checks(observed, skip)}


def test_every_check_passes_on_a_healthy_cluster():
    checks = cluster_verify.checks(_healthy())
    assert [c["name"] for c in checks] == list(cluster_verify.NAMES)
    assert [c for c in checks if c["ok"] is not True] == []
    assert checks[0]["line"].startswith("PASS nodes ")


def _break(mutate):
    observed = _healthy()
    mutate(observed)
    return observed


def _set_node(observed, index, change):
    items = json.loads(observed["nodes"]["stdout"])["items"]
    change(items[index])
    observed["nodes"] = _ok({"items": items})


def _set_pods(observed, change):
    items = json.loads(observed["pods"]["stdout"])["items"]
    change(items)
    observed["pods"] = _ok({"items": items})


def _etcd_value(raw):
    return _ok({"kvs": [{"value": base64.b64encode(raw).decode()}]})


def _reach_answer(observed, pod, line_prefix, answer):
    for result in observed["reach"]["results"]:
        if result["item"]["pod"] == pod:
            result["stdout"] = "\n".join((line_prefix + " " + answer) if line.startswith(line_prefix + " ") else line
                                         for line in result["stdout"].splitlines())


@pytest.mark.parametrize(
    "check, mutate, reason",
    [
        ("nodes", lambda o: _set_node(o, 1, lambda n: n["status"].update(conditions=[{"type": "Ready", "status": "False"}])), "w1: Node w1 is not Ready"),
        ("nodes", lambda o: _set_node(o, 1, lambda n: n["status"].update(addresses=[{"type": "InternalIP", "address": "10.9.9.9"}])),
         "w1: InternalIP 10.9.9.9, expected 10.0.0.21"),
        ("nodes", lambda o: _set_node(o, 0, lambda n: n["spec"].update(taints=[])), "cp1: control-plane label True, taint False"),
        ("nodes", lambda o: _set_node(o, 1, lambda n: n["metadata"].update(name="w9")), "w1: no Node w1"),
        ("apiservers", lambda o: o["readyz"]["cp2"].update(stdout="[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed"),
         "cp2: readyz: [-]etcd failed"),
        ("apiservers", lambda o: o["readyz"]["cp1"].update(rc=1, stderr="connection refused"), "cp1: connection refused"),
        ("controller-managers", lambda o: o["health"]["cp1"]["results"][0].update(status=500, content="[-]leaderElection failed"),
         "cp1: /healthz answered 500"),
        ("schedulers", lambda o: o["health"]["cp2"]["results"][1].update(skipped=True), "cp2: kube-scheduler is not running"),
        ("etcd", lambda o: o["etcd"].update(members=3), "2 endpoints answered, the inventory has 3 members"),
        ("etcd", lambda o: o["etcd"].update(health=_ok([{"endpoint": "https://10.0.0.11:2379", "health": False, "error": "timeout"}])),
         "https://10.0.0.11:2379: timeout"),
        ("leases", lambda o: o.update(leases=_ok({"items": [{"metadata": {"name": "kube-controller-manager"}, "spec": {}}]})),
         "Lease kube-controller-manager is held by ''"),
        ("pods", lambda o: _set_pods(o, lambda items: items[1]["status"].update(
            phase="Pending", containerStatuses=[{"state": {"waiting": {"reason": "ErrImagePull"}}}])),
         "no Running and Ready pod on w1 (cp1: Running; w1: Pending ErrImagePull)"),
        ("pods", lambda o: o.update(schedulable=[]), "no schedulable Node"),
        ("exec", lambda o: o["reach"]["results"][0].update(rc=1, stdout="", stderr="error: unable to upgrade connection"),
         "web-0: error: unable to upgrade connection"),
        ("pod network", lambda o: _reach_answer(o, "web-0", "pod web-1", "wget: can't connect to remote host"),
         "web-0 -> web-1: wget: can't connect to remote host"),
        ("cluster ip", lambda o: _reach_answer(o, "web-1", "svc web-0", ""), "web-1 -> web-0: no answer"),
        ("node port", lambda o: o["node_port"]["results"][1].update(status=-1, content="", msg="Connection refused"), "w1: -1 Connection refused"),
        ("dns", lambda o: o["dns"]["result"].update(rc=1, stdout="** server can't find kubernetes.default.svc.cluster.local: NXDOMAIN"),
         "did not resolve kubernetes.default.svc.cluster.local (expected 10.96.0.1), web-0.kubebin-verify.svc.cluster.local (expected 10.96.0.50)"),
        ("logs", lambda o: o["logs"]["result"].update(rc=1, stdout="", stderr="Forbidden"), "expected 'kubebin-verify serving web-0' in the log: Forbidden"),
        ("port-forward", lambda o: o["port_forward"]["result"].update(rc=1, stdout="", stderr="error: lost connection to pod"),
         "expected 'web-0': error: lost connection to pod"),
        ("anonymous", lambda o: o["anonymous"].update(cp2=_ok(dict.fromkeys(PATHS, 200))), "cp2: /version 200 (expected 401), /api 200 (expected 401)"),
        ("anonymous", lambda o: o["anonymous"].update(cp1=_ok(dict.fromkeys(PATHS, 401))), "cp1: /healthz 401 (expected 200)"),
        ("anonymous", lambda o: o["anonymous"].update(cp1=_ok({"/healthz": "URLError(ConnectionRefusedError(111))"})),
         "cp1: /healthz URLError(ConnectionRefusedError(111)) (expected 200)"),
        ("anonymous", lambda o: o["anonymous"].update(cp2={"rc": 1, "stderr": "python3: not found"}), "cp2: the anonymous probes: python3: not found"),
        ("anonymous", lambda o: o.update(anonymous_paths=["/healthz", "/livez", "/readyz"]), "at least one other"),
        ("rbac", lambda o: o.update(rbac={"status": 200}), "got 200 (expected 403"),
        ("rbac", lambda o: o.update(rbac={"status": 401}), "got 401"),
        ("node restriction", lambda o: o["node_restriction"]["result"]["results"][3].update(status=200),
         "via https://10.0.0.12:6443 the kubelet of cp1 changed Node w1 (200, expected 403)"),
        ("node restriction", lambda o: o["node_restriction"]["result"]["results"][0].update(status=401), "could not change its own Node (401)"),
        ("node restriction", lambda o: o["node_restriction"].update(result={"skipped": True}), "no apiserver was asked"),
        ("encryption at rest", lambda o: o["flags"]["cp2"]["kube-apiserver"].pop("encryption-provider-config"),
         "kube-apiserver on cp2 runs without --encryption-provider-config"),
        ("encryption at rest", lambda o: o["secret"].update(result=_etcd_value(b"k8s\x00\n\x0cv1\x12\x06Secret" + PLAINTEXT.encode())),
         "starts with b'k8s\\x00"),
        ("encryption at rest", lambda o: o["secret"].update(result=_etcd_value(b"k8s:enc:identity:" + PLAINTEXT.encode())),
         "plaintext is readable"),
        ("encryption at rest", lambda o: o["secret"].update(result=_ok({})), "the Secret is not in etcd"),
        ("audit", lambda o: o["flags"]["cp1"]["kube-apiserver"].pop("audit-log-path"), "cp1: kube-apiserver runs without --audit-log-path"),
        ("audit", lambda o: o["audit"]["cp1"].update(rc=1, stdout="0"), "no audit event names this run (abc123xyz0) on any apiserver: cp1=0; cp2=0"),
        ("kubelet anonymous", lambda o: o["kubelet_anonymous"]["results"][1].update(status=200), "expected 401: w1: 200"),
        # the scheduler's Lease still names the host whose scheduler was stopped
        ("failover", lambda o: o["failover"].update(after=_leases("cp2_77ee", "cp2_5555")),
         "kube-scheduler is held by cp2 after its leader on cp2 stopped"),
        ("failover", lambda o: o["failover"].update(after=_leases("", "cp1_1")), "kube-controller-manager is held by nobody"),
        ("failover", lambda o: o["failover"].update(before={"kube-controller-manager": "", "kube-scheduler": "cp2"}),
         "kube-controller-manager had no control-plane holder to stop"),
        ("failover", lambda o: o["failover"].update(rollout={"rc": 1, "stderr": "error: timed out waiting for the condition"}),
         "did not roll out: error: timed out waiting for the condition"),
        ("failover", lambda o: o["failover"]["restarted"]["results"][1].update(status=-1, msg="Connection refused"),
         "kube-scheduler on cp2 did not answer /healthz after its restart (-1)"),
        ("failover", lambda o: o["failover"].update(restarted={}), "the stopped leaders were not seen running again"),
        ("webhook", lambda o: _set_extension(o, "https://10.0.0.12:6443", "denied", rc=0, stderr=""),
         "via https://10.0.0.12:6443 a ConfigMap the webhook refuses was created: the webhook was not called"),
        ("webhook", lambda o: _set_extension(o, "https://10.0.0.12:6443", "denied", stderr=UNREACHABLE_WEBHOOK),
         "via https://10.0.0.12:6443 the webhook was not answered: Internal error occurred: failed calling webhook"),
        ("webhook", lambda o: _set_extension(o, "https://10.0.0.11:6443", "admitted", rc=1, stderr="Error from server (Forbidden)"),
         "via https://10.0.0.11:6443 a ConfigMap the webhook admits was refused: Error from server (Forbidden)"),
        ("webhook", lambda o: o["extension"].update(result={"rc": 2, "stderr": "python3: can't open file"}),
         "the webhook and aggregated API probes: python3: can't open file"),
        ("aggregated api", lambda o: _set_extension(o, "https://10.0.0.12:6443", "api", rc=1, stdout="",
                                                    stderr="Error from server (ServiceUnavailable): the server is currently unable to handle the request"),
         "via https://10.0.0.12:6443: Error from server (ServiceUnavailable)"),
        ("aggregated api", lambda o: _set_extension(o, "https://10.0.0.11:6443", "api", stdout='{"kind":"APIResourceList"}'),
         "via https://10.0.0.11:6443 /apis/verify.kubebin.io/v1 answered '{\"kind\":\"APIResourceList\"}', not the pod's page"),
        ("aggregated api", lambda o: o["extension"].update(result=_ok({})), "no apiserver was asked"),
    ],
)
def test_each_check_fails_with_its_reason_when_its_property_is_broken(check, mutate, reason):
    checks = _by_name(_break(mutate))
    assert checks[check]["ok"] is False, checks[check]
    assert reason in checks[check]["reason"], checks[check]["reason"]
    assert checks[check]["line"].startswith("FAIL " + check)
    # the others are not dragged down, except those that observe through the broken part
    others = {name for name, c in checks.items() if c["ok"] is False and name != check}
    assert others <= DEPENDENTS.get(check, set()), others


def test_a_single_node_cannot_prove_node_restriction_or_cross_node_traffic():
    def one_node(observed):
        observed["node_restriction"] = {"result": {}, "own": "cp1", "other": ""}
        _set_pods(observed, lambda items: items.__delitem__(1))
        observed["plan"] = cluster_verify.reach_plan(observed["pods"], "kubebin-verify")
        observed["reach"] = _reach(observed["plan"])
    checks = _by_name(_break(one_node))
    assert checks["node restriction"]["ok"] is None and "two kube_node hosts" in checks["node restriction"]["reason"]
    assert checks["pod network"]["ok"] is False and "needs pods on two nodes" in checks["pod network"]["reason"]


def test_skipped_checks_are_reported_and_unknown_names_refused():
    checks = _by_name(_healthy(), ["audit"])
    assert checks["audit"]["ok"] is None and checks["audit"]["line"].startswith("SKIP audit")
    with pytest.raises(AnsibleFilterError, match="verify_skip names no check: audti; checks are: nodes, "):
        verify_checks(_healthy(), ["audti"])


def test_a_failed_step_is_its_own_failed_check_and_the_others_say_what_they_lack():
    def failed_apply(observed):
        observed["error"] = "Create the test namespace, pods and Services: error: no objects passed to apply"
        observed["pods"] = {"skipped": True}
        observed["plan"], observed["reach"] = [], {}
    checks = cluster_verify.checks(_break(failed_apply))
    assert checks[-1]["name"] == "completed" and checks[-1]["ok"] is False
    assert "no objects passed to apply" in checks[-1]["reason"]
    by_name = {c["name"]: c for c in checks}
    assert "was not read (an earlier step failed)" in by_name["pods"]["reason"]
    assert by_name["nodes"]["ok"] is True


def test_an_agnhost_pod_that_is_not_ready_fails_both_with_its_state():
    def unready(observed):
        _set_pods(observed, lambda items: items[2]["status"].update(
            conditions=[{"type": "Ready", "status": "False"}],
            containerStatuses=[{"name": "webhook", "ready": True, "state": {"running": {}}}, {"name": "api", "ready": False, "state": {"running": {}}}]))
    checks = _by_name(_break(unready))
    for name in ("webhook", "aggregated api"):
        assert checks[name]["ok"] is False
        assert checks[name]["reason"] == "the agnhost pod is not Running and Ready (Running not ready: api)"
    assert checks["pods"]["ok"] is True     # the web pods' check is not about it


def test_without_an_agnhost_image_the_webhook_and_aggregated_api_are_skipped():
    checks = _by_name(_break(lambda o: o["extension"].update(image="", result={})))
    for name in ("webhook", "aggregated api"):
        assert checks[name]["ok"] is None
        assert checks[name]["reason"] == "skipped: verify_agnhost_image is empty: no agnhost image to serve it"
    assert [c for c in checks.values() if c["ok"] is False] == []


def test_a_webhook_or_apiservice_left_behind_is_a_failed_cleanup():
    checks = cluster_verify.checks(_break(lambda o: o.update(cleanup_cluster={"rc": 1, "stderr": "Unable to connect to the server"})))
    assert checks[-1] == {"name": "cleanup", "ok": False, "reason": "the webhook and the APIService were not removed: Unable to connect to the server",
                          "line": "FAIL cleanup             the webhook and the APIService were not removed: Unable to connect to the server"}


def test_a_namespace_left_behind_is_a_failed_check_of_its_own():
    timed_out = "error: timed out waiting for the condition on namespaces/kubebin-verify"
    checks = cluster_verify.checks(_break(lambda o: o.update(cleanup={"rc": 1, "stderr": timed_out})))
    assert checks[-1]["name"] == "cleanup" and checks[-1]["ok"] is False
    assert checks[-1]["reason"] == "the test namespace was not removed: " + timed_out
    assert [c["name"] for c in checks if c["ok"] is not True] == ["cleanup"]
    assert "cleanup" not in _by_name(_break(lambda o: o.update(cleanup={"rc": 0, "stdout": 'namespace "kubebin-verify" deleted'})))


def test_observations_it_cannot_read_fail_the_check_instead_of_the_run():
    checks = _by_name(_break(lambda o: o.update(nodes={"rc": 0, "stdout": "not json"}, leases={"rc": 1, "stderr": "Unauthorized"})))
    assert "not JSON: not json" in checks["nodes"]["reason"]
    assert checks["leases"]["reason"] == "kubectl get lease: Unauthorized"


def test_schedulable_nodes_leave_out_cordoned_tainted_and_not_ready_ones():
    nodes = [_node("cp1", "10.0.0.11", True), _node("w1", "10.0.0.21"), _node("w2", "10.0.0.22"), _node("w3", "10.0.0.23"), _node("w4", "10.0.0.24")]
    nodes[2]["spec"]["unschedulable"] = True
    nodes[3]["spec"]["taints"] = [{"key": "gpu", "effect": "NoSchedule"}, {"key": "soft", "effect": "PreferNoSchedule"}]
    nodes[4]["status"]["conditions"] = [{"type": "Ready", "status": "Unknown"}]
    assert cluster_verify.schedulable(_ok({"items": nodes})) == ["cp1", "w1"]
    assert cluster_verify.schedulable({"rc": 1, "stderr": "refused"}) == []


def test_the_reach_plan_probes_pods_by_ip_and_services_only_across_nodes():
    items = json.loads(WORKLOAD["stdout"])["items"] + [_pod("web-2", "w1", "fd00:244::7"), _service("web-2", "fd00:96::2")]
    plan = {p["pod"]: p["probes"] for p in cluster_verify.reach_plan(_ok({"items": items}), "ns")}
    assert plan["web-0"] == ["pod=web-1=http://10.244.1.5:8080/", "svc=web-1=http://10.96.0.51:80/",
                             "pod=web-2=http://[fd00:244::7]:8080/", "svc=web-2=http://[fd00:96::2]:80/"]
    # web-1 and web-2 share a node: their Services are not a cross-node probe
    assert plan["web-1"] == ["pod=web-0=http://10.244.0.5:8080/", "svc=web-0=http://10.96.0.50:80/", "pod=web-2=http://[fd00:244::7]:8080/"]


def test_flags_are_read_per_unit_from_the_process_argv():
    text = "== kube-apiserver\n/usr/local/bin/kube-apiserver\n--secure-port=6443\n--enable-bootstrap-token-auth\n\n== kube-scheduler\n"
    assert cluster_verify.flags(text) == {"kube-apiserver": {"secure-port": "6443", "enable-bootstrap-token-auth": "true"}, "kube-scheduler": {}}


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"verify_checks", "verify_flags", "verify_schedulable", "verify_reach_plan", "verify_lease_holders"}


def test_failover_runs_only_when_asked_and_with_two_control_plane_hosts():
    checks = _by_name(_break(lambda o: o["failover"].update(asked=False)))
    assert checks["failover"]["ok"] is None and "verify_failover=true" in checks["failover"]["reason"]
    one = [dict(h, groups=["kube_node"]) if h["name"] == "cp2" else h for h in HOSTS]
    checks = _by_name(_break(lambda o: o.update(hosts=one)))
    assert checks["failover"]["ok"] is None and "needs two control-plane hosts" in checks["failover"]["reason"]


def test_lease_holders_map_identities_to_control_plane_hosts():
    hosts = HOSTS + [{"name": "cp9", "node_name": "node-9.example", "ip": "10.0.0.19", "url_host": "10.0.0.19", "groups": ["kube_control_plane"]}]
    assert cluster_verify.lease_holders(_leases("node-9.example_ab12", "w1_cd34"), hosts) == {"kube-controller-manager": "cp9", "kube-scheduler": ""}
    assert cluster_verify.lease_holders({"rc": 1, "stderr": "x"}, hosts) == {}


def test_the_healthy_observations_are_not_mutated_by_judging():
    observed = _healthy()
    before = copy.deepcopy(observed)
    cluster_verify.checks(observed)
    assert observed == before
