# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The judgement of playbooks/verify.yml: what the live cluster showed, turned into checks.

The verify role only gathers (kubectl, etcdctl and HTTP requests, each recorded with its status
and output, never failing the task); every decision is made here, in plain Python, so that each
check's pass and fail paths are unit-tested. A check is ``{name, ok, reason, line}``: ``ok`` is
True, False, or None for a check the user skipped or the inventory cannot exercise.
"""

from __future__ import annotations

import base64
import json

# The taint the kubelet role puts on control-plane nodes: the verify pods tolerate it, so a
# control-plane host that runs a kubelet is checked like any other node.
CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
# Paths every client may read without credentials (the apiserver's health endpoints); anything
# else must answer 401 to an anonymous request.
HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
# Prefix the apiserver writes before every value an encryption provider (other than identity) wrote.
ENCRYPTED_PREFIX = b"k8s:enc:"
LEASES = ("kube-controller-manager", "kube-scheduler")
# The label of the busybox web pods (templates/workload.yaml.j2): the pod checks and the reach plan
# are about them, not about the agnhost pod, which serves neither a page nor a shell.
WEB_POD_LABEL = ("app.kubernetes.io/name", "kubebin-verify")
# agnhost webhook's reason for refusing a ConfigMap with the data webhook-e2e-test=webhook-disallow.
WEBHOOK_DENIAL = "the configmap contains unwanted key and value"
# What agnhost netexec answers on any other path: the aggregated API's page.
AGGREGATED_PAGE = "NOW:"

# Every check, in report order, with what it proves.
CHECKS = (
    ("nodes", "every kube_node host is a Ready Node with its name, internal IP, and the control-plane label and taint where configured"),
    ("apiservers", "every apiserver passes every /readyz check"),
    ("controller-managers", "every kube-controller-manager answers /healthz"),
    ("schedulers", "every kube-scheduler answers /healthz"),
    ("etcd", "every etcd member is healthy"),
    ("leases", "kube-controller-manager and kube-scheduler each hold a Lease from a control-plane host"),
    ("failover", "with each leader stopped, other control-plane hosts take the Leases and a new Deployment rolls out"),
    ("pods", "a pod on every schedulable node reaches Running and Ready"),
    ("exec", "kubectl exec runs a command in every pod"),
    ("pod network", "every pod reaches every other pod, across nodes"),
    ("cluster ip", "a ClusterIP Service answers from its endpoint on another node (kube-proxy)"),
    ("node port", "a NodePort Service answers on every node's internal IP"),
    ("dns", "kubernetes.default and the test Service resolve from a pod in the cluster domain (CoreDNS)"),
    ("logs", "kubectl logs returns a pod's output"),
    ("port-forward", "kubectl port-forward reaches a pod"),
    ("webhook", "every apiserver calls an admission webhook served by a pod (a ConfigMap refused, one admitted)"),
    ("aggregated api", "every apiserver proxies an aggregated API to the pod that serves it"),
    ("anonymous", "anonymous requests get 401 except the health paths"),
    ("rbac", "a service account without rights gets 403"),
    ("node restriction", "a kubelet's credential may change its own Node but not another one"),
    ("encryption at rest", "a Secret read raw from etcd carries the encryption provider's prefix, not plaintext"),
    ("audit", "the audit log records this run's requests"),
    ("kubelet anonymous", "every kubelet refuses anonymous requests on its API port"),
)
NAMES = tuple(check[0] for check in CHECKS)


class Fail(Exception):
    """A check's failure, with the reason the report gives."""


def flags(text):
    """{unit: {flag: value}} from ``== UNIT`` headers each followed by a process's argv, one per line."""
    units = {}
    current = None
    for line in str(text or "").splitlines():
        line = line.strip()
        if line.startswith("== "):
            current = units.setdefault(line[3:].strip(), {})
        elif current is not None and line.startswith("--"):
            name, equals, value = line[2:].partition("=")
            current[name] = value if equals else "true"
    return units


