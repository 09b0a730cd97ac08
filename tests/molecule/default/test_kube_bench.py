"""CIS Kubernetes Benchmark: the real kube-bench on every host, against the live cluster.

kube-bench (built from its Go module by tests/bundle/build_test_tools.py) runs with the benchmark
definitions of its own release and the collection's path mapping (docs/kube-bench/config.yaml).
Every automated (scored) check must pass, or be a stated exception of docs/kube-bench/exceptions.yml
for this cluster's mode; an exception that passes fails too, so the list stays true.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess

import pytest
import yaml

testinfra_hosts = ["ansible://all"]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TOOL = os.path.join(ROOT, ".cache", "test-tools", "kube-bench")
CONFIG = os.path.join(ROOT, "docs", "kube-bench", "config.yaml")
EXCEPTIONS = os.path.join(ROOT, "docs", "kube-bench", "exceptions.yml")
BENCHMARK = "cis-1.12"
REMOTE = "/opt/kubebin-test/kube-bench"


def _targets(variables: dict) -> list:
    """kube-bench targets of a host, from its inventory groups."""
    groups, me = variables["groups"], variables["inventory_hostname"]
    targets = []
    if me in groups.get("kube_control_plane", []):
        targets += ["master", "controlplane"]
        if me == groups["kube_control_plane"][0]:
            targets.append("policies")
    if me in groups.get("etcd", []):
        targets.append("etcd")
    if me in groups.get("kube_node", []):
        targets.append("node")
    return targets


def _install(container: str) -> None:
    """Copy kube-bench, its benchmark definitions and our mapping into the host (test-only)."""
    if not os.path.isfile(os.path.join(TOOL, "bin", "kube-bench")):
        pytest.fail("kube-bench is not built: run `make test-tools` first")
    subprocess.run(["docker", "exec", container, "mkdir", "-p", os.path.dirname(REMOTE)], check=True)
    subprocess.run(["docker", "cp", "-L", TOOL + "/.", "%s:%s" % (container, REMOTE)], check=True)
    subprocess.run(["docker", "cp", "-L", CONFIG, "%s:%s/kubebin.yaml" % (container, REMOTE)], check=True)


_REPORTS = {}


@pytest.fixture(name="bench")
def fixture_bench(host):
    """kube-bench's JSON report for this host's targets (run once per host)."""
    variables = host.ansible.get_variables()
    if variables["inventory_hostname"] not in _REPORTS:
        _REPORTS[variables["inventory_hostname"]] = _run(host, variables)
    return _REPORTS[variables["inventory_hostname"]]


def _run(host, variables: dict) -> dict:
    _install(variables["ansible_host"])
    targets = _targets(variables)
    command = ("PATH=/usr/local/bin:$PATH KUBECONFIG=/etc/kubernetes/admin.conf %s/bin/kube-bench run"
               " --config %s/kubebin.yaml --config-dir %s/cfg --benchmark %s --targets %s --json"
               % (REMOTE, REMOTE, REMOTE, BENCHMARK, ",".join(targets)))
    result = host.run(command)
    assert result.rc == 0, result.stderr
    report = json.loads(result.stdout)
    controls = report["Controls"] if isinstance(report, dict) else report
    return {"targets": targets, "mode": "tls_bootstrap" if variables.get("kubebin_kubelet_tls_bootstrap") else "pki",
            "controls": controls}


# What each stated exception's reason claims, proved on the live host.
_SCHEDULER_GET = r"""
import base64, ssl, sys, tempfile, urllib.error, urllib.request
data = {}
for line in open("/etc/kubernetes/admin.conf"):
    key, _, value = line.strip().partition(": ")
    if key in ("client-certificate-data", "client-key-data"):
        data[key] = base64.b64decode(value)
pem = tempfile.NamedTemporaryFile()
pem.write(data["client-certificate-data"] + b"\n" + data["client-key-data"])
pem.flush()
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
ctx.load_cert_chain(pem.name)
for path in sys.argv[1:]:
    try:
        print(path, urllib.request.urlopen("https://127.0.0.1:10259" + path, context=ctx, timeout=10).status)
    except urllib.error.HTTPError as exc:
        print(path, exc.code)
"""


def _scheduler_serves_no_profiles(host):
    """1.4.1: the admin identity gets /healthz (authenticated and authorized) but no /debug/pprof/,
    which kube-scheduler serves to it only with profiling on."""
    result = host.run("python3 -c %s /healthz /debug/pprof/" % shlex.quote(_SCHEDULER_GET))
    assert result.rc == 0, result.stderr
    assert result.stdout.split() == ["/healthz", "200", "/debug/pprof/", "404"], result.stdout


def _kubelet_keeps_no_rotated_copy(host):
    """4.2.10: the kubelet uses the controller's certificate from kubelet.conf; it stored no
    rotated copy of its own that would shadow the controller's renewals."""
    assert not host.file("/var/lib/kubelet/pki/kubelet-client-current.pem").exists
    assert "client-certificate-data" in host.file("/etc/kubernetes/kubelet.conf").content_string


PROOFS = {"1.4.1": _scheduler_serves_no_profiles, "4.2.10": _kubelet_keeps_no_rotated_copy}


def _results(controls: list) -> list:
    return [dict(result, node_type=control["node_type"]) for control in controls
            for section in control["tests"] for result in section["results"]]


def _exceptions(mode: str) -> dict:
    with open(EXCEPTIONS, encoding="utf-8") as handle:
        entries = yaml.safe_load(handle)
    return {entry["id"]: entry for entry in entries if mode in entry["modes"]}


def test_every_target_of_the_host_ran(bench):
    ran = sorted(control["node_type"] for control in bench["controls"])
    assert ran == sorted(bench["targets"])
    assert all(_results([control]) for control in bench["controls"]), "a target reported no checks"


def test_every_automated_check_passes_or_is_a_stated_exception(bench):
    stated = _exceptions(bench["mode"])
    automated = [r for r in _results(bench["controls"]) if r["scored"] and r.get("type", "") not in ("manual", "skip")]
    assert automated, "no automated check ran"
    failing = ["%s %s: %s (%s)" % (r["test_number"], r["status"], r["test_desc"], r.get("actual_value", "").strip()[:200])
               for r in automated if r["status"] != "PASS" and r["test_number"] not in stated]
    assert not failing, "\n".join(failing)
    stale = [r["test_number"] for r in automated if r["status"] == "PASS" and r["test_number"] in stated]
    assert not stale, "stated exceptions that now pass (remove them from %s): %s" % (EXCEPTIONS, stale)


def test_what_each_stated_exception_claims_holds(host, bench):
    excepted = sorted({r["test_number"] for r in _results(bench["controls"])
                       if r["status"] != "PASS" and r["test_number"] in _exceptions(bench["mode"])})
    if not excepted:
        pytest.skip("no stated exception applies to the targets of this host")
    for number in excepted:
        PROOFS[number](host)


def test_kube_proxy_metrics_stay_on_localhost(host, bench):
    """4.3.1 reads the kube-proxy kubeconfig, which never holds the setting: check the real one."""
    if "node" not in bench["targets"]:
        pytest.skip("no kube-proxy on this host")
    config = yaml.safe_load(host.file("/etc/kubernetes/kube-proxy-config.yaml").content_string)
    assert config["metricsBindAddress"].startswith("127.0.0.1:"), config["metricsBindAddress"]
