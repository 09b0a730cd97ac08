# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kube-controller-manager stand-in: checks and health, and the two certificate controllers TLS
bootstrapping needs (csrapproving for node-client requests, csrsigning); no other controller runs."""

from __future__ import annotations

import base64
import datetime
import json
import re
import ssl
import threading
import time

from . import common, csr, csrapi, files, log, rbac, tlsutil
from .log import StandinError

_SIGNERS = ("", "kubelet-serving-", "kubelet-client-", "kube-apiserver-client-", "legacy-unknown-")
# signerName -> the prefix of its own --cluster-signing-<prefix>cert-file flags.
_SIGNER_FLAGS = {"kubernetes.io/kube-apiserver-client-kubelet": "kubelet-client-", "kubernetes.io/kubelet-serving": "kubelet-serving-"}
CLIENT_KUBELET = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
CRB_PATH = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
SYNC_SECONDS = 2.0
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns)")
_DURATION_UNITS = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
# Controllers that "*" does not enable (upstream's disabled-by-default list).
_OFF_BY_DEFAULT = ("bootstrapsigner", "tokencleaner")


def go_duration(value: str, flag: str) -> float:
    """Seconds of a Go time.Duration string (8760h, 1h30m, 720h0m0s)."""
    text = value.strip()
    if not text or _DURATION_RE.sub("", text) != "":
        raise StandinError('invalid argument "%s" for "%s" flag: time: invalid duration "%s"' % (value, flag, value))
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in _DURATION_RE.findall(text))


def _enabled(controllers: list, name: str) -> bool:
    if name in controllers:
        return True
    if "-" + name in controllers:
        return False
    return "*" in controllers and name not in _OFF_BY_DEFAULT


def _usages_ok(usages, allowed_sets) -> bool:
    return any(set(usages) == allowed and len(usages) == len(allowed) for allowed in allowed_sets)


def kubelet_client_problem(request: dict, usages: list) -> str | None:
    """ValidateKubeletClientCSR (pkg/apis/certificates/v1 helpers)."""
    if request["orgs"] != ["system:nodes"]:
        return "subject organization is not system:nodes"
    if request["dns"] or request["emails"] or request["ips"] or request["uris"]:
        return "DNS, email, IP or URI subjectAltNames are not allowed"
    if not request["cn"].startswith("system:node:") or len(request["cn"]) == len("system:node:"):
        return 'subject common name does not begin with "system:node:"'
    if not _usages_ok(usages, ({"digital signature", "client auth"}, {"key encipherment", "digital signature", "client auth"})):
        return "usages did not match [client auth digital signature] or [client auth digital signature key encipherment]"
    return None


def kubelet_serving_problem(request: dict, usages: list) -> str | None:
    """ValidateKubeletServingCSR (pkg/apis/certificates/v1 helpers)."""
    if request["orgs"] != ["system:nodes"]:
        return "subject organization is not system:nodes"
    if request["emails"] or request["uris"]:
        return "email and URI subjectAltNames are not allowed"
    if not request["dns"] and not request["ips"]:
        return "DNS or IP subjectAltName is required"
    if not request["cn"].startswith("system:node:") or len(request["cn"]) == len("system:node:"):
        return 'subject common name does not begin with "system:node:"'
    if not _usages_ok(usages, ({"digital signature", "server auth"}, {"key encipherment", "digital signature", "server auth"})):
        return "usages did not match [digital signature server auth] or [digital signature key encipherment server auth]"
    return None


_SIGNER_CHECKS = {CLIENT_KUBELET: kubelet_client_problem, KUBELET_SERVING: kubelet_serving_problem}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CsrControllers:
    """csrapproving (node-client requests only, never kubelet-serving, like upstream) and csrsigning
    (every approved kubelet client and serving request without a certificate), polling the API with
    the controller-manager's own kubeconfig identity (no watch in the stand-in apiserver)."""

    def __init__(self, kubecfg, signers: dict, duration: float, approve: bool) -> None:
        self.kubecfg = kubecfg
        self.signers = signers
        self.duration = duration
        self.approve = approve
        self.failures = 0
        self.reported = set()

    def start(self) -> None:
        threading.Thread(target=self._loop, name="csr controllers", daemon=True).start()
        log.ok("csrapproving %s, csrsigning for %s (duration %.0f h), polling every %.0f s"
               % ("on" if self.approve else "off", ", ".join(sorted(self.signers)) or "no signer", self.duration / 3600, SYNC_SECONDS))

    def _loop(self) -> None:
        while True:
            try:
                self.sync()
                self.failures = 0
            except Exception as exc:  # pylint: disable=broad-except
                self.failures += 1
                if self.failures in (1, 10) or self.failures % 100 == 0:
                    log.warn("CSR controllers: %s: %s" % (type(exc).__name__, exc))
            time.sleep(SYNC_SECONDS)

    def _call(self, method: str, path: str, body=None) -> tuple:
        code, data = tlsutil.request_json(self.kubecfg, method, path, body)
        return code, json.loads(data) if data.strip().startswith(b"{") else {}

    def sync(self) -> None:
        code, listing = self._call("GET", CSR_PATH)
        if code != 200:
            raise RuntimeError("GET %s: HTTP %d %s" % (CSR_PATH, code, listing.get("message", "")))
        bindings = None
        for item in listing.get("items") or []:
            spec = item.get("spec") or {}
            if (item.get("status") or {}).get("certificate"):
                continue
            approved, denied = csrapi.has_condition(item, "Approved"), csrapi.has_condition(item, "Denied")
            if csrapi.has_condition(item, "Failed") or denied:
                continue
            name = item["metadata"]["name"]
            try:
                if not approved and self.approve and spec.get("signerName") == CLIENT_KUBELET:
                    if bindings is None:
                        code, crbs = self._call("GET", CRB_PATH)
                        bindings = crbs.get("items") or [] if code == 200 else []
                    item = self._approve(item, bindings)
                    approved = item is not None and csrapi.has_condition(item, "Approved")
                if approved and spec.get("signerName") in self.signers:
                    self._sign(item)
            except (StandinError, OSError, ValueError, KeyError) as exc:
                if ("error", name) not in self.reported:
                    self.reported.add(("error", name))
                    log.warn("CSR %s: %s: %s (retried every %.0f s)" % (name, type(exc).__name__, exc, SYNC_SECONDS))

    def _approve(self, item: dict, bindings: list):
        """sarapprove: a node-client request whose requester may create certificatesigningrequests/
        nodeclient (or selfnodeclient, for a node renewing its own) is approved; others stay pending."""
        spec, name = item["spec"], item["metadata"]["name"]
        try:
            request = csr.parse(csrapi.decode_request(item))
        except csr.CsrError:
            return None
        if kubelet_client_problem(request, spec.get("usages") or []):
            return None
        username, groups = spec.get("username", ""), spec.get("groups") or []
        recognized = [(rbac.SELF_NODE_CLIENT, "Auto approving self kubelet client certificate after SubjectAccessReview.")] \
            if username == request["cn"] else []
        recognized.append((rbac.NODE_CLIENT, "Auto approving kubelet client certificate after SubjectAccessReview."))
        for role, message in recognized:
            if rbac.allowed(bindings, role, username, groups):
                item.setdefault("status", {}).setdefault("conditions", []).append(
                    {"type": "Approved", "status": "True", "reason": "AutoApproved", "message": message, "lastUpdateTime": _now()})
                code, body = self._call("PUT", "%s/%s/approval" % (CSR_PATH, name), item)
                if code != 200:
                    log.warn("approving CSR %s failed: HTTP %d %s" % (name, code, body.get("message", "")))
                    return None
                log.ok("approved CSR %s of %s for %s (%s bound to the requester)" % (name, username, request["cn"], role))
                return body
        if name not in self.reported:
            self.reported.add(name)
            log.info("CSR %s of %s left pending: no ClusterRoleBinding gives %s to the requester"
                     % (name, username, " or ".join(role for role, _m in recognized)))
        return None

    def _sign(self, item: dict) -> None:
        spec, name = item["spec"], item["metadata"]["name"]
        signer = spec["signerName"]
        usages = spec.get("usages") or []
        try:
            request = csr.parse(csrapi.decode_request(item))
            problem = _SIGNER_CHECKS[signer](request, usages)
        except csr.CsrError as exc:
            problem = str(exc)
        if problem:
            item.setdefault("status", {}).setdefault("conditions", []).append(
                {"type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": problem, "lastUpdateTime": _now()})
            code, _body = self._call("PUT", "%s/%s/status" % (CSR_PATH, name), item)
            log.warn("CSR %s (%s) failed signer validation: %s (status update HTTP %d)" % (name, signer, problem, code))
            return
        ca_cert, ca_key = self.signers[signer]
        duration = self.duration
        if spec.get("expirationSeconds"):
            duration = min(duration, max(600, int(spec["expirationSeconds"])))
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_not_after = datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(files.decode_cert(ca_cert)["notAfter"]),
                                                       datetime.timezone.utc)
        not_after = min(now + datetime.timedelta(seconds=duration), ca_not_after)
        pem = csr.sign(request, csrapi.decode_request(item), ca_cert, ca_key, usages, now - datetime.timedelta(minutes=5), not_after)
        item.setdefault("status", {})["certificate"] = base64.b64encode(pem).decode()
        code, body = self._call("PUT", "%s/%s/status" % (CSR_PATH, name), item)
        if code != 200:
            log.warn("writing the certificate of CSR %s failed: HTTP %d %s" % (name, code, body.get("message", "")))
            return
        log.ok("signed CSR %s (%s) for %s, valid until %s" % (name, signer, request["cn"], not_after.strftime("%Y-%m-%dT%H:%M:%SZ")))