def _json(result, what):
    """The parsed stdout of a recorded command, or Fail naming what could not be read."""
    result = result or {}
    if result.get("skipped"):
        raise Fail("%s was not read (an earlier step failed)" % what)
    if result.get("rc", 0) != 0:
        raise Fail("%s: %s" % (what, _text(result.get("stderr") or result.get("msg"))))
    try:
        return json.loads(result.get("stdout") or "")
    except ValueError:
        raise Fail("%s: not JSON: %s" % (what, _text(result.get("stdout")))) from None


def _text(value, limit=300):
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[:limit] + "..."


def _text_end(value, limit=300):
    """The end of a message: where a wrapped error says what went wrong (dial tcp ...: i/o timeout)."""
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else "..." + text[-limit:]


def _ready(node):
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in node.get("status", {}).get("conditions", []))


def _internal_ips(node):
    return sorted(a["address"] for a in node.get("status", {}).get("addresses", []) if a.get("type") == "InternalIP")


def schedulable(nodes_result):
    """Names of the Nodes a verify pod may run on: Ready, not cordoned, and no NoSchedule or
    NoExecute taint other than the control-plane one (which the verify pods tolerate)."""
    try:
        nodes = _json(nodes_result, "kubectl get nodes").get("items", [])
    except Fail:
        return []
    names = []
    for node in nodes:
        taints = [t for t in node.get("spec", {}).get("taints", []) or []
                  if t.get("effect") in ("NoSchedule", "NoExecute") and t.get("key") != CONTROL_PLANE_TAINT]
        if _ready(node) and not node.get("spec", {}).get("unschedulable") and not taints:
            names.append(node["metadata"]["name"])
    return sorted(names)


def reach_plan(pods_result, namespace):
    """One entry per verify pod: its name, node, and the probes its exec runs: every other pod's
    IP (pod network) and the ClusterIP of every other node's Service (kube-proxy)."""
    try:
        items = _json(pods_result, "kubectl get pods,services").get("items", [])
    except Fail:
        return []
    pods = sorted((i for i in items if _is_web_pod(i) and i.get("status", {}).get("podIP")), key=lambda p: p["metadata"]["name"])
    services = {i["metadata"]["name"]: i["spec"].get("clusterIP") for i in items if i.get("kind") == "Service"}
    plan = []
    for pod in pods:
        probes = []
        for other in pods:
            if other is pod:
                continue
            name = other["metadata"]["name"]
            probes.append("pod=%s=%s" % (name, _url(other["status"]["podIP"], 8080)))
            if other["spec"].get("nodeName") != pod["spec"].get("nodeName") and services.get(name):
                probes.append("svc=%s=%s" % (name, _url(services[name], 80)))
        plan.append({"pod": pod["metadata"]["name"], "node": pod["spec"].get("nodeName"), "namespace": namespace, "probes": probes})
    return plan


def _is_web_pod(item):
    key, value = WEB_POD_LABEL
    return item.get("kind") == "Pod" and (item.get("metadata", {}).get("labels") or {}).get(key) == value


def _url(address, port):
    host = "[%s]" % address if ":" in str(address) else address
    return "http://%s:%s/" % (host, port)


# --- the checks -------------------------------------------------------------------------------

def _check_nodes(obs):
    nodes = {n["metadata"]["name"]: n for n in _json(obs.get("nodes"), "kubectl get nodes").get("items", [])}
    problems = []
    expected = [h for h in obs.get("hosts", []) if "kube_node" in h.get("groups", [])]
    for host in expected:
        node = nodes.get(host["node_name"])
        if node is None:
            problems.append("%s: no Node %s" % (host["name"], host["node_name"]))
            continue
        if not _ready(node):
            problems.append("%s: Node %s is not Ready" % (host["name"], host["node_name"]))
        if host["ip"] not in _internal_ips(node):
            problems.append("%s: InternalIP %s, expected %s" % (host["name"], ",".join(_internal_ips(node)) or "none", host["ip"]))
        wanted = "kube_control_plane" in host.get("groups", []) and bool(obs.get("taints", {}).get(host["name"], True))
        labelled = CONTROL_PLANE_LABEL in node["metadata"].get("labels", {})
        tainted = any(t.get("key") == CONTROL_PLANE_TAINT and t.get("effect") == "NoSchedule" for t in node.get("spec", {}).get("taints", []) or [])
        if wanted and not (labelled and tainted):
            problems.append("%s: control-plane label %s, taint %s; both configured" % (host["name"], labelled, tainted))
    extra = sorted(set(nodes) - {h["node_name"] for h in expected})
    if extra:
        problems.append("Nodes outside the inventory's kube_node: %s" % ", ".join(extra))
    if problems:
        raise Fail("; ".join(problems))
    return "%d Ready Nodes with their names and IPs" % len(expected)


