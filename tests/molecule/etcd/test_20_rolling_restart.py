"""Every certificate re-issued: members restart one at a time while a writer loses no write
(conftest.Writer: a write in flight at a leader change is retried once, and counted)."""

from __future__ import annotations

from conftest import MEMBERS, Writer, etcdctl, get, host, member_names, pki_then_etcd, unit_state


def server_cert(name: str) -> str:
    return host(name).file("/etc/kubernetes/pki/etcd/server.crt").content_string


def test_certificate_change_restarts_members_one_by_one_under_load():
    before = {m: unit_state(m) for m in MEMBERS}
    certs_before = {m: server_cert(m) for m in MEMBERS}

    with Writer() as writer:
        # Leaf validity is 365 days: renewing those within 400 days re-issues every leaf, not the CAs.
        pki, deploy = pki_then_etcd("-e", "kubebin_pki_renew_before_days=400")

    assert pki.returncode == 0, pki.stdout[-3000:]
    assert deploy.returncode == 0, deploy.stdout[-5000:]
    assert writer.failed == [], writer.failed[:5]
    assert len(writer.ok) >= 50  # the writer really ran across the restarts
    assert len(writer.retried) <= len(MEMBERS), writer.retried
    print("writes: %d, retried once: %d, failed: 0" % (len(writer.ok), len(writer.retried)))

    after = {m: unit_state(m) for m in MEMBERS}
    for m in MEMBERS:
        assert server_cert(m) != certs_before[m]
        # No mark left: the next run restarts nothing (the idempotence stage proves the rest).
        assert not host(m).file("/etc/etcd/restart-pending").exists
        assert after[m]["InvocationID"] != before[m]["InvocationID"], m
        assert after[m]["ActiveState"] == "active"
    # One at a time, in inventory order: each member went down only after the previous one was
    # back up (systemd monotonic clocks are the host kernel's, shared by all test hosts).
    for prev, nxt in zip(MEMBERS, MEMBERS[1:]):
        assert int(after[nxt]["InactiveEnterTimestampMonotonic"]) > int(after[prev]["ActiveEnterTimestampMonotonic"]), (prev, nxt)

    last_key = writer.ok[-1][0]
    assert get(last_key, MEMBERS[-1]) is not None
    assert member_names() == ["e1", "e2", "e3"]
    assert etcdctl("endpoint", "health", cert="etcd/healthcheck-client").returncode == 0
