# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS bootstrapping through the stand-ins: bootstrap-token authentication and the minimal RBAC
of the apiserver, the CSR API with real kubectl, the controller-manager's approver and signer, and
the kubelet's client and serving certificate requests. Real etcd, kubectl and openssl throughout;
the RBAC bindings are the collection's own template."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time

import pytest
import yaml

from .conftest import REPO, apiserver_flags, free_port, kubectl, start_etcd, start_notified
from .pki import kubeconfig

TOKEN_ID, TOKEN_SECRET = "kbtest", "0123456789abcdef"
TOKEN = TOKEN_ID + "." + TOKEN_SECRET
EXTRA_GROUP = "system:bootstrappers:kubebin:default-node-token"
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
RBAC_TEMPLATE = os.path.join(REPO, "roles", "cluster_objects", "templates", "rbac-tls-bootstrap.yaml.j2")


# --- helpers ------------------------------------------------------------------------------

def token_secret(token_id=TOKEN_ID, secret=TOKEN_SECRET, form="stringData", kind="bootstrap.kubernetes.io/token", **overrides) -> str:
    data = {"token-id": token_id, "token-secret": secret, "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true", "auth-extra-groups": EXTRA_GROUP}
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    if form == "data":
        data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    doc = {"apiVersion": "v1", "kind": "Secret", "type": kind,
           "metadata": {"name": "bootstrap-token-" + token_id, "namespace": "kube-system"}, form: data}
    return yaml.safe_dump(doc)


def rbac_documents() -> list:
    """The collection's TLS-bootstrap bindings (the template has one Jinja line, ansible_managed)."""
    with open(RBAC_TEMPLATE, encoding="utf-8") as handle:
        text = "".join(line for line in handle if "{{" not in line)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def binding(role: str) -> str:
    return yaml.safe_dump([doc for doc in rbac_documents() if doc["roleRef"]["name"] == role][0])


def call(api, method, path, body=None, token=None, cert=None, ca=None):
    """(status, parsed body) of one HTTPS request, the server verified against the cluster CA."""
    context = ssl.create_default_context(cafile=ca or api["ca"])
    if cert:
        context.load_cert_chain(*cert)
    conn = http.client.HTTPSConnection("127.0.0.1", api["port"], context=context, timeout=20)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, data.decode("utf-8", "replace")
    finally:
        conn.close()


def openssl_csr(tmp_path, subject, sans=None, name="r") -> bytes:
    """A key and request made by the real openssl (ECDSA P-256, like a kubelet's)."""
    args = ["openssl", "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-keyout", str(tmp_path / (name + ".key")), "-out", str(tmp_path / (name + ".csr")), "-subj", subject]
    if sans:
        args += ["-addext", "subjectAltName=" + sans]
    subprocess.run(args, check=True, capture_output=True, timeout=60)
    return (tmp_path / (name + ".csr")).read_bytes()


