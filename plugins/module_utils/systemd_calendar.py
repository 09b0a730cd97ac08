# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A controller-side check of a systemd calendar event (OnCalendar=, systemd.time(7)).

Preflight runs on the controller, which may have no systemd, so this reads the common forms
itself: the shorthands (``daily``, ``hourly``, ...) and ``[WEEKDAYS] [[YEAR-]MONTH-DAY] [HH:MM[:SS]]
[UTC]`` where each field is ``*``, a number, a range ``A..B``, a list ``A,B`` and a repetition
``/N``. It errs on the side of refusing: the etcd role also asks ``systemd-analyze calendar``
on the host before it writes a timer, which settles anything this does not know.
"""

from __future__ import annotations

import re

SHORTHANDS = ("minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "quarterly", "semiannually")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun",
            "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_VALUE = re.compile(r"^(\*|[0-9]+)(\.\.([0-9]+))?(/([0-9]+))?$")
_DATE_FIELDS = (("year", 1970, 2199), ("month", 1, 12), ("day", 1, 31))
_TIME_FIELDS = (("hour", 0, 23), ("minute", 0, 59), ("second", 0, 59))


def _field_problem(text, what, low, high):
    """Why TEXT (one date or time field: values, ranges, lists, repetitions) is invalid, or None."""
    for part in text.split(","):
        match = _VALUE.match(part)
        if not match:
            return "%s '%s' is not *, a number, a range A..B or a repetition /N" % (what, part)
        numbers = [int(n) for n in (match.group(1), match.group(3)) if n not in (None, "*")]
        if any(n < low or n > high for n in numbers):
            return "%s '%s' is outside %d..%d" % (what, part, low, high)
        if match.group(5) is not None and int(match.group(5)) == 0:
            return "%s '%s' repeats every 0" % (what, part)
    return None


def _weekday_problem(text):
    for part in text.split(","):
        for day in part.split(".."):
            if day.lower() not in WEEKDAYS:
                return "'%s' is not a weekday (Mon..Sun)" % day
    return None


def _parts_problem(text, separator, fields, kind, form):
    """Why TEXT (a date or a time: 2 or 3 fields joined by SEPARATOR) is invalid, or None. Of
    FIELDS, a date may leave out the first (the year), a time the last (the seconds)."""
    parts = text.split(separator)
    if len(parts) not in (2, 3):
        return "%s '%s' is not %s" % (kind, text, form)
    named = fields[3 - len(parts):] if kind == "date" else fields[:len(parts)]
    for part, (what, low, high) in zip(parts, named):
        problem = _field_problem(part, what, low, high)
        if problem:
            return problem
    return None


def calendar_problem(expression):
    """Why EXPRESSION is not a calendar event systemd reads, or None when it is one."""
    words = str(expression).split()
    if not words:
        return "it is empty"
    if len(words) == 1 and words[0].lower() in SHORTHANDS:
        return None
    if words[-1] == "UTC":
        words = words[:-1]
    if words and not any(c.isdigit() or c == "*" for c in words[0]):
        problem = _weekday_problem(words.pop(0))
        if problem:
            return problem
    if words and "-" in words[0]:
        problem = _parts_problem(words.pop(0), "-", _DATE_FIELDS, "date", "[YEAR-]MONTH-DAY")
        if problem:
            return problem
    if words and ":" in words[0]:
        problem = _parts_problem(words.pop(0), ":", _TIME_FIELDS, "time", "HH:MM[:SS]")
        if problem:
            return problem
    if words:
        return "'%s' is not a weekday, a date, a time or UTC (expected [WEEKDAYS] [[YEAR-]MONTH-DAY] [HH:MM[:SS]] [UTC])" % " ".join(words)
    return None
