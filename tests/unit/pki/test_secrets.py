"""Service-account key, encryption configuration, bootstrap token and kubeconfig writing rules."""

from __future__ import annotations

import base64
import datetime
import os
import re
import stat

import pytest
import yaml

from ansible_collections.kubebin.cluster.plugins.module_utils import pki_secrets
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_engine import ensure_pki
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_kubeconfig import ensure_kubeconfigs
from pki_helpers import openssl, snapshot


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_service_account_key_is_made_once_and_its_public_half_kept_in_sync(tmp_path):
    key, pub = str(tmp_path / "sa.key"), str(tmp_path / "sa.pub")
    first = pki_secrets.ensure_service_account_key(key, pub)
    assert first["changed"] and first["private_key"] == "created" and first["algorithm"] == "rsa2048"
    assert mode(key) == 0o600 and mode(pub) == 0o644
    assert openssl("pkey", "-in", key, "-pubout").stdout == open(pub).read()
    before = snapshot(str(tmp_path))
    assert not pki_secrets.ensure_service_account_key(key, pub)["changed"]
    assert snapshot(str(tmp_path)) == before
    os.remove(pub)
    again = pki_secrets.ensure_service_account_key(key, pub, algorithm="ecdsa-p256")
    assert again["private_key"] == "unchanged" and again["public_key"] == "created" and "warning" in again
    assert openssl("pkey", "-in", key, "-pubout").stdout == open(pub).read()
    open(key, "w").write("not a key")
    with pytest.raises(PkiError, match="never replaced implicitly"):
        pki_secrets.ensure_service_account_key(key, pub)


def test_encryption_config_key_is_32_bytes_made_once_and_kept(tmp_path):
    path = str(tmp_path / "encryption-config.yaml")
    assert pki_secrets.ensure_encryption_config(path, check_mode=True)["status"] == "created"
    assert not os.path.exists(path)
    assert pki_secrets.ensure_encryption_config(path)["status"] == "created"
    doc = yaml.safe_load(open(path))
    assert doc["kind"] == "EncryptionConfiguration" and doc["apiVersion"] == "apiserver.config.k8s.io/v1"
    providers = doc["resources"][0]["providers"]
    secret = providers[0]["aescbc"]["keys"][0]["secret"]
    assert len(base64.b64decode(secret)) == 32 and providers[1] == {"identity": {}}
    assert mode(path) == 0o600
    before = open(path).read()
    assert pki_secrets.ensure_encryption_config(path)["status"] == "unchanged"
    updated = pki_secrets.ensure_encryption_config(path, resources=["secrets", "configmaps"])
    assert updated["status"] == "updated" and secret in open(path).read() and open(path).read() != before
    with pytest.raises(PkiError, match="planned rotation"):
        pki_secrets.ensure_encryption_config(path, provider="secretbox")


def test_bootstrap_token_format_secret_and_reuse(tmp_path):
    path = str(tmp_path / "bootstrap-token.yaml")
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    first = pki_secrets.ensure_bootstrap_token(path, ttl_hours=24, now=now)
    assert re.match(r"^[a-z0-9]{6}\.[a-z0-9]{16}$", first["token"])
    doc = yaml.safe_load(open(path))
    assert doc["type"] == "bootstrap.kubernetes.io/token" and doc["metadata"]["namespace"] == "kube-system"
    assert doc["metadata"]["name"] == "bootstrap-token-" + first["token_id"]
    assert doc["stringData"]["usage-bootstrap-authentication"] == "true"
    assert doc["stringData"]["expiration"] == "2026-01-02T00:00:00Z"
    assert mode(path) == 0o600
    kept = pki_secrets.ensure_bootstrap_token(path, ttl_hours=24, now=now + datetime.timedelta(hours=2))
    assert kept["token"] == first["token"] and not kept["changed"]
    replaced = pki_secrets.ensure_bootstrap_token(path, ttl_hours=24, now=now + datetime.timedelta(hours=23, minutes=30))
    assert replaced["token"] != first["token"] and replaced["reason"] == "expired or expiring"
    with pytest.raises(PkiError, match=r"groups\[0\]"):
        pki_secrets.ensure_bootstrap_token(path, groups=["system:masters"])
    with pytest.raises(PkiError, match="ttl_hours must be >= 0"):
        pki_secrets.ensure_bootstrap_token(path, ttl_hours=-1)


@pytest.fixture
def small_pki(tmp_path):
    specs = [{"name": "ca", "common_name": "ca"},
             {"name": "admin", "ca": "ca", "common_name": "kubernetes-admin", "extended_key_usage": ["client_auth"]},
             {"name": "other", "ca": "ca", "common_name": "other", "extended_key_usage": ["client_auth"]}]
    ensure_pki(str(tmp_path), specs, key_algorithm="ecdsa-p256")
    return tmp_path


def conf(**kw):
    entry = {"path": "admin.conf", "server": "https://192.0.2.1:6443", "user": "kubernetes-admin", "cluster_name": "kubebin",
             "ca_file": "ca.crt", "client_cert_file": "admin.crt", "client_key_file": "admin.key"}
    entry.update(kw)
    return entry


def test_kubeconfig_written_only_when_content_changes(small_pki):
    first = ensure_kubeconfigs(str(small_pki), [conf()])
    path = str(small_pki / "admin.conf")
    assert first["kubeconfigs"][path]["status"] == "created" and mode(path) == 0o600
    doc = yaml.safe_load(open(path))
    assert base64.b64decode(doc["users"][0]["user"]["client-key-data"]) == open(small_pki / "admin.key", "rb").read()
    before = snapshot(str(small_pki))
    assert not ensure_kubeconfigs(str(small_pki), [conf()])["changed"]
    assert snapshot(str(small_pki)) == before
    changed = ensure_kubeconfigs(str(small_pki), [conf(server="https://192.0.2.2:6443")], check_mode=True)
    assert changed["changed_paths"] == [path] and snapshot(str(small_pki)) == before
    assert ensure_kubeconfigs(str(small_pki), [conf(server="https://192.0.2.2:6443")])["kubeconfigs"][path]["status"] == "updated"


@pytest.mark.parametrize("entry, message", [
    (conf(client_key_file="other.key"), "client_key_file does not match client_cert_file"),
    (conf(server="http://192.0.2.1"), "server must be an https:// URL"),
    (conf(ca_file="missing.crt"), "ca_file .*missing.crt does not exist"),
])
def test_kubeconfig_bad_input_writes_nothing(small_pki, entry, message):
    with pytest.raises(PkiError, match=message):
        ensure_kubeconfigs(str(small_pki), [conf(path="first.conf"), entry])
    assert not os.path.exists(small_pki / "first.conf")