def csr_object(pem: bytes, signer: str, usages, name: str = "", **spec_extra) -> dict:
    meta = {"name": name} if name else {"generateName": "csr-"}
    spec = {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": list(usages)}
    spec.update(spec_extra)
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": meta, "spec": spec}


def identities(api) -> list:
    with open(os.path.join(api["log_dir"], "apiserver-identities.log"), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def get_csr(api, name) -> dict:
    code, body = call(api, "GET", "%s/%s" % (CSR_PATH, name), cert=api["admin"])
    assert code == 200, body
    return body


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)


def condition_types(obj) -> list:
    return [c["type"] for c in (obj.get("status") or {}).get("conditions") or []]


def openssl_text(cert_pem: bytes) -> str:
    return subprocess.run(["openssl", "x509", "-noout", "-text"], input=cert_pem, capture_output=True, check=True, timeout=30).stdout.decode()


def verify_with_ca(cert_pem: bytes, ca: str, purpose: str) -> None:
    result = subprocess.run(["openssl", "verify", "-CAfile", ca, "-purpose", purpose], input=cert_pem, capture_output=True, timeout=30,
                            check=False)
    assert result.returncode == 0 and b"OK" in result.stdout, result.stdout + result.stderr


# --- a cluster with --enable-bootstrap-token-auth (own etcd: the RBAC state is this module's) ----

@pytest.fixture(scope="module")
def cluster(bins, pki, tmp_path_factory):
    work = tmp_path_factory.mktemp("tlsboot")
    etcd_url, etcd_proc = start_etcd(pki, work)
    port = free_port()
    log_dir = str(work / "logs")
    proc = start_notified([bins["kube-apiserver"]] + apiserver_flags(pki, etcd_url, port) + ["--enable-bootstrap-token-auth=true"],
                          work, "kube-apiserver", {"KUBEBIN_STANDIN_LOG_DIR": log_dir})
    url = "https://127.0.0.1:%d" % port
    api = {"url": url, "port": port, "log_dir": log_dir, "ca": pki.path("ca", "crt"), "work": work,
           "admin": (pki.path("admin", "crt"), pki.path("admin", "key")),
           "node1": (pki.path("kubelet-client", "crt"), pki.path("kubelet-client", "key")),
           "admin_conf": kubeconfig(str(work / "admin.conf"), url, pki.path("ca", "crt"), pki.path("admin", "crt"), pki.path("admin", "key"))}
    kubectl(api["admin_conf"], "apply", "-f", "-", stdin=token_secret())
    yield api
    proc.stop()
    etcd_proc.stop()


@pytest.fixture(scope="module")
def controller_manager(bins, pki, cluster):
    conf = kubeconfig(str(cluster["work"] / "cm.conf"), cluster["url"], pki.path("ca", "crt"), pki.path("controller-manager", "crt"),
                      pki.path("controller-manager", "key"))
    proc = start_notified([bins["kube-controller-manager"], "--kubeconfig=" + conf, "--bind-address=127.0.0.1", "--secure-port=%d" % free_port(),
                           "--cluster-signing-cert-file=" + pki.path("ca", "crt"), "--cluster-signing-key-file=" + pki.path("ca", "key"),
                           "--cluster-signing-duration=8760h", "--controllers=*,bootstrapsigner,tokencleaner"],
                          cluster["work"], "kube-controller-manager")
    yield proc
    proc.stop()


def wait_cycles(count=3) -> None:
    """Let the controller-manager poll a few times (it syncs every 2 s)."""
    time.sleep(2.0 * count + 0.5)


# --- authentication -----------------------------------------------------------------------

def test_without_the_flag_a_valid_token_is_401(apiserver, admin_kubeconfig, pki):
    kubectl(admin_kubeconfig, "apply", "-f", "-", stdin=token_secret())
    code, body = call(apiserver, "GET", "/healthz", token=TOKEN, ca=pki.path("ca", "crt"))
    assert code == 401 and body["reason"] == "Unauthorized"
    with open(os.path.join(apiserver["log_dir"], "apiserver-identities.log"), encoding="utf-8") as handle:
        assert "system:bootstrap:" not in handle.read()


def test_token_authenticates_as_bootstrap_user_and_is_logged(cluster):
    code, body = call(cluster, "GET", "/healthz", token=TOKEN)
    assert (code, body) == (200, "ok")
    entry = identities(cluster)[-1]
    assert entry["cn"] == "system:bootstrap:" + TOKEN_ID
    assert entry["o"] == sorted(["system:bootstrappers", EXTRA_GROUP]) and entry["auth"] == "bootstrap-token"
    # Discovery is open to every authenticated user, like upstream's system:discovery.
    assert call(cluster, "GET", "/apis", token=TOKEN)[0] == 200


@pytest.mark.parametrize("token_id,token,secret_args,why", [
    ("wrongs", "wrongs.0123456789abcdef", {"secret": "fedcba9876543210"}, "token-secret does not match"),
    ("nosecr", "nosecr.0123456789abcdef", None, "no Secret"),
    ("expird", "expird.0123456789abcdef", {"expiration": "2020-01-01T00:00:00Z"}, "expired"),
    ("noauth", "noauth.0123456789abcdef", {"usage-bootstrap-authentication": None}, "usage-bootstrap-authentication"),
    ("badgrp", "badgrp.0123456789abcdef", {"auth-extra-groups": "system:masters"}, "auth-extra-groups"),
    ("opaque", "opaque.0123456789abcdef", {"kind": "Opaque"}, "not bootstrap.kubernetes.io/token"),
    ("datafm", "datafm.0123456789abcdef", {"form": "data", "secret": "fedcba9876543210"}, "token-secret does not match"),
    ("short", "short.0123456789abcdef", None, "not a bootstrap token"),
])
def test_bad_tokens_are_401(cluster, token_id, token, secret_args, why):
    if secret_args is not None:
        args = dict(secret_args)
        kubectl(cluster["admin_conf"], "apply", "-f", "-", stdin=token_secret(token_id, args.pop("secret", "0123456789abcdef"), **args))
    code, body = call(cluster, "GET", "/healthz", token=token)
    assert code == 401 and body["reason"] == "Unauthorized"
    with open(str(cluster["work"] / "kube-apiserver.log"), encoding="utf-8") as handle:
        assert why in handle.read()


def test_token_in_data_form_authenticates(cluster):
    kubectl(cluster["admin_conf"], "apply", "-f", "-", stdin=token_secret("datatk", "aaaaaaaaaaaaaaaa", form="data"))
    assert call(cluster, "GET", "/healthz", token="datatk.aaaaaaaaaaaaaaaa") == (200, "ok")


def test_secrets_are_stored_as_data_like_upstream(cluster):
    """stringData is merged into data and not kept: re-applying a stringData Secret is `configured`
    again (kubernetes/kubernetes#87736), a data Secret is `unchanged`."""
    manifest = token_secret("stored", "bbbbbbbbbbbbbbbb")
    kubectl(cluster["admin_conf"], "apply", "-f", "-", stdin=manifest)
    again = kubectl(cluster["admin_conf"], "apply", "-f", "-", stdin=manifest)
    assert "secret/bootstrap-token-stored configured" in again.stdout
    stored = json.loads(kubectl(cluster["admin_conf"], "-n", "kube-system", "get", "secret", "bootstrap-token-stored", "-o", "json").stdout)
    assert "stringData" not in stored and base64.b64decode(stored["data"]["token-secret"]) == b"bbbbbbbbbbbbbbbb"
    data_form = token_secret("stordd", "cccccccccccccccc", form="data")
    kubectl(cluster["admin_conf"], "apply", "-f", "-", stdin=data_form)
    assert "unchanged" in kubectl(cluster["admin_conf"], "apply", "-f", "-", stdin=data_form).stdout


# --- authorization and the CSR API --------------------------------------------------------

def test_bootstrapper_needs_the_node_bootstrapper_binding(cluster, tmp_path):
    pem = openssl_csr(tmp_path, "/O=system:nodes/CN=system:node:nodea")
    request = csr_object(pem, "kubernetes.io/kube-apiserver-client-kubelet", ["digital signature", "client auth"], "node-csr-a",
                         username="system:admin", groups=["system:masters"])
    code, body = call(cluster, "POST", CSR_PATH, request, token=TOKEN)
    assert code == 403 and body["reason"] == "Forbidden"
    assert body["message"] == ('certificatesigningrequests.certificates.k8s.io is forbidden: User "system:bootstrap:%s" cannot create '
                               'resource "certificatesigningrequests" in API group "certificates.k8s.io" at the cluster scope' % TOKEN_ID)
    kubectl(cluster["admin_conf"], "apply", "-f", "-", stdin=binding("system:node-bootstrapper"))
    code, body = call(cluster, "POST", CSR_PATH, request, token=TOKEN)
    assert code == 201, body
    # The requester is the authenticated user, whatever the client claimed.
    assert body["spec"]["username"] == "system:bootstrap:" + TOKEN_ID
    assert body["spec"]["groups"] == sorted(["system:bootstrappers", EXTRA_GROUP]) + ["system:authenticated"]
    assert body["status"] == {}
    assert call(cluster, "GET", CSR_PATH + "/node-csr-a", token=TOKEN)[0] == 200
    assert call(cluster, "GET", CSR_PATH, token=TOKEN)[0] == 200
    # Nothing else: not nodes, not other verbs on CSRs, not approval.
    code, body = call(cluster, "GET", "/api/v1/nodes", token=TOKEN)
    assert code == 403 and 'cannot list resource "nodes" in API group ""' in body["message"]
    assert call(cluster, "DELETE", CSR_PATH + "/node-csr-a", token=TOKEN)[0] == 403
    approve = dict(body, status={"conditions": [{"type": "Approved", "status": "True", "reason": "Self"}]})
    code, body = call(cluster, "PUT", CSR_PATH + "/node-csr-a/approval", approve, token=TOKEN)
    assert code == 403 and 'cannot update resource "certificatesigningrequests/approval"' in body["message"]
    # A certificate identity's requester info comes from its certificate.
    code, body = call(cluster, "POST", CSR_PATH, csr_object(pem, "example.com/signer", ["client auth"]), cert=cluster["node1"])
    assert code == 201 and body["spec"]["username"] == "system:node:node1"
    assert body["spec"]["groups"] == ["system:nodes", "system:authenticated"] and body["metadata"]["name"].startswith("csr-")


def test_requests_must_parse_and_verify(cluster, tmp_path):
    pem = openssl_csr(tmp_path, "/O=system:nodes/CN=system:node:nodeb")
    der = bytearray(base64.b64decode(b"".join(pem.splitlines()[1:-1])))
    der[-5] ^= 0xFF  # inside the signature
    tampered = b"-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(bytes(der)) + b"-----END CERTIFICATE REQUEST-----\n"
    cases = [(b"not a request", "PEM block type must be CERTIFICATE REQUEST"), (tampered, "signature does not verify"),
             (pem.replace(b"CERTIFICATE REQUEST", b"CERTIFICATE"), "PEM block type must be CERTIFICATE REQUEST")]
    for request, reason in cases:
        code, body = call(cluster, "POST", CSR_PATH, csr_object(request, "example.com/x", ["client auth"]), cert=cluster["admin"])
        assert code == 422 and reason in body["message"], body
    code, body = call(cluster, "POST", CSR_PATH, csr_object(pem, "example.com/x", ["client auth", "flying"]), cert=cluster["admin"])
    assert code == 422 and 'spec.usages[1]: Unsupported value: "flying"' in body["message"]


# --- the controller-manager's approver and signer, and kubectl certificate approve ------------

def test_node_client_requests_are_approved_only_with_the_nodeclient_binding(cluster, controller_manager, pki, tmp_path):
    pem = openssl_csr(tmp_path, "/O=system:nodes/CN=system:node:nodec")
    code, body = call(cluster, "POST", CSR_PATH, csr_object(pem, "kubernetes.io/kube-apiserver-client-kubelet",
                                                            ["digital signature", "client auth"], "node-csr-c"), token=TOKEN)
    assert code == 201, body
    wait_cycles()
    assert condition_types(get_csr(cluster, "node-csr-c")) == []
    assert "node-csr-c of system:bootstrap:%s left pending" % TOKEN_ID in controller_manager.output()
    kubectl(cluster["admin_conf"], "apply", "-f", "-", stdin="---\n".join(yaml.safe_dump(doc) for doc in rbac_documents()))
    issued = wait_for(lambda: (get_csr(cluster, "node-csr-c").get("status") or {}).get("certificate"), what="the client certificate")
    obj = get_csr(cluster, "node-csr-c")
    approved = [c for c in obj["status"]["conditions"] if c["type"] == "Approved"][0]
    assert approved["reason"] == "AutoApproved" and approved["status"] == "True"
    cert = base64.b64decode(issued)
    verify_with_ca(cert, pki.path("ca", "crt"), "sslclient")
    text = openssl_text(cert)
    assert "Subject: O = system:nodes, CN = system:node:nodec" in text
    assert "TLS Web Client Authentication" in text and "Subject Alternative Name" not in text and "CA:FALSE" in text


def test_serving_requests_are_never_auto_approved_but_signed_once_approved(cluster, controller_manager, pki, tmp_path):
    pem = openssl_csr(tmp_path, "/O=system:nodes/CN=system:node:node1", "DNS:node1,IP:127.0.0.1")
    code, body = call(cluster, "POST", CSR_PATH, csr_object(pem, "kubernetes.io/kubelet-serving", ["digital signature", "server auth"]),
                      cert=cluster["node1"])
    assert code == 201, body
    name = body["metadata"]["name"]
    wait_cycles()
    assert condition_types(get_csr(cluster, name)) == []
    # Real kubectl: GET the request, PUT .../approval with an Approved condition.
    approved = kubectl(cluster["admin_conf"], "certificate", "approve", name)
    assert approved.stdout.strip() == "certificatesigningrequest.certificates.k8s.io/%s approved" % name
    issued = wait_for(lambda: (get_csr(cluster, name).get("status") or {}).get("certificate"), what="the serving certificate")
    obj = get_csr(cluster, name)
    assert [c["reason"] for c in obj["status"]["conditions"]] == ["KubectlApprove"]
    assert obj["spec"]["username"] == "system:node:node1"
    cert = base64.b64decode(issued)
    verify_with_ca(cert, pki.path("ca", "crt"), "sslserver")
    text = openssl_text(cert)
    assert "DNS:node1, IP Address:127.0.0.1" in text and "TLS Web Server Authentication" in text
    assert re.search(r"Key Usage: critical\s+Digital Signature\n", text)
    # Capped by the CA's own end (the test CA lives one day, --cluster-signing-duration is a year).
    ca_end = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", pki.path("ca", "crt")], capture_output=True, text=True,
                            check=True).stdout
    cert_end = subprocess.run(["openssl", "x509", "-noout", "-enddate"], input=cert, capture_output=True, check=True).stdout.decode()
    assert cert_end == ca_end
    # kubectl reads the condition back (it will not deny an approved request); the server refuses
    # Approved with Denied, and any change of an issued certificate.
    denied = kubectl(cluster["admin_conf"], "certificate", "deny", name, check=False)
    assert denied.returncode != 0 and "is already Approved" in denied.stderr
    obj["status"]["conditions"].append({"type": "Denied", "status": "True", "reason": "Test"})
    code, body = call(cluster, "PUT", "%s/%s/approval" % (CSR_PATH, name), obj, cert=cluster["admin"])
    assert code == 422 and "Approved and Denied conditions are mutually exclusive" in body["message"]
    obj = get_csr(cluster, name)
    obj["status"]["certificate"] = base64.b64encode(cert + cert).decode()
    code, body = call(cluster, "PUT", "%s/%s/status" % (CSR_PATH, name), obj, cert=cluster["admin"])
    assert code == 422 and "updates may not modify existing certificate content" in body["message"]
    assert get_csr(cluster, name)["status"]["certificate"] == issued


