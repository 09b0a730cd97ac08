"""CA keys encrypted at rest on the controller (kubebin_pki_ca_key_passphrase, set in this scenario's
group_vars): the three CA keys in the controller's PKI are encrypted PKCS#8 and decrypt with the
passphrase to the key of their certificate, while the control-plane hosts got the kubernetes CA key
in the clear. That the controller-manager really signs with it is proved by the scenario itself:
the kubelets' client certificates are signed by it (test_tls_bootstrap.py)."""

from __future__ import annotations

import os
import subprocess

import pytest
from testinfra.utils.ansible_runner import AnsibleRunner

testinfra_hosts = ["ansible://all"]

INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
RUNNER = AnsibleRunner(INVENTORY)
CONTROL_PLANE = sorted(RUNNER.get_hosts("kube_control_plane"))
PKI_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "pki")
REMOTE_PKI = "/etc/kubernetes/pki"
CA_NAMES = ("ca", "etcd/ca", "front-proxy-ca")
ENCRYPTED = "-----BEGIN ENCRYPTED PRIVATE KEY-----"


def _passphrase() -> str:
    value = RUNNER.get_variables(CONTROL_PLANE[0]).get("kubebin_pki_ca_key_passphrase")
    assert value, "the scenario sets kubebin_pki_ca_key_passphrase (inventory/group_vars/all/ca_keys_at_rest.yml)"
    return str(value)


def _openssl(*args, env=None) -> str:
    """Real openssl on the controller; the passphrase travels in the environment, not in argv."""
    return subprocess.run(["openssl"] + list(args), capture_output=True, text=True, check=True, timeout=30,
                          env=dict(os.environ, **(env or {}))).stdout


def _cert_public_key(path) -> str:
    return _openssl("x509", "-in", path, "-noout", "-pubkey")


@pytest.mark.parametrize("name", CA_NAMES)
def test_controller_ca_key_is_encrypted_and_decrypts_to_the_ca(name):
    key = os.path.join(PKI_DIR, name + ".key")
    with open(key, encoding="ascii") as handle:
        assert handle.read().startswith(ENCRYPTED), key
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    decrypted = _openssl("pkey", "-in", key, "-pubout", "-passin", "env:KUBEBIN_TEST_PASSPHRASE",
                         env={"KUBEBIN_TEST_PASSPHRASE": _passphrase()})
    assert decrypted == _cert_public_key(os.path.join(PKI_DIR, name + ".crt"))
    without = subprocess.run(["openssl", "pkey", "-in", key, "-noout", "-passin", "pass:"], capture_output=True,
                             check=False, timeout=30)
    assert without.returncode != 0, "%s must not be readable without the passphrase" % key


def test_controller_leaf_keys_stay_plaintext():
    for name in ("apiserver.key", "apiserver-etcd-client.key", "front-proxy-client.key", "sa.key"):
        with open(os.path.join(PKI_DIR, name), encoding="ascii") as handle:
            assert "ENCRYPTED" not in handle.read(), name


def test_control_plane_ca_key_is_plaintext_and_matches_the_ca(host):
    if host.backend.host not in CONTROL_PLANE:
        pytest.skip("not a control-plane host")
    key = host.file(REMOTE_PKI + "/ca.key")
    assert (key.user, key.mode) == ("root", 0o600)
    content = key.content_string
    assert content.startswith("-----BEGIN ") and "PRIVATE KEY-----" in content.splitlines()[0]
    assert "ENCRYPTED" not in content
    public = host.run_test("openssl pkey -in %s/ca.key -pubout" % REMOTE_PKI).stdout
    assert public == host.run_test("openssl x509 -in %s/ca.crt -noout -pubkey" % REMOTE_PKI).stdout
    assert public == _cert_public_key(os.path.join(PKI_DIR, "ca.crt"))


def test_workers_have_no_ca_key(host):
    if host.backend.host in CONTROL_PLANE:
        pytest.skip("a control-plane host")
    assert not host.file(REMOTE_PKI + "/ca.key").exists


def test_etcd_and_front_proxy_ca_keys_never_leave_the_controller(host):
    for path in (REMOTE_PKI + "/etcd/ca.key", REMOTE_PKI + "/front-proxy-ca.key"):
        assert not host.file(path).exists, path
    # Nor anywhere else a role could have put them (etcd reads its certificates from /run/etcd).
    found = host.run("find /etc /run /root /usr/local /var/lib/etcd /var/lib/kubelet "
                     "\\( -name front-proxy-ca.key -o -path '*/etcd/ca.key' \\) 2>/dev/null").stdout.split()
    assert found == [], found
