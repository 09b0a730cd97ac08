# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kube-scheduler stand-in."""

from __future__ import annotations

from . import common, componentconfig, log
from .log import StandinError


def start(flags, _version: str) -> None:
    kubeconfig_path, source = flags.get("--kubeconfig"), "--kubeconfig"
    if flags.get("--config"):
        config = componentconfig.load_component_config(flags.get("--config"), "--config", "KubeSchedulerConfiguration")
        connection = config.get("clientConnection") or {}
        if not connection.get("kubeconfig"):
            raise StandinError("--config %s: clientConnection.kubeconfig is not set" % flags.get("--config"))
        if kubeconfig_path:
            log.warn("--kubeconfig is ignored because --config is given (upstream behaviour)")
        kubeconfig_path, source = connection["kubeconfig"], "--config clientConnection.kubeconfig"
    common.ca_flags(flags, ("--client-ca-file", "--requestheader-client-ca-file"))
    common.pair(flags, "--tls-cert-file", "--tls-private-key-file")
    common.optional_kubeconfigs(flags, ("--authentication-kubeconfig", "--authorization-kubeconfig"))
    common.connect(kubeconfig_path, source, "kube-scheduler")
    common.secure_health(flags, 10259, "kube-scheduler")