def _per_host(obs, key, what, judge):
    problems, good = [], []
    for host, result in sorted((obs.get(key) or {}).items()):
        try:
            good.append(judge(host, result or {}))
        except Fail as exc:
            problems.append("%s: %s" % (host, exc))
    if problems:
        raise Fail("; ".join(problems))
    if not good:
        raise Fail("no control-plane host reported %s" % what)
    return "; ".join(good)


def _check_apiservers(obs):
    def judge(host, result):
        if result.get("rc", 1) != 0:
            raise Fail(_text(result.get("stderr") or result.get("msg") or "no answer"))
        checks = [line for line in result.get("stdout", "").splitlines() if line.startswith("[")]
        failed = [line for line in checks if not line.startswith("[+]")]
        if failed or not checks:
            raise Fail("readyz: %s" % (", ".join(failed) or "no checks listed"))
        return "%s %d checks" % (host, len(checks))
    return _per_host(obs, "readyz", "/readyz", judge)


def _health(unit):
    def judge(host, results):
        for item in results.get("results", []):
            if item.get("item") == unit:
                if item.get("skipped"):
                    raise Fail("%s is not running (no process, no --secure-port to probe)" % unit)
                if item.get("status") == 200 and str(item.get("content", "")).strip() == "ok":
                    return "%s ok" % host
                raise Fail("/healthz answered %s %s" % (item.get("status"), _text(item.get("content") or item.get("msg"), 120)))
        raise Fail("%s was not probed" % unit)
    return judge


def _check_etcd(obs):
    etcd = obs.get("etcd") or {}
    answers = _json(etcd.get("health"), "etcdctl endpoint health")
    sick = ["%s: %s" % (a.get("endpoint"), a.get("error") or "unhealthy") for a in answers if not a.get("health")]
    if sick:
        raise Fail("; ".join(sick))
    if len(answers) != etcd.get("members"):
        raise Fail("%d endpoints answered, the inventory has %s members" % (len(answers), etcd.get("members")))
    return "%d healthy members" % len(answers)


def _check_leases(obs):
    leases = {i["metadata"]["name"]: i.get("spec", {}) for i in _json(obs.get("leases"), "kubectl get lease").get("items", [])}
    names = set(obs.get("control_plane_names") or [])
    held = []
    for lease in LEASES:
        holder = (leases.get(lease) or {}).get("holderIdentity") or ""
        host = holder.split("_", 1)[0]
        if host not in names:
            raise Fail("Lease %s is held by %r, not by a control-plane host (%s)" % (lease, holder, ", ".join(sorted(names))))
        held.append("%s by %s" % (lease, host))
    return ", ".join(held)


def lease_holders(leases_result, hosts):
    """{lease: inventory name of the control-plane host that holds it, or ''} for both leader
    Leases; a holder identity is the host name, '_', and a unique suffix."""
    try:
        items = _json(leases_result, "kubectl get lease").get("items", [])
    except Fail:
        return {}
    names = {}
    for host in hosts or []:
        if "kube_control_plane" in host.get("groups", []):
            names[host["node_name"]] = names[host["name"]] = host["name"]
    holders = {i["metadata"]["name"]: (i.get("spec", {}).get("holderIdentity") or "").split("_", 1)[0] for i in items}
    return {lease: names.get(holders.get(lease, ""), "") for lease in LEASES}


