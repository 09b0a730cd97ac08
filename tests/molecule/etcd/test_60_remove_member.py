"""Removing and replacing an etcd member: a live member is refused without accepting the lower
fault tolerance; a dead one (its container frozen) is removed from the live ones while a writer
loses no write (conftest.Writer: one retry, counted); once back, a rerun wipes it;
the same host then joins again as its replacement."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import time

from conftest import MEMBERS, PKI, Writer, etcdctl, get, host, member_names, pki_then_etcd, playbook, unit_state, url

MEMBER = "e3"
STAY = [m for m in MEMBERS if m != MEMBER]


def changed_by_host(stdout: str) -> dict:
    recap = stdout.split("PLAY RECAP")[-1]
    return {name: int(changed) for name, changed in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", recap, re.M)}


def docker(*args):
    subprocess.run(["docker"] + list(args), check=True, capture_output=True, timeout=60)


def remove_while_frozen():
    """remove_etcd_member.yml while the member's container is frozen: no answer, not even to Ansible."""
    started = time.monotonic()
    docker("pause", "kubebin-etcd-%s" % MEMBER)
    try:
        removed = playbook("remove_etcd_member", "-e", "member=%s" % MEMBER)
    finally:
        docker("unpause", "kubebin-etcd-%s" % MEMBER)
    return removed, time.monotonic() - started


def assert_wiped(member_host):
    assert not member_host.service("etcd.service").is_running
    for path in ("/var/lib/etcd", "/etc/etcd", "/etc/systemd/system/etcd.service", "/usr/local/bin/etcd",
                 "/usr/local/bin/etcdctl", "/usr/local/bin/etcdutl", "/usr/local/bin/kubebin-etcd-snapshot",
                 "/etc/kubernetes/pki/etcd"):
        assert not member_host.file(path).exists, path
    assert member_host.run("getent passwd etcd").rc == 2
    assert member_host.run("getent group etcd").rc == 2


def test_a_member_that_answers_is_refused_without_accepting_the_lower_tolerance():
    before = {m: unit_state(m)["InvocationID"] for m in MEMBERS}
    unknown = playbook("remove_etcd_member", "-e", "member=e9")
    assert unknown.returncode != 0 and "member 'e9' is not a host of the inventory" in unknown.stdout + unknown.stderr
    run = playbook("remove_etcd_member", "-e", "member=%s" % MEMBER)
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert "'e3' answers: removing it from 3 members leaves 2, which tolerate 0 failed members instead of 1" in output
    assert "Nothing was changed" in output
    assert member_names() == MEMBERS
    assert {m: unit_state(m)["InvocationID"] for m in MEMBERS} == before


def test_a_dead_member_is_removed_wiped_once_back_and_replaced_under_a_writer():
    stay_before = {m: unit_state(m)["InvocationID"] for m in STAY}
    with Writer(endpoints=[url(m) for m in STAY]) as writer:
        removed, remove_seconds = remove_while_frozen()
        assert removed.returncode == 0, removed.stdout[-5000:]
        assert "e3 could not be reached" in removed.stdout
        assert "removed e3 (ID " in removed.stdout
        assert member_names() == STAY
        assert glob.glob(os.path.join(PKI, "attic", "*", "etcd", "members", MEMBER, "peer.key"))
        assert not os.path.exists(os.path.join(PKI, "etcd", "members", MEMBER))

        # Back with its old data: the cluster does not take it back; the rerun only wipes it.
        wiped = playbook("remove_etcd_member", "-e", "member=%s" % MEMBER)
        assert wiped.returncode == 0, wiped.stdout[-5000:]
        assert "e3 was no longer a member" in wiped.stdout
        assert_wiped(host(MEMBER))
        again = playbook("remove_etcd_member", "-e", "member=%s" % MEMBER)
        assert again.returncode == 0, again.stdout[-3000:]
        assert changed_by_host(again.stdout) == {"e1": 0, "e3": 0, "localhost": 0}, again.stdout[-3000:]

        # The replacement: the same host, wiped, joins as a new member with new certificates.
        replaced_pki, replaced = pki_then_etcd()
    assert replaced_pki.returncode == 0, replaced_pki.stdout[-3000:]
    assert replaced.returncode == 0, replaced.stdout[-5000:]
    assert member_names() == MEMBERS
    assert etcdctl("endpoint", "health", cert="etcd/healthcheck-client").returncode == 0

    assert writer.failed == [], writer.failed[:5]
    assert len(writer.ok) >= 50, len(writer.ok)
    # At most the leader changes of the sequence: a frozen leader replaced, the member's removal.
    assert len(writer.retried) <= 2, writer.retried
    assert get(writer.ok[-1][0], MEMBER) is not None  # the new member has the writes of the whole sequence
    assert {m: unit_state(m)["InvocationID"] for m in STAY} == stay_before  # the members that stayed never restarted
    rerun = playbook("etcd")
    assert rerun.returncode == 0 and set(changed_by_host(rerun.stdout).values()) == {0}, rerun.stdout[-3000:]
    print("removal of the dead member: %.1f s; writes: %d, retried once: %d, failed: 0"
          % (remove_seconds, len(writer.ok), len(writer.retried)))