def test_signer_fails_invalid_approved_requests_and_ignores_other_signers(cluster, controller_manager, tmp_path):
    no_org = openssl_csr(tmp_path, "/CN=system:node:node1", "DNS:node1", name="noorg")
    code, body = call(cluster, "POST", CSR_PATH, csr_object(no_org, "kubernetes.io/kubelet-serving", ["digital signature", "server auth"]),
                      cert=cluster["node1"])
    bad = body["metadata"]["name"]
    other_pem = openssl_csr(tmp_path, "/CN=someone", name="other")
    code, body = call(cluster, "POST", CSR_PATH, csr_object(other_pem, "example.com/other", ["client auth"]), cert=cluster["admin"])
    assert code == 201
    other = body["metadata"]["name"]
    kubectl(cluster["admin_conf"], "certificate", "approve", bad, other)
    failed = wait_for(lambda: "Failed" in condition_types(get_csr(cluster, bad)) and get_csr(cluster, bad), what="the Failed condition")
    condition = [c for c in failed["status"]["conditions"] if c["type"] == "Failed"][0]
    assert condition["reason"] == "SignerValidationFailure" and "organization is not system:nodes" in condition["message"]
    assert "certificate" not in failed["status"]
    wait_cycles(2)
    assert "certificate" not in get_csr(cluster, other)["status"]