def _check_failover(obs):
    failover = obs.get("failover") or {}
    if not failover.get("asked"):
        raise Skip("not asked (-e verify_failover=true)")
    if len([h for h in obs.get("hosts", []) if "kube_control_plane" in h.get("groups", [])]) < 2:
        raise Skip("needs two control-plane hosts")
    before = failover.get("before") or {}
    after = lease_holders(failover.get("after"), obs.get("hosts"))
    problems, moves = [], []
    for lease in LEASES:
        if not before.get(lease):
            problems.append("%s had no control-plane holder to stop" % lease)
        elif after.get(lease) in ("", None, before[lease]):
            problems.append("%s is held by %s after its leader on %s stopped" % (lease, after.get(lease) or "nobody", before[lease]))
        else:
            moves.append("%s %s -> %s" % (lease, before[lease], after[lease]))
    rollout = failover.get("rollout") or {}
    if rollout.get("rc", 1) != 0:
        why = rollout.get("stderr") or rollout.get("stdout") or rollout.get("msg")
        problems.append("a Deployment scaled up after the failover did not roll out: %s" % _text(why, 200))
    for item in (failover.get("restarted") or {}).get("results", []):
        if item.get("status") != 200:
            lease, host = (item.get("item") or {}).get("key"), (item.get("item") or {}).get("value")
            problems.append("%s on %s did not answer /healthz after its restart (%s)" % (lease, host, item.get("status") or _text(item.get("msg"), 120)))
    if not (failover.get("restarted") or {}).get("results"):
        problems.append("the stopped leaders were not seen running again")
    if problems:
        raise Fail("; ".join(problems))
    return "%s; a Deployment scaled up afterwards rolled out; the stopped leaders answer again" % ", ".join(moves)


def _pods(obs):
    items = _json(obs.get("pods"), "kubectl get pods,services").get("items", [])
    return [i for i in items if _is_web_pod(i)]


def _check_pods(obs):
    wanted = set(obs.get("schedulable") or [])
    if not wanted:
        raise Fail("no schedulable Node (Ready, not cordoned, no foreign NoSchedule taint)")
    pods = _pods(obs)
    running = {p["spec"].get("nodeName") for p in pods if p.get("status", {}).get("phase") == "Running" and _ready(p)}
    missing = sorted(wanted - running)
    if missing:
        states = {p["spec"].get("nodeName") or p["metadata"]["name"]: _pod_state(p) for p in pods}
        raise Fail("no Running and Ready pod on %s (%s)" % (", ".join(missing), "; ".join("%s: %s" % kv for kv in sorted(states.items()))))
    return "Running and Ready on %s" % ", ".join(sorted(running))


def _pod_state(pod):
    status = pod.get("status", {})
    containers = status.get("containerStatuses", []) or []
    waiting = [c.get("state", {}).get("waiting", {}).get("reason") for c in containers]
    unready = [c.get("name", "?") for c in containers if "running" in c.get("state", {}) and not c.get("ready")]
    return " ".join([status.get("phase", "Pending")] + [w for w in waiting if w] + (["not ready: " + ", ".join(unready)] if unready else []))


def _reach_lines(obs):
    """{pod: (rc, self name, {(kind, target): answer})} from the exec probes."""
    lines = {}
    for item in (obs.get("reach") or {}).get("results", []):
        pod = (item.get("item") or {}).get("pod")
        answers, me = {}, None
        for line in str(item.get("stdout", "")).splitlines():
            parts = line.split(" ", 2)
            if parts[0] == "self" and len(parts) > 1:
                me = parts[1]
            elif parts[0] in ("pod", "svc") and len(parts) > 1:
                answers[(parts[0], parts[1])] = parts[2].strip() if len(parts) > 2 else ""
        lines[pod] = (item.get("rc", 1), me, answers, item)
    return lines


def _check_exec(obs):
    lines = _reach_lines(obs)
    if not lines:
        raise Fail("no pod to exec in")
    bad = ["%s: %s" % (pod, _text(seen[3].get("stderr") or seen[3].get("msg"), 160)) for pod, seen in sorted(lines.items()) if seen[1] != pod]
    if bad:
        raise Fail("; ".join(bad))
    return "in %d pods" % len(lines)


