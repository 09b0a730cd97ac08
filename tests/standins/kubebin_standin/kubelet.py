# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kubelet stand-in: checks, registers its Node once, serves 10250/10248; it runs no pods."""

from __future__ import annotations

import json
import os
import platform
import socket
import time

from . import common, componentconfig, files, log, tlsutil
from .log import StandinError

CGROUP_ROOT_ENV = "KUBEBIN_STANDIN_CGROUP_ROOT"

# --node-labels may only set these kubernetes.io / k8s.io labels (kubelet's allowed list).
_ALLOWED_LABELS = {
    "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os", "beta.kubernetes.io/arch", "beta.kubernetes.io/os",
    "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type", "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "topology.kubernetes.io/region", "topology.kubernetes.io/zone",
}
_ALLOWED_PREFIXES = ("kubelet.kubernetes.io/", "node.kubernetes.io/")
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def _restricted(key: str) -> bool:
    namespace = key.split("/", 1)[0] if "/" in key else ""
    if not (namespace == "kubernetes.io" or namespace.endswith(".kubernetes.io") or namespace == "k8s.io" or namespace.endswith(".k8s.io")):
        return False
    return key not in _ALLOWED_LABELS and not key.startswith(_ALLOWED_PREFIXES)


def node_labels(flags) -> dict:
    labels = {}
    for item in flags.get_list("--node-labels"):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise StandinError("--node-labels: %r is not key=value" % item)
        labels[key] = value
    bad = sorted(key for key in labels if _restricted(key))
    if bad:
        raise StandinError("unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: %s "
                           "(the kubelet may not set them; label the Node through the API instead)" % bad)
    return labels


def _cgroup_v1_check(config: dict) -> None:
    root = os.environ.get(CGROUP_ROOT_ENV) or "/sys/fs/cgroup"
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        log.ok("cgroup v2 (unified) at %s" % root)
        return
    if config.get("failCgroupV1") is False:
        log.warn("cgroup v1 host (no %s/cgroup.controllers); allowed because failCgroupV1: false" % root)
        return
    raise StandinError("kubelet is configured to not run on a host using cgroup v1 (no %s/cgroup.controllers); "
                       "set failCgroupV1: false in the KubeletConfiguration to allow it" % root)


def _cri_check(endpoint: str) -> None:
    """Real kubelets exit when the CRI endpoint does not answer; we require the socket to accept."""
    if not endpoint.startswith("unix://"):
        raise StandinError("containerRuntimeEndpoint %r: only unix:// endpoints exist on Linux" % endpoint)
    path = endpoint[len("unix://"):]
    limit = float(os.environ.get(tlsutil.CONNECT_TIMEOUT_ENV) or 120)
    deadline = time.monotonic() + limit
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(5)
                sock.connect(path)
            log.ok("container runtime endpoint %s accepts connections" % endpoint)
            return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise StandinError("container runtime endpoint %s: %s (after %.0f s)" % (endpoint, exc.strerror or exc, limit)) from None
            log.info("waiting for container runtime endpoint %s: %s" % (endpoint, exc.strerror or exc))
            time.sleep(2)


def _register(kubecfg, name: str, labels: dict, taints: list) -> None:
    arch = _ARCH.get(platform.machine(), platform.machine())
    all_labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": arch,
                  "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": arch}
    all_labels.update(labels)
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": all_labels}, "spec": {}}
    if taints:
        node["spec"]["taints"] = taints
    status, body = tlsutil.request_json(kubecfg, "POST", "/api/v1/nodes", node)
    if status == 201:
        log.ok("registered Node %s with labels %s" % (name, json.dumps(all_labels, sort_keys=True)))
    elif status == 409:
        log.ok("Node %s already registered" % name)
    else:
        raise StandinError("registering Node %s failed: HTTP %d %s" % (name, status, body[:300].decode("utf-8", "replace")))


def _kubelet_api(handler, method):
    """Port 10250: only clients with a certificate from clientCAFile get an answer."""
    if handler.peer_identity() is None:
        return 401, b"Unauthorized\n", "text/plain; charset=utf-8"
    if method in ("GET", "HEAD") and handler.path.split("?", 1)[0] == "/healthz":
        return 200, b"ok", "text/plain; charset=utf-8"
    return 404, b"404 page not found\n", "text/plain; charset=utf-8"


def start(flags, _version: str) -> None:
    if not flags.get("--config"):
        raise StandinError("--config is required: the collection configures the kubelet with a KubeletConfiguration file")
    config = componentconfig.load_component_config(flags.get("--config"), "--config", "KubeletConfiguration")
    _cgroup_v1_check(config)
    if config.get("cgroupDriver", "cgroupfs") not in ("cgroupfs", "systemd"):
        raise StandinError("cgroupDriver %r is not cgroupfs or systemd" % config.get("cgroupDriver"))
    authn = config.get("authentication") or {}
    client_ca_path = (authn.get("x509") or {}).get("clientCAFile")
    client_ca = None
    if client_ca_path:
        files.check_ca_bundle(client_ca_path, "authentication.x509.clientCAFile")
        client_ca = files.read(client_ca_path, "clientCAFile").decode("ascii")
    if (authn.get("anonymous") or {}).get("enabled", True):
        log.warn("authentication.anonymous.enabled is not false: anonymous requests reach the kubelet API")
    serving = None
    if config.get("tlsCertFile") or config.get("tlsPrivateKeyFile"):
        if not (config.get("tlsCertFile") and config.get("tlsPrivateKeyFile")):
            raise StandinError("tlsCertFile and tlsPrivateKeyFile must be given together")
        files.check_pair(config["tlsCertFile"], "tlsCertFile", config["tlsPrivateKeyFile"], "tlsPrivateKeyFile")
        serving = (config["tlsCertFile"], config["tlsPrivateKeyFile"])
    for ip in config.get("clusterDNS") or []:
        common.cidrs("%s/%s" % (ip, 128 if ":" in ip else 32), "clusterDNS")
    labels = node_labels(flags)
    name = (flags.get("--hostname-override") or socket.gethostname()).strip().lower()
    _cri_check(config.get("containerRuntimeEndpoint") or "unix:///run/containerd/containerd.sock")
    kubeconfig_path = flags.get("--kubeconfig")
    if not kubeconfig_path or not os.path.exists(kubeconfig_path):
        raise StandinError("--kubeconfig %s does not exist; this stand-in does not do TLS bootstrapping" % kubeconfig_path)
    kubecfg = common.connect(kubeconfig_path, "--kubeconfig", "kubelet")
    cn, orgs = kubecfg.identity
    if cn != "system:node:" + name or "system:nodes" not in orgs:
        raise StandinError("kubelet client certificate is CN=%s O=%s but the node name is %r: the Node authorizer needs "
                           "CN=system:node:%s O=system:nodes" % (cn, ",".join(orgs), name, name))
    log.ok("client certificate identity matches node name %s" % name)
    if config.get("registerNode", True):
        _register(kubecfg, name, labels, config.get("registerWithTaints") or [])
    if serving is None:
        serving = tlsutil.self_signed([name, "localhost", "127.0.0.1"], "kubelet")
    context = tlsutil.server_context(serving[0], serving[1], client_ca)
    tlsutil.serve(config.get("address") or "0.0.0.0", int(config.get("port") or 10250), _kubelet_api, context, "kubelet API")
    healthz_port = int(config.get("healthzPort", 10248))
    if healthz_port:
        tlsutil.serve(config.get("healthzBindAddress") or "127.0.0.1", healthz_port, tlsutil.health_app(("/healthz",)), None, "kubelet healthz")
