# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubelet serving-CSR check, on requests made by the real openssl the way a kubelet makes them."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils.csr_approval import serving_csr_decisions

NODES = {"w1": ["10.0.0.21"], "w2": ["10.0.0.22", "fd00::22"]}


def openssl_csr(tmp_path, subject, sans, key="rsa"):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is required")
    key_path, csr_path = tmp_path / "k.pem", tmp_path / "r.csr"
    if key == "rsa":
        keyargs = ["-newkey", "rsa:2048"]
    else:
        keyargs = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    args = [openssl, "req", "-new", "-nodes", *keyargs, "-keyout", str(key_path), "-out", str(csr_path),
            "-subj", subject]
    if sans:
        args += ["-addext", "subjectAltName=" + sans]
    subprocess.run(args, check=True, capture_output=True)
    return csr_path.read_bytes()


def csr_object(pem, name="csr-1", username="system:node:w1", groups=("system:nodes", "system:authenticated"),
               usages=("digital signature", "key encipherment", "server auth"),
               signer="kubernetes.io/kubelet-serving", conditions=None):
    return {"metadata": {"name": name},
            "spec": {"request": base64.b64encode(pem).decode(), "signerName": signer, "username": username,
                     "groups": list(groups), "usages": list(usages)},
            "status": {"conditions": conditions} if conditions else {}}


def decide(*items):
    return serving_csr_decisions({"kind": "List", "items": list(items)}, NODES)


def test_the_nodes_own_request_is_approved(tmp_path):
    rsa = openssl_csr(tmp_path, "/O=system:nodes/CN=system:node:w1", "DNS:w1,IP:10.0.0.21")
    ecdsa = openssl_csr(tmp_path, "/O=system:nodes/CN=system:node:w2", "DNS:w2,IP:10.0.0.22,IP:fd00::22", key="ec")
    result = decide(csr_object(rsa, "a"),
                    csr_object(ecdsa, "b", username="system:node:w2", usages=("digital signature", "server auth")))
    assert [(d["name"], d["node"], d["state"], d["approve"]) for d in result] == [
        ("a", "w1", "pending", True), ("b", "w2", "pending", True)]


@pytest.mark.parametrize("subject,sans,overrides,reason", [
    # Another node's names: w2 asks for w1's IP, or for the API server's name.
    ("/O=system:nodes/CN=system:node:w2", "DNS:w2,IP:10.0.0.21", {"username": "system:node:w2"},
     "not this node's own: 10.0.0.21"),
    ("/O=system:nodes/CN=system:node:w1", "DNS:w1,DNS:kubernetes.default", {}, "not this node's own: kubernetes.default"),
    # The requester is not the node the subject names.
    ("/O=system:nodes/CN=system:node:w1", "DNS:w1", {"username": "system:node:w2"}, "subject"),
    ("/O=system:nodes/CN=system:node:w1", "DNS:w1", {"username": "system:serviceaccount:default:x"}, "not by a node"),
    ("/O=system:nodes/CN=system:node:x9", "DNS:x9", {"username": "system:node:x9"}, "not a node of the inventory"),
    ("/O=system:nodes/CN=system:node:w1", "DNS:w1", {"groups": ["system:authenticated"]}, "system:nodes"),
    ("/O=system:nodes/CN=system:node:w1", "DNS:w1", {"usages": ["digital signature", "server auth", "client auth"]},
     "usages"),
    ("/O=system:nodes/CN=system:node:w1", "DNS:w1", {"usages": ["digital signature"]}, "usages"),
    ("/O=system:masters/CN=system:node:w1", "DNS:w1", {}, "subject"),
    ("/O=system:nodes/CN=system:node:w1", "DNS:w1,email:a@b.c", {}, "e-mail or URI"),
    ("/O=system:nodes/CN=system:node:w1", None, {}, "no subject alternative names"),
])
def test_anything_else_stays_pending_with_the_reason(tmp_path, subject, sans, overrides, reason):
    pem = openssl_csr(tmp_path, subject, sans)
    [decision] = decide(csr_object(pem, **overrides))
    assert decision["approve"] is False
    assert reason in decision["reason"]


def test_a_request_whose_signature_does_not_verify_is_refused(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = openssl_csr(tmp_path, "/O=system:nodes/CN=system:node:w1", "DNS:w1")
    der = bytearray(x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0xFF  # inside the signature
    tampered = b"-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(bytes(der)) + \
        b"-----END CERTIFICATE REQUEST-----\n"
    [decision] = decide(csr_object(tampered))
    assert decision["approve"] is False
    assert "signature" in decision["reason"]


def test_decided_requests_are_never_approved_again_and_other_signers_are_left_out(tmp_path):
    pem = openssl_csr(tmp_path, "/O=system:nodes/CN=system:node:w1", "DNS:w1")
    result = decide(csr_object(pem, "a", conditions=[{"type": "Approved", "status": "True"}]),
                    csr_object(pem, "d", conditions=[{"type": "Denied", "status": "True"}]),
                    csr_object(pem, "c", signer="kubernetes.io/kube-apiserver-client-kubelet"))
    assert [(d["name"], d["node"], d["state"], d["approve"]) for d in result] == [
        ("a", "w1", "approved", False), ("d", "w1", "denied", False)]