def _check_reach(kind):
    def check(obs):
        plan = {p["pod"]: p for p in obs.get("plan") or []}
        lines = _reach_lines(obs)
        if not plan:
            raise Fail("no pods to probe")
        wanted = [(pod, probe.split("=", 2)[1]) for pod, entry in plan.items() for probe in entry["probes"] if probe.startswith(kind + "=")]
        if not wanted:
            raise Fail("needs pods on two nodes; only %s has one" % ", ".join(sorted(p["node"] for p in plan.values())))
        bad = []
        for pod, target in wanted:
            answer = lines.get(pod, (1, None, {}, {}))[2].get((kind, target))
            if answer != target:
                bad.append("%s -> %s: %s" % (pod, target, _text(answer, 120) or "no answer"))
        if bad:
            raise Fail("; ".join(bad))
        return "%d of %d probes answered by the right pod" % (len(wanted), len(wanted))
    return check


def _check_node_port(obs):
    results = (obs.get("node_port") or {}).get("results", [])
    if not results:
        raise Fail("no node to probe")
    pods = {p["metadata"]["name"] for p in _pods(obs)}
    bad = ["%s: %s %s" % (r.get("item", {}).get("name"), r.get("status"), _text(r.get("content") or r.get("msg"), 120))
           for r in results if r.get("status") != 200 or str(r.get("content", "")).strip() not in pods]
    if bad:
        raise Fail("; ".join(bad))
    return "answered on %d nodes" % len(results)


def _check_dns(obs):
    dns = obs.get("dns") or {}
    result = dns.get("result") or {}
    text = str(result.get("stdout", ""))
    missing = ["%s (expected %s)" % (name, address) for name, address in sorted((dns.get("expected") or {}).items()) if not address or address not in text]
    if result.get("rc", 1) != 0 or missing:
        raise Fail("did not resolve %s: %s" % (", ".join(missing) or "every name", _text(text + " " + str(result.get("stderr", "")), 200)))
    return ", ".join(sorted(dns.get("expected") or {}))


def _check_logs(obs):
    logs = obs.get("logs") or {}
    result = logs.get("result") or {}
    if result.get("rc", 1) != 0 or logs.get("expected") not in str(result.get("stdout", "")):
        raise Fail("expected %r in the log: %s" % (logs.get("expected"), _text(result.get("stdout") or result.get("stderr"), 200)))
    return "the pod's first line came back"


def _check_port_forward(obs):
    forward = obs.get("port_forward") or {}
    result = forward.get("result") or {}
    if result.get("rc", 1) != 0 or str(result.get("stdout", "")).strip() != forward.get("expected"):
        raise Fail("expected %r: %s" % (forward.get("expected"), _text((result.get("stdout") or "") + " " + (result.get("stderr") or ""), 200)))
    return "answered by %s" % forward.get("expected")


def _check_anonymous(obs):
    def judge(host, result):
        seen = _json(result, "the anonymous probes")
        paths = list(obs.get("anonymous_paths") or [])
        if not paths or not set(HEALTH_PATHS) <= set(paths) or len(paths) == len(HEALTH_PATHS):
            raise Fail("the probed paths must hold the health paths and at least one other: %s" % paths)
        wrong = ["%s %s (expected %s)" % (path, seen.get(path), 200 if path in HEALTH_PATHS else 401)
                 for path in paths if seen.get(path) != (200 if path in HEALTH_PATHS else 401)]
        if wrong:
            raise Fail(", ".join(wrong))
        return "%s %d paths" % (host, len(seen))
    return _per_host(obs, "anonymous", "anonymous probes", judge)


def _check_rbac(obs):
    result = obs.get("rbac") or {}
    if result.get("status") != 403:
        raise Fail("a token without rights listing kube-system Secrets got %s (expected 403: authenticated, then refused)" % result.get("status"))
    return "403 for a token without rights"


