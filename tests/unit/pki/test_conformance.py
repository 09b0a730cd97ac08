"""Every generated certificate against shared/reference pki.md, read back with real openssl.

The expectations below are transcribed from pki.md (not from the product's spec code), and
the certificates are inspected with the openssl CLI, not with the library that made them.
"""

from __future__ import annotations

import os
import re
import stat

import pytest

from pki_helpers import MEMBER_IPS, openssl

CA_FILES = {"kubernetes": "ca.crt", "etcd": "etcd/ca.crt", "front-proxy": "front-proxy-ca.crt"}
SERVER, CLIENT = "TLS Web Server Authentication", "TLS Web Client Authentication"

# name: (CA, CN, O, EKUs) per the leaf table of pki.md.
LEAVES = {
    "apiserver": ("kubernetes", "kube-apiserver", None, {SERVER}),
    "apiserver-kubelet-client": ("kubernetes", "kube-apiserver-kubelet-client", "kubeadm:cluster-admins", {CLIENT}),
    "apiserver-etcd-client": ("etcd", "kube-apiserver-etcd-client", None, {CLIENT}),
    "etcd/healthcheck-client": ("etcd", "kube-etcd-healthcheck-client", None, {CLIENT}),
    "front-proxy-client": ("front-proxy", "front-proxy-client", None, {CLIENT}),
    "controller-manager": ("kubernetes", "system:kube-controller-manager", None, {CLIENT}),
    "scheduler": ("kubernetes", "system:kube-scheduler", None, {CLIENT}),
    "kube-proxy": ("kubernetes", "system:kube-proxy", None, {CLIENT}),
    "admin": ("kubernetes", "kubernetes-admin", "kubeadm:cluster-admins", {CLIENT}),
    "super-admin": ("kubernetes", "kubernetes-super-admin", "system:masters", {CLIENT}),
}
for _member in MEMBER_IPS:
    for _kind in ("server", "peer"):
        LEAVES["etcd/members/%s/%s" % (_member, _kind)] = ("etcd", _member, None, {SERVER, CLIENT})
for _node in ("cp1", "w1", "w2"):
    LEAVES["nodes/%s/kubelet-client" % _node] = ("kubernetes", "system:node:" + _node, "system:nodes", {CLIENT})
    LEAVES["nodes/%s/kubelet" % _node] = ("kubernetes", "system:node:" + _node, "system:nodes", {SERVER})


def inspect(path):
    """Subject, SANs, EKU, key usage and basic constraints as printed by openssl."""
    out = openssl("x509", "-in", path, "-noout", "-subject", "-nameopt", "sep_multiline,sname",
                  "-ext", "subjectAltName,extendedKeyUsage,keyUsage,basicConstraints").stdout
    subject = dict(re.findall(r"^\s+(CN|O)=(.*)$", out, re.M))
    orgs = re.findall(r"^\s+O=(.*)$", out, re.M)
    sans = re.search(r"Subject Alternative Name:\s*\n\s*(.*)", out)
    eku = re.search(r"Extended Key Usage:\s*\n\s*(.*)", out)
    ku = re.search(r"Key Usage: critical\s*\n\s*(.*)", out)
    return {
        "cn": subject.get("CN"),
        "orgs": orgs,
        "dns": {v for k, v in re.findall(r"(DNS|IP Address):([^,\s]+)", sans.group(1)) if k == "DNS"} if sans else set(),
        "ip": {v for k, v in re.findall(r"(DNS|IP Address):([^,\s]+)", sans.group(1)) if k == "IP Address"} if sans else set(),
        "eku": {e.strip() for e in eku.group(1).split(",")} if eku else set(),
        "ku": {k.strip() for k in ku.group(1).split(",")} if ku else set(),
        "ca": "CA:TRUE" in out,
    }


