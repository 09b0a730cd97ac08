"""CA keys encrypted at rest on the controller (kubebin_pki_ca_key_passphrase): the engine writes and
reads them encrypted, fails before writing on a missing or wrong passphrase, migrates plaintext CA
keys without touching anything else, and the push gives hosts the same plaintext key as before."""

from __future__ import annotations

import os
import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.filter.pki import pki_decrypt_key
from ansible_collections.kubebin.cluster.plugins.module_utils import pki_crypto as crypto
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_cluster import ensure_cluster_pki
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_engine import ensure_pki
from ansible_collections.kubebin.cluster.plugins.module_utils.file_push import push_files
from pki_helpers import REPO, find_tool, hosts, openssl, snapshot

PASSPHRASE = "correct horse battery staple"
ENCRYPTED = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
CA = {"name": "ca", "common_name": "test-ca"}
ETCD_CA = {"name": "etcd/ca", "common_name": "etcd-ca"}
CLUSTER_CA_KEYS = ("ca.key", "etcd/ca.key", "front-proxy-ca.key")


def leaf(name="srv", ca="ca", **kw):
    return dict({"name": name, "ca": ca, "common_name": name, "extended_key_usage": ["server_auth"],
                 "dns_names": [name + ".example.test"]}, **kw)


SPECS = [CA, ETCD_CA, leaf(), leaf("member", "etcd/ca")]


def run(d, specs=None, **kw):
    kw.setdefault("key_algorithm", "ecdsa-p256")
    return ensure_pki(str(d), SPECS if specs is None else specs, **kw)


def public_pem_of_key(path, passphrase=None):
    args = ["pkey", "-in", str(path), "-pubout"] + (["-passin", "pass:" + passphrase] if passphrase is not None else [])
    return openssl(*args).stdout


def public_pem_of_cert(path):
    return openssl("x509", "-in", str(path), "-noout", "-pubkey").stdout


def except_keys(state, names):
    return {k: v for k, v in state.items() if k not in names}


def test_ca_keys_are_written_encrypted_and_leaves_stay_plaintext(tmp_path):
    result = run(tmp_path, ca_key_passphrase=PASSPHRASE)
    assert result["summary"]["created"] == 4
    for name in ("ca", "etcd/ca"):
        key = tmp_path / (name + ".key")
        assert key.read_bytes().startswith(ENCRYPTED), name
        assert oct(os.stat(key).st_mode & 0o777) == "0o600"
        # Real openssl decrypts it with the passphrase, to the key of the certificate...
        assert public_pem_of_key(key, PASSPHRASE) == public_pem_of_cert(tmp_path / (name + ".crt"))
        # ...and not without it or with another one.
        for wrong in ("", "not the passphrase"):
            assert openssl("pkey", "-in", str(key), "-noout", "-passin", "pass:" + wrong, check=False).returncode != 0
    for name in ("srv", "member"):
        assert (tmp_path / (name + ".key")).read_bytes().startswith(b"-----BEGIN EC PRIVATE KEY-----"), name
    openssl("verify", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "srv.crt"))
    openssl("verify", "-CAfile", str(tmp_path / "etcd/ca.crt"), str(tmp_path / "member.crt"))
    assert PASSPHRASE not in repr(result)


def test_a_rerun_with_the_passphrase_writes_nothing(tmp_path):
    run(tmp_path, ca_key_passphrase=PASSPHRASE)
    before = snapshot(str(tmp_path))
    again = run(tmp_path, ca_key_passphrase=PASSPHRASE)
    assert again["changed"] is False
    assert again["summary"]["unchanged"] == again["summary"]["total"] == 4
    assert snapshot(str(tmp_path)) == before
    # A leaf that needs re-issuing is signed with the decrypted CA key; the CA key file is not touched.
    renewed = run(tmp_path, SPECS[:2] + [leaf(dns_names=["other.example.test"]), SPECS[3]], ca_key_passphrase=PASSPHRASE)
    assert renewed["certificates"]["srv"]["status"] == "renewed"
    assert snapshot(str(tmp_path))["ca.key"] == before["ca.key"]
    openssl("verify", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "srv.crt"))


