"""Helpers for the binaries role tests: a loopback mirror with the upstream URL layout, and a
runner for real ansible-playbook against local "hosts" (ansible_connection=local, own bin dirs).

The mirror serves small generated files (real tar.gz archives built with tarfile) under the same
paths dl.k8s.io and GitHub releases use, with the same kinds of checksum files next to them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from play_recap import play_recap

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

# Versions with no pinned sum in the role, so the upstream checksum files are what is checked.
VERSIONS = {
    "kube": "1.36.99",
    "etcd": "3.6.99",
    "containerd": "2.3.99",
    "runc": "1.4.99",
    "cni_plugins": "1.9.99",
    "crictl": "1.36.99",
}
KUBE_BINARIES = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubelet", "kubectl"]
CNI_PLUGINS = ["bridge", "host-local", "loopback", "portmap"]
ARCHES = ["amd64", "arm64"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def binary_body(name: str, version: str, arch: str) -> bytes:
    """Content that differs per name, version and architecture, so tests can tell them apart."""
    return ("#!/bin/sh\necho '%s %s %s'\n" % (name, version, arch)).encode() + os.urandom(64)


def make_tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class CountingHandler(SimpleHTTPRequestHandler):
    def __init__(self, *args, requests=None, **kwargs):
        self._requests = requests
        super().__init__(*args, **kwargs)

    def do_GET(self):  # noqa: N802 (http.server API)
        self._requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


class Mirror:
    """Loopback HTTP server with the dl.k8s.io and GitHub release layout."""

    def __init__(self, root: str):
        self.root = root
        self.requests: list[str] = []
        self.expected: dict[tuple[str, str], bytes] = {}  # (binary, arch) -> content
        self.server = None
        self.thread = None
        self.port = None
        self._build()

    # --- layout ---
    def put(self, rel: str, data: bytes) -> str:
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def _build(self):
        v = VERSIONS
        gh = "gh"
        for arch in ARCHES:
            for name in KUBE_BINARIES:
                body = binary_body(name, v["kube"], arch)
                self.expected[(name, arch)] = body
                rel = "k8s/release/v%s/bin/linux/%s/%s" % (v["kube"], arch, name)
                self.put(rel, body)
                self.put(rel + ".sha256", sha256(body).encode())  # bare digest, as dl.k8s.io

            etcd_top = "etcd-v%s-linux-%s" % (v["etcd"], arch)
            files = {}
            for name in ("etcd", "etcdctl", "etcdutl"):
                files["%s/%s" % (etcd_top, name)] = (binary_body(name, v["etcd"], arch), 0o755)
                self.expected[(name, arch)] = files["%s/%s" % (etcd_top, name)][0]
            files["%s/README.md" % etcd_top] = (b"readme", 0o644)
            self.put_archive("%s/etcd-io/etcd/releases/download/v%s/%s.tar.gz" % (gh, v["etcd"], etcd_top), files,
                             sums="%s/etcd-io/etcd/releases/download/v%s/SHA256SUMS" % (gh, v["etcd"]))

            files = {}
            for name in ("containerd", "containerd-shim-runc-v2", "ctr", "containerd-stress"):
                files["bin/" + name] = (binary_body(name, v["containerd"], arch), 0o755)
                self.expected[(name, arch)] = files["bin/" + name][0]
            rel = "%s/containerd/containerd/releases/download/v%s/containerd-%s-linux-%s.tar.gz" % (gh, v["containerd"], v["containerd"], arch)
            self.put_archive(rel, files, sums=rel + ".sha256sum")

            body = binary_body("runc", v["runc"], arch)
            self.expected[("runc", arch)] = body
            base = "%s/opencontainers/runc/releases/download/v%s/" % (gh, v["runc"])
            self.put(base + "runc." + arch, body)
            self.append_sum(base + "runc.sha256sum", "runc." + arch, body)

            files = {"./LICENSE": (b"license", 0o644)}
            for name in CNI_PLUGINS:
                files["./" + name] = (binary_body(name, v["cni_plugins"], arch), 0o755)
                self.expected[(name, arch)] = files["./" + name][0]
            rel = "%s/containernetworking/plugins/releases/download/v%s/cni-plugins-linux-%s-v%s.tgz" % (gh, v["cni_plugins"], arch, v["cni_plugins"])
            self.put_archive(rel, files, sums=rel + ".sha256")

            body = binary_body("crictl", v["crictl"], arch)
            self.expected[("crictl", arch)] = body
            rel = "%s/kubernetes-sigs/cri-tools/releases/download/v%s/crictl-v%s-linux-%s.tar.gz" % (gh, v["crictl"], v["crictl"], arch)
            self.put_archive(rel, {"crictl": (body, 0o755)}, sums=rel + ".sha256", bare=True)

    def put_archive(self, rel, files, sums, bare=False):
        data = make_tar(files)
        self.put(rel, data)
        if bare:
            self.put(sums, sha256(data).encode() + b"\n")
        else:
            self.append_sum(sums, os.path.basename(rel), data)

    def append_sum(self, rel, file_name, data):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as handle:
            handle.write("%s  %s\n" % (sha256(data), file_name))

    def path(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    # --- server ---
    def start(self):
        handler = partial(CountingHandler, directory=self.root, requests=self.requests)
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port or 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def mirror_vars(self) -> dict:
        return {
            "kubebin_mirror_kubernetes": "http://127.0.0.1:%d/k8s" % self.port,
            "kubebin_mirror_github": "http://127.0.0.1:%d/gh" % self.port,
        }


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tool(name: str) -> str:
    sibling = os.path.join(os.path.dirname(sys.executable), name)
    return sibling if os.path.exists(sibling) else shutil.which(name)


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout + proc.stderr
        self.recap = play_recap(self.out)

    def changed(self) -> int:
        return sum(r.changed for r in self.recap.values())


class Workspace:
    """Temporary hosts, cache and bundle locations for one test."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.cache = str(tmp_path / "cache")
        self.hosts = {"node-amd": "amd64", "node-arm": "arm64"}
        self.host_vars: dict[str, dict] = {}

    def bin_dir(self, host: str) -> str:
        return str(self.tmp / "hosts" / host / "bin")

    def cni_dir(self, host: str) -> str:
        return str(self.tmp / "hosts" / host / "cni")

    def inventory(self, hosts=None) -> str:
        inv = {"all": {"hosts": {}}}
        for host in hosts or self.hosts:
            if host == "localhost":  # the controller, for playbooks/bundle.yml
                inv["all"]["hosts"][host] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                continue
            inv["all"]["hosts"][host] = {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "kubebin_arch": self.hosts[host],
                "kubebin_bin_dir": self.bin_dir(host),
                "kubebin_cni_bin_dir": self.cni_dir(host),
                **self.host_vars.get(host, {}),
            }
        path = self.tmp / "inventory.json"
        path.write_text(json.dumps(inv))
        return str(path)

    def play(self, playbook: str, extra: dict, hosts=None, timeout=240) -> Run:
        extra = dict(extra)
        extra.setdefault("kubebin_download_cache_dir", self.cache)
        for key, value in VERSIONS.items():
            extra.setdefault("kubebin_%s_version" % key, value)
        env = dict(os.environ)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=os.environ["ANSIBLE_COLLECTIONS_PATH"],  # set by tests/conftest.py
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_STDOUT_CALLBACK="default",
            ANSIBLE_LOCAL_TEMP=str(self.tmp / "ansible-local"),
            ANSIBLE_HOME=str(self.tmp / "ansible-home"),
            ANSIBLE_PIPELINING="1",
        )
        proc = subprocess.run(
            [_tool("ansible-playbook"), "-i", self.inventory(hosts), playbook, "-e", json.dumps(extra)],
            capture_output=True, text=True, env=env, timeout=timeout, check=False)
        return Run(proc)


DEPLOY = os.path.join(HERE, "deploy.yml")
BUNDLE_PLAYBOOK = os.path.join(REPO, "playbooks", "bundle.yml")
