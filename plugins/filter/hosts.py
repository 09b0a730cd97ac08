# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The inventory as every role sees it: each host's name, node name, address and groups.

One rule for the address (module_utils/host_address.py), so the certificates, etcd's peer URLs,
the API proxy's backends, the apiserver's bind address and the pod routes all use the same one.
"""

from __future__ import annotations

from ansible_collections.kubebin.cluster.plugins.module_utils.host_address import address_source, first_address, inventory_value, split_list, url_host


def node_ip(name, hostvars):
    """The cluster address of host NAME ('' when the inventory gives none)."""
    host_vars = hostvars[name]
    _field, value = address_source(lambda variable: inventory_value(host_vars, variable))
    return first_address(value) if value is not None else ""


def cluster_hosts(groups, hostvars):
    """[{name, node_name, ip, url_host, arch, groups}] of every inventory host, in inventory order."""
    hosts = []
    for name in groups.get("all", []):
        host_vars = hostvars[name]
        address = node_ip(name, hostvars)
        hosts.append({
            "name": name,
            "node_name": str(inventory_value(host_vars, "kubebin_node_name") or name),
            "ip": address,
            "url_host": url_host(address),
            "arch": inventory_value(host_vars, "kubebin_arch") or "amd64",
            "groups": list(inventory_value(host_vars, "group_names") or []),
        })
    return hosts


def etcd_members(hosts, client_port, peer_port):
    """[{name, ip, peer_url, client_url}] of every member of group etcd, in inventory order.

    The ports are cluster-wide (kubebin_etcd_*_port): every member's URLs go into every other
    member's configuration and into every apiserver's --etcd-servers, so one value serves all.
    """
    return [
        {
            "name": host["name"],
            "ip": host["ip"],
            "peer_url": "https://%s:%s" % (host["url_host"], peer_port),
            "client_url": "https://%s:%s" % (host["url_host"], client_port),
        }
        for host in hosts
        if "etcd" in host["groups"]
    ]


class FilterModule:
    """kubebin inventory filters. etcd_members: the members' URLs, for etcd and the apiservers alike.
    comma_list: a list, or the comma-separated text -e gives, by the rule preflight checks such
    variables with."""

    def filters(self):
        return {"node_ip": node_ip, "cluster_hosts": cluster_hosts, "etcd_members": etcd_members, "comma_list": split_list}
