# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Derive the cluster PKI spec (certificates + kubeconfigs) from a compact host list.

Pure functions, no Ansible objects: hosts are dicts {name, ips, groups} and settings a dict of the
kubebin_* values without the prefix. The layout is the controller PKI layout of
docs/architecture.md; what each certificate carries follows the upstream PKI requirements.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.kubebin.cluster.plugins.module_utils.host_address import address_source, inventory_value
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError, is_dns_name, normalize_ip

NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
CLUSTER_GROUPS = ("etcd", "kube_control_plane", "kube_node")
# Groups the certificates name by address (etcd members, apiserver SANs): each needs a host, and
# each of its hosts an IP.
ADDRESSED_GROUPS = ("etcd", "kube_control_plane")

DEFAULT_SETTINGS = {
    "cluster_name": "kubebin",
    "cluster_domain": "cluster.local",
    "service_cidr": "10.96.0.0/12",
    "api_endpoint": "",
    "api_endpoint_port": 6443,
    "apiserver_port": 6443,
    "api_proxy_port": 6443,
    "apiserver_extra_sans": [],
    "key_algorithm": "rsa2048",
    "ca_validity_days": 3650,
    "leaf_validity_days": 365,
    # Kubelets get their certificates by TLS bootstrapping: no per-node certificates here, one
    # bootstrap kubeconfig (token auth) for all of them instead.
    "kubelet_tls_bootstrap": False,
}


def settings_with_defaults(settings):
    """The cluster settings with DEFAULT_SETTINGS for every value not given (None counts as not given)."""
    cfg = dict(DEFAULT_SETTINGS)
    cfg.update({k: v for k, v in (settings or {}).items() if v is not None})
    return cfg


def host_ips(values):
    """Canonical IPs of a host from `ip` (string, comma list or list); invalid entries raise."""
    if values is None or values == "":
        return []
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    ips = []
    for value in values:
        ip = normalize_ip(value)
        if ip is None:
            raise PkiError("ip %r is not an IP address" % (value,))
        ips.append(ip)
    return ips


def compact_hosts(groups, hostvars):
    """[{name, ips, groups}] of every host in etcd, kube_control_plane and kube_node.

    An inventory `kubebin_node_ip` wins, then `ip`, then `ansible_host` when it is an IP address
    (docs/architecture.md). Role defaults are not host variables, so only explicit values count.
    """
    membership = {}
    for group in CLUSTER_GROUPS:
        for name in groups.get(group, []) or []:
            membership.setdefault(name, []).append(group)
    hosts = []
    for name in sorted(membership):
        hv = hostvars[name]
        _field, ip = address_source(lambda variable, hv=hv: inventory_value(hv, variable))
        try:
            ips = host_ips(ip)
        except PkiError as exc:
            raise PkiError("host %s: %s" % (name, exc))
        hosts.append({"name": name, "ips": ips, "groups": membership[name]})
    return hosts


def service_first_ips(service_cidr):
    """The apiserver's service IP of each CIDR of kubebin_service_cidr (its first address), an apiserver SAN."""
    ips = []
    for cidr in [c.strip() for c in str(service_cidr).split(",") if c.strip()]:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise PkiError("kubebin_service_cidr: %r is not a CIDR" % cidr)
        if net.num_addresses < 2:  # a single address has none after it (and 255.255.255.255 + 1 does not exist)
            raise PkiError("kubebin_service_cidr: %r has no address after its network address for the apiserver" % cidr)
        ips.append(str(net.network_address + 1))
    if not ips:
        raise PkiError("kubebin_service_cidr is empty")
    return ips


def san_entry(value):
    """("ip", canonical IP) or ("dns", lowercase name) of a subject alternative name; None when it is neither."""
    ip = normalize_ip(value)
    if ip is not None:
        return "ip", ip
    if is_dns_name(str(value)):
        return "dns", str(value).lower()
    return None


def endpoint_host(api_endpoint):
    """kubebin_api_endpoint as the spec reads it; empty means none (every host reaches a local proxy)."""
    return str(api_endpoint or "").strip()


def apiserver_service_names(cluster_domain):
    """The in-cluster names of the kubernetes Service, all apiserver SANs (the last one ends in the cluster domain)."""
    return ["kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc." + str(cluster_domain).strip(".")]


def _split_sans(values, field):
    dns, ips = [], []
    if isinstance(values, str):
        values = [values]
    for index, value in enumerate(values or []):
        entry = san_entry(value)
        if entry is None:
            raise PkiError("%s[%d]: %r is neither an IP address nor a DNS name" % (field, index, value))
        (ips if entry[0] == "ip" else dns).append(entry[1])
    return dns, ips


def _leaf(name, ca, cn, eku, orgs=None, dns=None, ips=None):
    return {"name": name, "ca": ca, "common_name": cn, "organizations": list(orgs or []),
            "extended_key_usage": list(eku), "dns_names": sorted(set(dns or [])), "ip_addresses": sorted(set(ips or []))}


def _kubeconfig(path, server, user, cert, settings):
    return {"path": path, "cluster_name": settings["cluster_name"], "server": server, "user": user,
            "ca_file": "ca.crt", "client_cert_file": cert + ".crt", "client_key_file": cert + ".key"}


def _url(host, port):
    return "https://%s:%s" % ("[%s]" % host if ":" in host else host, port)


