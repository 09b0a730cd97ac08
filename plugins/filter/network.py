# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Address arithmetic the roles need, in Python rather than Jinja (IPv4 and IPv6 alike)."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError


def nth_ip(cidrs, index):
    """The INDEX-th address of the first CIDR of CIDRS (one CIDR, or a comma-separated dual-stack pair)."""
    first = str(cidrs).split(",", maxsplit=1)[0].strip()
    try:
        network = ipaddress.ip_network(first, strict=True)
        index = int(index)
    except ValueError as exc:
        raise AnsibleFilterError("nth_ip: %s" % exc)
    if not 0 <= index < network.num_addresses:
        raise AnsibleFilterError("nth_ip: %s has no address number %d" % (network, index))
    return str(network.network_address + index)


class FilterModule:
    """kubebin network filters."""

    def filters(self):
        return {"nth_ip": nth_ip}
