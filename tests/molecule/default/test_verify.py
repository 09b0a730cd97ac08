"""playbooks/verify.yml on the live cluster: every check passes on the converged cluster, what the
report claims is seen independently, and the security checks, then the webhook and aggregated-API
checks, fail, each with its reason, when their property is broken on purpose (then restored).

Runs last in the scenario (the negative tests restart one apiserver and one kubelet).
"""

from __future__ import annotations

import json
import os
import time

import audit_log
import pytest
import testinfra
import verify_playbook
from testinfra.utils.ansible_runner import AnsibleRunner

from ansible_collections.kubebin.cluster.plugins.plugin_utils.cluster_verify import NAMES

INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
RUNNER = AnsibleRunner(INVENTORY)
CONTROL_PLANE = sorted(RUNNER.get_hosts("kube_control_plane"))
NODES = sorted(RUNNER.get_hosts("kube_node"))
REPORT = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "verify-report.json")
KUBECTL = "/usr/local/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=20s"
# The hosts whose properties the negative test breaks: the last apiserver and the last worker.
APISERVER = CONTROL_PLANE[-1]
KUBELET = NODES[-1]
GRANT = "kubebin-test-verify-grant"
# Flags whose removal breaks a property verify must see: encryption at rest, the audit log, the
# anonymous rule (the authentication config), NodeRestriction.
APISERVER_FLAGS = ["--encryption-provider-config=", "--audit-log-path=", "--authentication-config=", "--enable-admission-plugins="]
# Without it, an apiserver reaches a webhook or an aggregated API through its Service's ClusterIP,
# which the last control-plane host (no kube-proxy) has no route to.
ROUTING_FLAG = "--enable-aggregator-routing="
AUDIT_LOG = "/var/log/kubernetes/audit.log"


def _host(name):
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY)


def _ip(name):
    variables = RUNNER.get_variables(name)
    return variables.get("ip") or variables["ansible_host"]


