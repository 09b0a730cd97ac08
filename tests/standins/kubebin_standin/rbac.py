# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few RBAC decisions the stand-ins make, read from the stored ClusterRoleBindings.

The stand-in apiserver does not authorize certificate identities (see docs/testing.md). It does
authorize bootstrap-token identities, and the controller-manager stand-in asks the same question
its CSR approver asks with a SubjectAccessReview. Roles are taken by name: a binding to the
upstream default ClusterRole grants what that role grants upstream (the stand-in does not store
the default roles); members of system:masters may do everything."""

from __future__ import annotations

NODE_BOOTSTRAPPER = "system:node-bootstrapper"
NODE_CLIENT = "system:certificates.k8s.io:certificatesigningrequests:nodeclient"
SELF_NODE_CLIENT = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"


def bound(bindings: list, role: str, username: str, groups) -> str | None:
    """Name of a ClusterRoleBinding that binds ClusterRole `role` to the user or one of its groups."""
    for binding in bindings:
        ref = binding.get("roleRef") or {}
        if ref.get("kind") != "ClusterRole" or ref.get("name") != role:
            continue
        for subject in binding.get("subjects") or []:
            if (subject.get("kind") == "Group" and subject.get("name") in groups) or (
                    subject.get("kind") == "User" and subject.get("name") == username):
                return (binding.get("metadata") or {}).get("name", "?")
    return None


def allowed(bindings: list, role: str, username: str, groups) -> bool:
    return "system:masters" in groups or bound(bindings, role, username, groups) is not None


def forbidden_message(username: str, verb: str, resource: str, group: str, name: str = "", namespace: str = "") -> str:
    """The RBAC authorizer's wording."""
    what = "%s.%s" % (resource, group) if group else resource
    where = 'in the namespace "%s"' % namespace if namespace else "at the cluster scope"
    return '%s%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s' % (
        what, ' "%s"' % name if name else "", username, verb, resource, group, where)
