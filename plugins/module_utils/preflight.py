# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks of the inventory and cluster settings, shared by the preflight filter and its tests.

Every message names the host or variable and says what is wrong, so an operator can fix the
inventory without reading code.
"""

from __future__ import annotations

import re

from ansible_collections.kubebin.cluster.plugins.module_utils import preflight_relations as relations
from ansible_collections.kubebin.cluster.plugins.module_utils.host_address import address_source, parse_cidrs, parse_ip, split_list
from ansible_collections.kubebin.cluster.plugins.module_utils import preflight_spec as spec_checks
from ansible_collections.kubebin.cluster.plugins.module_utils.preflight_pki import pki_errors
from ansible_collections.kubebin.cluster.plugins.module_utils.preflight_sources import source_errors
from ansible_collections.kubebin.cluster.plugins.module_utils.systemd_calendar import calendar_problem

REQUIRED_GROUPS = ("etcd", "kube_control_plane", "kube_node")
CLUSTER_GROUPS = REQUIRED_GROUPS + ("k8s_cluster",)
# Playbook parameters (given with -e): no role has them as an option, preflight checks them.
PARAMETERS = ("kubebin_scale_nodes",)
# Inventory variables preflight reads besides the roles' options (the host's address), and the
# playbook parameters.
EXTRA_VARIABLES = ("ip", "ansible_host") + PARAMETERS
# Former variable names an inventory may still set, with the variable that replaced each.
RENAMED = {
    "etcd_client_port": "kubebin_etcd_client_port (cluster-wide: the apiservers use it too)",
    "etcd_peer_port": "kubebin_etcd_peer_port (cluster-wide: every member's peer URL is in every member's configuration)",
}
# kubebin_* settings that are the host's own; every other kubebin_* setting is cluster-wide.
PER_HOST = ("kubebin_node_name", "kubebin_node_ip", "kubebin_arch")
# Role options the network and path checks read, by the key they use.
NETWORK_OPTIONS = {
    "etcd_data_dir": "etcd_data_dir",
    "etcd_backup_schedule": "etcd_backup_schedule",
    "pod_network_plugin": "pod_network_plugin",
    "kubelet_max_pods": "max_pods",
    "kube_controller_manager_node_cidr_mask_size_ipv6": "node_cidr_mask_size_ipv6",
}
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
DNS_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")

# Versions the collection's roles write correct flags and configuration for.
SUPPORTED_VERSIONS = {
    "kube_version": (re.compile(r"^1\.(3[4-7])\.(0|[1-9][0-9]*)$"), "a Kubernetes release 1.34.x to 1.37.x"),
    "kubectl_version": (re.compile(r"^1\.(3[3-8])\.(0|[1-9][0-9]*)$"), "a kubectl release 1.33.x to 1.38.x"),
    "etcd_version": (re.compile(r"^3\.[56]\.(0|[1-9][0-9]*)$"), "an etcd release 3.5.x or 3.6.x"),
    "containerd_version": (re.compile(r"^(1\.[67]|2\.[0-9])\.(0|[1-9][0-9]*)$"), "a containerd release 1.6.x, 1.7.x or 2.x"),
    "runc_version": (re.compile(r"^1\.[0-9]+\.(0|[1-9][0-9]*)$"), "a runc release 1.x.y"),
    "cni_plugins_version": (re.compile(r"^1\.[0-9]+\.(0|[1-9][0-9]*)$"), "a CNI plugins release 1.x.y"),
    "crictl_version": (re.compile(r"^1\.[0-9]+\.(0|[1-9][0-9]*)$"), "a crictl release 1.x.y"),
}

# The apiserver refuses a service range larger than 2^20 addresses.
MAX_SERVICE_HOST_BITS = 20


def _parse_networks(name, value, errors):
    """Parse a CIDR or a comma-separated dual-stack pair; report problems under NAME."""
    nets, bad = parse_cidrs(value)
    if not nets and not bad:
        errors.append("kubebin_%s is empty: give a CIDR such as 10.96.0.0/12" % name)
        return nets
    for part, exc in bad:
        errors.append("kubebin_%s: '%s' is not a valid network CIDR (%s)" % (name, part, exc))
    # An empty part ('10.96.0.0/12,') would reach the components as it is written.
    if len(nets) + len(bad) != len(str(value).split(",")):
        errors.append("kubebin_%s '%s' has an empty part (a trailing or doubled comma): give one CIDR, or an IPv4 and "
                      "an IPv6 CIDR separated by one comma" % (name, value))
    families = [n.version for n in nets]
    if len(families) != len(set(families)):
        errors.append("kubebin_%s: at most one IPv4 and one IPv6 CIDR may be given, got '%s'" % (name, value))
    return nets


def _check_groups(hosts, errors):
    members = {g: [h for h in hosts if g in h.get("groups", [])] for g in REQUIRED_GROUPS}
    for group, hs in members.items():
        if not hs:
            errors.append("inventory group '%s' is missing or empty: it needs at least one host" % group)
    etcd_count = len(members["etcd"])
    if etcd_count and etcd_count % 2 == 0:
        errors.append(
            "inventory group 'etcd' has %d members (%s): an etcd cluster needs an odd member count (1, 3, 5, ...) "
            "to keep a quorum" % (etcd_count, ", ".join(h["name"] for h in members["etcd"]))
        )
    for h in hosts:
        if "kube_control_plane" in h.get("groups", []) or "kube_node" in h.get("groups", []):
            if "k8s_cluster" not in h.get("groups", []):
                errors.append("host '%s' is in kube_control_plane or kube_node but not under group 'k8s_cluster'" % h["name"])
    return members


def _parse_host_ip(name, field, value, errors):
    """The one IP of a host from FIELD.

    The PKI would put several addresses into the certificates, but the roles bind and advertise
    one cluster IP per host (kube-apiserver, etcd peers, pod routes), so a second one is refused
    here instead of failing on a host. A dual-stack cluster needs dual-stack service and pod
    CIDRs, not two host addresses.
    """
    items = split_list(value)
    if len(items) > 1:
        errors.append(
            "host '%s': %s gives %d addresses (%s); give the host's one cluster IP: the roles bind and advertise one address "
            "per host (a dual-stack cluster needs dual-stack kubebin_service_cidr and kubebin_pod_cidr only)"
            % (name, field, len(items), ", ".join(items))
        )
        return []
    addr = parse_ip(items[0]) if items else None
    if items and addr is None:
        errors.append("host '%s': %s '%s' is not an IP address" % (name, field, items[0]))
    return [addr] if addr else []


def host_model(name, groups, values, explicit):
    """One host as preflight, the PKI and the roles see it, plus the problems of its address.

    The address rule is the PKI's (docs/architecture.md): an inventory kubebin_node_ip wins, then
    ``ip``, then ``ansible_host`` when it is an IP address. VALUES are the host's variables as
    templated; EXPLICIT the names the inventory or extra vars set for it.
    """
    errors = []
    addrs = []
    field, value = address_source(lambda variable: values.get(variable) if variable in explicit or variable != "kubebin_node_ip" else None)
    if field:
        addrs = _parse_host_ip(name, field, value, errors)
    else:
        ansible_host = values.get("ansible_host")
        hint = " (ansible_host '%s' is not an IP address)" % ansible_host if ansible_host else ""
        errors.append("host '%s' has no IP: set its 'ip' variable%s" % (name, hint))
    node_name = values.get("kubebin_node_name") or name
    host = {"name": name, "node_name": str(node_name), "ips": addrs, "groups": list(groups), "arch": values.get("kubebin_arch")}
    return host, errors


# Addresses no other host can reach, so the cluster cannot use them as a host's IP.
UNUSABLE = (
    ("is_unspecified", "the unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_reserved", "a reserved address"),
)


def _check_hosts(hosts, errors):
    seen_names = {}
    seen_ips = {}
    host_ips = []
    for h in hosts:
        node_name = str(h.get("node_name") or h["name"])
        if not DNS_LABEL.match(node_name):
            errors.append(
                "host '%s': node name '%s' is not a valid DNS label (lowercase letters, digits and '-', "
                "at most 63 characters, starting and ending with a letter or digit); set kubebin_node_name "
                "or rename the host" % (h["name"], node_name)
            )
        if node_name in seen_names:
            errors.append("hosts '%s' and '%s' have the same node name '%s'" % (seen_names[node_name], h["name"], node_name))
        seen_names.setdefault(node_name, h["name"])
        for addr in h.get("ips", []):
            bad = next((what for attr, what in UNUSABLE if getattr(addr, attr)), None)
            if bad:
                errors.append(
                    "host '%s': %s is %s, which other hosts cannot reach; give the host's address on the cluster network" % (h["name"], addr, bad)
                )
            if str(addr) in seen_ips:
                errors.append("hosts '%s' and '%s' have the same ip %s" % (seen_ips[str(addr)], h["name"], addr))
            seen_ips.setdefault(str(addr), h["name"])
            host_ips.append((h["name"], addr))
    return host_ips


# The controller-manager refuses IPv6 node ranges more than 16 bits longer than the pod CIDR
# (its allocation bitmap, nodeipam cidrset clusterSubnetMaxDiff).
MAX_NODE_MASK_DIFF = 16
# Pod addresses of an IPv4 node range that host-local IPAM cannot hand out: network, gateway, broadcast.
RESERVED_PER_NODE_RANGE = 3


def _family_names(nets):
    return "/".join("IPv%d" % n.version for n in nets)


def _check_families(settings, service, pods, hosts, errors):
    """Service CIDR, pod CIDR, host IPs and the pod network agree on IPv4, IPv6 or dual stack."""
    if any(len({n.version for n in nets}) != len(nets) for nets in (service, pods)):
        return  # two CIDRs of one family: already reported by _parse_networks
    if service and pods and [n.version for n in service] != [n.version for n in pods]:
        if sorted(n.version for n in service) != sorted(n.version for n in pods):
            errors.append(
                "kubebin_service_cidr (%s) and kubebin_pod_cidr (%s) must have the same address families: both single-stack "
                "of one family, or both dual stack" % (_family_names(service), _family_names(pods))
            )
        else:
            errors.append(
                "kubebin_service_cidr and kubebin_pod_cidr list their families in a different order (%s, %s): the first CIDR of "
                "each is the cluster's primary family and must be the same" % (_family_names(service), _family_names(pods))
            )
    if service:
        primary = service[0].version
        for h in hosts:
            if h.get("ips") and primary not in [a.version for a in h["ips"]]:
                errors.append(
                    "host '%s' has no IPv%d address (it has %s) but the cluster's primary family is IPv%d (first CIDR of "
                    "kubebin_service_cidr); give the host an IPv%d address in 'ip'"
                    % (h["name"], primary, ", ".join(str(a) for a in h["ips"]), primary, primary)
                )
    plugin = settings.get("pod_network_plugin")
    if plugin == "bridge" and any(n.version == 6 for n in pods):
        errors.append(
            "pod_network_plugin bridge routes IPv4 pod networks only, but kubebin_pod_cidr has an IPv6 CIDR; use an IPv4 "
            "kubebin_pod_cidr, or pod_network_plugin flannel or calico for IPv6 and dual stack"
        )


def _node_mask(settings, net, errors):
    """The node-range prefix length for the family of NET, or None after reporting why not."""
    name = "kubebin_node_cidr_mask_size" if net.version == 4 else "kube_controller_manager_node_cidr_mask_size_ipv6"
    value = settings.get("node_cidr_mask_size" if net.version == 4 else "node_cidr_mask_size_ipv6")
    if value is None:
        return name, None
    try:
        mask = int(value)
    except (TypeError, ValueError):
        errors.append("%s '%s' is not a number" % (name, value))
        return name, None
    limit = net.max_prefixlen - 2
    if not net.prefixlen < mask <= limit:
        errors.append(
            "%s %s must be longer than the prefix of kubebin_pod_cidr %s (/%d) and at most %d" % (name, mask, net, net.prefixlen, limit)
        )
        return name, None
    if net.version == 6 and mask - net.prefixlen > MAX_NODE_MASK_DIFF:
        errors.append(
            "%s %s is more than %d bits longer than kubebin_pod_cidr %s: the controller-manager refuses it; use a node mask of at "
            "most /%d or a smaller pod CIDR" % (name, mask, MAX_NODE_MASK_DIFF, net, net.prefixlen + MAX_NODE_MASK_DIFF)
        )
        return name, None
    return name, mask


def _check_capacity(settings, pods, kubelet_hosts, errors):
    """Every kubelet host gets a node range, and a node range holds the configured max pods."""
    max_pods = settings.get("max_pods")
    for net in pods:
        name, mask = _node_mask(settings, net, errors)
        if mask is None:
            continue
        room = 2 ** (mask - net.prefixlen)
        if room < len(kubelet_hosts):
            errors.append(
                "kubebin_pod_cidr %s holds only %d node ranges of /%d, fewer than the %d hosts that run a kubelet (group kube_node)"
                % (net, room, mask, len(kubelet_hosts))
            )
        addresses = 2 ** (net.max_prefixlen - mask) - RESERVED_PER_NODE_RANGE
        if spec_checks.is_int(max_pods) and addresses < max_pods:
            errors.append(
                "%s %d leaves %d pod addresses per node, fewer than kubelet_max_pods %d; use a shorter node mask or lower "
                "kubelet_max_pods" % (name, mask, addresses, max_pods)
            )


def _check_networks(settings, hosts, host_ips, errors):
    # A setting of the wrong type is left out by the caller (its type error says enough).
    service = _parse_networks("service_cidr", settings["service_cidr"], errors) if "service_cidr" in settings else []
    pods = _parse_networks("pod_cidr", settings["pod_cidr"], errors) if "pod_cidr" in settings else []
    for net in service:
        host_bits = net.max_prefixlen - net.prefixlen
        if host_bits > MAX_SERVICE_HOST_BITS:
            errors.append(
                "kubebin_service_cidr %s is too large: the apiserver accepts at most %d addresses (/%d for IPv%d)"
                % (net, 2 ** MAX_SERVICE_HOST_BITS, net.max_prefixlen - MAX_SERVICE_HOST_BITS, net.version)
            )
    for s in service:
        for p in pods:
            if s.version == p.version and s.overlaps(p):
                errors.append("kubebin_service_cidr %s overlaps kubebin_pod_cidr %s: they must be disjoint" % (s, p))
    for name, nets in (("service_cidr", service), ("pod_cidr", pods)):
        for net in nets:
            inside = ["%s (%s)" % (host, ip) for host, ip in host_ips if ip.version == net.version and ip in net]
            if inside:
                errors.append(
                    "kubebin_%s %s overlaps the hosts' network: it contains %s" % (name, net, ", ".join(inside))
                )
    _check_families(settings, service, pods, hosts, errors)
    kubelet_hosts = [h for h in hosts if "kube_node" in h.get("groups", [])]
    _check_capacity(settings, pods, kubelet_hosts, errors)
    return service, pods


def _check_names(settings, errors):
    """The cluster domain; the API endpoint and extra SANs follow the PKI's rules (preflight_pki)."""
    domain = str(settings.get("cluster_domain") or "")
    # The apiserver certificate names kubernetes.default.svc.DOMAIN, so that must be a DNS name too.
    if "cluster_domain" in settings and not (DNS_NAME.match(domain) and DNS_NAME.match("kubernetes.default.svc." + domain)):
        errors.append("kubebin_cluster_domain '%s' is not a valid DNS name: give lowercase labels of letters, digits and '-', such as "
                      "cluster.local" % domain)


