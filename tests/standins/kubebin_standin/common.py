# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks shared by several components: CA flags, serving pairs, CIDRs, the apiserver connection."""

from __future__ import annotations

import ipaddress

from . import files, kubeconfig, log, tlsutil
from .log import StandinError


def ca_flags(flags, names) -> dict:
    """Check every CA-bundle flag that is set; return name -> PEM text."""
    found = {}
    for name in names:
        path = flags.get(name)
        if path:
            files.check_ca_bundle(path, name)
            found[name] = files.read(path, name).decode("ascii")
    return found


def pair(flags, cert_flag: str, key_flag: str, required: bool = False):
    """Check a certificate flag and its key flag together; both or neither."""
    cert_path, key_path = flags.get(cert_flag), flags.get(key_flag)
    if not cert_path and not key_path:
        if required:
            raise StandinError("%s and %s are required" % (cert_flag, key_flag))
        return None
    if not cert_path or not key_path:
        raise StandinError("%s and %s must be given together" % (cert_flag, key_flag))
    files.check_pair(cert_path, cert_flag, key_path, key_flag)
    return cert_path, key_path


def cidrs(value: str, flag: str, max_count: int = 2) -> list:
    """Comma-separated CIDRs, at most one per IP family (dual stack)."""
    nets = []
    for item in value.split(","):
        try:
            nets.append(ipaddress.ip_network(item.strip(), strict=True))
        except ValueError as exc:
            raise StandinError("%s: %r is not a valid CIDR: %s" % (flag, item, exc)) from None
    if len(nets) > max_count or len({net.version for net in nets}) != len(nets):
        raise StandinError("%s: %r: at most one CIDR per IP family is allowed" % (flag, value))
    log.ok("%s %s" % (flag, value))
    return nets


def optional_kubeconfigs(flags, names) -> None:
    for name in names:
        if flags.get(name):
            kubeconfig.load(flags.get(name), name)


def connect(path: str, flag: str, what: str):
    """Load the kubeconfig, then reach the apiserver over verified mutual TLS."""
    if not path:
        raise StandinError("%s: no kubeconfig given (%s); the component cannot reach the apiserver" % (what, flag))
    kubecfg = kubeconfig.load(path, flag)
    tlsutil.wait_healthz(kubecfg, what)
    return kubecfg


def secure_health(flags, default_port: int, what: str) -> None:
    """controller-manager / scheduler: HTTPS health on --bind-address:--secure-port."""
    port = flags.get_int("--secure-port", default_port)
    if port == 0:
        log.info("%s: secure serving disabled (--secure-port=0)" % what)
        return
    host = flags.get("--bind-address", "0.0.0.0")
    served = pair(flags, "--tls-cert-file", "--tls-private-key-file")
    if served is None:
        served = tlsutil.self_signed(["localhost", "127.0.0.1"], what)
    context = tlsutil.server_context(served[0], served[1])
    tlsutil.serve(host, port, tlsutil.health_app(), context, "%s health" % what)
