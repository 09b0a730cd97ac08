# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kube-apiserver stand-in: file checks, etcd over mutual TLS, HTTPS with client certificates."""

from __future__ import annotations

import base64
import binascii
import datetime
import hmac
import ipaddress
import json
import os
import re
import shutil
import subprocess
import threading
import time

from . import api, common, componentconfig, etcd, files, log, rbac, store, tlsutil
from .log import StandinError

LOG_DIR_ENV = "KUBEBIN_STANDIN_LOG_DIR"
DEFAULT_LOG_DIR = "/var/log/kubebin-standin"
_AUTHZ_MODES = ("AlwaysAllow", "AlwaysDeny", "ABAC", "Webhook", "RBAC", "Node")
# Paths the default RBAC role system:public-info-viewer opens to anonymous users.
_PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")
# Bootstrap tokens (k8s.io/cluster-bootstrap): "<id>.<secret>", extra groups system:bootstrappers:*.
_BOOTSTRAP_TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
_BOOTSTRAP_GROUP_RE = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")
# What the default discovery and public-info roles open to every authenticated user.
_DISCOVERY_PATHS = ("/api", "/apis", "/openapi", "/version")
_EXISTING_FILE_FLAGS = ("--token-auth-file", "--authentication-config", "--authorization-config", "--egress-selector-config-file",
                        "--tracing-config-file", "--authentication-token-webhook-config-file", "--authorization-webhook-config-file",
                        "--authorization-policy-file", "--audit-webhook-config-file")


def _public_key(path: str, pubin: bool) -> bytes | None:
    openssl = shutil.which("openssl")
    if not openssl:
        return None
    command = [openssl, "pkey", "-pubout", "-outform", "DER", "-in", path] + (["-pubin"] if pubin else [])
    result = subprocess.run(command, capture_output=True, check=False, timeout=30)
    if result.returncode != 0 and pubin:
        command = [openssl, "x509", "-pubkey", "-noout", "-in", path]
        result = subprocess.run(command, capture_output=True, check=False, timeout=30)
        if result.returncode == 0:
            return _public_key_from_pem(result.stdout)
    return result.stdout if result.returncode == 0 else b""


def _public_key_from_pem(pem: bytes) -> bytes:
    result = subprocess.run([shutil.which("openssl"), "pkey", "-pubin", "-pubout", "-outform", "DER"], input=pem,
                            capture_output=True, check=False, timeout=30)
    return result.stdout if result.returncode == 0 else b""


