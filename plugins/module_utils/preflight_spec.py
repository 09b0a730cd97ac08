# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check every role's settings against its argument spec before any host is touched.

Ansible validates a role's argument spec only when that role starts, which on a cluster run is
after other roles have already changed hosts, and its messages show Python reprs. Here the specs
of all roles are checked up front, per host, with messages an operator can act on: the variable,
what was given, and what would be valid.

Stricter than Ansible on purpose: Ansible accepts a comma-separated string for a ``list`` option
but leaves the variable a string, so a template would then iterate its characters. A string is
therefore refused where a list is expected.
"""

from __future__ import annotations

import difflib
import json

# YAML words that a role's argument validation would accept for a bool (what Ansible converts).
BOOL_WORDS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False, "1": True, "0": False}


class Unknown:  # pylint: disable=too-few-public-methods
    """A value that cannot be known on the controller (it needs facts gathered on the host)."""

    def __init__(self, reason):
        self.reason = reason


def shown(value):
    """A value as an operator wrote it (JSON-like), not as a Python repr."""
    if isinstance(value, str):
        return "'%s'" % value
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def kind(value):
    """The YAML kind of a value, for messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing (null)"
    return type(value).__name__


def is_int(value, text=False):
    """VALUE is a whole number (a boolean is none); with TEXT a string of digits counts too, as an int option converts it."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return text and isinstance(value, str) and value.strip().lstrip("-").isdigit()


def _type_problem(value, wanted):
    """None when VALUE is acceptable for the spec type WANTED, else what is wrong with it."""
    if wanted in (None, "raw"):
        return None
    if wanted in ("str", "path"):
        if isinstance(value, bool):
            return "got a boolean; quote it if you mean the text (yes/no/true/false are booleans in YAML)"
        if isinstance(value, (str, int, float)):
            return None
        if isinstance(value, (list, tuple)):
            return "got a list %s; give a single value" % shown(value)
        return "got %s" % kind(value)
    if wanted == "int":
        return None if is_int(value, text=True) else "got %s %s" % (kind(value), shown(value))
    if wanted == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return None
        try:
            float(str(value))
            return None
        except ValueError:
            return "got %s %s" % (kind(value), shown(value))
    if wanted == "bool":
        if isinstance(value, bool) or (isinstance(value, str) and value.lower() in BOOL_WORDS):
            return None
        return "got %s %s; give true or false" % (kind(value), shown(value))
    if wanted == "list":
        if isinstance(value, (list, tuple)):
            return None
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",") if v.strip()]
            return "got a string %s; write it as a YAML list: [%s]" % (shown(value), ", ".join(items))
        return "got %s %s" % (kind(value), shown(value))
    if wanted == "dict":
        return None if isinstance(value, dict) else "got %s %s" % (kind(value), shown(value))
    return None


TYPE_NAMES = {
    "str": "a string",
    "path": "a path",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "list": "a list",
    "dict": "a mapping",
}


def option_problems(name, spec, value):
    """Problems of one option's VALUE against its SPEC, each a full sentence naming NAME."""
    if isinstance(value, Unknown):
        return []
    if value is None:
        if spec.get("required"):
            return ["%s is required" % name]
        return []
    wanted = spec.get("type", "str")
    problem = _type_problem(value, wanted)
    if problem:
        return ["%s must be %s, %s" % (name, TYPE_NAMES.get(wanted, wanted), problem)]
    problems = []
    choices = spec.get("choices")
    if wanted == "list":
        element_type = spec.get("elements")
        for index, item in enumerate(value):
            element_problem = _type_problem(item, element_type) if element_type else None
            if element_problem:
                problems.append("%s[%d] must be %s, %s" % (name, index, TYPE_NAMES.get(element_type, element_type), element_problem))
            elif choices and str(item) not in [str(c) for c in choices]:
                problems.append("%s[%d] %s is not one of %s" % (name, index, shown(item), ", ".join(str(c) for c in choices)))
    elif choices and not _in_choices(value, choices, wanted):
        problems.append("%s %s is not one of %s" % (name, shown(value), ", ".join(str(c) for c in choices)))
    return problems


def _in_choices(value, choices, wanted):
    if wanted == "bool":
        value = BOOL_WORDS.get(str(value).lower(), value)
    return str(value) in [str(c) for c in choices] or value in choices


def merged_options(argument_specs):
    """{option: spec} over every entry point of one role's argument_specs."""
    options = {}
    for entry in (argument_specs or {}).values():
        options.update((entry or {}).get("options") or {})
    return options


def unknown_variables(set_names, known, prefixes, renamed=None):
    """Messages for variables the inventory sets with a role's prefix that no role knows (typos).

    RENAMED maps a former name to the one that replaced it: the message names the new one.
    """
    problems = []
    for name in sorted(set_names):
        if name in known or name.startswith("_"):
            continue
        if name in (renamed or {}):
            problems.append("%s was renamed %s; set that instead" % (name, renamed[name]))
            continue
        prefix = next((p for p in prefixes if name.startswith(p)), None)
        if prefix is None:
            continue
        close = difflib.get_close_matches(name, [k for k in known if k.startswith(prefix)], n=1)
        hint = "; did you mean %s?" % close[0] if close else "; the role's variables are listed in its README"
        problems.append("%s is not a variable of any kubebin.cluster role (it has the prefix %s)%s" % (name, prefix, hint))
    return problems


def per_host(problems_by_host, all_hosts):
    """Merge identical problems found on several hosts into one message naming the hosts.

    A problem every host shares (a group_vars or -e value) is reported once, without host names.
    """
    hosts_of = {}
    for host, problems in problems_by_host.items():
        for problem in problems:
            hosts_of.setdefault(problem, []).append(host)
    messages = []
    for problem, hosts in hosts_of.items():
        if len(hosts) == len(all_hosts):
            messages.append(problem)
        else:
            messages.append("%s (host %s)" % (problem, ", ".join(sorted(hosts))))
    return messages