# --- the kubelet --------------------------------------------------------------------------

@pytest.fixture()
def cri_socket(tmp_path):
    path = str(tmp_path / "cri.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    yield "unix://" + path
    server.close()


def kubelet_config(tmp_path, pki, cri, **extra) -> str:
    doc = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
           "authentication": {"anonymous": {"enabled": False}, "x509": {"clientCAFile": pki.path("ca", "crt")}},
           "address": "127.0.0.1", "port": free_port(), "healthzBindAddress": "127.0.0.1", "healthzPort": free_port(),
           "containerRuntimeEndpoint": cri, "rotateCertificates": True, "serverTLSBootstrap": True}
    doc.update(extra)
    path = tmp_path / "kubelet-config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def bootstrap_kubeconfig(path, server, ca, token=TOKEN) -> str:
    with open(ca, "rb") as handle:
        ca_data = base64.b64encode(handle.read()).decode()
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "tls-bootstrap",
           "clusters": [{"name": "kubebin", "cluster": {"server": server, "certificate-authority-data": ca_data}}],
           "users": [{"name": "kubelet-bootstrap", "user": {"token": token}}],
           "contexts": [{"name": "tls-bootstrap", "context": {"cluster": "kubebin", "user": "kubelet-bootstrap"}}]}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(doc, handle)
    return str(path)