def _check_node_restriction(obs):
    probe = obs.get("node_restriction") or {}
    if not probe.get("other"):
        raise Skip("needs two kube_node hosts")
    own, other = probe.get("own"), probe.get("other")
    seen = {}
    for item in (probe.get("result") or {}).get("results", []):
        url, node = item.get("item") or (None, None)
        seen.setdefault(url, {})[node] = item.get("status")
    if not seen:
        raise Fail("no apiserver was asked")
    problems = []
    for url, status in sorted(seen.items()):
        if status.get(own) != 200:
            problems.append("via %s the kubelet of %s could not change its own Node (%s): the probe proves nothing" % (url, own, status.get(own)))
        elif status.get(other) != 403:
            problems.append("via %s the kubelet of %s changed Node %s (%s, expected 403)" % (url, own, other, status.get(other)))
    if problems:
        raise Fail("; ".join(problems))
    return "%s: own Node 200, %s 403 on %d apiservers (dry run)" % (own, other, len(seen))


def _check_encryption(obs):
    secret = obs.get("secret") or {}
    configs = {host: f.get("kube-apiserver", {}).get("encryption-provider-config") for host, f in (obs.get("flags") or {}).items()}
    plain = sorted(host for host, config in configs.items() if not config)
    if plain:
        raise Fail("kube-apiserver on %s runs without --encryption-provider-config" % ", ".join(plain))
    kvs = _json(secret.get("result"), "etcdctl get").get("kvs") or []
    if not kvs:
        raise Fail("the Secret is not in etcd at %s" % secret.get("key"))
    value = base64.b64decode(kvs[0].get("value", ""))
    if not value.startswith(ENCRYPTED_PREFIX):
        raise Fail("the value at %s starts with %r, not %r" % (secret.get("key"), value[:12], ENCRYPTED_PREFIX))
    if secret.get("plaintext", "").encode() in value:
        raise Fail("the Secret's plaintext is readable in etcd at %s" % secret.get("key"))
    # k8s:enc:<provider>:v1:<key name>:...
    return "stored encrypted (%s)" % b":".join(value.split(b":", 5)[2:5]).decode("ascii", "replace")


def _check_audit(obs):
    def judge(host, result):
        path = (obs.get("flags") or {}).get(host, {}).get("kube-apiserver", {}).get("audit-log-path")
        if not path:
            raise Fail("kube-apiserver runs without --audit-log-path")
        if result.get("rc") not in (0, 1):
            raise Fail("%s: %s" % (path, _text(result.get("stderr"))))
        return int(str(result.get("stdout") or "0").strip() or 0)
    counts = _per_host(obs, "audit", "its audit log", lambda host, result: "%s=%d" % (host, judge(host, result)))
    if all(part.endswith("=0") for part in counts.split("; ")):
        raise Fail("no audit event names this run (%s) on any apiserver: %s" % (obs.get("run_id"), counts))
    return "events naming this run: %s" % counts


def _check_kubelet_anonymous(obs):
    results = (obs.get("kubelet_anonymous") or {}).get("results", [])
    if not results:
        raise Fail("no kubelet to probe")
    bad = ["%s: %s" % (r.get("item", {}).get("name"), r.get("status") if r.get("status", -1) != -1 else _text(r.get("msg"), 120))
           for r in results if r.get("status") != 401]
    if bad:
        raise Fail("expected 401: " + "; ".join(bad))
    return "401 from %d kubelets" % len(results)


def _extension(obs):
    """Per apiserver URL, what the webhook and aggregated-API probes got (tasks/extension.yml)."""
    extension = obs.get("extension") or {}
    if not extension.get("image"):
        raise Skip("verify_agnhost_image is empty: no agnhost image to serve it")
    pod = [p for p in _json(obs.get("pods"), "kubectl get pods,services").get("items", [])
           if p.get("kind") == "Pod" and p["metadata"]["name"] == extension.get("pod")]
    if not pod or pod[0].get("status", {}).get("phase") != "Running" or not _ready(pod[0]):
        raise Fail("the %s pod is not Running and Ready (%s)" % (extension.get("pod"), _pod_state(pod[0]) if pod else "not found"))
    results = _json(extension.get("result"), "the webhook and aggregated API probes")
    if not results:
        raise Fail("no apiserver was asked")
    return results