def test_plaintext_ca_keys_are_encrypted_in_place_and_nothing_else_changes(tmp_path):
    run(tmp_path)
    plain = snapshot(str(tmp_path))
    public = {name: public_pem_of_key(tmp_path / (name + ".key")) for name in ("ca", "etcd/ca")}

    planned = run(tmp_path, ca_key_passphrase=PASSPHRASE, check_mode=True)
    assert planned["changed"] is True
    assert planned["certificates"]["ca"]["reason"] == "key encrypted at rest"
    assert snapshot(str(tmp_path)) == plain  # check mode writes nothing

    result = run(tmp_path, ca_key_passphrase=PASSPHRASE)
    assert result["changed"] is True
    for name in ("ca", "etcd/ca"):
        assert result["certificates"][name] == dict(result["certificates"][name], status="unchanged",
                                                    reason="key encrypted at rest")
        assert result["diff"]["before"][name]["key_at_rest"] == "plaintext"
        assert result["diff"]["after"][name]["key_at_rest"] == "encrypted"
        assert (tmp_path / (name + ".key")).read_bytes().startswith(ENCRYPTED)
        assert public_pem_of_key(tmp_path / (name + ".key"), PASSPHRASE) == public[name]  # the same key
    assert result["certificates"]["srv"] == dict(result["certificates"]["srv"], status="unchanged", reason="matches the spec")
    assert result["summary"]["unchanged"] == 4
    after = snapshot(str(tmp_path))
    assert except_keys(after, {"ca.key", "etcd/ca.key"}) == except_keys(plain, {"ca.key", "etcd/ca.key"})
    assert "PRIVATE KEY" not in repr(result["diff"])

    again = run(tmp_path, ca_key_passphrase=PASSPHRASE)
    assert again["changed"] is False
    assert snapshot(str(tmp_path)) == after


@pytest.mark.parametrize("kw", [{}, {"ca_key_passphrase": ""}, {"rotate_ca": True}, {"check_mode": True}],
                         ids=["omitted", "empty", "rotate_ca", "check_mode"])
def test_an_encrypted_ca_key_without_the_passphrase_fails_naming_the_file_and_writes_nothing(tmp_path, kw):
    run(tmp_path, ca_key_passphrase=PASSPHRASE)
    (tmp_path / "srv.crt").unlink()  # pending work: still nothing may be written
    before = snapshot(str(tmp_path))
    with pytest.raises(PkiError) as failure:
        run(tmp_path, **kw)
    message = str(failure.value)
    assert str(tmp_path / "ca.key") in message
    assert "is encrypted and no passphrase was given" in message
    assert "kubebin_pki_ca_key_passphrase" in message
    assert snapshot(str(tmp_path)) == before


@pytest.mark.parametrize("kw", [{}, {"rotate_ca": True}, {"check_mode": True}], ids=["plain", "rotate_ca", "check_mode"])
def test_a_wrong_passphrase_fails_naming_the_file_and_writes_nothing(tmp_path, kw):
    run(tmp_path, ca_key_passphrase=PASSPHRASE)
    (tmp_path / "srv.crt").unlink()
    before = snapshot(str(tmp_path))
    with pytest.raises(PkiError) as failure:
        run(tmp_path, ca_key_passphrase="not the passphrase", **kw)
    message = str(failure.value)
    assert "does not decrypt %s" % (tmp_path / "ca.key") in message
    assert "not the passphrase" not in message and PASSPHRASE not in message
    assert snapshot(str(tmp_path)) == before


def test_rotation_with_the_passphrase_writes_new_encrypted_ca_keys(tmp_path):
    run(tmp_path, ca_key_passphrase=PASSPHRASE)
    old = public_pem_of_key(tmp_path / "ca.key", PASSPHRASE)
    result = run(tmp_path, ca_key_passphrase=PASSPHRASE, rotate_ca=True)
    assert result["summary"]["renewed"] == 4
    for name in ("ca", "etcd/ca"):
        key = tmp_path / (name + ".key")
        assert key.read_bytes().startswith(ENCRYPTED)
        assert public_pem_of_key(key, PASSPHRASE) == public_pem_of_cert(tmp_path / (name + ".crt"))
    assert public_pem_of_key(tmp_path / "ca.key", PASSPHRASE) != old
    assert (tmp_path / "srv.key").read_bytes().startswith(b"-----BEGIN EC PRIVATE KEY-----")
    openssl("verify", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "srv.crt"))
    # Rotating to plaintext needs the passphrase too: it is refused without it (the old key would be read).
    with pytest.raises(PkiError, match="no passphrase was given"):
        run(tmp_path, rotate_ca=True)


