# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one rule for a host's cluster address, shared by preflight, the PKI and the roles' filters.

An inventory ``kubebin_node_ip`` wins, then ``ip`` (kubespray's name), then ``ansible_host``
when it is an IP address (docs/architecture.md). Role defaults are not inventory values, so only
what the inventory or extra vars set counts.

The parsers of an IP address and of a comma-separated CIDR list live here too, so that preflight
and the PKI read addresses and networks the same way.
"""

from __future__ import annotations

import ipaddress

# Inventory variables that give the address, strongest first; an IP ansible_host comes last.
ADDRESS_FIELDS = ("kubebin_node_ip", "ip")


def parse_ip(value, strip=True):
    """VALUE as an ipaddress object, or None when it is not an IP address.

    With STRIP false, surrounding blanks make VALUE no address: for a setting passed to a program
    as it is written (a bind address, a DNS address), where blanks would be part of the flag.
    """
    text = str(value)
    try:
        return ipaddress.ip_address(text.strip() if strip else text)
    except ValueError:
        return None


def is_ip(value):
    return parse_ip(value) is not None


def split_list(value):
    """The items of a raw value (one item, a comma list or a list), as stripped text, empty ones dropped.

    None (a variable set to null) has no items, not the one item 'None'.
    """
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def parse_cidrs(value, skip_empty=True):
    """(networks, bad) of VALUE: one CIDR or a comma-separated list of them (a dual-stack pair).

    Each part is stripped and parsed strictly (host bits set make it no network); BAD holds
    (part, ValueError) for each part that is no CIDR, in order. Empty parts (and so an empty or
    null VALUE) are skipped, unless SKIP_EMPTY is false: then each empty part is a bad one, for a
    check that uses VALUE only when all of it is CIDRs.
    """
    nets, bad = [], []
    for part in str(value or "").split(","):
        part = part.strip()
        if not part and skip_empty:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=True))
        except ValueError as exc:
            bad.append((part, exc))
    return nets, bad


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
    items = split_list(value)
    return items[0] if items else ""


def url_host(address):
    """ADDRESS as the host part of a URL: IPv6 in brackets."""
    return "[%s]" % address if ":" in address else address