def _signers(flags) -> dict:
    """signerName -> (cert, key) for the signers the stand-in runs (kubelet client and serving)."""
    signers = {}
    general = None
    for signer in _SIGNERS:
        cert_flag, key_flag = "--cluster-signing-%scert-file" % signer, "--cluster-signing-%skey-file" % signer
        signing = common.pair(flags, cert_flag, key_flag)
        if signing:
            files.check_ca_bundle(signing[0], cert_flag)
            if not signer:
                general = signing
            for name, prefix in _SIGNER_FLAGS.items():
                if prefix == signer:
                    signers[name] = signing
    if general and len([s for s in _SIGNERS if s and flags.get("--cluster-signing-%scert-file" % s)]):
        raise StandinError("cannot specify --cluster-signing-{cert,key}-file and other --cluster-signing-*-file flags at the same time")
    for name in _SIGNER_FLAGS:
        if general and name not in signers:
            signers[name] = general
    return signers


def start(flags, _version: str) -> None:
    common.ca_flags(flags, ("--client-ca-file", "--requestheader-client-ca-file", "--root-ca-file"))
    if flags.get("--service-account-private-key-file"):
        files.check_key(flags.get("--service-account-private-key-file"), "--service-account-private-key-file")
    signers = _signers(flags)
    duration = go_duration(flags.get("--cluster-signing-duration", "8760h"), "--cluster-signing-duration")
    controllers = flags.get_list("--controllers") or ["*"]
    if flags.get_bool("--allocate-node-cidrs"):
        if not flags.get("--cluster-cidr"):
            raise StandinError("--allocate-node-cidrs=true needs --cluster-cidr")
        for net in common.cidrs(flags.get("--cluster-cidr"), "--cluster-cidr"):
            mask_flag = "--node-cidr-mask-size-ipv%d" % net.version
            mask = flags.get_int(mask_flag, flags.get_int("--node-cidr-mask-size", 24 if net.version == 4 else 64))
            if mask < net.prefixlen:
                raise StandinError("--cluster-cidr %s: node CIDR mask /%d is larger than the cluster CIDR" % (net, mask))
            log.ok("node CIDRs /%d out of %s" % (mask, net))
    if flags.get("--service-cluster-ip-range"):
        common.cidrs(flags.get("--service-cluster-ip-range"), "--service-cluster-ip-range")
    common.pair(flags, "--tls-cert-file", "--tls-private-key-file")
    common.optional_kubeconfigs(flags, ("--authentication-kubeconfig", "--authorization-kubeconfig"))
    kubecfg = common.connect(flags.get("--kubeconfig"), "--kubeconfig", "kube-controller-manager")
    for name in ("bootstrapsigner", "tokencleaner"):
        if _enabled(controllers, name):
            log.info("controller %s is enabled; not emulated by the stand-in" % name)
    sign = _enabled(controllers, "csrsigning") and signers
    approve = _enabled(controllers, "csrapproving")
    if sign or approve:
        CsrControllers(kubecfg, signers if sign else {}, duration, approve).start()
    common.secure_health(flags, 10257, "kube-controller-manager")