def _check_versions(settings, errors):
    for key, (pattern, what) in SUPPORTED_VERSIONS.items():
        if key not in settings:
            continue
        value = str(settings[key])
        if not pattern.match(value):
            errors.append("kubebin_%s '%s' is not supported: expected %s, without a leading 'v'" % (key, value, what))


def _check_paths(settings, errors):
    data_dir = str(settings.get("etcd_data_dir") or "")
    if data_dir and (data_dir == "/tmp" or data_dir.startswith("/tmp/") or data_dir.startswith("/var/tmp/")):
        errors.append("etcd_data_dir '%s' is inside a temporary directory: etcd data would be lost on reboot" % data_dir)


def _check_schedules(settings, errors):
    schedule = str(settings.get("etcd_backup_schedule") or "")
    problem = calendar_problem(schedule) if schedule else None
    if problem:
        errors.append("etcd_backup_schedule '%s' is not a systemd calendar event: %s. Give one such as 'daily', "
                      "'hourly' or '*-*-* 02:30:00' (systemd.time(7)), or '' for no scheduled snapshots" % (schedule, problem))


def preflight_errors(hosts, settings):
    """Return a list of problems with the inventory HOSTS and the cluster SETTINGS."""
    errors = []
    hosts = list(hosts or [])
    settings = dict(settings or {})
    _check_groups(hosts, errors)
    host_ips = _check_hosts(hosts, errors)
    _check_networks(settings, hosts, host_ips, errors)
    _check_names(settings, errors)
    _check_versions(settings, errors)
    _check_paths(settings, errors)
    _check_schedules(settings, errors)
    return errors


