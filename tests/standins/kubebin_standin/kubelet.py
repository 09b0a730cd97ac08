# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kubelet stand-in: checks, TLS bootstrapping (client and serving certificates through the CSR
API), registers its Node once, serves 10250/10248; it runs no pods and rotates nothing."""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import ipaddress
import json
import os
import platform
import socket
import ssl
import threading
import time

from . import common, componentconfig, csr, files, kubeconfig, log, tlsutil
from .log import StandinError

CGROUP_ROOT_ENV = "KUBEBIN_STANDIN_CGROUP_ROOT"
DEFAULT_ROOT_DIR = "/var/lib/kubelet"
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING_SIGNER = "kubernetes.io/kubelet-serving"
# The kubelet makes ECDSA P-256 keys: no key encipherment in its usages.
CLIENT_USAGES = ["digital signature", "client auth"]
SERVING_USAGES = ["digital signature", "server auth"]
# How long the serving-certificate manager waits for one request before it makes a new one (upstream: 15 min).
SERVING_WAIT_SECONDS = 900
POLL_SECONDS = 1.0

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


# --- certificates through the CSR API ----------------------------------------------------

class CsrRefused(Exception):
    """The request got a Denied or Failed condition."""


def cert_dir(flags) -> str:
    return flags.get("--cert-dir") or os.path.join(flags.get("--root-dir") or DEFAULT_ROOT_DIR, "pki")


def _write_private(path: str, data: bytes) -> None:
    tmp = path + ".tmp-write"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def store_pair(directory: str, prefix: str, cert_pem: bytes, key_pem: bytes) -> str:
    """Like the kubelet's certificate store: <prefix>-<time>.pem with the certificate then the key
    (0600), and <prefix>-current.pem, a symlink to it, replaced atomically. Returns the link."""
    os.makedirs(directory, mode=0o755, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H-%M-%S")
    path = os.path.join(directory, "%s-%s.pem" % (prefix, stamp))
    _write_private(path, cert_pem.rstrip(b"\n") + b"\n" + key_pem)
    current = os.path.join(directory, prefix + "-current.pem")
    updated = os.path.join(directory, prefix + "-updated.pem")
    if os.path.lexists(updated):
        os.unlink(updated)
    os.symlink(path, updated)
    os.replace(updated, current)
    files.check_pair(current, prefix + "-current.pem certificate", current, prefix + "-current.pem key")
    return current


def _csr_object(request: bytes, signer: str, usages: list, name: str = "") -> dict:
    meta = {"name": name} if name else {"generateName": "csr-"}
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": meta,
            "spec": {"request": base64.b64encode(request).decode(), "signerName": signer, "usages": usages}}


def _json(body: bytes) -> dict:
    try:
        return json.loads(body)
    except ValueError:
        return {"message": body[:300].decode("utf-8", "replace")}


def wait_issued(kubecfg, name: str, timeout: float) -> bytes:
    """Poll the CSR until the signer wrote its certificate; CsrRefused on Denied/Failed."""
    deadline = time.monotonic() + timeout
    last = "not yet approved"
    while time.monotonic() < deadline:
        try:
            code, body = tlsutil.request_json(kubecfg, "GET", "%s/%s" % (CSR_PATH, name))
        except (OSError, http.client.HTTPException) as exc:
            code, body = 0, str(exc).encode()
        if code == 200:
            obj = _json(body)
            for cond in (obj.get("status") or {}).get("conditions") or []:
                if cond.get("type") in ("Denied", "Failed") and cond.get("status", "True") == "True":
                    raise CsrRefused("certificate signing request %s is %s, reason: %s, message: %s"
                                     % (name, cond["type"].lower(), cond.get("reason"), cond.get("message")))
            certificate = (obj.get("status") or {}).get("certificate")
            if certificate:
                return base64.b64decode(certificate)
            approved = any(c.get("type") == "Approved" for c in (obj.get("status") or {}).get("conditions") or [])
            last = "approved, waiting for the signer" if approved else "not yet approved"
        else:
            last = "HTTP %d %s" % (code, _json(body).get("message", ""))
        time.sleep(POLL_SECONDS)
    raise StandinError("certificate signing request %s got no certificate within %.0f s (%s)" % (name, timeout, last))


def _digested_name(public_key: bytes, cn: str, orgs: list, usages: list) -> str:
    """node-csr-<hash of key, subject and usages> (client-go's digestedName): the same key asks again
    under the same name, so a restarted kubelet finds its earlier request."""
    digest = hashlib.sha512(public_key + ("\0".join([cn] + orgs + ["|"] + usages)).encode()).digest()[:32]
    return "node-csr-" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def bootstrap_client(bootstrap_path: str, kubeconfig_path: str, directory: str, name: str) -> None:
    """--bootstrap-kubeconfig: request a client certificate as the bootstrap token user, store it,
    write --kubeconfig pointing at it (client-go util/certificate/bootstrap LoadClientCert)."""
    if not os.path.exists(bootstrap_path):
        raise StandinError("unable to load bootstrap kubeconfig: stat %s: no such file or directory" % bootstrap_path)
    boot = kubeconfig.load_bootstrap(bootstrap_path, "--bootstrap-kubeconfig")
    tlsutil.wait_healthz(boot, "kubelet bootstrap")
    os.makedirs(directory, mode=0o755, exist_ok=True)
    key_path = os.path.join(directory, "kubelet-client.key.tmp")
    key = files.read(key_path, "kubelet-client.key.tmp") if os.path.exists(key_path) else b""
    if b"PRIVATE KEY" not in key:
        key = csr.new_ec_key()
        _write_private(key_path, key)
    cn, orgs = "system:node:" + name, ["system:nodes"]
    request = csr.make_csr(key, cn, orgs)
    public_key = csr.parse(request)["public_key"]
    csr_name = _digested_name(public_key, cn, orgs, CLIENT_USAGES)
    code, body = tlsutil.request_json(boot, "POST", CSR_PATH, _csr_object(request, CLIENT_SIGNER, CLIENT_USAGES, csr_name))
    if code == 409:
        code, body = tlsutil.request_json(boot, "GET", "%s/%s" % (CSR_PATH, csr_name))
        existing = _json(body)
        try:
            same = code == 200 and csr.parse(base64.b64decode(existing["spec"]["request"]))["public_key"] == public_key
        except (csr.CsrError, KeyError, ValueError):
            same = False
        if not same:
            raise StandinError("certificate signing request %s exists but is not ours (HTTP %d)" % (csr_name, code))
        log.info("certificate signing request %s exists already (same key): waiting for it" % csr_name)
    elif code != 201:
        raise StandinError("posting the client certificate signing request as %s failed: HTTP %d %s"
                           % (boot.who(), code, _json(body).get("message", "")))
    else:
        spec = _json(body).get("spec") or {}
        log.ok("posted CSR %s (%s, CN=%s O=system:nodes); the apiserver recorded the requester %s %s"
               % (csr_name, CLIENT_SIGNER, cn, spec.get("username"), spec.get("groups")))
    limit = float(os.environ.get(tlsutil.CONNECT_TIMEOUT_ENV) or 120)
    try:
        certificate = wait_issued(boot, csr_name, limit)
    except CsrRefused as exc:
        raise StandinError(str(exc)) from None
    current = store_pair(directory, "kubelet-client", certificate, key)
    os.unlink(key_path)
    log.ok("client certificate issued for CSR %s, stored in %s" % (csr_name, current))
    kubeconfig.write_client(kubeconfig_path, boot.server, boot.ca_pem, current)


def _needs_bootstrap(kubeconfig_path: str, bootstrap_path: str | None) -> bool:
    """The kubeconfig is missing, or (with a bootstrap kubeconfig) its certificate is gone or expired."""
    if not os.path.exists(kubeconfig_path):
        if not bootstrap_path:
            raise StandinError("--kubeconfig %s does not exist and no --bootstrap-kubeconfig is given: invalid kubeconfig" % kubeconfig_path)
        log.info("--kubeconfig %s does not exist: bootstrapping a client certificate with %s" % (kubeconfig_path, bootstrap_path))
        return True
    if bootstrap_path:
        try:
            kubeconfig.load(kubeconfig_path, "--kubeconfig")
        except StandinError as exc:
            if "expired" in str(exc) or "No such file" in str(exc):
                log.warn("%s; bootstrapping a new client certificate with %s" % (exc, bootstrap_path))
                return True
            raise
    return False


class ServingCertificate:
    """serverTLSBootstrap: the kubelet asks for its serving certificate as its node; until one is
    issued, TLS handshakes on 10250 fail (no certificate to offer), as upstream."""

    def __init__(self, kubecfg, name: str, ips: list, directory: str, client_ca: str | None) -> None:
        self.kubecfg = kubecfg
        self.name = name
        self.ips = ips
        self.directory = directory
        self.client_ca = client_ca
        self.current = os.path.join(directory, "kubelet-server-current.pem")

    def existing_context(self):
        if not os.path.lexists(self.current):
            return None
        try:
            files.check_pair(self.current, "kubelet-server-current.pem", self.current, "kubelet-server-current.pem")
        except StandinError as exc:
            log.warn("%s; requesting a new serving certificate" % exc)
            return None
        return tlsutil.server_context(self.current, self.current, self.client_ca)

    @staticmethod
    def no_certificate_context() -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def request_in_background(self, server) -> None:
        threading.Thread(target=self._loop, args=(server,), name="serving certificate", daemon=True).start()

    def _loop(self, server) -> None:
        while True:
            try:
                server.tls = tlsutil.server_context(self._request(), self.current, self.client_ca)
                log.ok("kubelet API now serves %s" % self.current)
                return
            except Exception as exc:  # pylint: disable=broad-except
                log.warn("serving certificate: %s: %s; asking again in 10 s" % (type(exc).__name__, exc))
                time.sleep(10)

    def _request(self) -> str:
        key = csr.new_ec_key()
        request = csr.make_csr(key, "system:node:" + self.name, ["system:nodes"], dns=[self.name], ips=self.ips)
        code, body = tlsutil.request_json(self.kubecfg, "POST", CSR_PATH, _csr_object(request, SERVING_SIGNER, SERVING_USAGES))
        if code != 201:
            raise StandinError("posting the serving certificate signing request failed: HTTP %d %s" % (code, _json(body).get("message", "")))
        csr_name = _json(body)["metadata"]["name"]
        log.ok("posted CSR %s (%s, DNS:%s IP:%s); nothing upstream approves it: waiting for an approver"
               % (csr_name, SERVING_SIGNER, self.name, ",".join(self.ips) or "-"))
        certificate = wait_issued(self.kubecfg, csr_name, SERVING_WAIT_SECONDS)
        current = store_pair(self.directory, "kubelet-server", certificate, key)
        log.ok("serving certificate issued for CSR %s, stored in %s" % (csr_name, current))
        return current


def _node_ips(flags) -> list:
    ips = []
    for value in flags.get_list("--node-ip"):
        try:
            ips.append(str(ipaddress.ip_address(value)))
        except ValueError:
            raise StandinError("--node-ip %r: failed to parse node IP" % value) from None
    return ips


def _serving_settings(config: dict):
    """(serverTLSBootstrap, serving pair or None) after the consistency checks."""
    server_bootstrap = bool(config.get("serverTLSBootstrap"))
    gates = config.get("featureGates") or {}
    if server_bootstrap and gates.get("RotateKubeletServerCertificate") is False:
        raise StandinError("invalid configuration: serverTLSBootstrap true requires feature gate RotateKubeletServerCertificate")
    serving = None
    if config.get("tlsCertFile") or config.get("tlsPrivateKeyFile"):
        if server_bootstrap:
            raise StandinError("serverTLSBootstrap is true and tlsCertFile/tlsPrivateKeyFile are set: the kubelet would request its "
                               "serving certificate and ignore the files (stricter than upstream: one of them is a mistake)")
        if not (config.get("tlsCertFile") and config.get("tlsPrivateKeyFile")):
            raise StandinError("tlsCertFile and tlsPrivateKeyFile must be given together")
        files.check_pair(config["tlsCertFile"], "tlsCertFile", config["tlsPrivateKeyFile"], "tlsPrivateKeyFile")
        serving = (config["tlsCertFile"], config["tlsPrivateKeyFile"])
    if config.get("rotateCertificates"):
        log.info("rotateCertificates: true (the stand-in requests certificates but never renews them)")
    return server_bootstrap, serving


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
    server_bootstrap, serving = _serving_settings(config)
    node_ips = _node_ips(flags)
    for ip in config.get("clusterDNS") or []:
        common.cidrs("%s/%s" % (ip, 128 if ":" in ip else 32), "clusterDNS")
    labels = node_labels(flags)
    name = (flags.get("--hostname-override") or socket.gethostname()).strip().lower()
    _cri_check(config.get("containerRuntimeEndpoint") or "unix:///run/containerd/containerd.sock")
    kubeconfig_path = flags.get("--kubeconfig")
    if not kubeconfig_path:
        raise StandinError("--kubeconfig is required: the collection runs every kubelet against the API (no standalone mode)")
    bootstrap_path = flags.get("--bootstrap-kubeconfig")
    directory = cert_dir(flags)
    if _needs_bootstrap(kubeconfig_path, bootstrap_path):
        bootstrap_client(bootstrap_path, kubeconfig_path, directory, name)
    elif bootstrap_path:
        log.info("--kubeconfig %s is valid: --bootstrap-kubeconfig is not used" % kubeconfig_path)
    kubecfg = common.connect(kubeconfig_path, "--kubeconfig", "kubelet")
    cn, orgs = kubecfg.identity
    if cn != "system:node:" + name or "system:nodes" not in orgs:
        raise StandinError("kubelet client certificate is CN=%s O=%s but the node name is %r: the Node authorizer needs "
                           "CN=system:node:%s O=system:nodes" % (cn, ",".join(orgs), name, name))
    log.ok("client certificate identity matches node name %s" % name)
    if config.get("registerNode", True):
        _register(kubecfg, name, labels, config.get("registerWithTaints") or [])
    address, port = config.get("address") or "0.0.0.0", int(config.get("port") or 10250)
    if server_bootstrap:
        certificate = ServingCertificate(kubecfg, name, node_ips, directory, client_ca)
        context = certificate.existing_context()
        if context is not None:
            log.ok("serving certificate %s is valid: kept" % certificate.current)
            tlsutil.serve(address, port, _kubelet_api, context, "kubelet API")
        else:
            server = tlsutil.serve(address, port, _kubelet_api, certificate.no_certificate_context(), "kubelet API (no serving certificate yet)")
            certificate.request_in_background(server)
    else:
        if serving is None:
            serving = tlsutil.self_signed([name, "localhost", "127.0.0.1"], "kubelet")
        context = tlsutil.server_context(serving[0], serving[1], client_ca)
        tlsutil.serve(address, port, _kubelet_api, context, "kubelet API")
    healthz_port = int(config.get("healthzPort", 10248))
    if healthz_port:
        tlsutil.serve(config.get("healthzBindAddress") or "127.0.0.1", healthz_port, tlsutil.health_app(("/healthz",)), None, "kubelet healthz")
