# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which role settings can differ between hosts, so preflight templates the rest only once.

Templating every setting for every host is quadratic on large inventories: several defaults walk
all hosts (the etcd member list, the compact host list). A setting's value depends only on the
variables its templates reference, so a setting that references, directly or through other
variables, no variable whose raw value differs between hosts has one value for the whole cluster.
"""

from __future__ import annotations

import jinja2
from jinja2 import nodes

TEMPLATE_MARKS = ("{{", "{%", "{#")
# Stands for "a template this parser cannot read": treated as differing between hosts, to be safe.
UNREADABLE = "\x00unreadable"
MISSING = object()
_PARSER = jinja2.Environment()


def is_plain(value):
    """True when VALUE holds no template anywhere, so it is used as it is."""
    if isinstance(value, str):
        return not any(mark in value for mark in TEMPLATE_MARKS)
    if isinstance(value, dict):
        return all(is_plain(k) and is_plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    return True


def referenced_names(value):
    """The variable names the templates inside a raw VALUE reference."""
    names = set()
    if isinstance(value, str):
        if any(mark in value for mark in TEMPLATE_MARKS):
            try:
                tree = _PARSER.parse(value)
            except jinja2.TemplateError:
                names.add(UNREADABLE)
            else:
                # Names read, minus those the template sets itself (loop and set targets). Walked
                # by hand: jinja2.meta would compile the template and refuse the collection's filters.
                loads = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
                stores = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
                names.update(loads - stores)
    elif isinstance(value, dict):
        for key, item in value.items():
            names.update(referenced_names(key))
            names.update(referenced_names(item))
    elif isinstance(value, (list, tuple)):
        for item in value:
            names.update(referenced_names(item))
    return names


def varying_names(raw_by_host):
    """Variables whose raw value is not the same on every host (or missing on some)."""
    hosts = list(raw_by_host.values())
    if not hosts:
        return set()
    keys = set().union(*(set(raw) for raw in hosts))
    varying = {UNREADABLE}
    first = hosts[0]
    for key in keys:
        value = first.get(key, MISSING)
        if any(raw.get(key, MISSING) is not value and raw.get(key, MISSING) != value for raw in hosts[1:]):
            varying.add(key)
    return varying


def host_dependent(names, env, varying):
    """The subset of NAMES whose templated value in ENV can differ between hosts."""
    memo = {}

    def depends(name, stack):
        if name in varying:
            return True
        if name in memo:
            return memo[name]
        if name in stack or name not in env:
            return False
        stack.add(name)
        result = any(depends(ref, stack) for ref in referenced_names(env[name]))
        stack.discard(name)
        memo[name] = result
        return result

    return {name for name in names if depends(name, set())}
