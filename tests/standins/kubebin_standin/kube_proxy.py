# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kube-proxy stand-in: checks and health only; it programs no iptables/nftables rules."""

from __future__ import annotations

from . import common, componentconfig, log, tlsutil
from .log import StandinError

_MODES = ("", "iptables", "ipvs", "nftables")


def start(flags, _version: str) -> None:
    config = {}
    if flags.get("--config"):
        config = componentconfig.load_component_config(flags.get("--config"), "--config", "KubeProxyConfiguration")
    mode = flags.get("--proxy-mode", config.get("mode") or "")
    if mode not in _MODES:
        raise StandinError("proxy mode %r is not one of %s on Linux" % (mode, ", ".join(m or '""' for m in _MODES)))
    if mode == "ipvs":
        log.warn("proxy mode ipvs is deprecated since 1.35")
    cluster_cidr = flags.get("--cluster-cidr", config.get("clusterCIDR") or "")
    if cluster_cidr:
        common.cidrs(cluster_cidr, "clusterCIDR")
    kubeconfig_path, source = flags.get("--kubeconfig"), "--kubeconfig"
    if not kubeconfig_path:
        kubeconfig_path, source = (config.get("clientConnection") or {}).get("kubeconfig"), "--config clientConnection.kubeconfig"
    common.connect(kubeconfig_path, source, "kube-proxy")
    healthz = flags.get("--healthz-bind-address", config.get("healthzBindAddress") or "0.0.0.0:10256")
    metrics = flags.get("--metrics-bind-address", config.get("metricsBindAddress") or "127.0.0.1:10249")
    for address, default_port, what in ((healthz, 10256, "kube-proxy healthz"), (metrics, 10249, "kube-proxy metrics")):
        host, port = tlsutil.split_host_port(address, default_port)
        if port:
            tlsutil.serve(host, port, tlsutil.health_app(("/healthz", "/livez")), None, what)