def test_the_cluster_pki_encrypts_exactly_the_three_ca_keys(tmp_path):
    directory = tmp_path / "pki"
    settings = {"api_endpoint": "127.0.0.1", "key_algorithm": "ecdsa-p256"}
    first = ensure_cluster_pki(str(directory), hosts(), settings, ca_key_passphrase=PASSPHRASE)
    assert first["changed"] is True
    files = snapshot(str(directory))
    keys = sorted(name for name in files if name.endswith(".key"))
    encrypted = sorted(name for name in keys if files[name][1].startswith(ENCRYPTED))
    assert encrypted == sorted(CLUSTER_CA_KEYS)
    assert "sa.key" in keys and len(keys) > len(encrypted) + 10
    for name in CLUSTER_CA_KEYS:
        crt = name[:-len(".key")] + ".crt"
        assert public_pem_of_key(directory / name, PASSPHRASE) == public_pem_of_cert(directory / crt)
    for name in ("admin.conf", "controller-manager.conf"):
        assert b"ENCRYPTED" not in files[name][1]
    again = ensure_cluster_pki(str(directory), hosts(), settings, ca_key_passphrase=PASSPHRASE)
    assert again["changed"] is False
    assert snapshot(str(directory)) == files
    with pytest.raises(PkiError, match=r"%s is encrypted and no passphrase" % (directory / "ca.key")):
        ensure_cluster_pki(str(directory), hosts(), settings)
    assert snapshot(str(directory)) == files


def test_the_pushed_key_is_the_plaintext_key_existing_clusters_already_have(tmp_path):
    """Migrating a cluster changes nothing on its control-plane hosts: the decrypted key is
    byte-identical to the plaintext ca.key the PKI wrote before, on every run."""
    run(tmp_path)
    plaintext = (tmp_path / "ca.key").read_text()
    run(tmp_path, ca_key_passphrase=PASSPHRASE)
    encrypted = (tmp_path / "ca.key").read_text()
    assert encrypted.startswith(ENCRYPTED.decode())
    assert pki_decrypt_key(encrypted, PASSPHRASE) == plaintext
    assert pki_decrypt_key(encrypted, PASSPHRASE) == pki_decrypt_key(encrypted, PASSPHRASE)
    # Anything that is not an encrypted key passes unchanged, with or without a passphrase.
    for name in ("ca.crt", "srv.key", "srv.crt"):
        content = (tmp_path / name).read_text()
        assert pki_decrypt_key(content, PASSPHRASE) is content
        assert pki_decrypt_key(content, "") is content

    host = tmp_path / "host"
    files = [{"dest": str(host / "ca.key"), "content": pki_decrypt_key(encrypted, PASSPHRASE), "mode": "0600"}]
    assert push_files(files)["changed"] is True
    assert (host / "ca.key").read_text() == plaintext
    assert public_pem_of_key(host / "ca.key") == public_pem_of_cert(tmp_path / "ca.crt")
    files = [{"dest": str(host / "ca.key"), "content": pki_decrypt_key(encrypted, PASSPHRASE), "mode": "0600"}]
    assert push_files(files)["changed_paths"] == []


@pytest.mark.parametrize("passphrase, message", [
    ("", "the key is encrypted and no passphrase was given"),
    (None, "the key is encrypted and no passphrase was given"),
    ("not the passphrase", "the passphrase does not decrypt the key"),
])
def test_decrypting_for_the_push_fails_clearly_without_the_right_passphrase(tmp_path, passphrase, message):
    run(tmp_path, [CA], ca_key_passphrase=PASSPHRASE)
    encrypted = (tmp_path / "ca.key").read_text()
    with pytest.raises(AnsibleFilterError) as failure:
        pki_decrypt_key(encrypted, passphrase)
    assert message in str(failure.value) and "kubebin_pki_ca_key_passphrase" in str(failure.value)
    assert "PRIVATE KEY" not in str(failure.value) and PASSPHRASE not in str(failure.value)


def test_key_to_pem_round_trip():
    key = crypto.generate_key("rsa2048")
    pem = crypto.key_to_pem(key, PASSPHRASE)
    assert pem.startswith(ENCRYPTED) and crypto.is_encrypted_pem(pem)
    assert pem != crypto.key_to_pem(key, PASSPHRASE)  # salted: never compare serialized bytes
    assert crypto.decrypt_key_pem(pem, PASSPHRASE) == crypto.key_to_pem(key)
    assert not crypto.is_encrypted_pem(crypto.key_to_pem(key))
    assert crypto.same_public_key(crypto.load_key(pem, PASSPHRASE).public_key(), key.public_key())