def kubelet_env(tmp_path) -> dict:
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir(exist_ok=True)
    (cgroup / "cgroup.controllers").write_text("cpu memory\n")
    return {"KUBEBIN_STANDIN_CGROUP_ROOT": str(cgroup)}


def s_client(port: int, ca: str | None = None) -> subprocess.CompletedProcess:
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port]
    if ca:
        args += ["-CAfile", ca, "-verify_ip", "127.0.0.1", "-verify_return_error"]
    return subprocess.run(args, input="", capture_output=True, text=True, timeout=30, check=False)


def serves_verified(port: int, ca: str) -> bool:
    """The handshake succeeded and the certificate verified (s_client prints "Verify return code: 0"
    after a failed handshake too: the exit code counts)."""
    result = s_client(port, ca)
    return result.returncode == 0 and "Verify return code: 0 (ok)" in result.stdout


def test_kubelet_bootstraps_its_client_and_serving_certificates(bins, cluster, controller_manager, pki, tmp_path, cri_socket):
    config = kubelet_config(tmp_path, pki, cri_socket)
    port = yaml.safe_load(open(config, encoding="utf-8"))["port"]
    cert_dir, kubelet_conf = tmp_path / "pki", tmp_path / "kubelet.conf"
    boot = bootstrap_kubeconfig(str(tmp_path / "bootstrap-kubelet.conf"), cluster["url"], pki.path("ca", "crt"))
    seen_before = len(identities(cluster))
    proc = start_notified([bins["kubelet"], "--config=" + config, "--kubeconfig=" + str(kubelet_conf), "--bootstrap-kubeconfig=" + boot,
                           "--cert-dir=" + str(cert_dir), "--hostname-override=Node2", "--node-ip=127.0.0.1", "--v=2"],
                          tmp_path, "kubelet", kubelet_env(tmp_path))
    try:
        # The client certificate: requested with the token, approved and signed by the controller-manager.
        client_pem = cert_dir / "kubelet-client-current.pem"
        assert os.path.islink(client_pem) and os.stat(client_pem).st_mode & 0o777 == 0o600
        pem = client_pem.read_bytes()
        assert pem.index(b"BEGIN CERTIFICATE") < pem.index(b"PRIVATE KEY")
        verify_with_ca(pem, pki.path("ca", "crt"), "sslclient")
        assert "Subject: O = system:nodes, CN = system:node:node2" in openssl_text(pem)
        assert not (cert_dir / "kubelet-client.key.tmp").exists()
        written = yaml.safe_load(kubelet_conf.read_text())
        assert written["users"][0]["user"] == {"client-certificate": str(client_pem), "client-key": str(client_pem)}
        assert os.stat(kubelet_conf).st_mode & 0o777 == 0o600
        # The apiserver saw the token user first, then the node.
        seen = identities(cluster)[seen_before:]
        who = [e["cn"] for e in seen]
        first_node = who.index("system:node:node2")
        assert "system:bootstrap:" + TOKEN_ID in who[:first_node]
        assert "system:bootstrap:" + TOKEN_ID not in who[first_node:]
        assert any(e["method"] == "POST" and e["path"] == CSR_PATH for e in seen[:first_node])
        node = json.loads(kubectl(cluster["admin_conf"], "get", "node", "node2", "-o", "json").stdout)
        assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "node2"
        # READY was sent before any serving certificate: port 10250 fails every handshake meanwhile.
        assert not (cert_dir / "kubelet-server-current.pem").exists()
        refused = s_client(port)
        assert refused.returncode != 0 and "alert handshake failure" in refused.stdout + refused.stderr
        serving = wait_for(lambda: [i for i in json.loads(kubectl(cluster["admin_conf"], "get", "csr", "-o", "json").stdout)["items"]
                                    if i["spec"]["signerName"] == "kubernetes.io/kubelet-serving"
                                    and i["spec"]["username"] == "system:node:node2"], what="the serving CSR")[0]
        assert serving["spec"]["groups"] == ["system:nodes", "system:authenticated"]
        assert serving["spec"]["usages"] == ["digital signature", "server auth"]
        wait_cycles(2)
        assert condition_types(get_csr(cluster, serving["metadata"]["name"])) == []
        kubectl(cluster["admin_conf"], "certificate", "approve", serving["metadata"]["name"])
        wait_for((cert_dir / "kubelet-server-current.pem").exists, what="kubelet-server-current.pem")
        wait_for(lambda: serves_verified(port, pki.path("ca", "crt")), what="10250 with the certificate")
        text = openssl_text((cert_dir / "kubelet-server-current.pem").read_bytes())
        assert "DNS:node2, IP Address:127.0.0.1" in text and "Subject: O = system:nodes, CN = system:node:node2" in text
        assert proc.proc.poll() is None
    finally:
        proc.stop()
    # A restart keeps both certificates: no new request.
    before = json.loads(kubectl(cluster["admin_conf"], "get", "csr", "-o", "json").stdout)["items"]
    proc = start_notified([bins["kubelet"], "--config=" + config, "--kubeconfig=" + str(kubelet_conf), "--bootstrap-kubeconfig=" + boot,
                           "--cert-dir=" + str(cert_dir), "--hostname-override=node2", "--node-ip=127.0.0.1"],
                          tmp_path, "kubelet2", kubelet_env(tmp_path))
    try:
        assert serves_verified(port, pki.path("ca", "crt"))
        assert json.loads(kubectl(cluster["admin_conf"], "get", "csr", "-o", "json").stdout)["items"] == before
        assert "--bootstrap-kubeconfig is not used" in proc.output()
    finally:
        proc.stop()