def scale_node_errors(value, hosts):
    """Problems of kubebin_scale_nodes (playbooks/scale.yml): it must name inventory workers only.

    A control-plane host or an etcd member changes what every other host is configured with
    (apiserver endpoints, etcd membership), which only site.yml carries to them.
    """
    if value is None or value == "" or value == []:
        return []
    if not isinstance(value, (str, list, tuple)):
        return ["kubebin_scale_nodes must name hosts, as a list or a comma-separated string (w3,w4), not %s" % type(value).__name__]
    groups_of = {h["name"]: h.get("groups", []) for h in hosts}
    errors = []
    for name in split_list(value):
        member_of = groups_of.get(name)
        if member_of is None or "kube_node" not in member_of:
            errors.append("kubebin_scale_nodes names '%s', which is not a host of group kube_node: add the new node to "
                          "kube_node in the inventory first, then run scale.yml" % name)
            continue
        others = [g for g in ("kube_control_plane", "etcd") if g in member_of]
        if others:
            errors.append("kubebin_scale_nodes names '%s', which is in %s: scale.yml adds workers only; a control-plane host "
                          "or an etcd member takes site.yml" % (name, " and ".join(others)))
    return errors


def cluster_host_names(groups):
    """Every host of the cluster's groups, sorted."""
    names = set()
    for group in CLUSTER_GROUPS:
        names.update(groups.get(group, []) or [])
    return sorted(names)


