# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kube-controller-manager stand-in."""

from __future__ import annotations

from . import common, files, log
from .log import StandinError

_SIGNERS = ("", "kubelet-serving-", "kubelet-client-", "kube-apiserver-client-", "legacy-unknown-")


def start(flags, _version: str) -> None:
    common.ca_flags(flags, ("--client-ca-file", "--requestheader-client-ca-file", "--root-ca-file"))
    if flags.get("--service-account-private-key-file"):
        files.check_key(flags.get("--service-account-private-key-file"), "--service-account-private-key-file")
    for signer in _SIGNERS:
        cert_flag, key_flag = "--cluster-signing-%scert-file" % signer, "--cluster-signing-%skey-file" % signer
        signing = common.pair(flags, cert_flag, key_flag)
        if signing:
            files.check_ca_bundle(signing[0], cert_flag)
    if flags.get_bool("--allocate-node-cidrs"):
        if not flags.get("--cluster-cidr"):
            raise StandinError("--allocate-node-cidrs=true needs --cluster-cidr")
        for net in common.cidrs(flags.get("--cluster-cidr"), "--cluster-cidr"):
            mask_flag = "--node-cidr-mask-size-ipv%d" % net.version
            mask = flags.get_int(mask_flag, flags.get_int("--node-cidr-mask-size", 24 if net.version == 4 else 64))
            if mask < net.prefixlen:
                raise StandinError("--cluster-cidr %s: node CIDR mask /%d is larger than the cluster CIDR" % (net, mask))
            log.ok("node CIDRs /%d out of %s" % (mask, net))
    if flags.get("--service-cluster-ip-range"):
        common.cidrs(flags.get("--service-cluster-ip-range"), "--service-cluster-ip-range")
    common.pair(flags, "--tls-cert-file", "--tls-private-key-file")
    common.optional_kubeconfigs(flags, ("--authentication-kubeconfig", "--authorization-kubeconfig"))
    common.connect(flags.get("--kubeconfig"), "--kubeconfig", "kube-controller-manager")
    common.secure_health(flags, 10257, "kube-controller-manager")
