# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each stand-in refuses what the real binary would refuse: exit code AND reason."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess

import pytest
import yaml

from .conftest import REPO, VERSION, apiserver_flags, free_port, start_notified
from .pki import kubeconfig

COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")
REMOVED = {"kube-apiserver": "--insecure-port=8080", "kube-controller-manager": "--port=10252", "kube-scheduler": "--logtostderr",
           "kubelet": "--pod-infra-container-image=pause:3.9", "kube-proxy": None}


def run(binary, *args, env=None):
    environ = dict(os.environ, KUBEBIN_STANDIN_CONNECT_TIMEOUT="5", **(env or {}))
    return subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=60, check=False, env=environ)


def assert_refused(result, reason):
    assert result.returncode == 1, result.stderr
    assert "FATAL" in result.stderr and reason in result.stderr, result.stderr


def test_reference_copy_equals_shared_reference():
    shared = os.path.join(os.path.dirname(REPO), "shared", "reference", "k8s-flags.json")
    if not os.path.exists(shared):
        pytest.skip("no shared reference next to the repository")
    assert filecmp.cmp(shared, os.path.join(REPO, "tests", "standins", "reference", "k8s-flags.json"), shallow=False)


@pytest.mark.parametrize("component", COMPONENTS)
def test_version_and_unknown_flag(bins, component):
    version = run(bins[component], "--version")
    assert version.returncode == 0 and version.stdout == "Kubernetes v%s\n" % VERSION
    assert_refused(run(bins[component], "--no-such-flag=1"), "unknown flag: --no-such-flag")


@pytest.mark.parametrize("component", [c for c in COMPONENTS if REMOVED[c]])
def test_removed_flag(bins, component):
    flag = REMOVED[component]
    assert_refused(run(bins[component], flag), "flag %s was removed from %s" % (flag.split("=")[0], component))


def test_kubelet_deprecated_flag(bins):
    assert_refused(run(bins["kubelet"], "--cgroup-driver=systemd"), "deprecated for the kubelet")


def _config(path, doc):
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(doc, handle)
    return str(path)


@pytest.mark.parametrize("component,args", [
    ("kube-apiserver", ["--tls-cert-file=/nonexistent/apiserver.crt", "--tls-private-key-file=/nonexistent/apiserver.key"]),
    ("kube-controller-manager", ["--kubeconfig=/nonexistent/controller-manager.conf"]),
    ("kube-scheduler", ["--config=/nonexistent/scheduler.yaml"]),
    ("kubelet", ["--config=/nonexistent/kubelet.yaml"]),
    ("kube-proxy", ["--config=/nonexistent/kube-proxy.yaml"]),
])
def test_missing_file(bins, component, args):
    assert_refused(run(bins[component], *args), "No such file or directory")


def test_world_readable_and_mismatched_keys(bins, pki, tmp_path):
    loose = str(tmp_path / "apiserver.key")
    shutil.copy(pki.path("apiserver", "key"), loose)
    os.chmod(loose, 0o644)
    cert = "--tls-cert-file=" + pki.path("apiserver", "crt")
    assert_refused(run(bins["kube-apiserver"], cert, "--tls-private-key-file=" + loose), "world-readable")
    assert_refused(run(bins["kube-apiserver"], cert, "--tls-private-key-file=" + pki.path("admin", "key")), "does not match --tls-cert-file")
    # Same through a kubeconfig that names its files (controller-manager).
    conf = kubeconfig(str(tmp_path / "cm.conf"), "https://127.0.0.1:1", pki.path("ca", "crt"), pki.path("controller-manager", "crt"),
                      loose, embed=False)
    assert_refused(run(bins["kube-controller-manager"], "--kubeconfig=" + conf), "world-readable")
    conf = kubeconfig(str(tmp_path / "cm2.conf"), "https://127.0.0.1:1", pki.path("ca", "crt"), pki.path("controller-manager", "crt"),
                      pki.path("scheduler", "key"), embed=False)
    assert_refused(run(bins["kube-controller-manager"], "--kubeconfig=" + conf), "does not match")


