# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one rule for a host's cluster address, shared by preflight, the PKI and the roles' filters.

An inventory ``kubebin_node_ip`` wins, then ``ip`` (kubespray's name), then ``ansible_host``
when it is an IP address (docs/architecture.md). Role defaults are not inventory values, so only
what the inventory or extra vars set counts.
"""

from __future__ import annotations

import ipaddress

# Inventory variables that give the address, strongest first; an IP ansible_host comes last.
ADDRESS_FIELDS = ("kubebin_node_ip", "ip")


def is_ip(value):
    try:
        ipaddress.ip_address(str(value).strip())
        return True
    except ValueError:
        return False


def inventory_value(host_vars, name):
    """Value of a host variable, or None when unset, empty or not resolvable for this host."""
    try:
        value = host_vars.get(name)
    except Exception:  # pylint: disable=broad-exception-caught  # an inventory template that does not resolve here
        return None
    return value if value not in (None, "", []) else None


def address_source(get):
    """(field, raw value) the host's address comes from, or (None, None) when it has none.

    GET(name) returns the inventory value of a variable, None when unset.
    """
    for field in ADDRESS_FIELDS:
        value = get(field)
        if value not in (None, "", []):
            return field, value
    ansible_host = get("ansible_host")
    if ansible_host and is_ip(ansible_host):
        return "ansible_host", ansible_host
    return None, None


def first_address(value):
    """The first address of a raw value (one address, a comma list or a list), as text."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    items = [str(i).strip() for i in items if str(i).strip()]
    return items[0] if items else ""


def url_host(address):
    """ADDRESS as the host part of a URL: IPv6 in brackets."""
    return "[%s]" % address if ":" in address else address
