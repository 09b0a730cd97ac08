# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""User kubeconfigs: validate a request before anything is written, and report who holds one.

A client certificate cannot be revoked in Kubernetes, so the rules here keep the damage of a lost
one small: a short validity, no system: identity, and access only through a binding that can be
deleted.
"""

from __future__ import annotations

import hashlib
import os
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError, load_cert, utcnow

# Where the playbook's extra variables land; messages name both, as the user typed the first.
_VARIABLES = {
    "name": "pki_user_name (-e user=)",
    "groups": "pki_user_groups (-e user_groups=)",
    "validity": "pki_user_validity (-e validity=)",
    "clusterrole": "pki_user_clusterrole (-e clusterrole=)",
    "role": "pki_user_role (-e role=)",
    "namespace": "pki_user_namespace (-e role_namespace=)",
    "state": "pki_user_state (-e state=)",
}
# X.509 allows 64 characters in a CN (RFC 5280 ub-common-name).
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_RBAC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,252}$")
_DURATION = re.compile(r"^\s*([0-9]+)\s*([mhd])\s*$")
_MINUTES = {"m": 1, "h": 60, "d": 1440}
MANAGED_BY = "kubebin-user-kubeconfig"


def _fail(field, value, why):
    raise AnsibleFilterError("%s %r %s" % (_VARIABLES[field], value, why))


def _minutes(validity):
    match = _DURATION.match(str(validity))
    if not match or int(match.group(1)) == 0:
        _fail("validity", validity, "is not a duration: give a whole number of minutes, hours or days, e.g. 90m, 8h, 30d")
    return int(match.group(1)) * _MINUTES[match.group(2)]


def _groups(groups):
    if groups in (None, ""):
        return []
    if isinstance(groups, str) or not isinstance(groups, (list, tuple)):
        _fail("groups", groups, "is not a list: give -e '{\"user_groups\": [\"dev\"]}'")
    for group in groups:
        if not isinstance(group, str) or not group.strip():
            _fail("groups", groups, "holds an empty or non-string group")
        if group.startswith("system:"):
            _fail("groups", group, "is reserved for Kubernetes' own identities (system:masters bypasses RBAC and can "
                                   "never be revoked); bind a role instead, or use super-admin.conf on the controller")
    return sorted(set(groups))


def binding_name(user):
    """The RBAC binding of USER: kubebin-user-<name>, made a valid object name (lower case,
    [-.a-z0-9]) with a hash suffix when the user name had to be changed, so two users never share one."""
    safe = re.sub(r"[^a-z0-9.-]", "-", user.lower()).strip(".-")
    name = "kubebin-user-" + safe
    if safe != user:
        name += "-" + hashlib.sha256(user.encode("utf-8")).hexdigest()[:8]
    return name


def _binding(user, clusterrole, role, namespace):
    if clusterrole and role:
        _fail("role", role, "and a clusterrole are both set: bind one, a ClusterRole cluster-wide or a Role in a namespace")
    if namespace and not _DNS_LABEL.match(namespace):
        _fail("namespace", namespace, "is not a namespace name (lower-case letters, digits and '-', at most 63)")
    if role and not namespace:
        _fail("namespace", namespace, "is required with a role: a Role lives in a namespace")
    ref_name = clusterrole or role
    if not ref_name:
        return None
    if not _RBAC_NAME.match(ref_name):
        _fail("clusterrole" if clusterrole else "role", ref_name, "is not a role name")
    # A ClusterRole may be granted in one namespace only (a RoleBinding to a ClusterRole).
    metadata = {"name": binding_name(user), "labels": {"app.kubernetes.io/managed-by": MANAGED_BY},
                "annotations": {"kubebin.cluster/user": user}}
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole" if clusterrole else "Role",
                    "name": ref_name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }


def pki_user_request(name, groups=None, validity="24h", clusterrole="", role="", namespace="", state="present"):
    """The normalized request, or an error naming the variable and what would be valid."""
    name = "" if name is None else str(name)
    if state not in ("present", "absent"):
        _fail("state", state, "is not present or absent")
    if not _USER.match(name):
        _fail("name", name, "is not a user name: 1 to 64 characters of letters, digits and ._@+-, starting with a letter or digit")
    if name.startswith("system:") or name.lower().startswith("kubernetes-") or name.lower() == "kube-apiserver":
        _fail("name", name, "is an identity of the cluster's own components")
    minutes = _minutes(validity)
    return {
        "name": name,
        "state": state,
        "groups": _groups(groups),
        "validity_minutes": minutes,
        # Renewal is what a rerun is for: a window as long as the validity re-issues every time.
        "renew_before_days": -(-minutes // 1440),
        "binding_name": binding_name(name),
        "binding": _binding(name, clusterrole or "", role or "", namespace or ""),
        "managed_by": MANAGED_BY,
        "files": {"name": "users/" + name, "crt": "users/%s.crt" % name, "key": "users/%s.key" % name,
                  "kubeconfig": "users/%s.conf" % name},
    }


def _grants(bindings):
    """User name -> ['ClusterRoleBinding NAME: ClusterRole view', ...] from kubectl's binding items."""
    grants = {}
    for item in bindings or []:
        meta = item.get("metadata", {})
        user = (meta.get("annotations") or {}).get("kubebin.cluster/user")
        if not user:
            continue
        where = "%s/%s" % (meta["namespace"], meta["name"]) if meta.get("namespace") else meta.get("name")
        ref = item.get("roleRef", {})
        grants.setdefault(user, []).append("%s %s: %s %s" % (item.get("kind"), where, ref.get("kind"), ref.get("name")))
    return {user: sorted(found) for user, found in grants.items()}


