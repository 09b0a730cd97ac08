"""Backup, then restore: keys from before the snapshot are back, a key written after it is gone."""

from __future__ import annotations

import json
import time

from conftest import BACKUP_DIR, MEMBERS, etcdctl, get, host, member_names, playbook, put

BACKUP_HOST = "e1"  # etcd_backup_host is empty: the first member of group etcd


def snapshots() -> list:
    out = host(BACKUP_HOST).check_output("find %s -name 'etcd-snapshot-*.db' | sort" % BACKUP_DIR)
    return out.split()


def test_backup_then_restore():
    after = "/kubebin-test/after-%d" % time.time_ns()  # unique, so a rerun on the same cluster proves it again
    for i in range(20):
        put("/kubebin-test/before/%02d" % i, "v%d" % i)
    backup = playbook("etcd_backup")
    assert backup.returncode == 0, backup.stdout[-3000:]
    snapshot = snapshots()[-1]
    f = host(BACKUP_HOST).file(snapshot)
    assert (f.user, f.mode) == ("root", 0o600) and f.size > 0
    assert (host(BACKUP_HOST).file(BACKUP_DIR).mode) == 0o700
    put(after, "written after the snapshot")

    refused = playbook("etcd_restore", "-e", "etcd_restore_snapshot=" + snapshot)
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "explicit confirmation" in output and "Nothing was changed" in output
    assert get(after, "e1") == "written after the snapshot"

    restore = playbook("etcd_restore", "-e", "etcd_restore_confirm=true", "-e", "etcd_restore_snapshot=" + snapshot)
    assert restore.returncode == 0, restore.stdout[-5000:]
    for i in range(20):
        assert get("/kubebin-test/before/%02d" % i, MEMBERS[i % 3]) == "v%d" % i
    for m in MEMBERS:
        assert get(after, m) is None
    assert member_names() == ["e1", "e2", "e3"]
    assert etcdctl("endpoint", "health", cert="etcd/healthcheck-client").returncode == 0
    for m in MEMBERS:
        data = host(m).file("/var/lib/etcd")
        assert (data.user, data.group, data.mode) == ("etcd", "etcd", 0o700)
        assert host(m).file("/var/lib/etcd/member/snap/db").user == "etcd"
        assert host(m).check_output("ls -d /var/lib/etcd.before-restore-*")  # the old data is kept


def test_backup_keeps_the_newest_n_and_checks_each_snapshot():
    first = snapshots()
    for _round in range(2):  # 1 (restore test) + 2 > etcd_backup_keep
        run = playbook("etcd_backup")
        assert run.returncode == 0, run.stdout[-3000:]
    kept = snapshots()
    assert len(kept) == 2  # etcd_backup_keep: 2 in the scenario
    assert first[-1] not in kept or len(first) < 2
    status = host(BACKUP_HOST).check_output("/usr/local/bin/etcdutl snapshot status %s --write-out=json" % kept[-1])
    assert json.loads(status)["totalKey"] > 20