def test_openssl_reads_what_the_passphrase_option_documents(tmp_path):
    """The format is plain PKCS#8 (PBES2), readable by any tool: an operator can decrypt by hand."""
    run(tmp_path, [CA], ca_key_passphrase=PASSPHRASE)
    proc = openssl("asn1parse", "-in", str(tmp_path / "ca.key"))
    assert "PBES2" in proc.stdout and "aes-256-cbc" in proc.stdout


def test_roles_keep_ca_keys_encrypted_with_a_vaulted_passphrase_and_push_them_unchanged(tmp_path):
    """The real pki.yml and certs role, the passphrase an Ansible Vault value: migrating an existing
    cluster encrypts the controller's CA keys and changes nothing on any host."""
    from play_recap import play_recap
    from test_playbooks import DISTRIBUTE, host_files, inventory, playbook

    root = tmp_path
    pki = root / "pki"
    (root / "distribute.yml").write_text(DISTRIBUTE)
    inv = inventory(root)
    assert playbook(root, os.path.join(REPO, "playbooks", "pki.yml"), inv=inv).returncode == 0
    assert playbook(root, root / "distribute.yml", inv=inv).returncode == 0
    pushed = {host: snapshot(str(root / host)) for host in ("cp1", "cp2", "e3", "w1")}
    plaintext = (pki / "ca.key").read_bytes()

    password = root / "vault-password"
    password.write_text("vault password of the test\n")
    vaulted = subprocess.run([find_tool("ansible-vault"), "encrypt_string", "--vault-password-file", str(password),
                              "--name", "kubebin_pki_ca_key_passphrase", PASSPHRASE],
                             capture_output=True, text=True, check=True, timeout=60).stdout
    (root / "group_vars").mkdir()
    (root / "group_vars" / "all.yml").write_text("---\n" + vaulted)
    vault = ("--vault-password-file", str(password))

    migrated = playbook(root, os.path.join(REPO, "playbooks", "pki.yml"), *vault, inv=inv)
    assert migrated.returncode == 0, migrated.stdout[-3000:]
    assert PASSPHRASE not in migrated.stdout + migrated.stderr
    for name in CLUSTER_CA_KEYS:
        assert (pki / name).read_bytes().startswith(ENCRYPTED), name
        assert public_pem_of_key(pki / name, PASSPHRASE) == public_pem_of_cert(pki / (name[:-4] + ".crt"))

    for _run in range(2):  # the hosts already have the plaintext key: nothing to write, twice
        pushed_again = playbook(root, root / "distribute.yml", *vault, inv=inv)
        assert pushed_again.returncode == 0, pushed_again.stdout[-3000:]
        assert all(counts.changed == 0 for counts in play_recap(pushed_again.stdout).values()), pushed_again.stdout[-2000:]
        assert "BEGIN" not in pushed_again.stdout and PASSPHRASE not in pushed_again.stdout
    for host in ("cp1", "cp2"):
        assert (root / host / "etc/kubernetes/pki/ca.key").read_bytes() == plaintext
    assert {host: snapshot(str(root / host)) for host in pushed} == pushed
    for host in ("e3", "w1"):
        assert not any(name.endswith("ca.key") for name in host_files(root, host))

    controller = snapshot(str(pki))
    rerun = playbook(root, os.path.join(REPO, "playbooks", "pki.yml"), *vault, inv=inv)
    assert all(counts.changed == 0 for counts in play_recap(rerun.stdout).values()), rerun.stdout[-2000:]
    assert snapshot(str(pki)) == controller

    wrong = playbook(root, os.path.join(REPO, "playbooks", "pki.yml"), "-e", "kubebin_pki_ca_key_passphrase=nope", inv=inv)
    assert wrong.returncode != 0
    assert "does not decrypt %s" % (pki / "ca.key") in wrong.stdout
    missing = playbook(root, root / "distribute.yml", "-e", "kubebin_pki_ca_key_passphrase=", inv=inv)
    assert missing.returncode != 0
    assert "the key is encrypted and no passphrase was given" in missing.stdout
    assert "BEGIN" not in missing.stdout
    assert snapshot(str(pki)) == controller
    assert {host: snapshot(str(root / host)) for host in pushed} == pushed
