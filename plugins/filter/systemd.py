# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""systemd unit text the component roles share, in Python rather than a loop copied into each template."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def _scalar(value, what):
    """One systemd value: booleans as true/false, numbers and strings as text; anything else is
    refused with WHAT (the flag or directive) named."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)) or value is None:
        raise TypeError("%s, got %r" % (what, value))
    return str(value)


def _flag_value(value):
    # systemd expands % specifiers in ExecStart; a literal % is written %%.
    return _scalar(value, "a flag value must be a string, number or boolean").replace("%", "%%")


def systemd_flags(args):
    """ARGS (flag name -> value) as ExecStart continuation lines: ' \\\\\\n  --name=value' per flag,
    sorted by name (as Jinja's dictsort: case-insensitively), booleans as true/false."""
    if not isinstance(args, dict):
        raise AnsibleFilterError("systemd_flags: expects a dict of flag name -> value, got %s" % type(args).__name__)
    lines = []
    for name, value in sorted(args.items(), key=lambda item: str(item[0]).lower()):
        try:
            lines.append(" \\\n  --%s=%s" % (name, _flag_value(value)))
        except TypeError as exc:
            raise AnsibleFilterError("systemd_flags: --%s: %s" % (name, exc))
    return "".join(lines)


def systemd_directives(settings):
    """SETTINGS (directive -> value) as unit lines 'Name=value', in the order given. A list gives
    one line per item (none when empty: ReadWritePaths), None leaves the directive out (so a
    caller removes one with combine), booleans are true/false, "" writes 'Name=' (an empty
    CapabilityBoundingSet drops every capability)."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError("systemd_directives: expects a dict of directive -> value, got %s" % type(settings).__name__)
    lines = []
    for name, value in settings.items():
        values = value if isinstance(value, (list, tuple)) else ([] if value is None else [value])
        try:
            lines.extend("%s=%s" % (name, _scalar(item, "%s: a value must be a string, number, boolean or a list of them" % name)) for item in values)
        except TypeError as exc:
            raise AnsibleFilterError("systemd_directives: %s" % exc)
    return "\n".join(lines)


class FilterModule:
    """kubebin systemd filters."""

    def filters(self):
        return {"systemd_flags": systemd_flags, "systemd_directives": systemd_directives}
