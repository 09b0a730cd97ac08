"""Regeneration rules on a whole cluster: only what drifted is re-issued, CAs never.

ECDSA P-256 keeps these runs fast; the rules do not depend on the algorithm (RSA is covered by
the conformance, kubectl and etcd tests).
"""

from __future__ import annotations

import pytest

from pki_helpers import generate, hosts, snapshot

SETTINGS = {"key_algorithm": "ecdsa-p256", "apiserver_extra_sans": ["a.example.test"]}
CA_FILES = {"ca.crt", "ca.key", "etcd/ca.crt", "etcd/ca.key", "front-proxy-ca.crt", "front-proxy-ca.key"}


def changed_files(before, after):
    return {p for p in set(before) | set(after) if before.get(p) != after.get(p)}


def statuses(result):
    out = {}
    for name, info in result["certificates"].items():
        out.setdefault(info["status"], set()).add(name)
    return out


@pytest.fixture
def pki(tmp_path):
    directory = str(tmp_path / "pki")
    generate(directory, hosts(), SETTINGS)
    return directory


def test_rerun_without_change_writes_nothing(pki):
    before = snapshot(pki)
    _spec, certs, confs = generate(pki, hosts(), SETTINGS)
    assert not certs["changed"] and not confs["changed"]
    assert set(statuses(certs)) == {"unchanged"}
    assert snapshot(pki) == before  # same bytes and same mtimes, every file


def test_changing_extra_sans_reissues_only_the_apiserver_certificate(pki):
    before = snapshot(pki)
    _spec, certs, confs = generate(pki, hosts(), dict(SETTINGS, apiserver_extra_sans=["b.example.test", "10.1.2.3"]))
    assert statuses(certs)["renewed"] == {"apiserver"}
    assert certs["certificates"]["apiserver"]["reason"] == "SANs differ"
    assert changed_files(before, snapshot(pki)) == {"apiserver.crt"}  # key kept, kubeconfigs untouched
    assert not confs["changed"]
    assert certs["diff"]["before"]["apiserver"]["dns_names"] != certs["diff"]["after"]["apiserver"]["dns_names"]


def test_adding_a_node_creates_only_that_nodes_files(pki):
    before = snapshot(pki)
    _spec, certs, confs = generate(pki, hosts(workers=("w1", "w2", "w3")), SETTINGS)
    assert statuses(certs)["created"] == {"nodes/w3/kubelet", "nodes/w3/kubelet-client"}
    assert changed_files(before, snapshot(pki)) == {
        "nodes/w3/kubelet.crt", "nodes/w3/kubelet.key", "nodes/w3/kubelet-client.crt", "nodes/w3/kubelet-client.key",
        "nodes/w3/kubelet.conf"}
    assert confs["changed_paths"] == [pki + "/nodes/w3/kubelet.conf"]


def test_near_expiry_leaves_are_renewed_and_cas_untouched(pki):
    before = snapshot(pki)
    _spec, certs, confs = generate(pki, hosts(), SETTINGS, renew_before_days=400)
    st = statuses(certs)
    assert st["unchanged"] == {"ca", "etcd/ca", "front-proxy-ca"}
    assert len(st["renewed"]) == len(certs["certificates"]) - 3
    assert all("renewal window" in certs["certificates"][n]["reason"] for n in st["renewed"])
    after = snapshot(pki)
    changed = changed_files(before, after)
    assert not changed & CA_FILES
    assert {p for p in changed if p.endswith(".crt")} == {n + ".crt" for n in st["renewed"]}
    assert not {p for p in changed if p.endswith(".key")}  # renewal keeps valid keys
    assert confs["changed"]  # embedded client certificates changed
    # and the next run with the normal window is quiet again
    _spec, certs, _confs = generate(pki, hosts(), SETTINGS)
    assert set(statuses(certs)) == {"unchanged"}


def test_ca_rotation_only_when_asked(pki):
    before = snapshot(pki)
    _spec, certs, _confs = generate(pki, hosts(), SETTINGS, rotate_ca=True)
    st = statuses(certs)
    assert "unchanged" not in st and len(st["renewed"]) == len(certs["certificates"])
    assert certs["certificates"]["ca"]["reason"] == "CA rotation requested (rotate_ca)"
    assert certs["certificates"]["admin"]["reason"] == "issuing CA ca is new"
    assert CA_FILES <= changed_files(before, snapshot(pki))
