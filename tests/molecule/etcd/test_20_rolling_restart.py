"""Every certificate re-issued: members restart one at a time while a writer loses no write.

etcd drops the proposals that reach the leader while it hands leadership over (a leader that
stops does that first), so a write in flight at that instant times out at its client, as it does
at every leader change; clients retry (the apiserver's clients do). The writer retries a failed
write once: a write fails only when the retry fails too, which a member down for longer than a
request, or a lost quorum, would cause. The retries are counted and bounded by the leader
changes the run can cause (one per restart).
"""

from __future__ import annotations

import threading
import time

from conftest import MEMBERS, etcdctl, get, host, member_names, pki_then_etcd, unit_state

WRITER_MAX_SECONDS = 240
WRITER_MAX_WRITES = 3000


class Writer(threading.Thread):
    """Bounded writer (time and count): one etcdctl put through ENDPOINTS (all members) per write,
    retried once when it fails (see above); RETRIED lists the first failures, FAILED the writes
    whose retry failed too."""

    def __init__(self, endpoints=None):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.endpoints = endpoints
        self.ok, self.retried, self.failed = [], [], []

    def __enter__(self):
        self.start()
        time.sleep(2)
        return self

    def __exit__(self, *exc):
        time.sleep(2)
        self.stop.set()
        self.join(timeout=30)

    def run(self):
        deadline = time.monotonic() + WRITER_MAX_SECONDS
        n = 0
        while not self.stop.is_set() and time.monotonic() < deadline and n < WRITER_MAX_WRITES:
            key = "/kubebin-test/writer/%05d" % n
            run = etcdctl("put", key, str(n), endpoints=self.endpoints)
            if run.returncode != 0:
                self.retried.append((key, run.stderr.strip()[-300:]))
                run = etcdctl("put", key, str(n), endpoints=self.endpoints)
            (self.ok if run.returncode == 0 else self.failed).append((key, run.stderr.strip()))
            n += 1
            time.sleep(0.05)


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
