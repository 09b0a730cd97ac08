# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Address arithmetic the roles need, in Python rather than Jinja (IPv4 and IPv6 alike)."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.module_utils.host_address import parse_cidrs


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


def allocate_node_cidrs(nodes, pod_cidr, mask, fixed=None, remembered=None, ips=None):
    """{'cidrs': node -> CIDR, 'errors': [...]} for the bridge network: the nodes' per-host
    CIDRs (FIXED) first, then what the controller remembers (REMEMBERED, unless a fixed one took
    it), then the lowest free /MASK block of POD_CIDR for each new node, in NODES' order.

    Pigeonhole: among the first len(used) + 1 blocks one is free, so the search never walks the
    whole pod CIDR. Each error names the node and the variable to fix.
    """
    fixed, remembered, ips = fixed or {}, remembered or {}, ips or {}
    mask = int(mask)
    cidrs, errors = {}, []
    try:
        network = ipaddress.ip_network(str(pod_cidr), strict=False)
    except ValueError:
        network = None
    if network is None or network.version != 4 or "," in str(pod_cidr):
        return {"cidrs": {}, "errors": ["pod_network_plugin bridge supports one IPv4 kubebin_pod_cidr; %s is not (use flannel or calico)"
                                        % pod_cidr]}
    for node in nodes:
        if fixed.get(node):
            cidrs[node] = str(fixed[node])
    for node in nodes:
        if node not in cidrs and node in remembered and str(remembered[node]) not in cidrs.values():
            cidrs[node] = str(remembered[node])
    blocks = 2 ** (mask - network.prefixlen) if mask >= network.prefixlen else 0
    for node in nodes:
        if node in cidrs:
            continue
        used = set(cidrs.values())
        for index in range(min(len(used) + 1, blocks)):
            candidate = "%s/%d" % (network.network_address + index * 2 ** (32 - mask), mask)
            if candidate not in used:
                cidrs[node] = candidate
                break
    for node in nodes:
        errors += _node_cidr_errors(node, cidrs.get(node), pod_cidr, network, mask, ips)
    if len(cidrs) != len(set(cidrs.values())):
        errors.append("two nodes have the same pod CIDR: %s (pod_network_node_cidr)" % cidrs)
    return {"cidrs": cidrs, "errors": errors}


def _node_cidr_errors(node, cidr, pod_cidr, network, mask, ips):
    errors = []
    if not cidr:
        errors.append("no free /%s left in kubebin_pod_cidr %s for node %s" % (mask, pod_cidr, node))
    else:
        # The same CIDR parser as preflight's, one network exactly: host bits set make it none.
        nets, bad = parse_cidrs(cidr, skip_empty=False)
        if bad or len(nets) != 1 or nets[0].version != 4:
            errors.append("node %s: pod CIDR %s is not an IPv4 CIDR (pod_network_node_cidr)" % (node, cidr))
        elif not nets[0].subnet_of(network):
            errors.append("node %s: pod CIDR %s is outside kubebin_pod_cidr %s (pod_network_node_cidr)" % (node, cidr, pod_cidr))
    if not ips.get(node):
        errors.append("node %s has no `ip`: routes to its pods need it" % node)
    return errors


def node_cidrs(nodes, pod_cidr, mask, hostvars, remembered=None, ips=None):
    """allocate_node_cidrs with each node's pod_network_node_cidr read from HOSTVARS."""
    fixed = {node: hostvars[node].get("pod_network_node_cidr") for node in nodes}
    return allocate_node_cidrs(nodes, pod_cidr, mask, fixed, remembered, ips)


class FilterModule:
    """kubebin network filters."""

    def filters(self):
        return {"nth_ip": nth_ip, "node_cidrs": node_cidrs}