def cluster_spec(hosts, settings=None):
    """Return {"certificates": [...], "kubeconfigs": [...]} for the cluster (pki / kubeconfig module input).

    In TLS-bootstrap mode also "bootstrap_kubeconfig": the kubeconfig entry without its token.
    """
    cfg = settings_with_defaults(settings)
    by_group = {group: [] for group in CLUSTER_GROUPS}
    for host in hosts:
        name = host["name"]
        if not NODE_NAME.match(str(name)):
            raise PkiError("host %r: the inventory name must be a lowercase DNS label (it is the node name)" % (name,))
        for group in host.get("groups", []):
            if group in by_group:
                by_group[group].append(host)
    for group in ADDRESSED_GROUPS:
        if not by_group[group]:
            raise PkiError("inventory: group %s is empty" % group)
        for host in by_group[group]:
            if not host.get("ips"):
                raise PkiError("host %s (group %s): no IP address; set `ip` (or an IP ansible_host)" % (host["name"], group))

    endpoint = endpoint_host(cfg["api_endpoint"])
    endpoint_dns, endpoint_ips = _split_sans([endpoint] if endpoint else [], "kubebin_api_endpoint")
    extra_dns, extra_ips = _split_sans(cfg["apiserver_extra_sans"], "kubebin_apiserver_extra_sans")
    control_plane = by_group["kube_control_plane"]
    api_dns = (apiserver_service_names(cfg["cluster_domain"]) + ["localhost"] + [h["name"] for h in control_plane]
               + endpoint_dns + extra_dns)
    api_ips = ["127.0.0.1"] + service_first_ips(cfg["service_cidr"]) + endpoint_ips + extra_ips
    for host in control_plane:
        api_ips += host["ips"]

    certs = [
        {"name": "ca", "common_name": "kubernetes", "validity_days": cfg["ca_validity_days"]},
        {"name": "front-proxy-ca", "common_name": "front-proxy-ca", "validity_days": cfg["ca_validity_days"]},
        {"name": "etcd/ca", "common_name": "etcd-ca", "validity_days": cfg["ca_validity_days"]},
        _leaf("apiserver", "ca", "kube-apiserver", ["server_auth"], dns=api_dns, ips=api_ips),
        _leaf("apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client", ["client_auth"],
              orgs=["kubeadm:cluster-admins"]),
        _leaf("apiserver-etcd-client", "etcd/ca", "kube-apiserver-etcd-client", ["client_auth"]),
        _leaf("front-proxy-client", "front-proxy-ca", "front-proxy-client", ["client_auth"]),
        _leaf("controller-manager", "ca", "system:kube-controller-manager", ["client_auth"]),
        _leaf("scheduler", "ca", "system:kube-scheduler", ["client_auth"]),
        _leaf("kube-proxy", "ca", "system:kube-proxy", ["client_auth"]),
        _leaf("admin", "ca", "kubernetes-admin", ["client_auth"], orgs=["kubeadm:cluster-admins"]),
        _leaf("super-admin", "ca", "kubernetes-super-admin", ["client_auth"], orgs=["system:masters"]),
        _leaf("etcd/healthcheck-client", "etcd/ca", "kube-etcd-healthcheck-client", ["client_auth"]),
    ]
    for host in by_group["etcd"]:
        name = host["name"]
        dns = [name, "localhost"]
        ips = host["ips"] + ["127.0.0.1", "::1"]
        for kind in ("server", "peer"):
            certs.append(_leaf("etcd/members/%s/%s" % (name, kind), "etcd/ca", name, ["server_auth", "client_auth"],
                               dns=dns, ips=ips))
    tls_bootstrap = bool(cfg["kubelet_tls_bootstrap"])
    for host in [] if tls_bootstrap else by_group["kube_node"]:
        name = host["name"]
        identity = "system:node:" + name
        certs.append(_leaf("nodes/%s/kubelet-client" % name, "ca", identity, ["client_auth"], orgs=["system:nodes"]))
        certs.append(_leaf("nodes/%s/kubelet" % name, "ca", identity, ["server_auth"], orgs=["system:nodes"],
                           dns=[name], ips=host["ips"]))
    for cert in certs:
        cert["key_algorithm"] = cfg["key_algorithm"]
        if cert.get("ca"):
            cert["validity_days"] = cfg["leaf_validity_days"]

    if endpoint:
        host_server = admin_server = _url(endpoint, cfg["api_endpoint_port"])
    else:
        host_server = _url("127.0.0.1", cfg["api_proxy_port"])
        admin_server = _url(control_plane[0]["ips"][0], cfg["apiserver_port"])
    kubeconfigs = [
        _kubeconfig("admin.conf", admin_server, "kubernetes-admin", "admin", cfg),
        _kubeconfig("super-admin.conf", admin_server, "kubernetes-super-admin", "super-admin", cfg),
        _kubeconfig("controller-manager.conf", host_server, "system:kube-controller-manager", "controller-manager", cfg),
        _kubeconfig("scheduler.conf", host_server, "system:kube-scheduler", "scheduler", cfg),
        _kubeconfig("kube-proxy.conf", host_server, "system:kube-proxy", "kube-proxy", cfg),
    ]
    for host in [] if tls_bootstrap else by_group["kube_node"]:
        name = host["name"]
        kubeconfigs.append(_kubeconfig("nodes/%s/kubelet.conf" % name, host_server, "system:node:" + name,
                                       "nodes/%s/kubelet-client" % name, cfg))
    spec = {"certificates": certs, "kubeconfigs": kubeconfigs}
    if tls_bootstrap:
        # The token itself is a secret made by the PKI run (pki_secrets.ensure_bootstrap_token).
        spec["bootstrap_kubeconfig"] = {"path": "bootstrap-kubelet.conf", "cluster_name": cfg["cluster_name"],
                                        "server": host_server, "user": "kubelet-bootstrap", "ca_file": "ca.crt"}
    return spec