def _check_webhook(obs):
    results = _extension(obs)
    problems = []
    for url, probe in sorted(results.items()):
        denied, admitted = probe.get("denied") or {}, probe.get("admitted") or {}
        if denied.get("rc") == 0:
            problems.append("via %s a ConfigMap the webhook refuses was created: the webhook was not called" % url)
        elif WEBHOOK_DENIAL not in str(denied.get("stderr")):
            problems.append("via %s the webhook was not answered: %s" % (url, _text_end(denied.get("stderr"), 160)))
        elif admitted.get("rc") != 0:
            problems.append("via %s a ConfigMap the webhook admits was refused: %s" % (url, _text_end(admitted.get("stderr"), 160)))
    if problems:
        raise Fail("; ".join(problems))
    return "the pod's webhook refused one ConfigMap and admitted another via %d apiservers (dry run)" % len(results)


def _check_aggregated_api(obs):
    results = _extension(obs)
    path = (obs.get("extension") or {}).get("path")
    problems = []
    for url, probe in sorted(results.items()):
        api = probe.get("api") or {}
        if api.get("rc") != 0:
            problems.append("via %s: %s" % (url, _text_end(api.get("stderr"), 160)))
        elif not str(api.get("stdout")).startswith(AGGREGATED_PAGE):
            problems.append("via %s %s answered %r, not the pod's page" % (url, path, _text(api.get("stdout"), 60)))
    if problems:
        raise Fail("; ".join(problems))
    return "%s answered by the pod via %d apiservers" % (path, len(results))


class Skip(Exception):
    """A check the inventory cannot exercise, with the reason."""


JUDGES = {
    "nodes": _check_nodes,
    "apiservers": _check_apiservers,
    "controller-managers": lambda obs: _per_host(obs, "health", "/healthz", _health("kube-controller-manager")),
    "schedulers": lambda obs: _per_host(obs, "health", "/healthz", _health("kube-scheduler")),
    "etcd": _check_etcd,
    "leases": _check_leases,
    "failover": _check_failover,
    "pods": _check_pods,
    "exec": _check_exec,
    "pod network": _check_reach("pod"),
    "cluster ip": _check_reach("svc"),
    "node port": _check_node_port,
    "dns": _check_dns,
    "logs": _check_logs,
    "port-forward": _check_port_forward,
    "webhook": _check_webhook,
    "aggregated api": _check_aggregated_api,
    "anonymous": _check_anonymous,
    "rbac": _check_rbac,
    "node restriction": _check_node_restriction,
    "encryption at rest": _check_encryption,
    "audit": _check_audit,
    "kubelet anonymous": _check_kubelet_anonymous,
}


def checks(observed, skip=()):
    """Every check of CHECKS judged on the observations, in report order."""
    skip = set(skip or ())
    unknown = sorted(skip - set(NAMES))
    if unknown:
        raise ValueError("verify_skip names no check: %s; checks are: %s" % (", ".join(unknown), ", ".join(NAMES)))
    result = []
    for name in NAMES:
        if name in skip:
            ok, reason = None, "skipped (verify_skip)"
        else:
            try:
                ok, reason = True, JUDGES[name](observed)
            except Skip as exc:
                ok, reason = None, "skipped: %s" % exc
            except Fail as exc:
                ok, reason = False, str(exc)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                ok, reason = False, "could not judge the observations: %s: %s" % (type(exc).__name__, exc)
        result.append({"name": name, "ok": ok, "reason": reason,
                       "line": _line(ok, name, reason)})
    for what, key in (("the webhook and the APIService were", "cleanup_cluster"), ("the test namespace was", "cleanup")):
        cleanup = observed.get(key) or {}
        if cleanup.get("rc", 0) != 0:
            # What the run created is still there: the report says so instead of failing without one.
            reason = "%s not removed: %s" % (what, _text(cleanup.get("stderr") or cleanup.get("msg"), 300))
            result.append({"name": "cleanup", "ok": False, "reason": reason, "line": _line(False, "cleanup", reason)})
    if observed.get("error"):
        # A step failed outright (not a probe: those are recorded): the checks above that lack
        # its data say so, and this one names the step.
        result.append({"name": "completed", "ok": False, "reason": _text(observed["error"], 600),
                       "line": _line(False, "completed", _text(observed["error"], 600))})
    return result


def _line(ok, name, reason):
    return "%s %-19s %s" % ({True: "PASS", False: "FAIL", None: "SKIP"}[ok], name, reason)
