# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ranges, shapes and relations between settings that an argument spec cannot express.

A wrong type is reported by preflight_spec; every check here skips a value of the wrong type, so
one mistake gives one message.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from ansible_collections.kubebin.cluster.plugins.module_utils.host_address import parse_cidrs, parse_ip
from ansible_collections.kubebin.cluster.plugins.module_utils.preflight_spec import is_int, shown

# A sign is allowed here: preflight_pki says why a negative signing duration is wrong.
GO_DURATION = re.compile(r"^[-+]?([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$")
HAPROXY_TIME = re.compile(r"^[0-9]+(us|ms|s|m|h|d)?$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
RELEASE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
MINOR = re.compile(r"^1\.([0-9]+)\.")
BINARY_SUFFIX = {"k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
                 "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60, "m": 10 ** -3, "": 1}

# Settings that hold a URL (the mirrors are checked with the artifact sources, preflight_sources).
URL_SETTINGS = ("kube_apiserver_service_account_issuer",)
DURATIONS = {
    "kube_controller_manager_cluster_signing_duration": (GO_DURATION, "a Go duration such as 8760h"),
    "api_proxy_timeout_tunnel": (HAPROXY_TIME, "an HAProxy time such as 1h or 30s"),
    "api_proxy_timeout_connect": (HAPROXY_TIME, "an HAProxy time such as 5s or 500ms"),
}
QUANTITIES = ("coredns_cpu_request", "coredns_memory_request", "coredns_memory_limit")
# Integers that count attempts or copies: zero would mean "never" and break the role.
AT_LEAST_ONE = re.compile(r"_(retries|replicas|keep|maxconn|max_pods|check_fall|check_rise|check_interval)$")
# Settings that hold a release of a program the collection runs, outside the kubebin_*_version ones.
RELEASES = ("coredns_version",)


def _ip(value):
    """VALUE as an IP address exactly as written: the roles pass these settings to flags unchanged."""
    return parse_ip(value, strip=False)


def check_shapes(values, specs):
    """Ports, counts, URLs, durations, quantities and releases of one host's VALUES."""
    errors = []
    for name, spec in sorted(specs.items()):
        value = values.get(name)
        # The PKI's numbers have their own ranges (preflight_pki).
        if spec.get("type") != "int" or not is_int(value) or name.startswith(("kubebin_pki_", "pki_")):
            continue
        if name.endswith("_port") and not 1 <= value <= 65535:
            errors.append("%s %d is not a port: give a number from 1 to 65535" % (name, value))
        elif AT_LEAST_ONE.search(name) and value < 1:
            errors.append("%s %d must be at least 1" % (name, value))
        elif value < 0:
            errors.append("%s %d must not be negative" % (name, value))
    for name in URL_SETTINGS:
        value = values.get(name)
        if isinstance(value, str):
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                errors.append("%s %s is not a URL: give a scheme and a host, e.g. https://mirror.example.com" % (name, shown(value)))
            elif name == "kube_apiserver_service_account_issuer" and parts.scheme != "https":
                errors.append("%s %s must be an https URL (the issuer of service-account tokens)" % (name, shown(value)))
    for name, (pattern, what) in DURATIONS.items():
        value = values.get(name)
        if isinstance(value, str) and not pattern.match(value):
            errors.append("%s %s is not %s" % (name, shown(value), what))
    for name in QUANTITIES:
        value = values.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and not QUANTITY.match(str(value)):
            errors.append("%s %s is not a Kubernetes quantity (e.g. 100m for CPU, 70Mi for memory)" % (name, shown(value)))
    request, limit = _quantity(values.get("coredns_memory_request")), _quantity(values.get("coredns_memory_limit"))
    if request is not None and limit is not None and request > limit:
        errors.append("coredns_memory_request %s is above coredns_memory_limit %s" % (values["coredns_memory_request"], values["coredns_memory_limit"]))
    for name in RELEASES:
        value = values.get(name)
        if isinstance(value, str) and not RELEASE.match(value):
            errors.append("%s %s is not a release X.Y.Z (without a leading 'v')" % (name, shown(value)))
    return errors


def _quantity(value):
    match = QUANTITY.match(str(value)) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if not match:
        return None
    number = re.match(r"^[0-9.]+", str(value)).group(0)
    return float(number) * BINARY_SUFFIX[str(value)[len(number):]]


def check_skew(values):
    """kubectl within one minor of the cluster (the kubelet and apiserver share kubebin_kube_version)."""
    kube = MINOR.match(str(values.get("kubebin_kube_version") or ""))
    kubectl = MINOR.match(str(values.get("kubebin_kubectl_version") or ""))
    if kube and kubectl and abs(int(kube.group(1)) - int(kubectl.group(1))) > 1:
        return [
            "kubebin_kubectl_version %s is outside the supported skew of kubebin_kube_version %s: kubectl must be within one "
            "minor release of the cluster" % (values["kubebin_kubectl_version"], values["kubebin_kube_version"])
        ]
    return []


def _listeners(host, values):
    """(component, address, port) of every TCP listener the collection puts on HOST."""
    groups = host.get("groups", [])
    ips = [str(a) for a in host.get("ips", [])]
    found = []

    def add(component, addresses, port):
        if is_int(port):
            found.extend((component, str(a), port) for a in addresses)

    if "etcd" in groups:
        add("etcd client (kubebin_etcd_client_port)", ips[:1] + ["127.0.0.1"], values.get("kubebin_etcd_client_port"))
        add("etcd peer (kubebin_etcd_peer_port)", ips[:1], values.get("kubebin_etcd_peer_port"))
        add("etcd metrics (etcd_metrics_port)", ["127.0.0.1"], values.get("etcd_metrics_port"))
    if "kube_control_plane" in groups:
        add("kube-apiserver (kubebin_apiserver_port)", [values.get("kube_apiserver_bind_address")], values.get("kubebin_apiserver_port"))
        add("kube-controller-manager (kube_controller_manager_secure_port)", [values.get("kube_controller_manager_bind_address")],
            values.get("kube_controller_manager_secure_port"))
        add("kube-scheduler (kube_scheduler_secure_port)", [values.get("kube_scheduler_bind_address")], values.get("kube_scheduler_secure_port"))
    if "k8s_cluster" in groups and values.get("api_proxy_enabled") in (True, "True", "true"):
        add("local API proxy (kubebin_api_proxy_port)", ["127.0.0.1"], values.get("kubebin_api_proxy_port"))
    if "kube_node" in groups:
        extra = values.get("kubelet_config_extra") if isinstance(values.get("kubelet_config_extra"), dict) else {}
        add("kubelet (kubelet_config_extra.port)", ["0.0.0.0"], extra.get("port", 10250))
        add("kubelet healthz (kubelet_config_extra.healthzPort)", ["127.0.0.1"], extra.get("healthzPort", 10248))
        add("kube-proxy healthz", ["0.0.0.0"], 10256)
        add("kube-proxy metrics", ["127.0.0.1"], 10249)
    return found


def _clash(first, second):
    a, b = _ip(first), _ip(second)
    if a is None or b is None:
        return first == second
    if a == b:
        return True
    # A wildcard listener takes the port on every address of its family (:: on both families).
    return (a.is_unspecified and (a.version == b.version or a.version == 6)) or (b.is_unspecified and (b.version == a.version or b.version == 6))


def check_ports(host, values):
    """Two components of one host may not listen on the same port of the same address."""
    errors = []
    listeners = _listeners(host, values)
    for index, (component, address, port) in enumerate(listeners):
        for other, other_address, other_port in listeners[index + 1:]:
            if port == other_port and other != component and _clash(address, other_address):
                errors.append(
                    "host '%s': %s and %s both listen on port %d (%s, %s); give one of them another port"
                    % (host["name"], component, other, port, address, other_address)
                )
    return errors


def check_bind_addresses(host, values):
    """Bind addresses are the host's own IP, loopback or the wildcard (the apiserver: its own IP only)."""
    errors = []
    own = {str(a) for a in host.get("ips", [])}
    if "kube_control_plane" not in host.get("groups", []):
        return errors
    address = values.get("kube_apiserver_bind_address")
    if isinstance(address, str) and address not in own:
        errors.append(
            "host '%s': kube_apiserver_bind_address %s is not one of the host's IPs (%s): the apiserver also advertises this "
            "address to the cluster, so it must be the host's own" % (host["name"], shown(address), ", ".join(sorted(own)) or "none")
        )
    for name in ("kube_controller_manager_bind_address", "kube_scheduler_bind_address"):
        address = values.get(name)
        ip = _ip(address) if isinstance(address, str) else None
        if isinstance(address, str) and not (ip and (ip.is_loopback or ip.is_unspecified or str(ip) in own)):
            errors.append(
                "host '%s': %s %s is neither loopback, the wildcard, nor one of the host's IPs (%s)"
                % (host["name"], name, shown(address), ", ".join(sorted(own)) or "none")
            )
    return errors


def _networks(value):
    """The CIDRs of VALUE when every comma-separated part is one (an empty part is none), else [].

    A value that is not all CIDRs is reported by preflight's network checks; the relations skip it.
    """
    nets, bad = parse_cidrs(value, skip_empty=False)
    return [] if bad else nets


def _in_service(values, service, name, value, errors):
    """VALUE as an address of the service network, or None after naming NAME's problem."""
    ip = _ip(value) if isinstance(value, str) else None
    if ip is None or not any(ip in net for net in service):
        errors.append("%s %s is not an address of kubebin_service_cidr %s" % (name, shown(value), values["kubebin_service_cidr"]))
        return None
    if any(ip == net.network_address + 1 for net in service):
        errors.append("%s %s is the first service address, which the kubernetes Service takes" % (name, value))
        return None
    return ip


def check_cluster_dns(values):
    """The DNS addresses lie in the service network, and the kubelets send pods to CoreDNS.

    Both coredns_service_ip and kubelet_cluster_dns follow kubebin_cluster_dns_ip by default; a
    mistake in that one is reported once, not through the two that follow it.
    """
    service = _networks(values.get("kubebin_service_cidr"))
    if not service:
        return []
    errors = []
    shared = values.get("kubebin_cluster_dns_ip")
    if isinstance(shared, str) and _in_service(values, service, "kubebin_cluster_dns_ip", shared, errors) is None:
        return errors
    coredns = values.get("coredns_service_ip")
    coredns_ip = _in_service(values, service, "coredns_service_ip", coredns, errors) if isinstance(coredns, str) else None
    kubelet = values.get("kubelet_cluster_dns")
    dns = []
    if isinstance(kubelet, list):
        for item in kubelet:
            ip = _ip(item) if isinstance(item, str) else None
            if ip is None or not any(ip in net for net in service):
                errors.append("kubelet_cluster_dns: %s is not an address of kubebin_service_cidr %s" % (shown(item), values["kubebin_service_cidr"]))
            else:
                dns.append(ip)
    if not errors and coredns_ip is not None and dns and coredns_ip not in dns:
        errors.append(
            "the kubelets send pods to DNS %s (kubelet_cluster_dns) but CoreDNS listens on %s (coredns_service_ip): set "
            "kubebin_cluster_dns_ip instead, which both follow" % (", ".join(str(d) for d in dns), coredns_ip)
        )
    return errors


def check_node_cidrs(hosts, values_by_host, pod_cidr, node_mask):
    """Per-host pod ranges (pod_network_node_cidr) lie in the pod CIDR, have the node mask and do not overlap."""
    errors = []
    pods = _networks(pod_cidr)
    if not pods:
        return errors
    taken = {}
    for host in hosts:
        value = values_by_host.get(host["name"], {}).get("pod_network_node_cidr")
        if not isinstance(value, str) or not value:
            continue
        where = "host '%s': pod_network_node_cidr %s" % (host["name"], shown(value))
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            errors.append("%s is not a network CIDR (%s)" % (where, exc))
            continue
        if not any(net.version == p.version and net.subnet_of(p) for p in pods):
            errors.append("%s is not inside kubebin_pod_cidr %s" % (where, pod_cidr))
        elif net.version == 4 and is_int(node_mask) and net.prefixlen != node_mask:
            errors.append("%s is a /%d, but node ranges are /%d (kubebin_node_cidr_mask_size)" % (where, net.prefixlen, node_mask))
        for other, other_net in taken.items():
            if other_net.version == net.version and other_net.overlaps(net):
                errors.append("%s overlaps the range of host '%s' (%s)" % (where, other, other_net))
        taken[host["name"]] = net
    return errors