def test_component_config_kind_and_unknown_fields(bins, tmp_path):
    bad_kind = _config(tmp_path / "s.yaml", {"apiVersion": "kubescheduler.config.k8s.io/v1beta3", "kind": "KubeSchedulerConfiguration"})
    assert_refused(run(bins["kube-scheduler"], "--config=" + bad_kind), "want kubescheduler.config.k8s.io/v1 KubeSchedulerConfiguration")
    unknown = _config(tmp_path / "p.yaml", {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration", "modes": "x"})
    assert_refused(run(bins["kube-proxy"], "--config=" + unknown), "unknown field(s) in KubeProxyConfiguration: modes")


@pytest.mark.parametrize("component", ["kube-controller-manager", "kube-scheduler", "kube-proxy"])
def test_server_certificate_must_verify(bins, pki, apiserver, tmp_path, component):
    cert, key = pki.path("kube-proxy", "crt"), pki.path("kube-proxy", "key")
    wrong_ca = kubeconfig(str(tmp_path / "a.conf"), apiserver["url"], pki.path("rogue-ca", "crt"), cert, key)
    wrong_host = kubeconfig(str(tmp_path / "b.conf"), apiserver["url"].replace("127.0.0.1", "localhost"), pki.path("ca", "crt"), cert, key)
    for conf, reason in ((wrong_ca, "self-signed certificate in certificate chain"), (wrong_host, "Hostname mismatch")):
        if component == "kube-scheduler":
            doc = {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration", "clientConnection": {"kubeconfig": conf}}
            args = ["--config=" + _config(tmp_path / "s.yaml", doc)]
        else:
            args = ["--kubeconfig=" + conf, "--healthz-bind-address=127.0.0.1:0"] if component == "kube-proxy" else ["--kubeconfig=" + conf]
        result = run(bins[component], *args)
        url = apiserver["url"].replace("127.0.0.1", "localhost") if conf == wrong_host else apiserver["url"]
        assert_refused(result, "TLS with %s failed: %s" % (url, reason))


def test_apiserver_refuses_etcd_client_from_wrong_ca(bins, pki, etcd_server, tmp_path):
    flags = [f for f in apiserver_flags(pki, etcd_server, free_port()) if not f.startswith("--etcd-cafile")]
    flags.append("--etcd-cafile=" + pki.path("ca", "crt"))
    assert_refused(run(bins["kube-apiserver"], *flags), "server certificate does not verify against --etcd-cafile")


def test_controller_manager_connects_and_serves_health(bins, pki, apiserver, tmp_path):
    conf = kubeconfig(str(tmp_path / "cm.conf"), apiserver["url"], pki.path("ca", "crt"), pki.path("controller-manager", "crt"),
                      pki.path("controller-manager", "key"))
    port = free_port()
    proc = start_notified([bins["kube-controller-manager"], "--kubeconfig=" + conf, "--authentication-kubeconfig=" + conf,
                           "--bind-address=127.0.0.1", "--secure-port=%d" % port, "--root-ca-file=" + pki.path("ca", "crt"),
                           "--service-account-private-key-file=" + pki.path("sa", "key"), "--allocate-node-cidrs=true",
                           "--cluster-cidr=10.244.0.0/16", "--cluster-signing-cert-file=" + pki.path("ca", "crt"),
                           "--cluster-signing-key-file=" + pki.path("ca", "key"), "--use-service-account-credentials", "--leader-elect=true"],
                          tmp_path, "kcm")
    try:
        with open(os.path.join(apiserver["log_dir"], "apiserver-identities.log"), encoding="utf-8") as handle:
            assert '"cn": "system:kube-controller-manager"' in handle.read()
        curl = subprocess.run(["curl", "-sk", "https://127.0.0.1:%d/healthz" % port], capture_output=True, text=True, timeout=30, check=False)
        assert curl.stdout == "ok"
    finally:
        proc.stop()
