"""The controller-side reading of systemd calendar events (etcd_backup_schedule).

Where this machine has systemd-analyze, every example is also put to systemd's own parser, so the
two cannot drift apart: what is accepted here systemd accepts, and what is refused here systemd
refuses too (the check errs on the side of refusing only for forms not listed here).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils.systemd_calendar import calendar_problem

VALID = [
    "daily",
    "hourly",
    "weekly",
    "*-*-* 02:30:00",
    "*-*-* 02:30",
    "02:30",
    "Mon..Fri *-*-* 02:30:00",
    "Sat,Sun 03:00",
    "*-*-01 00:00:00",
    "2027-01-01 00:00:00",
    "*-*-* 00/6:00:00",
    "*-*-* 01,13:15",
    "*-*-* 02:30:00 UTC",
    "Mon",
]
INVALID = [
    ("sometimes", "not a weekday"),
    ("*-*-* 25:00:00", "hour '25' is outside 0..23"),
    ("*-*-* 02:61", "minute '61' is outside 0..59"),
    ("*-13-01", "month '13' is outside 1..12"),
    ("*-*-* 02:30:00 every", "'every' is not a weekday, a date, a time or UTC"),
    ("Funday 02:30", "'Funday' is not a weekday"),
    ("*-*-* 00/0:00", "repeats every 0"),
    ("*-*-* 2:3:4:5", "is not HH:MM[:SS]"),
    ("1-2-3-4", "is not [YEAR-]MONTH-DAY"),
]
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.parametrize("expression", VALID)
def test_valid_events_are_accepted(expression):
    assert calendar_problem(expression) is None


@pytest.mark.parametrize("expression, reason", INVALID)
def test_invalid_events_are_refused_with_the_reason(expression, reason):
    problem = calendar_problem(expression)
    assert problem is not None and reason in problem, problem


def test_an_empty_event_is_refused():
    assert calendar_problem("  ") == "it is empty"


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="no systemd-analyze on this machine")
@pytest.mark.parametrize("expression, valid", [(e, True) for e in VALID] + [(e, False) for e, _reason in INVALID])
def test_systemd_agrees(expression, valid):
    run = subprocess.run([SYSTEMD_ANALYZE, "calendar", expression], capture_output=True, text=True, check=False)
    assert (run.returncode == 0) == valid, run.stdout + run.stderr
