"""The kubeconfigs, read by the real kubectl and used against a real TLS server.

`openssl s_server -Verify` serves the apiserver certificate and demands a client certificate
signed by the cluster CA, so a successful request proves both directions verify.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils.pki_kubeconfig import ensure_kubeconfigs
from pki_helpers import find_tool

KUBECONFIGS = {
    "admin.conf": "kubernetes-admin",
    "super-admin.conf": "kubernetes-super-admin",
    "controller-manager.conf": "system:kube-controller-manager",
    "scheduler.conf": "system:kube-scheduler",
    "kube-proxy.conf": "system:kube-proxy",
    "nodes/w1/kubelet.conf": "system:node:w1",
    "nodes/cp1/kubelet.conf": "system:node:cp1",
}


def kubectl(kubeconfig, *args):
    return subprocess.run([find_tool("kubectl"), "--kubeconfig", kubeconfig, "--request-timeout=10s"] + list(args),
                          capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture(scope="module")
def tls_server(cluster_pki):
    d = cluster_pki["dir"]
    proc = subprocess.Popen(
        [find_tool("openssl"), "s_server", "-accept", "127.0.0.1:%d" % cluster_pki["port"], "-www", "-quiet",
         "-cert", os.path.join(d, "apiserver.crt"), "-key", os.path.join(d, "apiserver.key"),
         "-CAfile", os.path.join(d, "ca.crt"), "-Verify", "1", "-verify_return_error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", cluster_pki["port"]), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("openssl s_server did not start: %s" % proc.stderr.read())
            time.sleep(0.1)
    yield proc
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.parametrize("path, user", sorted(KUBECONFIGS.items()))
def test_kubectl_reads_the_kubeconfig(cluster_pki, path, user):
    result = kubectl(os.path.join(cluster_pki["dir"], path), "config", "view", "--raw", "-o", "json")
    assert result.returncode == 0, result.stderr
    conf = json.loads(result.stdout)
    assert conf["current-context"] == "%s@kubebin" % user
    assert conf["users"][0]["name"] == user
    assert conf["users"][0]["user"]["client-certificate-data"] and conf["users"][0]["user"]["client-key-data"]
    assert conf["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:%d" % cluster_pki["port"]
    assert conf["clusters"][0]["cluster"]["certificate-authority-data"]


@pytest.mark.parametrize("path", sorted(KUBECONFIGS))
def test_kubectl_talks_mutual_tls_with_the_apiserver_certificate(cluster_pki, tls_server, path):
    result = kubectl(os.path.join(cluster_pki["dir"], path), "get", "--raw", "/")
    # s_server -www answers any verified request with its status page
    assert result.returncode == 0, result.stderr
    assert "s_server" in result.stdout or "Ciphers" in result.stdout, result.stdout[:500]


def test_server_refuses_a_client_certificate_of_another_ca(cluster_pki, tls_server, tmp_path):
    d = cluster_pki["dir"]
    wrong = ensure_kubeconfigs(str(tmp_path), [{
        "path": "wrong.conf", "server": "https://127.0.0.1:%d" % cluster_pki["port"], "user": "front-proxy-client",
        "ca_file": os.path.join(d, "ca.crt"), "client_cert_file": os.path.join(d, "front-proxy-client.crt"),
        "client_key_file": os.path.join(d, "front-proxy-client.key")}])
    assert wrong["changed"]
    result = kubectl(str(tmp_path / "wrong.conf"), "get", "--raw", "/")
    assert result.returncode != 0


def test_client_refuses_a_server_not_signed_by_the_kubeconfig_ca(cluster_pki, tls_server, tmp_path):
    d = cluster_pki["dir"]
    ensure_kubeconfigs(str(tmp_path), [{
        "path": "wrong-ca.conf", "server": "https://127.0.0.1:%d" % cluster_pki["port"], "user": "kubernetes-admin",
        "ca_file": os.path.join(d, "etcd/ca.crt"), "client_cert_file": os.path.join(d, "admin.crt"),
        "client_key_file": os.path.join(d, "admin.key")}])
    result = kubectl(str(tmp_path / "wrong-ca.conf"), "get", "--raw", "/")
    assert result.returncode != 0
    assert "certificate" in result.stderr.lower()