def _service_accounts(flags) -> None:
    if not flags.get("--service-account-issuer"):
        raise StandinError("--service-account-issuer is required (upstream: service-account-issuer is a required flag)")
    signing = flags.get("--service-account-signing-key-file")
    if not signing:
        raise StandinError("--service-account-signing-key-file is required (upstream: required with --service-account-issuer)")
    files.check_key(signing, "--service-account-signing-key-file")
    verify_files = flags.get_list("--service-account-key-file")
    for path in verify_files:
        blocks = files.pem_blocks(files.read(path, "--service-account-key-file"))
        if any(kind in (b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY") for kind, _der in blocks):
            files.check_private(path, "--service-account-key-file")
    signing_pub = _public_key(signing, pubin=False)
    if signing_pub is None:
        log.warn("no openssl binary: cannot compare the service account signing key with --service-account-key-file")
        return
    if not signing_pub:
        raise StandinError("--service-account-signing-key-file %s: not a private key openssl can read" % signing)
    verify_keys = [_public_key(path, pubin=True) for path in verify_files] or [signing_pub]
    if signing_pub not in verify_keys:
        raise StandinError("--service-account-key-file %s does not contain the public key of --service-account-signing-key-file %s: "
                           "tokens the apiserver signs would not verify" % (",".join(verify_files), signing))
    log.ok("service account signing key matches --service-account-key-file")


def _check_files(flags) -> dict:
    """Every file flag; returns what serving needs."""
    serving = common.pair(flags, "--tls-cert-file", "--tls-private-key-file", required=True)
    for value in flags.get_list("--tls-sni-cert-key"):
        cert, _sep, key = value.partition(":")[0].partition(",")
        files.check_pair(cert, "--tls-sni-cert-key", key, "--tls-sni-cert-key")
    cas = common.ca_flags(flags, ("--client-ca-file", "--requestheader-client-ca-file", "--kubelet-certificate-authority",
                                  "--etcd-cafile", "--oidc-ca-file"))
    if "--client-ca-file" not in cas:
        raise StandinError("--client-ca-file is required: components authenticate with client certificates")
    if "--etcd-cafile" not in cas:
        raise StandinError("--etcd-cafile is required: etcd is reached over https with a verified server certificate")
    etcd_client = common.pair(flags, "--etcd-certfile", "--etcd-keyfile", required=True)
    common.pair(flags, "--proxy-client-cert-file", "--proxy-client-key-file")
    common.pair(flags, "--kubelet-client-certificate", "--kubelet-client-key")
    _service_accounts(flags)
    if flags.get("--encryption-provider-config"):
        componentconfig.check_encryption_config(flags.get("--encryption-provider-config"), "--encryption-provider-config")
    if flags.get("--audit-policy-file"):
        componentconfig.check_audit_policy(flags.get("--audit-policy-file"), "--audit-policy-file")
    if flags.get("--admission-control-config-file"):
        componentconfig.check_admission_config(flags.get("--admission-control-config-file"), "--admission-control-config-file")
    for name in _EXISTING_FILE_FLAGS:
        if flags.get(name):
            files.check_exists(flags.get(name), name)
    return {"serving": serving, "client_ca": cas["--client-ca-file"], "etcd_ca": cas["--etcd-cafile"], "etcd_client": etcd_client}


def _check_settings(flags) -> tuple:
    modes = flags.get_list("--authorization-mode")
    unknown = [mode for mode in modes if mode not in _AUTHZ_MODES]
    if unknown:
        raise StandinError("--authorization-mode: unknown mode(s) %s (known: %s)" % (", ".join(unknown), ", ".join(_AUTHZ_MODES)))
    if modes:
        log.ok("--authorization-mode %s (the stand-in authorizes bootstrap-token users only)" % ",".join(modes))
    if "AlwaysAllow" in modes:
        log.warn("--authorization-mode contains AlwaysAllow")
    if flags.get("--advertise-address"):
        try:
            ipaddress.ip_address(flags.get("--advertise-address"))
        except ValueError:
            raise StandinError("--advertise-address %r is not an IP address" % flags.get("--advertise-address")) from None
    nets = common.cidrs(flags.get("--service-cluster-ip-range", "10.0.0.0/24"), "--service-cluster-ip-range")
    for net in nets:
        if net.version == 4 and net.prefixlen < 12:
            raise StandinError("--service-cluster-ip-range %s is too large; for 32-bit addresses, the mask must be >= 12" % net)
    return nets, modes


def _reach_etcd(flags, checked) -> etcd.Etcd:
    servers = flags.get_list("--etcd-servers")
    if not servers:
        raise StandinError("--etcd-servers must be specified")
    client = etcd.Etcd(servers, checked["etcd_ca"], checked["etcd_client"][0], checked["etcd_client"][1])
    limit = float(os.environ.get(tlsutil.CONNECT_TIMEOUT_ENV) or 120)
    deadline = time.monotonic() + limit
    key = b"/kubebin-standin/health/" + os.uname().nodename.encode()
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat().encode()
    while True:
        try:
            client.put(key, stamp)
            value, _rev = client.get(key)
            if value != stamp:
                raise StandinError("etcd %s: read back %r after writing %r" % (",".join(servers), value, stamp))
            log.ok("etcd %s: wrote and read back %s over mutual TLS" % (",".join(servers), key.decode()))
            return client
        except ConnectionError as exc:
            if time.monotonic() >= deadline:
                raise StandinError("etcd %s not reachable within %.0f s: %s" % (",".join(servers), limit, exc)) from None
            log.info("waiting for etcd: %s" % exc)
            time.sleep(2)


class _IdentityLog:
    def __init__(self, directory: str) -> None:
        os.makedirs(directory, mode=0o755, exist_ok=True)
        self.path = os.path.join(directory, "apiserver-identities.log")
        self.lock = threading.Lock()

    def write(self, cn: str, orgs: list, method: str, path: str, auth: str = "x509") -> None:
        entry = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(), "cn": cn, "o": orgs, "method": method, "path": path}
        if auth != "x509":
            entry["auth"] = auth
        with self.lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def _secret_data(secret: dict) -> dict:
    """String values of a Secret: `data` (base64) with `stringData` on top, however it was stored."""
    values = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            values[key] = base64.b64decode(value or "", validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            values[key] = ""
    values.update({key: str(value) for key, value in (secret.get("stringData") or {}).items()})
    return values


class BootstrapTokens:
    """--enable-bootstrap-token-auth: the bootstrap token authenticator
    (plugin/pkg/auth/authenticator/token/bootstrap), reading the stand-in's own Secrets."""

    def __init__(self, rest: api.Api) -> None:
        self.rest = rest

    def authenticate(self, token: str) -> dict | None:
        match = _BOOTSTRAP_TOKEN_RE.match(token)
        if not match:
            log.info("bearer token refused: not a bootstrap token (the stand-in has no other token authenticator)")
            return None
        token_id, token_secret = match.groups()

        def refuse(reason: str) -> None:
            log.info("bootstrap token %s refused: %s" % (token_id, reason))

        secret = self.rest.store.get("", "secrets", "kube-system", "bootstrap-token-" + token_id)
        if secret is None:
            return refuse("no Secret kube-system/bootstrap-token-%s" % token_id)
        if (secret.get("metadata") or {}).get("deletionTimestamp"):
            return refuse("the Secret is being deleted")
        if secret.get("type") != "bootstrap.kubernetes.io/token":
            return refuse("Secret type is %r, not bootstrap.kubernetes.io/token" % secret.get("type"))
        data = _secret_data(secret)
        if not hmac.compare_digest(data.get("token-secret", "").encode(), token_secret.encode()):
            return refuse("token-secret does not match")
        if data.get("token-id") != token_id:
            return refuse("token-id %r does not match" % data.get("token-id"))
        if data.get("expiration"):
            try:
                expires = datetime.datetime.fromisoformat(data["expiration"].replace("Z", "+00:00"))
            except ValueError:
                return refuse("expiration %r is not RFC 3339" % data["expiration"])
            if expires.tzinfo is None or expires < datetime.datetime.now(datetime.timezone.utc):
                return refuse("expired at %s" % data["expiration"])
        if data.get("usage-bootstrap-authentication") != "true":
            return refuse("not marked usage-bootstrap-authentication=true")
        groups = {"system:bootstrappers"}
        for group in data["auth-extra-groups"].split(",") if data.get("auth-extra-groups") else []:
            if not _BOOTSTRAP_GROUP_RE.match(group):
                return refuse("auth-extra-groups: %r is not a system:bootstrappers:* group" % group)
            groups.add(group)
        return {"username": "system:bootstrap:" + token_id, "groups": sorted(groups) + ["system:authenticated"], "auth": "bootstrap-token"}


def _bearer(headers) -> str | None:
    scheme, _sep, token = (headers.get("Authorization") or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


_VERB = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def authorize_bootstrapper(rest: api.Api, modes: list, user: dict, method: str, raw_path: str) -> tuple | None:
    """Bootstrap-token users: the default discovery/health paths, and create/get/list/watch of
    CSRs when a ClusterRoleBinding gives them system:node-bootstrapper. None = allowed, else 403."""
    path, _sep, query = raw_path.partition("?")
    target = api.parse_path(path)
    if target is None:
        if method in ("GET", "HEAD") and path.startswith(_PUBLIC_PATHS + _DISCOVERY_PATHS):
            return None
        return api.status(403, "Forbidden", 'forbidden: User "%s" cannot %s path "%s"' % (user["username"], method.lower(), path))
    group, _version, resource, _kind, _namespaced, namespace, name, sub = target
    verb = _VERB.get(method, "get")
    if method == "GET" and not name:
        verb = "watch" if "watch=true" in query or "watch=1" in query else "list"
    elif method == "DELETE" and not name:
        verb = "deletecollection"
    for mode in modes or ["AlwaysAllow"]:
        if mode == "AlwaysAllow":
            return None
        if mode == "AlwaysDeny":
            break
        if mode == "RBAC" and group == "certificates.k8s.io" and resource == "certificatesigningrequests" and not sub \
                and verb in ("create", "get", "list", "watch"):
            bindings = rest.store.list("rbac.authorization.k8s.io", "clusterrolebindings", "")
            if rbac.allowed(bindings, rbac.NODE_BOOTSTRAPPER, user["username"], user["groups"]):
                return None
    resource_name = resource + ("/" + sub if sub else "")
    return api.status(403, "Forbidden", rbac.forbidden_message(user["username"], verb, resource_name, group, name, namespace),
                      {"name": name, "group": group, "kind": resource})


def _app(version: str, identities: _IdentityLog, rest: api.Api, anonymous: bool, address: str, tokens: BootstrapTokens | None = None,
         modes: list | None = None):
    major, minor = version.split(".")[:2]
    version_doc = {"major": major, "minor": minor, "gitVersion": "v" + version, "gitCommit": "kubebin-standin", "gitTreeState": "clean",
                   "buildDate": "1970-01-01T00:00:00Z", "goVersion": "none (stand-in)", "compiler": "gc", "platform": "linux/amd64"}

    def app(handler, method):
        path = handler.path.split("?", 1)[0]
        who = handler.peer_identity()
        user = None
        if who is not None:
            user = {"username": who[0], "groups": list(who[1]) + ["system:authenticated"], "auth": "x509"}
        else:
            token = _bearer(handler.headers)
            if token is not None:
                # Any bearer token the authenticators do not accept is a 401, anonymous or not.
                if tokens is None:
                    log.info("bearer token refused: --enable-bootstrap-token-auth is not true")
                user = tokens.authenticate(token) if tokens is not None else None
                if user is None:
                    return api.status(401, "Unauthorized", "Unauthorized")
        if user is None:
            if anonymous and method in ("GET", "HEAD") and path.startswith(_PUBLIC_PATHS):
                return (200, version_doc, api.JSON) if path == "/version" else (200, b"ok", "text/plain; charset=utf-8")
            if anonymous:
                return api.status(403, "Forbidden", 'forbidden: User "system:anonymous" cannot %s path "%s"' % (method.lower(), path))
            return api.status(401, "Unauthorized", "Unauthorized")
        identities.write(user["username"], [g for g in user["groups"] if g != "system:authenticated"], method, path, user["auth"])
        if user["auth"] == "bootstrap-token":
            denied = authorize_bootstrapper(rest, modes or [], user, method, handler.path)
            if denied is not None:
                return denied
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            return 200, b"ok", "text/plain; charset=utf-8"
        if path == "/version":
            return 200, version_doc, api.JSON
        doc = (api.discovery(path, address) or api.openapi_v3(path, version)) if method == "GET" else None
        if doc is not None:
            return 200, doc, api.JSON
        try:
            return rest.handle(method, handler.path, handler.headers.get("Content-Type") or "", handler.body(), user)
        except ConnectionError as exc:
            return api.status(503, "ServiceUnavailable", "etcd: %s" % exc)
    return app


def start(flags, version: str) -> None:
    checked = _check_files(flags)
    service_cidrs, modes = _check_settings(flags)
    client = _reach_etcd(flags, checked)
    log_dir = os.environ.get(LOG_DIR_ENV) or DEFAULT_LOG_DIR
    rest = api.Api(store.Store(client, log_dir), service_cidrs)
    rest.seed()
    log.ok("object store in etcd under %s, mirrored to %s/objects" % (store.PREFIX, log_dir))
    host, port = flags.get("--bind-address", "0.0.0.0"), flags.get_int("--secure-port", 6443)
    anonymous = flags.get_bool("--anonymous-auth", True)
    if anonymous:
        log.warn("--anonymous-auth is not false: anonymous clients may read %s" % " ".join(_PUBLIC_PATHS))
    tokens = None
    if flags.get_bool("--enable-bootstrap-token-auth"):
        tokens = BootstrapTokens(rest)
        log.ok("--enable-bootstrap-token-auth: bearer tokens <id>.<secret> are checked against Secrets kube-system/bootstrap-token-<id>")
    context = tlsutil.server_context(checked["serving"][0], checked["serving"][1], checked["client_ca"])
    address = "%s:%d" % (flags.get("--advertise-address") or host, port)
    tlsutil.serve(host, port, _app(version, _IdentityLog(log_dir), rest, anonymous, address, tokens, modes), context, "kube-apiserver")