def run_kubelet(binary, tmp_path, *args):
    env = dict(os.environ, KUBEBIN_STANDIN_CONNECT_TIMEOUT="5", **kubelet_env(tmp_path))
    return subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=60, check=False, env=env)


@pytest.mark.parametrize("case,reason", [
    ("no-bootstrap-file", "unable to load bootstrap kubeconfig: stat"),
    ("no-kubeconfig-no-bootstrap", "does not exist and no --bootstrap-kubeconfig is given"),
    ("server-bootstrap-and-files", "serverTLSBootstrap is true and tlsCertFile/tlsPrivateKeyFile are set"),
    ("feature-gate-off", "serverTLSBootstrap true requires feature gate RotateKubeletServerCertificate"),
    ("token-refused", "rejected our bootstrap token wrong0"),
    ("world-readable-bootstrap", "holds a secret but is world-readable"),
])
def test_kubelet_refuses_what_the_real_one_would(bins, cluster, pki, tmp_path, cri_socket, case, reason):
    extra = {}
    if case == "server-bootstrap-and-files":
        extra = {"tlsCertFile": pki.path("kubelet", "crt"), "tlsPrivateKeyFile": pki.path("kubelet", "key")}
    if case == "feature-gate-off":
        extra = {"featureGates": {"RotateKubeletServerCertificate": False}}
    config = kubelet_config(tmp_path, pki, cri_socket, **extra)
    boot = bootstrap_kubeconfig(str(tmp_path / "boot.conf"), cluster["url"], pki.path("ca", "crt"),
                                token="wrong0.0123456789abcdef" if case == "token-refused" else TOKEN)
    if case == "world-readable-bootstrap":
        os.chmod(boot, 0o644)
    args = ["--config=" + config, "--kubeconfig=" + str(tmp_path / "kubelet.conf"), "--cert-dir=" + str(tmp_path / "pki"),
            "--hostname-override=node3"]
    if case == "no-bootstrap-file":
        args.append("--bootstrap-kubeconfig=" + str(tmp_path / "missing.conf"))
    elif case != "no-kubeconfig-no-bootstrap":
        args.append("--bootstrap-kubeconfig=" + boot)
    result = run_kubelet(bins["kubelet"], tmp_path, *args)
    assert result.returncode == 1 and "FATAL" in result.stderr and reason in result.stderr, result.stderr
    assert not (tmp_path / "kubelet.conf").exists()


def test_stand_ins_import_only_what_the_test_image_has():
    """The stand-ins run on the test hosts with Debian's python3, python3-yaml and the openssl CLI
    (tests/image/build.sh): the standard library and yaml, no Python crypto package."""
    source = os.path.join(REPO, "tests", "standins", "kubebin_standin")
    imported = set()
    for name in sorted(os.listdir(source)):
        if name.endswith(".py"):
            with open(os.path.join(source, name), encoding="utf-8") as handle:
                imported |= {m.group(1).split(".")[0] for m in re.finditer(r"^(?:from|import) ([a-zA-Z_][\w.]*)", handle.read(), re.M)}
    assert imported - set(sys.stdlib_module_names) - {"kubebin_standin"} == {"yaml"}
    assert shutil.which("openssl")