def test_the_three_cas_are_self_signed_cas_with_cert_sign(cluster_pki):
    for name in CA_FILES.values():
        path = os.path.join(cluster_pki["dir"], name)
        info = inspect(path)
        assert info["ca"], name
        assert {"Certificate Sign", "CRL Sign"} <= info["ku"], name
        assert openssl("verify", "-CAfile", path, path).returncode == 0
        assert openssl("x509", "-in", path, "-noout", "-checkend", str(9 * 365 * 86400)).returncode == 0, "CA under 10 years"


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_leaf_matches_pki_md_and_verifies_against_its_ca_only(cluster_pki, name):
    ca, cn, org, ekus = LEAVES[name]
    path = os.path.join(cluster_pki["dir"], name + ".crt")
    info = inspect(path)
    assert info["cn"] == cn
    assert info["orgs"] == ([org] if org else [])
    assert info["eku"] == ekus
    assert info["ku"] == {"Digital Signature", "Key Encipherment"}
    assert not info["ca"]
    own_ca = os.path.join(cluster_pki["dir"], CA_FILES[ca])
    result = openssl("verify", "-CAfile", own_ca, path, check=False)
    assert result.returncode == 0 and ": OK" in result.stdout, result.stdout + result.stderr
    for other in set(CA_FILES) - {ca}:  # three separate CAs: no cross-acceptance
        assert openssl("verify", "-CAfile", os.path.join(cluster_pki["dir"], CA_FILES[other]), path, check=False).returncode != 0
    # validity: 1 year by default
    assert openssl("x509", "-in", path, "-noout", "-checkend", str(364 * 86400)).returncode == 0
    assert openssl("x509", "-in", path, "-noout", "-checkend", str(366 * 86400), check=False).returncode != 0


def test_leaf_sans_match_pki_md(cluster_pki):
    d = cluster_pki["dir"]
    api = inspect(os.path.join(d, "apiserver.crt"))
    assert api["dns"] == {"cp1", "cp2", "cp3", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                          "kubernetes.default.svc.cluster.local", "api.example.test"}
    assert api["ip"] == set(MEMBER_IPS.values()) | {"127.0.0.1", "10.96.0.1"}
    for member, ip in MEMBER_IPS.items():
        for kind in ("server", "peer"):
            info = inspect(os.path.join(d, "etcd/members/%s/%s.crt" % (member, kind)))
            assert info["dns"] == {member, "localhost"}
            assert info["ip"] == {ip, "127.0.0.1", "0:0:0:0:0:0:0:1"}
    kubelet = inspect(os.path.join(d, "nodes/w1/kubelet.crt"))
    assert kubelet["dns"] == {"w1"} and kubelet["ip"] == {"127.0.2.1"}
    for name in ("admin", "super-admin", "controller-manager", "nodes/w1/kubelet-client", "apiserver-etcd-client"):
        info = inspect(os.path.join(d, name + ".crt"))
        assert not info["dns"] and not info["ip"], name


def test_every_key_matches_its_certificate(cluster_pki):
    for name in list(LEAVES) + ["ca", "etcd/ca", "front-proxy-ca"]:
        base = os.path.join(cluster_pki["dir"], name)
        cert_pub = openssl("x509", "-in", base + ".crt", "-noout", "-pubkey").stdout
        key_pub = openssl("pkey", "-in", base + ".key", "-pubout").stdout
        assert cert_pub == key_pub and "PUBLIC KEY" in cert_pub, name
        assert "2048 bit" in openssl("pkey", "-in", base + ".key", "-noout", "-text").stdout.splitlines()[0]


def test_file_modes(cluster_pki):
    seen = 0
    for root, dirs, files in os.walk(cluster_pki["dir"]):
        assert stat.S_IMODE(os.stat(root).st_mode) == 0o700, root
        for name in files:
            mode = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
            assert mode == (0o644 if name.endswith(".crt") else 0o600), (root, name, oct(mode))
            seen += 1
    assert seen == 2 * (len(LEAVES) + 3) + 5 + 3  # certs + keys, 5 shared kubeconfigs, 3 kubelet.conf


def test_return_values(cluster_pki):
    certs = cluster_pki["certs"]
    assert certs["summary"]["created"] == len(LEAVES) + 3 and certs["summary"]["unchanged"] == 0
    assert certs["certificates"]["apiserver"]["status"] == "created"
    soonest = certs["summary"]["soonest_expiry"]
    assert soonest["days_left"] in (364, 365) and soonest["name"] in LEAVES