def _wait(what, probe, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(2)
    pytest.fail("%s within %d s" % (what, timeout))


@pytest.fixture(scope="module")
def verified():
    # with the failover: both leaders stopped, taken over by other hosts, then started again
    result = verify_playbook.run(INVENTORY, REPORT, "-e", "verify_failover=true")
    print("verify.yml on the converged cluster, with the failover: %.1f s" % result.seconds)
    return result


def test_every_check_passes_on_the_converged_cluster(verified):
    assert verified.returncode == 0, verified.output[-3000:]
    assert tuple(verified.checks) == NAMES
    assert {name: check["line"] for name, check in verified.checks.items() if check["ok"] is not True} == {}


def test_what_the_report_claims_is_seen_independently(verified, audit_events):
    checks = verified.checks
    assert checks["nodes"]["reason"] == "%d Ready Nodes with their names and IPs" % len(NODES)
    assert checks["pods"]["reason"] == "Running and Ready on %s" % ", ".join(NODES)
    assert checks["apiservers"]["reason"].startswith(CONTROL_PLANE[0] + " ") and len(checks["apiservers"]["reason"].split("; ")) == len(CONTROL_PLANE)
    assert "on %d apiservers" % len(CONTROL_PLANE) in checks["node restriction"]["reason"]
    assert checks["kubelet anonymous"]["reason"] == "401 from %d kubelets" % len(NODES)
    assert checks["failover"]["reason"].endswith("a Deployment scaled up afterwards rolled out; the stopped leaders answer again")
    # the stopped leaders run again
    for name in CONTROL_PLANE:
        assert _host(name).service("kube-controller-manager").is_running and _host(name).service("kube-scheduler").is_running
    # the test Secret the run created is in the apiservers' own audit logs, created by the admin
    with open(REPORT, encoding="utf-8") as handle:
        run_id = json.load(handle)["run_id"]
    created = [e for e in audit_events() if e.get("verb") == "create" and e.get("objectRef", {}).get("name") == "probe-" + run_id]
    assert created and created[0]["objectRef"]["resource"] == "secrets", run_id
    # and everything it created is gone again, the cluster-wide registrations too
    for kind in ("namespace/kubebin-verify", "apiservice/v1.verify.kubebin.io", "validatingwebhookconfiguration/kubebin-verify.kubebin-verify"):
        gone = _host(CONTROL_PLANE[0]).run("%s get %s" % (KUBECTL, kind))
        assert gone.rc != 0 and "NotFound" in gone.stderr, kind


def _own_audit_events(name):
    log = _host(name).file(AUDIT_LOG)
    return audit_log.events(log.content_string)[0]


def test_every_apiserver_called_the_webhook_and_proxied_the_aggregated_api(verified):
    assert verified.checks["webhook"]["reason"].endswith("via %d apiservers (dry run)" % len(CONTROL_PLANE))
    assert verified.checks["aggregated api"]["reason"] == "/apis/verify.kubebin.io/v1 answered by the pod via %d apiservers" % len(CONTROL_PLANE)
    # each apiserver's own audit log: the webhook's refusal, and the aggregated API answered
    for name in CONTROL_PLANE:
        events = _own_audit_events(name)
        refused = [e for e in events if e.get("objectRef", {}).get("name") == "verify-denied"
                   and 'admission webhook "configmaps.verify.kubebin.io" denied the request' in e.get("responseStatus", {}).get("message", "")]
        proxied = [e for e in events if e.get("requestURI", "").split("?")[0] == "/apis/verify.kubebin.io/v1"
                   and e.get("responseStatus", {}).get("code") == 200]
        assert refused and proxied, name


def _break_apiserver(host, flags):
    unit = "/etc/systemd/system/kube-apiserver.service"
    host.run_test("cp -p %s /root/kube-apiserver.service.saved" % unit)
    for flag in flags:
        host.run_test("sed -i '/^  %s/d' %s" % (flag, unit))
    assert not [flag for flag in flags if flag in host.file(unit).content_string], "the unit still has %s" % flags
    host.run_test("systemctl daemon-reload && systemctl restart kube-apiserver")


def _restore_apiserver(host):
    host.run("cp -p /root/kube-apiserver.service.saved /etc/systemd/system/kube-apiserver.service && rm -f /root/kube-apiserver.service.saved"
             " && systemctl daemon-reload && systemctl restart kube-apiserver")


def _break_kubelet(host):
    config = "/etc/kubernetes/kubelet-config.yaml"
    host.run_test("cp -p %s /root/kubelet-config.yaml.saved" % config)
    # anonymous requests authenticated, and every request authorized
    host.run_test("python3 -c \"import sys; p=sys.argv[1]; t=open(p).read(); "
                  "t=t.replace('anonymous:\\n    enabled: false', 'anonymous:\\n    enabled: true').replace('mode: Webhook', 'mode: AlwaysAllow'); "
                  "open(p, 'w').write(t)\" %s" % config)
    assert "enabled: true" in host.file(config).content_string
    host.run_test("systemctl restart kubelet")


def _restore_kubelet(host):
    host.run("cp -p /root/kubelet-config.yaml.saved /etc/kubernetes/kubelet-config.yaml && rm -f /root/kubelet-config.yaml.saved"
             " && systemctl restart kubelet")


def _apiserver_ready(name):
    return _host(CONTROL_PLANE[0]).run("%s --server=https://%s:6443 get --raw=/readyz" % (KUBECTL, _ip(name))).stdout.strip() == "ok"


def _kubelet_healthy(name):
    probe = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:10248/healthz', timeout=3).read().decode())"
    return _host(name).run("python3 -c \"%s\"" % probe).stdout.strip() == "ok"


def _settle(state):
    _wait("the %s apiserver on %s ready" % (state, APISERVER), lambda: _apiserver_ready(APISERVER))
    _wait("the %s kubelet on %s healthy" % (state, KUBELET), lambda: _kubelet_healthy(KUBELET))


@pytest.fixture(scope="module")
def broken(verified):
    """verify.yml with the security properties broken: an apiserver without encryption, audit log,
    authentication config and NodeRestriction; a kubelet that lets anyone in; and the test
    namespace's service accounts granted cluster-admin. Restored before the tests judge the result."""
    first, apiserver, kubelet = _host(CONTROL_PLANE[0]), _host(APISERVER), _host(KUBELET)
    try:
        first.run_test("%s create clusterrolebinding %s --clusterrole=cluster-admin --group=system:serviceaccounts:kubebin-verify" % (KUBECTL, GRANT))
        _break_apiserver(apiserver, APISERVER_FLAGS)
        _break_kubelet(kubelet)
        _settle("broken")
        # Secrets written through the other apiservers are unreadable through this one: a kubelet
        # connected to it could not mount the agnhost pod's TLS Secret. The webhook and the
        # aggregated API are broken on their own below.
        result = verify_playbook.run(INVENTORY, REPORT, "-e", "verify_agnhost_image=")
        print("verify.yml on the broken cluster: %.1f s" % result.seconds)
    finally:
        first.run("%s delete clusterrolebinding %s --ignore-not-found" % (KUBECTL, GRANT))
        _restore_apiserver(apiserver)
        _restore_kubelet(kubelet)
        _settle("restored")
    return result


# check: what its reason must say about the broken host
BROKEN = {
    "anonymous": "%s: /version 200 (expected 401)" % APISERVER,
    "rbac": "a token without rights listing kube-system Secrets got 200",
    "node restriction": "via https://%s:6443 the kubelet of %s changed Node" % (_ip(APISERVER), NODES[0]),
    "encryption at rest": "kube-apiserver on %s runs without --encryption-provider-config" % APISERVER,
    "audit": "%s: kube-apiserver runs without --audit-log-path" % APISERVER,
    "kubelet anonymous": "expected 401: %s: 200" % KUBELET,
}


@pytest.mark.parametrize("check", sorted(BROKEN))
def test_each_broken_property_fails_its_check_with_its_reason(broken, check):
    assert broken.returncode != 0
    assert broken.checks[check]["ok"] is False, broken.checks[check]
    assert BROKEN[check] in broken.checks[check]["reason"], broken.checks[check]["reason"]


def test_the_checks_of_what_was_not_broken_still_pass(broken):
    failed = {name for name, check in broken.checks.items() if check["ok"] is False}
    assert failed == set(BROKEN), {name: broken.checks[name]["line"] for name in failed - set(BROKEN)}
    assert broken.checks["webhook"]["reason"] == "skipped: verify_agnhost_image is empty: no agnhost image to serve it"


@pytest.fixture(scope="module")
def unrouted(broken):
    """verify.yml with the last apiserver, on a host without kube-proxy, reaching webhooks and
    aggregated APIs through their ClusterIP (no --enable-aggregator-routing). After the broken
    state is restored: one property at a time."""
    assert APISERVER not in NODES, "the last control-plane host must run no kube-proxy"
    apiserver = _host(APISERVER)
    try:
        _break_apiserver(apiserver, [ROUTING_FLAG])
        _settle("unrouted")
        result = verify_playbook.run(INVENTORY, REPORT)
        print("verify.yml with an apiserver that cannot reach the pod: %.1f s" % result.seconds)
    finally:
        _restore_apiserver(apiserver)
        _settle("restored")
    return result


# check: what its reason must say (the apiserver's own words about the call it could not make)
UNROUTED = {
    "webhook": ["via https://%s:6443 the webhook was not answered: " % _ip(APISERVER), "failed to call webhook"],
    "aggregated api": ["via https://%s:6443: Error from server (ServiceUnavailable)" % _ip(APISERVER)],
}


@pytest.mark.parametrize("check", sorted(UNROUTED))
def test_an_apiserver_without_a_route_to_the_pod_fails_the_webhook_and_the_aggregated_api(unrouted, check):
    assert unrouted.returncode != 0
    assert unrouted.checks[check]["ok"] is False, unrouted.checks[check]
    for words in UNROUTED[check]:
        assert words in unrouted.checks[check]["reason"], unrouted.checks[check]["reason"]


def test_without_aggregator_routing_nothing_else_fails(unrouted):
    failed = {name for name, check in unrouted.checks.items() if check["ok"] is False}
    assert failed == set(UNROUTED), {name: unrouted.checks[name]["line"] for name in failed - set(UNROUTED)}
