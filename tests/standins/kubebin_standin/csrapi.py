# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificates.k8s.io/v1 CertificateSigningRequest semantics of the apiserver stand-in: what the
real registry strategy and validation (pkg/registry/certificates, pkg/apis/certificates/validation)
do on create, update, and the `approval` and `status` subresources. No signing here: that is the
controller-manager's job."""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import json
import re

from . import csr, files

APPROVAL_TYPES = ("Approved", "Denied")
TRUE_ONLY_TYPES = ("Approved", "Denied", "Failed")
VALID_USAGES = frozenset(csr.KEY_USAGES) | frozenset(csr.EXT_KEY_USAGES)
_SIGNER_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[A-Za-z0-9._~%!$&'()*+,;=:@/-]+$")


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def conditions(obj: dict) -> list:
    return list((obj.get("status") or {}).get("conditions") or [])


def has_condition(obj: dict, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status", "True") == "True" for c in conditions(obj))


def _invalid(name: str, errors: list) -> tuple:
    return 422, "Invalid", 'CertificateSigningRequest.certificates.k8s.io "%s" is invalid: %s' % (name, "; ".join(errors))


def decode_request(obj: dict) -> bytes:
    """spec.request is []byte: base64 in JSON."""
    try:
        return base64.b64decode((obj.get("spec") or {}).get("request") or "", validate=True)
    except (binascii.Error, ValueError):
        return b""


def _validate(obj: dict, old: dict | None) -> list:
    spec = obj.get("spec") or {}
    errors = []
    if old is None or spec != old.get("spec"):
        try:
            csr.parse(decode_request(obj))
        except csr.CsrError as exc:
            errors.append("spec.request: Invalid value: <request>: %s" % exc)
    usages = spec.get("usages") or []
    if not usages:
        errors.append("spec.usages: Required value")
    for index, usage in enumerate(usages):
        if usage not in VALID_USAGES:
            errors.append('spec.usages[%d]: Unsupported value: "%s"' % (index, usage))
        elif usage in usages[:index]:
            errors.append('spec.usages[%d]: Duplicate value: "%s"' % (index, usage))
    signer = spec.get("signerName") or ""
    if signer == "kubernetes.io/legacy-unknown":
        errors.append('spec.signerName: Invalid value: "%s": the legacy signerName is not allowed via this API version' % signer)
    elif not _SIGNER_RE.match(signer):
        errors.append('spec.signerName: Invalid value: "%s": must be a fully qualified domain and path of the form '
                      "'example.com/signer-name'" % signer)
    if spec.get("expirationSeconds") is not None and int(spec["expirationSeconds"]) < 600:
        errors.append("spec.expirationSeconds: Invalid value: %s: may not specify a duration less than 600 seconds (10 minutes)"
                      % spec["expirationSeconds"])
    seen, approved, denied = set(), False, False
    for index, cond in enumerate(conditions(obj)):
        kind = cond.get("type") or ""
        if not kind:
            errors.append("status.conditions[%d].type: Required value" % index)
        allowed = ("True",) if kind in TRUE_ONLY_TYPES else ("True", "False", "Unknown")
        if not cond.get("status"):
            errors.append("status.conditions[%d].status: Required value" % index)
        elif cond["status"] not in allowed:
            errors.append('status.conditions[%d].status: Unsupported value: "%s": supported values: %s'
                          % (index, cond["status"], ", ".join('"%s"' % a for a in allowed)))
        approved, denied = approved or kind == "Approved", denied or kind == "Denied"
        if kind in APPROVAL_TYPES and approved and denied:
            errors.append('status.conditions[%d].type: Invalid value: "%s": Approved and Denied conditions are mutually exclusive'
                          % (index, kind))
        if kind in seen:
            errors.append('status.conditions[%d].type: Duplicate value: "%s"' % (index, kind))
        seen.add(kind)
    certificate = (obj.get("status") or {}).get("certificate")
    if certificate and (old is None or certificate != (old.get("status") or {}).get("certificate")):
        problem = _certificate_problem(certificate)
        if problem:
            errors.append('status.certificate: Invalid value: "<certificate data>": %s' % problem)
    return errors


def _certificate_problem(value: str) -> str | None:
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "not base64"
    blocks = files.pem_blocks(data)
    if not blocks:
        return "must contain at least one CERTIFICATE PEM block"
    for kind, der in blocks:
        if kind != b"CERTIFICATE":
            return 'only CERTIFICATE PEM blocks are allowed, found "%s"' % kind.decode()
        if not der:
            return "found CERTIFICATE PEM block containing 0 certificates"
    try:
        csr.cert_info(data)
    except (OSError, ValueError) as exc:
        return "certificate does not parse: %s" % exc
    return None


def _timestamps(new: dict, old: dict | None) -> None:
    """populateConditionTimestamps: lastUpdateTime when missing, lastTransitionTime on a change."""
    old_by_type = {c.get("type"): c for c in conditions(old or {})}
    for cond in conditions(new):
        cond.setdefault("lastUpdateTime", _now())
        previous = old_by_type.get(cond.get("type"))
        if not cond.get("lastTransitionTime"):
            cond["lastTransitionTime"] = (previous or {}).get("lastTransitionTime") if previous and previous.get("status") == cond.get(
                "status") else _now()


def prepare_create(obj: dict, user: dict | None) -> tuple | None:
    """Status cleared, requester taken from the authenticated user (never from the client)."""
    spec = obj.setdefault("spec", {})
    for key in ("username", "uid", "groups", "extra"):
        spec.pop(key, None)
    if user:
        spec["username"] = user["username"]
        spec["groups"] = list(user["groups"])
        if user.get("uid"):
            spec["uid"] = user["uid"]
    obj["status"] = {}
    errors = _validate(obj, None)
    return _invalid(obj["metadata"]["name"], errors) if errors else None


def _default_conditions(obj: dict) -> None:
    for cond in conditions(obj):
        if not cond.get("status"):
            cond["status"] = "True"


def prepare_update(current: dict, obj: dict, sub: str) -> tuple:
    """(object to store, error or None) for an update of the main resource (metadata only), of
    `approval` (conditions only) or of `status` (status, Approved/Denied kept as they were)."""
    new = copy.deepcopy(current)
    if not sub:
        new["metadata"] = copy.deepcopy(obj.get("metadata") or {})
    elif sub == "approval":
        new.setdefault("status", {})["conditions"] = copy.deepcopy(conditions(obj))
    else:
        status = copy.deepcopy(obj.get("status") or {})
        for kind in APPROVAL_TYPES:  # preserveConditionInstances
            old_set = [c for c in conditions(current) if c.get("type") == kind]
            new_idx = [i for i, c in enumerate(status.get("conditions") or []) if c.get("type") == kind]
            if len(old_set) == len(new_idx):
                for index, cond in zip(new_idx, old_set):
                    status["conditions"][index] = copy.deepcopy(cond)
        new["status"] = status
    if not (new.get("status") or {}).get("conditions"):
        (new.get("status") or {}).pop("conditions", None)
    _default_conditions(new)
    _timestamps(new, current)
    errors = _validate(new, current)
    for kind in TRUE_ONLY_TYPES:
        if len([c for c in conditions(new) if c.get("type") == kind]) < len([c for c in conditions(current) if c.get("type") == kind]):
            errors.append('status.conditions: Forbidden: updates may not remove a condition of type "%s"' % kind)
    if sub != "approval":
        for kind in APPROVAL_TYPES:
            old_set = [c for c in conditions(current) if c.get("type") == kind]
            new_set = [c for c in conditions(new) if c.get("type") == kind]
            if len(new_set) > len(old_set):
                errors.append('status.conditions: Forbidden: updates may not add a condition of type "%s"' % kind)
            elif len(new_set) == len(old_set) and json.dumps(new_set, sort_keys=True) != json.dumps(old_set, sort_keys=True):
                errors.append('status.conditions: Forbidden: updates may not modify a condition of type "%s"' % kind)
    old_cert = (current.get("status") or {}).get("certificate")
    new_cert = (new.get("status") or {}).get("certificate")
    if new_cert != old_cert:
        if sub != "status":
            errors.append("status.certificate: Forbidden: updates may not set certificate content")
        elif old_cert:
            errors.append("status.certificate: Forbidden: updates may not modify existing certificate content")
    return new, (_invalid(current["metadata"]["name"], errors) if errors else None)
