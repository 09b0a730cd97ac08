# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smallest slice of the Kubernetes REST API that real kubectl needs to apply, read, label and
taint the objects the collection creates. Emulated and not emulated: see docs/testing.md."""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import ipaddress
import json
import random
import urllib.parse
import uuid

import yaml

from . import csrapi, protobuf

# (group, version) -> [(resource, kind, namespaced, short names)]
RESOURCES = {
    ("", "v1"): [("namespaces", "Namespace", False, ["ns"]), ("nodes", "Node", False, ["no"]), ("secrets", "Secret", True, []),
                 ("configmaps", "ConfigMap", True, ["cm"]), ("serviceaccounts", "ServiceAccount", True, ["sa"]),
                 ("services", "Service", True, ["svc"])],
    ("apps", "v1"): [("deployments", "Deployment", True, ["deploy"]), ("daemonsets", "DaemonSet", True, ["ds"])],
    ("rbac.authorization.k8s.io", "v1"): [("clusterroles", "ClusterRole", False, []), ("clusterrolebindings", "ClusterRoleBinding", False, []),
                                          ("roles", "Role", True, []), ("rolebindings", "RoleBinding", True, [])],
    ("certificates.k8s.io", "v1"): [("certificatesigningrequests", "CertificateSigningRequest", False, ["csr"])],
}
BUILTIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Subresources with their own semantics (anything else but `status` is 404).
SUBRESOURCES = {("certificates.k8s.io", "certificatesigningrequests"): ("status", "approval")}
# metadata.generateName suffixes (apimachinery's utilrand alphabet).
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_VERBS = ["create", "delete", "get", "list", "patch", "update"]
JSON = "application/json"


def status(code: int, reason: str, message: str, details: dict | None = None) -> tuple:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success" if code < 400 else "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return code, body, JSON


def _gv(group: str, version: str) -> str:
    return "%s/%s" % (group, version) if group else version


def discovery(path: str, server_address: str):
    """/api, /apis, /api/v1, /apis/G/V as plain (non-aggregated) discovery documents."""
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}
    if path == "/apis":
        groups = [{"name": g, "versions": [{"groupVersion": _gv(g, v), "version": v}], "preferredVersion": {"groupVersion": _gv(g, v), "version": v}}
                  for (g, v) in RESOURCES if g]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    for (group, version), resources in RESOURCES.items():
        if path == ("/apis/%s/%s" % (group, version) if group else "/api/v1"):
            items = [{"name": r, "singularName": k.lower(), "namespaced": ns, "kind": k, "verbs": _VERBS, "shortNames": short}
                     for r, k, ns, short in resources]
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": _gv(group, version), "resources": items}
    return None


def openapi_v3(path: str, version: str):
    """Just enough OpenAPI v3 for kubectl to see that the server validates fields itself
    (fieldValidation=Strict): kubectl then skips client-side schema validation. No schemas."""
    gvs = {("apis/%s/%s" % gv) if gv[0] else "api/v1": gv for gv in RESOURCES}
    if path == "/openapi/v3":
        return {"paths": {name: {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (name, version)} for name in gvs}}
    gv = gvs.get(path[len("/openapi/v3/"):]) if path.startswith("/openapi/v3/") else None
    if gv is None:
        return None
    group, ver = gv
    paths = {}
    for resource, kind, namespaced, _short in RESOURCES[gv]:
        base = "/%s/%s%s" % ("apis/" + group if group else "api", ver, "/namespaces/{namespace}" if namespaced else "")
        gvk = {"group": group, "version": ver, "kind": kind}
        operation = {"parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
                     "x-kubernetes-group-version-kind": gvk, "responses": {}}
        paths["%s/%s" % (base, resource)] = {"post": operation}
        paths["%s/%s/{name}" % (base, resource)] = {"put": operation, "patch": operation}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (kubebin stand-in)", "version": "v" + version}, "paths": paths,
            "components": {"schemas": {}}}


def parse_path(path: str):
    """-> (group, version, resource, kind, namespaced, namespace, name, subresource) or None."""
    parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    for resource, kind, namespaced, _short in RESOURCES.get((group, version), []):
        if resource == rest[0]:
            if namespace and not namespaced:
                return None
            name = rest[1] if len(rest) > 1 else ""
            sub = rest[2] if len(rest) > 2 else ""
            return group, version, resource, kind, namespaced, namespace, name, sub
    return None


def merge_patch(target, patch):
    """RFC 7386 merge patch. Strategic-merge directives ($patch, $setElementOrder/..., $retainKeys)
    are dropped and lists are replaced whole: enough for labels, taints, annotations and apply of
    the objects the collection owns, not a general strategic merge."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _selector_matches(selector: str, labels: dict) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class Api:
    """Request handling for the emulated resources, on top of store.Store."""

    def __init__(self, store, service_cidrs: list) -> None:
        self.store = store
        self.service_cidrs = service_cidrs

    def seed(self) -> None:
        for name in BUILTIN_NAMESPACES:
            if self.store.get("", "namespaces", "", name) is None:
                self.store.put("", "namespaces", "", name, self._new({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))

    @staticmethod
    def _new(obj: dict) -> dict:
        meta = obj.setdefault("metadata", {})
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        meta.setdefault("generation", 1)
        if obj.get("kind") == "Namespace":
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
        return obj

    def handle(self, method: str, raw_path: str, content_type: str, body: bytes, user: dict | None = None):
        """user: the authenticated requester {username, groups}; CSRs record it."""
        url = urllib.parse.urlsplit(raw_path)
        query = urllib.parse.parse_qs(url.query)
        target = parse_path(url.path)
        if target is None:
            return status(404, "NotFound", "the server could not find the requested resource (stand-in emulates only %s)" % url.path)
        group, version, resource, kind, namespaced, namespace, name, sub = target
        if sub and sub not in SUBRESOURCES.get((group, resource), ("status",)):
            return status(404, "NotFound", "subresource %s is not emulated by the stand-in" % sub)
        if namespaced and namespace and method in ("POST", "PUT", "PATCH") and self.store.get("", "namespaces", "", namespace) is None:
            return status(404, "NotFound", 'namespaces "%s" not found' % namespace, {"name": namespace, "kind": "namespaces"})
        where = (group, resource, namespace, name)
        if method == "GET":
            return self._get(where, kind, version, query)
        if method == "DELETE":
            if not self.store.delete(*where):
                return status(404, "NotFound", '%s "%s" not found' % (resource, name), {"name": name, "kind": resource})
            return status(200, "", "deleted", {"name": name, "kind": resource})
        media = content_type.split(";", 1)[0].strip()
        try:
            if media == "application/vnd.kubernetes.protobuf":
                payload = protobuf.decode(body, kind)
            else:
                payload = yaml.safe_load(body.decode("utf-8")) if body else None
        except protobuf.ProtobufError as exc:
            return status(415, "UnsupportedMediaType", "%s (the stand-in decodes protobuf bodies only for CertificateSigningRequest)" % exc)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            return status(400, "BadRequest", "request body does not parse: %s" % exc)
        if not isinstance(payload, dict):
            return status(400, "BadRequest", "request body must be an object")
        dry_run = "dryRun" in query
        if method == "POST" and not name:
            return self._create(where, kind, _gv(group, version), payload, dry_run, user)
        if method == "PUT" and name:
            return self._update(where, kind, _gv(group, version), payload, dry_run, sub)
        if method == "PATCH" and name:
            return self._patch(where, kind, _gv(group, version), content_type, payload, dry_run, sub, user)
        return status(405, "MethodNotAllowed", "%s is not supported on %s" % (method, url.path))

    def _get(self, where, kind, version, query):
        group, resource, namespace, name = where
        if name:
            obj = self.store.get(*where)
            if obj is None:
                return status(404, "NotFound", '%s%s "%s" not found' % (resource, "." + group if group else "", name),
                              {"name": name, "group": group, "kind": resource})
            return 200, obj, JSON
        items = self.store.list(group, resource, namespace)
        selector = (query.get("labelSelector") or [""])[0]
        if selector:
            items = [item for item in items if _selector_matches(selector, item.get("metadata", {}).get("labels") or {})]
        revision = max([int(i["metadata"]["resourceVersion"]) for i in items] or [0])
        return 200, {"kind": kind + "List", "apiVersion": _gv(group, version), "metadata": {"resourceVersion": str(revision)}, "items": items}, JSON

    def _validate(self, where, kind, api_version, obj) -> tuple | None:
        _group, resource, namespace, name = where
        meta = obj.get("metadata") or {}
        if obj.get("kind") != kind or obj.get("apiVersion") != api_version:
            return status(400, "BadRequest", "the object is %s %s, the URL wants %s %s"
                          % (obj.get("apiVersion"), obj.get("kind"), api_version, kind))
        if not meta.get("name"):
            return status(422, "Invalid", "%s: metadata.name: Required value" % kind)
        if name and meta["name"] != name:
            return status(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)" % (meta["name"], name))
        if meta.get("namespace", namespace) != namespace:
            return status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        if resource == "services":
            return self._validate_service(obj)
        return None

    def _validate_service(self, obj) -> tuple | None:
        for ip in [(obj.get("spec") or {}).get("clusterIP")] + list((obj.get("spec") or {}).get("clusterIPs") or []):
            if not ip or ip == "None":
                continue
            try:
                address = ipaddress.ip_address(ip)
            except ValueError:
                return status(422, "Invalid", "spec.clusterIP: Invalid value: %r: must be a valid IP address" % ip)
            if not any(address in net for net in self.service_cidrs):
                return status(422, "Invalid", "spec.clusterIPs: Invalid value: %r: provided IP is not in the valid range. "
                              "The range of valid IPs is %s" % (ip, ",".join(map(str, self.service_cidrs))))
        return None

    @staticmethod
    def _normalize(resource: str, obj: dict) -> tuple | None:
        """Secrets are stored as `data` (base64), like the real apiserver: stringData is merged into
        data on every write and never stored (so a re-applied stringData Secret is a change again)."""
        if resource != "secrets":
            return None
        data = dict(obj.get("data") or {})
        for key, value in data.items():
            try:
                base64.b64decode(value or "", validate=True)
            except (binascii.Error, ValueError, TypeError):
                return status(400, "BadRequest", "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data.%s" % key)
        for key, value in (obj.pop("stringData", None) or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        if data:
            obj["data"] = data
        else:
            obj.pop("data", None)
        return None

    def _create(self, where, kind, api_version, obj, dry_run, user=None):
        group, resource, namespace, _name = where
        meta = obj.setdefault("metadata", {})
        if namespace:
            meta.setdefault("namespace", namespace)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices(_NAME_CHARS, k=5))
        invalid = self._validate(where, kind, api_version, obj) or self._normalize(resource, obj)
        if invalid:
            return invalid
        if resource == "certificatesigningrequests":
            invalid = csrapi.prepare_create(obj, user)
            if invalid:
                return status(*invalid)
        full = (group, resource, namespace, meta["name"])
        if self.store.get(*full) is not None:
            return status(409, "AlreadyExists", '%s "%s" already exists' % (resource, meta["name"]), {"name": meta["name"], "kind": resource})
        obj = self._new(obj)
        return 201, obj if dry_run else self.store.put(*full, obj), JSON

    def _update(self, where, kind, api_version, obj, dry_run, sub=""):
        current = self.store.get(*where)
        if current is None:
            return status(404, "NotFound", '%s "%s" not found' % (where[1], where[3]), {"name": where[3], "kind": where[1]})
        if where[2]:
            obj.setdefault("metadata", {}).setdefault("namespace", where[2])
        invalid = self._validate(where, kind, api_version, obj)
        if invalid:
            return invalid
        wanted = obj["metadata"].get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            return status(409, "Conflict", "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                          "please apply your changes to the latest version and try again" % (where[1], where[3]))
        for key in ("uid", "creationTimestamp"):
            obj["metadata"][key] = current["metadata"].get(key)
        obj, invalid = self._prepare_update(where, current, obj, sub)
        if invalid:
            return invalid
        return 200, obj if dry_run else self.store.put(*where, obj), JSON

    def _prepare_update(self, where, current, obj, sub) -> tuple:
        """Per-resource update semantics: (object to store, error or None)."""
        invalid = self._normalize(where[1], obj)
        if invalid:
            return obj, invalid
        if where[1] == "certificatesigningrequests":
            obj, invalid = csrapi.prepare_update(current, obj, sub)
            return obj, status(*invalid) if invalid else None
        return obj, None

    def _patch(self, where, kind, api_version, content_type, patch, dry_run, sub="", user=None):
        media = content_type.split(";", 1)[0].strip()
        current = self.store.get(*where)
        if media == "application/apply-patch+yaml":
            # Server-side apply without field ownership: create, or merge the applied fields in.
            if current is None:
                return self._create(where[:3] + ("",), kind, api_version, patch, dry_run, user)
        elif media not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            return 415, status(415, "UnsupportedMediaType", "patch type %s is not emulated by the stand-in" % media)[1], JSON
        if current is None:
            return status(404, "NotFound", '%s "%s" not found' % (where[1], where[3]), {"name": where[3], "kind": where[1]})
        merged = merge_patch(current, patch)
        merged.setdefault("metadata", {})
        for key in ("uid", "creationTimestamp", "name"):
            merged["metadata"][key] = current["metadata"].get(key)
        if where[2]:
            merged["metadata"]["namespace"] = where[2]
        merged["metadata"].pop("resourceVersion", None)
        invalid = self._validate(where, kind, api_version, merged)
        if invalid:
            return invalid
        merged, invalid = self._prepare_update(where, current, merged, sub)
        if invalid:
            return invalid
        merged["metadata"].pop("resourceVersion", None)
        unchanged = dict(current, metadata={k: v for k, v in current["metadata"].items() if k != "resourceVersion"})
        if json.dumps(merged, sort_keys=True) == json.dumps(unchanged, sort_keys=True):
            return 200, current, JSON
        return 200, merged if dry_run else self.store.put(*where, merged), JSON
