# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The apiserver stand-in against a real etcd, real kubectl and a TLS client without certificate."""

from __future__ import annotations

import http.client
import json
import os
import ssl

from .conftest import kubectl

CRB = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kube-apiserver-kubelet-client
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:kubelet-api-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: kube-apiserver-kubelet-client
"""


def _identities(apiserver) -> list:
    with open(os.path.join(apiserver["log_dir"], "apiserver-identities.log"), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_verified_client_gets_readyz(apiserver, admin_kubeconfig):
    result = kubectl(admin_kubeconfig, "get", "--raw", "/readyz")
    assert result.stdout.strip() == "ok"
    assert {"cn": "kubernetes-admin", "o": ["kubeadm:cluster-admins"], "path": "/readyz"}.items() <= _identities(apiserver)[-1].items()


def test_client_without_certificate_gets_401(apiserver, pki):
    context = ssl.create_default_context(cafile=pki.path("ca", "crt"))
    conn = http.client.HTTPSConnection("127.0.0.1", apiserver["port"], context=context, timeout=10)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        assert response.status == 401
        assert json.loads(response.read())["reason"] == "Unauthorized"
    finally:
        conn.close()


def test_client_certificate_from_other_ca_is_refused(apiserver, pki):
    context = ssl.create_default_context(cafile=pki.path("ca", "crt"))
    context.load_cert_chain(pki.path("rogue-apiserver", "crt"), pki.path("rogue-apiserver", "key"))
    conn = http.client.HTTPSConnection("127.0.0.1", apiserver["port"], context=context, timeout=10)
    try:
        try:
            conn.request("GET", "/healthz")
            conn.getresponse()
        except (ssl.SSLError, ConnectionError, http.client.HTTPException):
            return
        raise AssertionError("a client certificate from another CA was accepted")
    finally:
        conn.close()


def test_kubectl_apply_clusterrolebinding_is_recorded_and_idempotent(apiserver, admin_kubeconfig):
    first = kubectl(admin_kubeconfig, "apply", "-f", "-", stdin=CRB)
    assert "clusterrolebinding.rbac.authorization.k8s.io/kube-apiserver-kubelet-client created" in first.stdout
    again = kubectl(admin_kubeconfig, "apply", "-f", "-", stdin=CRB)
    assert "unchanged" in again.stdout
    stored = json.loads(kubectl(admin_kubeconfig, "get", "clusterrolebinding", "kube-apiserver-kubelet-client", "-o", "json").stdout)
    assert stored["roleRef"]["name"] == "system:kubelet-api-admin"
    mirror = os.path.join(apiserver["log_dir"], "objects", "clusterrolebindings", "_cluster", "kube-apiserver-kubelet-client.json")
    with open(mirror, encoding="utf-8") as handle:
        assert json.load(handle)["subjects"][0]["name"] == "kube-apiserver-kubelet-client"


def test_server_side_apply_and_namespace_lifecycle(apiserver, admin_kubeconfig):
    secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s1\n  namespace: %s\nstringData:\n  k: v\n"
    missing = kubectl(admin_kubeconfig, "apply", "--server-side", "-f", "-", stdin=secret % "nope", check=False)
    assert missing.returncode != 0 and 'namespaces "nope" not found' in missing.stderr
    applied = kubectl(admin_kubeconfig, "apply", "--server-side", "-f", "-", stdin=secret % "kube-system")
    assert "secret/s1 serverside-applied" in applied.stdout


def test_service_cluster_ip_outside_range_is_refused(apiserver, admin_kubeconfig):
    svc = ("apiVersion: v1\nkind: Service\nmetadata:\n  name: kube-dns\n  namespace: kube-system\n"
           "spec:\n  clusterIP: %s\n  ports:\n  - port: 53\n")
    bad = kubectl(admin_kubeconfig, "apply", "-f", "-", stdin=svc % "10.200.0.10", check=False)
    assert bad.returncode != 0 and "provided IP is not in the valid range" in bad.stderr
    kubectl(admin_kubeconfig, "apply", "-f", "-", stdin=svc % "10.96.0.10")
