"""The pki engine on small spec lists: input errors, algorithms, repair rules, check mode."""

from __future__ import annotations

import datetime
import os
import shutil
import stat

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_engine import ensure_pki
from pki_helpers import openssl, snapshot

CA = {"name": "ca", "common_name": "test-ca"}
OTHER_CA = {"name": "other/ca", "common_name": "other-ca"}


def leaf(**kw):
    base = {"name": "srv", "ca": "ca", "common_name": "srv", "extended_key_usage": ["server_auth"],
            "dns_names": ["srv.example.test"], "ip_addresses": ["192.0.2.10"]}
    base.update(kw)
    return base


def run(d, specs, **kw):
    kw.setdefault("key_algorithm", "ecdsa-p256")
    return ensure_pki(str(d), specs, **kw)


@pytest.mark.parametrize("specs, kw, message", [
    ([CA, leaf(dns_names=["good.example.test", "bad name"])], {}, r"certificates\[1\] \(srv\): dns_names\[1\] 'bad name' is not a DNS name"),
    ([CA, leaf(ip_addresses=["10.0.0.256"])], {}, r"srv\): ip_addresses\[0\] '10.0.0.256' is not an IP"),
    ([CA, leaf(ca="nope")], {}, r"srv\): ca 'nope' is not the name of a CA entry"),
    ([CA, leaf(validity_days=4000)], {}, r"srv\): a validity of 4000 days outlives its CA ca"),
    ([CA, leaf(key_algorithm="dsa1024")], {}, r"srv\): key_algorithm 'dsa1024' is not supported"),
    ([CA, leaf()], {"key_algorithm": "ed25519"}, r"certificates\[0\] \(ca\): key_algorithm 'ed25519' is not supported"),
    ([CA, leaf(extended_key_usage=["code_signing"])], {}, r"extended_key_usage \['code_signing'\] unknown"),
    ([CA, leaf(name="../escape")], {}, r"name must be a relative path"),
    ([CA, leaf(validity_days=1, validity_minutes=60)], {}, r"srv\): set validity_days or validity_minutes, not both"),
    ([CA, leaf(validity_minutes=0)], {}, r"srv\): validity_minutes must be a positive integer, got 0"),
    ([CA, leaf(), leaf()], {}, r"name is listed twice"),
])
def test_bad_input_names_the_field_and_writes_nothing(tmp_path, specs, kw, message):
    with pytest.raises(PkiError, match=message):
        run(tmp_path / "pki", specs, **kw)
    assert not (tmp_path / "pki").exists()


def test_leaf_outliving_an_existing_ca_is_refused_before_writing(tmp_path):
    run(tmp_path, [dict(CA, validity_days=100)])
    before = snapshot(str(tmp_path))
    with pytest.raises(PkiError, match="outlives its CA ca"):
        run(tmp_path, [dict(CA, validity_days=100), leaf(validity_days=200)])
    assert snapshot(str(tmp_path)) == before


def test_a_leaf_valid_for_minutes_ends_that_many_minutes_after_issue(tmp_path):
    """Short-lived credentials (user kubeconfigs) give their validity in minutes."""
    now = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
    result = run(tmp_path, [CA, leaf(validity_minutes=90)], now=now)
    assert result["certificates"]["srv"]["not_after"] == "2026-12-01T13:30:00+00:00"
    end = openssl("x509", "-in", str(tmp_path / "srv.crt"), "-noout", "-enddate").stdout
    assert end.strip() == "notAfter=Dec  1 13:30:00 2026 GMT"
    # Within its renewal window from the first minute (30 days > 90 minutes): every run renews it.
    again = run(tmp_path, [CA, leaf(validity_minutes=90)], now=now + datetime.timedelta(minutes=1))
    assert again["certificates"]["srv"]["status"] == "renewed"
    assert again["certificates"]["srv"]["not_after"] == "2026-12-01T13:31:00+00:00"
    kept = run(tmp_path, [CA, leaf(validity_minutes=90)], now=now + datetime.timedelta(minutes=2), renew_before_days=0)
    assert kept["certificates"]["srv"]["status"] == "unchanged"


@pytest.mark.parametrize("algorithm, openssl_text", [
    ("rsa2048", "Private-Key: (2048 bit"), ("rsa3072", "Private-Key: (3072 bit"), ("rsa4096", "Private-Key: (4096 bit"),
    ("ecdsa-p256", "prime256v1"), ("ecdsa-p384", "secp384r1"),
])
def test_key_algorithms(tmp_path, algorithm, openssl_text):
    result = run(tmp_path, [CA, leaf()], key_algorithm=algorithm)
    assert result["summary"]["created"] == 2
    for name in ("ca", "srv"):
        assert openssl_text in openssl("pkey", "-in", str(tmp_path / (name + ".key")), "-noout", "-text").stdout
    assert openssl("verify", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "srv.crt")).returncode == 0


