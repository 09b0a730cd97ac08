# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubeconfig files: structure, server URL, CA, client certificate and key (embedded or paths)."""

from __future__ import annotations

import base64
import binascii
import os
import re
import ssl
import urllib.parse

import yaml

from . import files, log
from .log import StandinError


class Kubeconfig:
    """What a component takes from its kubeconfig to reach the apiserver."""

    def __init__(self, path: str, server: str, ca_pem: str, cert_path: str | None, key_path: str | None, identity: tuple,
                 token: str | None = None) -> None:
        self.path = path
        self.token = token
        self.server = server
        url = urllib.parse.urlsplit(server)
        self.host = url.hostname
        self.port = url.port or 443
        self.ca_pem = ca_pem
        self.cert_path = cert_path
        self.key_path = key_path
        self.identity = identity

    def ssl_context(self) -> ssl.SSLContext:
        """Verify the server against the kubeconfig CA and host name; present the client certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cadata=self.ca_pem)
        if self.cert_path:
            context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def headers(self) -> dict:
        return {"Authorization": "Bearer " + self.token} if self.token else {}

    def who(self) -> str:
        return "bootstrap token %s" % self.token.split(".")[0] if self.token else "client certificate CN=%s" % self.identity[0]


def _named(items, name: str, what: str, path: str) -> dict:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            body = item.get(what)
            if not isinstance(body, dict):
                raise StandinError("kubeconfig %s: %s %r has no %s section" % (path, what, name, what))
            return body
    raise StandinError("kubeconfig %s: %s %r not found" % (path, what, name))


def _material(section: dict, key: str, path: str, scratch_name: str) -> tuple:
    """(file path, bytes) of `key` or `key-data` (base64), relative paths against the kubeconfig dir."""
    data_key = key + "-data"
    if section.get(data_key):
        try:
            data = base64.b64decode(section[data_key], validate=True)
        except (binascii.Error, ValueError):
            raise StandinError("kubeconfig %s: %s is not valid base64" % (path, data_key)) from None
        return files.scratch().write(scratch_name, data), data, True
    if section.get(key):
        ref = section[key]
        if not os.path.isabs(ref):
            ref = os.path.join(os.path.dirname(os.path.abspath(path)), ref)
        return ref, files.read(ref, "kubeconfig %s: %s" % (path, key)), False
    raise StandinError("kubeconfig %s: neither %s nor %s is set" % (path, key, data_key))


def _cluster(path: str, flag: str) -> tuple:
    """(document, context, server URL, CA PEM bytes) of a kubeconfig."""
    doc = files.load_yaml(path, flag)
    if not isinstance(doc, dict) or doc.get("kind") != "Config" or doc.get("apiVersion") != "v1":
        raise StandinError("%s: %s is not a kubeconfig (want apiVersion v1, kind Config)" % (flag, path))
    current = doc.get("current-context")
    if not current:
        raise StandinError("%s: %s has no current-context" % (flag, path))
    context = _named(doc.get("contexts"), current, "context", path)
    cluster = _named(doc.get("clusters"), context.get("cluster", ""), "cluster", path)
    server = cluster.get("server", "")
    url = urllib.parse.urlsplit(server)
    if url.scheme != "https" or not url.hostname:
        raise StandinError("%s: %s: cluster server %r is not an https:// URL" % (flag, path, server))
    if cluster.get("insecure-skip-tls-verify"):
        raise StandinError("%s: %s: insecure-skip-tls-verify is set; the server certificate must be verified" % (flag, path))
    _ca_path, ca_data, _embedded = _material(cluster, "certificate-authority", path, "ca.crt")
    files.check_ca_data(ca_data.decode("ascii", "replace"), "%s %s certificate-authority" % (flag, path))
    return doc, context, server, ca_data


_TOKEN_RE = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")


def load_bootstrap(path: str, flag: str) -> Kubeconfig:
    """A bootstrap kubeconfig: server and CA like any kubeconfig, a user with a bootstrap token
    (`<id>.<secret>`) and no client certificate. It holds a credential: not world-readable."""
    doc, context, server, ca_data = _cluster(path, flag)
    files.check_private(path, flag)
    user = _named(doc.get("users"), context.get("user", ""), "user", path)
    token = user.get("token")
    if user.get("tokenFile") and not token:
        token = files.read(user["tokenFile"], "%s tokenFile" % flag).decode("utf-8", "replace").strip()
    if not token:
        raise StandinError("%s: %s: user %r has no token; a bootstrap kubeconfig authenticates with a bootstrap token"
                           % (flag, path, context.get("user")))
    if not _TOKEN_RE.match(token):
        raise StandinError("%s: %s: the token is not a bootstrap token <6 chars [a-z0-9]>.<16 chars [a-z0-9]>" % (flag, path))
    if user.get("client-certificate") or user.get("client-certificate-data"):
        raise StandinError("%s: %s: a bootstrap kubeconfig with a client certificate is not what the collection writes" % (flag, path))
    log.ok("%s %s: bootstrap kubeconfig for %s with token %s.<secret>" % (flag, path, server, token.split(".")[0]))
    return Kubeconfig(path, server, ca_data.decode("ascii"), None, None, ("system:bootstrap:" + token.split(".")[0], ["system:bootstrappers"]),
                      token)


def write_client(path: str, server: str, ca_pem: str, cert_key_path: str) -> None:
    """The kubeconfig the kubelet writes after bootstrapping: its cert/key file from the cert dir
    (client-go bootstrap writeKubeconfigFromBootstrapping)."""
    doc = {"apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": "default-context",
           "clusters": [{"name": "default-cluster", "cluster": {"server": server,
                                                                "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode()}}],
           "contexts": [{"name": "default-context", "context": {"cluster": "default-cluster", "namespace": "default", "user": "default-auth"}}],
           "users": [{"name": "default-auth", "user": {"client-certificate": cert_key_path, "client-key": cert_key_path}}]}
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(doc, handle, default_flow_style=False)
    os.replace(tmp, path)
    log.ok("wrote %s (client certificate and key: %s)" % (path, cert_key_path))


def load(path: str, flag: str) -> Kubeconfig:
    """Check a kubeconfig the way client-go would load it, plus our contract (client certificate auth)."""
    doc, context, server, ca_data = _cluster(path, flag)
    user = _named(doc.get("users"), context.get("user", ""), "user", path)
    if user.get("token") or user.get("tokenFile") or user.get("exec") or user.get("auth-provider"):
        if not (user.get("client-certificate") or user.get("client-certificate-data")):
            raise StandinError("%s: %s: user %r has no client certificate; components authenticate with client certificates "
                               "(what the collection issues; only the kubelet's --bootstrap-kubeconfig has a token)" % (flag, path, context.get("user")))
    cert_path, _cert, _c = _material(user, "client-certificate", path, "client.crt")
    key_path, _key, key_embedded = _material(user, "client-key", path, "client.key")
    if key_embedded:
        files.check_private(path, flag)
    cert = files.check_pair(cert_path, "%s client-certificate" % flag, key_path, "%s client-key" % flag)
    identity = files.subject_cn_o(cert)
    log.ok("%s %s: kubeconfig for %s as CN=%s O=%s" % (flag, path, server, identity[0], ",".join(identity[1])))
    return Kubeconfig(path, server, ca_data.decode("ascii"), cert_path, key_path, identity)
