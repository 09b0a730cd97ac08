"""A version change of etcd is preceded by a snapshot, taken before any binary is replaced."""

from __future__ import annotations

import json

from conftest import MEMBERS, host, playbook, unit_state
from test_30_backup_restore import BACKUP_HOST, snapshots


def test_snapshot_is_taken_before_the_binaries_change():
    before = snapshots()
    running = {m: unit_state(m)["InvocationID"] for m in MEMBERS}
    binary = host("e1").file("/usr/local/bin/etcd").sha256sum
    # The test bundle has no etcd 3.6.99: the play must fail in the binaries step, which comes
    # after the snapshot; nothing may have been replaced or restarted.
    run = playbook("etcd", "-e", "kubebin_etcd_version=3.6.99")
    assert run.returncode != 0
    assert "Take a snapshot before the etcd binaries are upgraded" in run.stdout
    assert "3.6.99" in run.stdout + run.stderr  # it failed on the missing artifact, not elsewhere
    new = sorted(set(snapshots()) - set(before))
    assert len(new) == 1, (before, snapshots())
    status = host(BACKUP_HOST).check_output("/usr/local/bin/etcdutl snapshot status %s --write-out=json" % new[0])
    assert json.loads(status)["totalKey"] > 0
    assert host("e1").file("/usr/local/bin/etcd").sha256sum == binary
    assert {m: unit_state(m)["InvocationID"] for m in MEMBERS} == running
