"""pki_user_request and pki_user_report: what a user kubeconfig may be, and who holds one."""

from __future__ import annotations

import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.filter.pki_user import (
    binding_name, pki_user_report, pki_user_report_line, pki_user_request)
from ansible_collections.kubebin.cluster.plugins.module_utils import pki_crypto
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_engine import normalize_specs

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)


def test_a_plain_request_is_short_lived_unbound_and_renewed_by_every_run():
    request = pki_user_request("alice", ["dev", "dev", "ops"])
    assert request["validity_minutes"] == 24 * 60
    assert request["renew_before_days"] == 1
    assert request["groups"] == ["dev", "ops"]
    assert request["binding"] is None
    assert request["files"] == {"name": "users/alice", "crt": "users/alice.crt", "key": "users/alice.key",
                                "kubeconfig": "users/alice.conf"}


@pytest.mark.parametrize("validity, minutes, window", [("90m", 90, 1), ("8h", 480, 1), ("30d", 43200, 30), (" 2 m", 2, 1)])
def test_validity_durations(validity, minutes, window):
    request = pki_user_request("alice", validity=validity)
    assert (request["validity_minutes"], request["renew_before_days"]) == (minutes, window)


def test_a_cluster_role_binding_names_the_user_and_carries_the_kubebin_marks():
    binding = pki_user_request("alice", clusterrole="view")["binding"]
    assert binding["kind"] == "ClusterRoleBinding"
    assert binding["metadata"] == {"name": "kubebin-user-alice", "labels": {"app.kubernetes.io/managed-by": "kubebin-user-kubeconfig"},
                                   "annotations": {"kubebin.cluster/user": "alice"}}
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]


def test_a_role_or_a_cluster_role_in_one_namespace_is_a_role_binding():
    role = pki_user_request("alice", role="deployer", namespace="shop")["binding"]
    assert (role["kind"], role["metadata"]["namespace"], role["roleRef"]["kind"]) == ("RoleBinding", "shop", "Role")
    scoped = pki_user_request("alice", clusterrole="edit", namespace="shop")["binding"]
    assert (scoped["kind"], scoped["metadata"]["namespace"], scoped["roleRef"]["kind"]) == ("RoleBinding", "shop", "ClusterRole")


def test_binding_names_are_valid_object_names_and_never_shared():
    assert binding_name("alice") == "kubebin-user-alice"
    mail, other = binding_name("Alice@example.com"), binding_name("alice@example.com")
    assert mail.startswith("kubebin-user-alice-example.com-") and other.startswith("kubebin-user-alice-example.com-")
    assert mail != other


@pytest.mark.parametrize("kwargs, message", [
    ({"name": ""}, r"pki_user_name \(-e user=\) '' is not a user name: 1 to 64 characters"),
    ({"name": "a" * 65}, r"is not a user name"),
    ({"name": "bob/../x"}, r"is not a user name"),
    ({"name": "system:admin"}, r"is not a user name"),
    ({"name": "kubernetes-admin"}, r"'kubernetes-admin' is an identity of the cluster's own components"),
    ({"groups": ["system:masters"]}, r"pki_user_groups \(-e user_groups=\) 'system:masters' is reserved .* super-admin.conf on the controller"),
    ({"groups": "dev"}, r"'dev' is not a list"),
    ({"groups": ["dev", ""]}, r"holds an empty or non-string group"),
    ({"validity": "1y"}, r"pki_user_validity \(-e validity=\) '1y' is not a duration: .* 90m, 8h, 30d"),
    ({"validity": "0h"}, r"'0h' is not a duration"),
    ({"role": "deployer"}, r"pki_user_namespace \(-e role_namespace=\) '' is required with a role"),
    ({"role": "deployer", "clusterrole": "view", "namespace": "shop"}, r"and a clusterrole are both set"),
    ({"clusterrole": "view", "namespace": "Shop"}, r"'Shop' is not a namespace name"),
    ({"clusterrole": "view me"}, r"pki_user_clusterrole \(-e clusterrole=\) 'view me' is not a role name"),
    ({"state": "gone"}, r"pki_user_state \(-e state=\) 'gone' is not present or absent"),
])
def test_bad_requests_name_the_variable_and_what_would_be_valid(kwargs, message):
    kwargs = dict({"name": "alice"}, **kwargs)
    with pytest.raises(AnsibleFilterError, match=message):
        pki_user_request(kwargs.pop("name"), **kwargs)


def _pem(name, groups, not_after):
    ca_key = pki_crypto.generate_key("ecdsa-p256")
    ca, leaf = normalize_specs([{"name": "ca", "common_name": "ca"},
                                {"name": "users/" + name, "ca": "ca", "common_name": name, "organizations": groups,
                                 "extended_key_usage": ["client_auth"], "validity_minutes": 60}])
    ca_cert = pki_crypto.sign_certificate(ca, ca_key, not_after - datetime.timedelta(days=3650))
    key = pki_crypto.generate_key("ecdsa-p256")
    cert = pki_crypto.sign_certificate(leaf, key, not_after - datetime.timedelta(minutes=60), ca_cert, ca_key)
    return pki_crypto.cert_to_pem(cert).decode("ascii")


def test_the_report_lists_users_with_expiry_groups_and_bindings():
    paths = ["/pki/users/bob.crt", "/pki/users/alice.crt", "/pki/users/carol.crt"]
    contents = [_pem("bob", [], NOW - datetime.timedelta(minutes=5)),
                _pem("alice", ["dev", "ops"], NOW + datetime.timedelta(minutes=125)), "not a certificate"]
    bindings = [pki_user_request("alice", clusterrole="view")["binding"],
                pki_user_request("alice", role="deployer", namespace="shop")["binding"],
                {"kind": "ClusterRoleBinding", "metadata": {"name": "someone-else"}, "roleRef": {"kind": "ClusterRole", "name": "admin"}}]
    rows = pki_user_report(paths, contents, bindings, now=NOW)
    assert [row["user"] for row in rows] == ["alice", "bob", "carol"]
    alice, bob, carol = rows
    assert (alice["groups"], alice["minutes_left"], alice["expired"]) == (["dev", "ops"], 125, False)
    assert alice["bindings"] == ["ClusterRoleBinding kubebin-user-alice: ClusterRole view",
                                 "RoleBinding shop/kubebin-user-alice: Role deployer"]
    assert pki_user_report_line(alice) == ("alice [groups dev,ops]: notAfter 2026-12-01T14:05:00+00:00 (2h05m left); "
                                           "ClusterRoleBinding kubebin-user-alice: ClusterRole view; RoleBinding shop/kubebin-user-alice: Role deployer")
    assert bob["expired"] is True
    assert pki_user_report_line(bob) == "bob [groups -]: expired 2026-12-01T11:55:00+00:00; no binding"
    assert pki_user_report_line(carol).startswith("carol: unreadable (")


def test_the_report_refuses_mismatched_lists():
    with pytest.raises(AnsibleFilterError, match="2 paths but 1 contents"):
        pki_user_report(["a.crt", "b.crt"], ["x"])