def _check_cluster_wide(values_by_host):
    """A cluster-wide kubebin_* setting set to different values on different hosts."""
    errors = []
    names = sorted({n for values in values_by_host.values() for n in values if n.startswith("kubebin_") and n not in PER_HOST})
    for name in names:
        seen = {}
        for host, values in sorted(values_by_host.items()):
            value = values.get(name)
            if not isinstance(value, spec_checks.Unknown):
                seen.setdefault(spec_checks.shown(value), []).append(host)
        if len(seen) > 1:
            detail = "; ".join("%s on %s" % (value, ", ".join(hosts)) for value, hosts in seen.items())
            errors.append("%s differs between hosts (%s): it is a cluster-wide setting; set it in group_vars/all or with -e" % (name, detail))
    return errors


def _usable(values, rejected):
    """The values that could be evaluated on the controller and are not REJECTED (they failed their type check)."""
    return {name: value for name, value in values.items() if not isinstance(value, spec_checks.Unknown) and name not in rejected}


def _settings(values):
    """The keys preflight_errors reads: kubebin_* without the prefix, and a few role options."""
    settings = {name[len("kubebin_"):]: value for name, value in values.items() if name.startswith("kubebin_") and value is not None}
    for name, key in NETWORK_OPTIONS.items():
        if values.get(name) is not None:
            settings[key] = values[name]
    return settings


