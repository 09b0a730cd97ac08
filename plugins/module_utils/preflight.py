# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks of the inventory and cluster settings, shared by the preflight filter and its tests.

Every message names the host or variable and says what is wrong, so an operator can fix the
inventory without reading code.
"""

from __future__ import annotations

import ipaddress
import re

REQUIRED_GROUPS = ("etcd", "kube_control_plane", "kube_node")
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
DNS_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
ARCHES = ("amd64", "arm64")

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
# Settings with a fixed set of values.
CHOICES = {"cgroup_driver": ("systemd", "cgroupfs")}


def _parse_ip(value):
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        return None


def _parse_networks(name, value, errors):
    """Parse a CIDR or a comma-separated dual-stack pair; report problems under NAME."""
    nets = []
    parts = [p.strip() for p in str(value or "").split(",") if p.strip()]
    if not parts:
        errors.append("kubebin_%s is empty: give a CIDR such as 10.96.0.0/12" % name)
        return nets
    for part in parts:
        try:
            nets.append(ipaddress.ip_network(part, strict=True))
        except ValueError as exc:
            errors.append("kubebin_%s: '%s' is not a valid network CIDR (%s)" % (name, part, exc))
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


def _host_ip(host, errors):
    """The host's cluster IP: its `ip`, else an `ansible_host` that is an IP address."""
    name = host["name"]
    if host.get("ip") not in (None, ""):
        addr = _parse_ip(host["ip"])
        if addr is None:
            errors.append("host '%s': ip '%s' is not an IP address" % (name, host["ip"]))
        return addr
    addr = _parse_ip(host.get("ansible_host")) if host.get("ansible_host") else None
    if addr is None:
        hint = " (ansible_host '%s' is not an IP address)" % host["ansible_host"] if host.get("ansible_host") else ""
        errors.append("host '%s' has no IP: set its 'ip' variable%s" % (name, hint))
    return addr


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
        addr = _host_ip(h, errors)
        if addr is not None:
            if str(addr) in seen_ips:
                errors.append("hosts '%s' and '%s' have the same ip %s" % (seen_ips[str(addr)], h["name"], addr))
            seen_ips.setdefault(str(addr), h["name"])
            host_ips.append((h["name"], addr))
        if h.get("arch", "amd64") not in ARCHES:
            errors.append("host '%s': kubebin_arch '%s' is not one of %s" % (h["name"], h.get("arch"), ", ".join(ARCHES)))
    return host_ips


def _check_networks(settings, host_ips, errors):
    service = _parse_networks("service_cidr", settings.get("service_cidr"), errors)
    pods = _parse_networks("pod_cidr", settings.get("pod_cidr"), errors)
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
    mask = settings.get("node_cidr_mask_size")
    for p in pods:
        if p.version != 4:
            continue
        try:
            mask_int = int(mask)
        except (TypeError, ValueError):
            errors.append("kubebin_node_cidr_mask_size '%s' is not a number" % mask)
            break
        if not p.prefixlen < mask_int <= 30:
            errors.append(
                "kubebin_node_cidr_mask_size %s must be longer than the prefix of kubebin_pod_cidr %s (/%d) and at most 30"
                % (mask, p, p.prefixlen)
            )
        else:
            room = 2 ** (mask_int - p.prefixlen)
            if room < len(host_ips):
                errors.append(
                    "kubebin_pod_cidr %s holds only %d node ranges of /%d, fewer than the %d hosts" % (p, room, mask_int, len(host_ips))
                )


def _check_names(settings, errors):
    domain = str(settings.get("cluster_domain") or "")
    if not DNS_NAME.match(domain):
        errors.append("kubebin_cluster_domain '%s' is not a valid DNS name" % domain)
    endpoint = str(settings.get("api_endpoint") or "")
    if endpoint and not (_parse_ip(endpoint) or DNS_NAME.match(endpoint)):
        errors.append("kubebin_api_endpoint '%s' is neither an IP address nor a DNS name (give no scheme or port)" % endpoint)
    for san in settings.get("apiserver_extra_sans") or []:
        name = str(san)[2:] if str(san).startswith("*.") else str(san)
        if not (_parse_ip(san) or DNS_NAME.match(name)):
            errors.append("kubebin_apiserver_extra_sans: '%s' is neither an IP address nor a DNS name" % san)


def _check_versions(settings, errors):
    for key, (pattern, what) in SUPPORTED_VERSIONS.items():
        if key not in settings:
            continue
        value = str(settings[key])
        if not pattern.match(value):
            errors.append("kubebin_%s '%s' is not supported: expected %s, without a leading 'v'" % (key, value, what))


def _check_choices(settings, errors):
    for key, allowed in CHOICES.items():
        if key in settings and str(settings[key]) not in allowed:
            errors.append("kubebin_%s '%s' is not one of %s" % (key, settings[key], ", ".join(allowed)))


def _check_paths(settings, errors):
    data_dir = str(settings.get("etcd_data_dir") or "")
    if data_dir and (data_dir == "/tmp" or data_dir.startswith("/tmp/") or data_dir.startswith("/var/tmp/")):
        errors.append("etcd_data_dir '%s' is inside a temporary directory: etcd data would be lost on reboot" % data_dir)


def preflight_errors(hosts, settings):
    """Return a list of problems with the inventory HOSTS and the cluster SETTINGS."""
    errors = []
    hosts = list(hosts or [])
    settings = dict(settings or {})
    _check_groups(hosts, errors)
    host_ips = _check_hosts(hosts, errors)
    _check_networks(settings, host_ips, errors)
    _check_names(settings, errors)
    _check_versions(settings, errors)
    _check_choices(settings, errors)
    _check_paths(settings, errors)
    return errors