def test_changing_the_algorithm_makes_a_new_leaf_key_but_keeps_the_ca(tmp_path):
    run(tmp_path, [CA, leaf()])
    result = run(tmp_path, [CA, leaf()], key_algorithm="ecdsa-p384")
    assert result["certificates"]["srv"]["reason"] == "key algorithm is ecdsa-p256, spec wants ecdsa-p384"
    assert result["certificates"]["ca"]["status"] == "unchanged"
    assert "secp384r1" in openssl("pkey", "-in", str(tmp_path / "srv.key"), "-noout", "-text").stdout


def test_check_mode_writes_nothing_and_diff_has_no_key_material(tmp_path):
    result = run(tmp_path / "pki", [CA, leaf()], check_mode=True)
    assert result["changed"] and result["summary"]["created"] == 2
    assert not (tmp_path / "pki").exists()
    run(tmp_path / "pki", [CA, leaf()])
    before = snapshot(str(tmp_path / "pki"))
    result = run(tmp_path / "pki", [CA, leaf(dns_names=["new.example.test"])], check_mode=True)
    assert result["certificates"]["srv"] == dict(result["certificates"]["srv"], status="renewed", reason="SANs differ")
    assert result["diff"]["before"]["srv"]["dns_names"] == ["srv.example.test"]
    assert result["diff"]["after"]["srv"]["dns_names"] == ["new.example.test"]
    assert "PRIVATE" not in repr(result) and "BEGIN" not in repr(result)
    assert snapshot(str(tmp_path / "pki")) == before


@pytest.mark.parametrize("damage, reason", [
    (lambda d: os.remove(d / "srv.key"), "key file is missing"),
    (lambda d: (d / "srv.crt").write_text("garbage"), "certificate is unparsable"),
    (lambda d: shutil.copy(d / "other/ca.key", d / "srv.key"), "key does not match the certificate"),
    (lambda d: (shutil.copy(d / "other/ca.crt", d / "srv.crt"), shutil.copy(d / "other/ca.key", d / "srv.key")),
     "not signed by the current CA ca"),
])
def test_damaged_leaf_is_reissued_with_the_reason(tmp_path, damage, reason):
    specs = [CA, OTHER_CA, leaf()]
    run(tmp_path, specs)
    ca_before = {p: v for p, v in snapshot(str(tmp_path)).items() if "ca." in p}
    damage(tmp_path)
    result = run(tmp_path, specs)
    assert result["certificates"]["srv"]["status"] == "renewed"
    assert result["certificates"]["srv"]["reason"].startswith(reason)
    assert openssl("verify", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "srv.crt")).returncode == 0
    assert {p: v for p, v in snapshot(str(tmp_path)).items() if "ca." in p} == ca_before


@pytest.mark.parametrize("damage", [
    lambda d: (d / "ca.crt").write_text("garbage"),
    lambda d: os.remove(d / "ca.key"),
    lambda d: shutil.copy(d / "other/ca.key", d / "ca.key"),
])
def test_a_damaged_ca_is_an_error_never_a_silent_regeneration(tmp_path, damage):
    specs = [CA, OTHER_CA, leaf()]
    run(tmp_path, specs)
    damage(tmp_path)
    before = snapshot(str(tmp_path))
    with pytest.raises(PkiError, match="never regenerated implicitly"):
        run(tmp_path, specs)
    assert snapshot(str(tmp_path)) == before
    assert run(tmp_path, specs, rotate_ca=True)["certificates"]["ca"]["status"] == "renewed"


def test_a_changed_ca_spec_only_warns(tmp_path):
    run(tmp_path, [CA, leaf()])
    result = run(tmp_path, [dict(CA, common_name="renamed"), leaf()])
    assert result["certificates"]["ca"]["status"] == "unchanged"
    assert any("CA ca differs from the spec" in w for w in result["warnings"])


def test_modes_are_repaired(tmp_path):
    run(tmp_path, [CA, leaf()])
    os.chmod(tmp_path / "srv.key", 0o644)
    os.chmod(tmp_path / "srv.crt", 0o600)
    assert run(tmp_path, [CA, leaf()], check_mode=True)["changed"]
    assert stat.S_IMODE(os.stat(tmp_path / "srv.key").st_mode) == 0o644
    result = run(tmp_path, [CA, leaf()])
    assert result["changed"] and result["summary"]["unchanged"] == 2
    assert stat.S_IMODE(os.stat(tmp_path / "srv.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "srv.crt").st_mode) == 0o644


def test_validity_defaults_and_overrides(tmp_path):
    result = run(tmp_path, [CA, leaf(), leaf(name="short", validity_days=10)], ca_validity_days=3650, leaf_validity_days=365)
    assert openssl("x509", "-in", str(tmp_path / "ca.crt"), "-noout", "-checkend", str(3649 * 86400)).returncode == 0
    assert openssl("x509", "-in", str(tmp_path / "short.crt"), "-noout", "-checkend", str(11 * 86400), check=False).returncode == 1
    assert result["summary"]["soonest_expiry"]["name"] == "short"
    # a 10-day certificate is inside the default 30-day window: renewed on every run, reported as such
    assert run(tmp_path, [CA, leaf(), leaf(name="short", validity_days=10)])["certificates"]["short"]["status"] == "renewed"