def all_errors(groups, values_by_host, explicit_by_host, specs, prefixes):
    """Every problem of the inventory GROUPS and of each host's VALUES, all at once.

    VALUES_BY_HOST holds each host's settings as the roles will see them, EXPLICIT_BY_HOST the
    variable names its inventory and extra vars set, SPECS the merged options of every role,
    PREFIXES the variable prefixes the collection owns (for typos).
    """
    names = sorted(values_by_host)
    errors = []
    problems = {}
    usable_by_host = {}
    for name in names:
        values = values_by_host[name]
        found = []
        rejected = set()
        for option, option_spec in sorted(specs.items()):
            option_found = spec_checks.option_problems(option, option_spec, values.get(option))
            found.extend(option_found)
            if option_found:
                rejected.add(option)
        usable_by_host[name] = _usable(values, rejected)
        found.extend(relations.check_shapes(usable_by_host[name], specs))
        found.extend(spec_checks.unknown_variables(explicit_by_host.get(name, ()), list(specs) + list(PARAMETERS), prefixes, RENAMED))
        problems[name] = found
    errors.extend(spec_checks.per_host(problems, names))
    hosts = []
    for name in names:
        member_of = [g for g in CLUSTER_GROUPS if name in (groups.get(g) or [])]
        host, host_errors = host_model(name, member_of, usable_by_host[name], explicit_by_host.get(name, ()))
        hosts.append(host)
        errors.extend(host_errors)
    errors.extend(_check_cluster_wide(values_by_host))
    first = usable_by_host[names[0]] if names else {}
    errors.extend(preflight_errors(hosts, _settings(first)))
    errors.extend(scale_node_errors(first.get("kubebin_scale_nodes"), hosts))
    errors.extend(relations.check_skew(first))
    errors.extend(spec_checks.per_host({n: relations.check_cluster_dns(usable_by_host[n]) for n in names}, names))
    errors.extend(relations.check_node_cidrs(hosts, usable_by_host, first.get("kubebin_pod_cidr"), first.get("kubebin_node_cidr_mask_size")))
    for host in hosts:
        errors.extend(relations.check_ports(host, usable_by_host[host["name"]]))
        errors.extend(relations.check_bind_addresses(host, usable_by_host[host["name"]]))
    errors.extend(pki_errors(first, hosts))
    errors.extend(source_errors(first, hosts))
    return errors