def pki_user_report(paths, contents, bindings=None, now=None):
    """Rows {user, groups, not_after, minutes_left, expired, bindings} of the users' certificates, by
    user name; BINDINGS are the items of `kubectl get clusterrolebindings,rolebindings -o json`."""
    if len(paths) != len(contents):
        raise AnsibleFilterError("pki_user_report: %d paths but %d contents" % (len(paths), len(contents)))
    now = now or utcnow()
    grants = _grants(bindings)
    rows = []
    for path, pem in zip(paths, contents):
        user = os.path.basename(path)[:-len(".crt")] if path.endswith(".crt") else os.path.basename(path)
        try:
            cert = load_cert(pem.encode("ascii"))
        except (PkiError, ValueError) as exc:
            rows.append({"user": user, "groups": [], "not_after": None, "minutes_left": None, "expired": None,
                         "bindings": grants.get(user, []), "error": "unreadable (%s)" % exc})
            continue
        not_after = cert.not_valid_after_utc
        left = int((not_after - now).total_seconds() // 60)
        groups = sorted(attr.value for attr in cert.subject if attr.oid.dotted_string == "2.5.4.10")
        rows.append({"user": user, "groups": groups, "not_after": not_after.isoformat(), "minutes_left": left,
                     "expired": left < 0, "bindings": grants.get(user, [])})
    return sorted(rows, key=lambda row: row["user"])


def pki_user_report_line(row):
    """One readable line of a user report row."""
    if row.get("error"):
        return "%s: %s" % (row["user"], row["error"])
    groups = ",".join(row["groups"]) or "-"
    grants = "; ".join(row.get("bindings") or []) or "no binding"
    if row["expired"]:
        return "%s [groups %s]: expired %s; %s" % (row["user"], groups, row["not_after"], grants)
    return "%s [groups %s]: notAfter %s (%dh%02dm left); %s" % (
        row["user"], groups, row["not_after"], row["minutes_left"] // 60, row["minutes_left"] % 60, grants)


class FilterModule(object):
    def filters(self):
        return {
            "pki_user_request": pki_user_request,
            "pki_user_report": pki_user_report,
            "pki_user_report_line": pki_user_report_line,
        }
