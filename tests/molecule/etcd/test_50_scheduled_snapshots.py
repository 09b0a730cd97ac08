"""Scheduled snapshots: a timer on the backup host alone runs the backup procedure; a failure
leaves no file and a failed unit; a bad schedule is refused; the timer follows the backup host and
goes away with the schedule."""

from __future__ import annotations

import json

from conftest import BACKUP_DIR, MEMBERS, etcdctl, host, playbook
from test_30_backup_restore import BACKUP_HOST, snapshots

TIMER = "kubebin-etcd-snapshot.timer"
SERVICE = "kubebin-etcd-snapshot.service"
SCHEDULE = "2099-01-01 00:00:00"  # molecule/etcd/inventory/group_vars/all.yml
KEEP = 2


def unit_files(name: str) -> list:
    return [u for u in (TIMER, SERVICE) if host(name).file("/etc/systemd/system/" + u).exists]


def hidden_files() -> str:
    return host(BACKUP_HOST).check_output("find %s -name '.*' -printf '%%f\\n'" % BACKUP_DIR)


def test_the_timer_is_on_the_backup_host_alone():
    timer = host(BACKUP_HOST).service(TIMER)
    assert timer.is_enabled and timer.is_running
    assert SCHEDULE in host(BACKUP_HOST).check_output("systemctl show %s --property=TimersCalendar" % TIMER)
    script = host(BACKUP_HOST).file("/usr/local/bin/kubebin-etcd-snapshot")
    assert (script.user, script.mode) == ("root", 0o700)
    for m in MEMBERS:
        if m != BACKUP_HOST:
            assert unit_files(m) == [], m


def test_the_scheduled_service_takes_checks_and_rotates():
    before = snapshots()
    host(BACKUP_HOST).run_expect([0], "systemctl start %s" % SERVICE)  # oneshot: returns when done
    after = snapshots()
    new = sorted(set(after) - set(before))
    assert len(new) == 1 and len(after) == min(KEEP, len(before) + 1), (before, after)
    f = host(BACKUP_HOST).file(new[0])
    assert (f.user, f.mode) == ("root", 0o600)
    status = json.loads(host(BACKUP_HOST).check_output("/usr/local/bin/etcdutl snapshot status %s --write-out=json" % new[0]))
    assert status["totalKey"] > 0
    journal = host(BACKUP_HOST).check_output("journalctl -u %s --no-pager -o cat -n 20" % SERVICE)
    assert '"snapshot": "%s"' % new[0] in journal
    assert hidden_files() == ""


def test_a_failed_snapshot_leaves_no_file_and_a_failed_unit():
    before = snapshots()
    backup_host = host(BACKUP_HOST)
    backup_host.run_expect([0], "systemctl stop etcd.service")
    try:
        run = backup_host.run("systemctl start %s" % SERVICE)
        assert run.rc != 0
        assert backup_host.run("systemctl is-failed %s" % SERVICE).stdout.strip() == "failed"
        assert snapshots() == before
        assert hidden_files() == ""
    finally:
        backup_host.run_expect([0], "systemctl start etcd.service && systemctl reset-failed %s" % SERVICE)
    assert etcdctl("endpoint", "health", cert="etcd/healthcheck-client").returncode == 0


def test_a_schedule_systemd_cannot_read_is_refused_before_the_timer_changes():
    timer_before = host(BACKUP_HOST).file("/etc/systemd/system/" + TIMER).content_string
    run = playbook("etcd", "--tags", "etcd_configure", "-e", "etcd_backup_schedule='every night'")
    assert run.returncode != 0
    assert "etcd_backup_schedule 'every night' is not a systemd calendar event" in run.stdout + run.stderr
    assert host(BACKUP_HOST).file("/etc/systemd/system/" + TIMER).content_string == timer_before
    assert host(BACKUP_HOST).service(TIMER).is_running


def test_the_timer_follows_the_backup_host_and_goes_away_with_the_schedule():
    moved = playbook("etcd", "--tags", "etcd_configure", "-e", "etcd_backup_host=e2")
    assert moved.returncode == 0, moved.stdout[-3000:]
    assert unit_files(BACKUP_HOST) == [] and not host(BACKUP_HOST).service(TIMER).is_running
    assert unit_files("e2") == [TIMER, SERVICE] and host("e2").service(TIMER).is_running

    off = playbook("etcd", "--tags", "etcd_configure", "-e", "etcd_backup_host=e2", "-e", "etcd_backup_schedule=")
    assert off.returncode == 0, off.stdout[-3000:]
    for m in MEMBERS:
        assert unit_files(m) == [], m
    assert "kubebin-etcd-snapshot" not in host("e2").check_output("systemctl list-units --all --no-legend 'kubebin-*'")
