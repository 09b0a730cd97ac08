#!/usr/bin/python
# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_pki
short_description: Ensure the whole PKI of a Kubernetes cluster from its host list, in one call
version_added: 0.1.0
description:
  - Derives the certificate and kubeconfig spec of the cluster from O(hosts) and O(settings) (three
    CAs, apiserver, etcd members, nodes, control-plane identities, admin and super-admin; see
    C(docs/pki.md)), then ensures in O(path), in this order, what M(kubebin.cluster.pki),
    M(kubebin.cluster.service_account_key), M(kubebin.cluster.encryption_config),
    M(kubebin.cluster.bootstrap_token) and M(kubebin.cluster.kubeconfig) would, with the same rules.
  - One call instead of five because a no-change rerun costs mostly module start-up; the parts stay
    available as separate modules for other layouts.
  - The spec is validated before anything is written; a host without an IP, a SAN that is neither an
    IP nor a DNS name or a leaf that outlives its CA fails with the field named.
  - In TLS-bootstrap mode (O(settings.kubelet_tls_bootstrap)) nodes get no certificates here;
    instead a bootstrap token and C(bootstrap-kubelet.conf), which authenticates with it.
author: kubebin maintainers (@kubebin)
extends_documentation_fragment:
  - kubebin.cluster.pki
attributes:
  check_mode:
    support: full
    description: Reports what would be created or renewed; writes nothing.
  diff_mode:
    support: full
    description: Subjects, SANs and expiry of changed certificates and paths of changed kubeconfigs; never key material or tokens.
options:
  path:
    description: Directory of the PKI on the controller (created 0700).
    type: path
    required: true
  hosts:
    description:
      - The cluster's hosts, as the P(kubebin.cluster.pki_hosts#filter) filter returns them.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Inventory name, also the node name.
        type: str
        required: true
      ips:
        description: The host's IP addresses, first one preferred.
        type: list
        elements: str
        default: []
      groups:
        description: Its groups among C(etcd), C(kube_control_plane) and C(kube_node).
        type: list
        elements: str
        default: []
  settings:
    description:
      - Cluster settings, named like the C(kubebin_*) variables without the prefix.
    type: dict
    default: {}
    suboptions:
      cluster_name:
        description: Cluster entry name in the kubeconfigs.
        type: str
        default: kubebin
      cluster_domain:
        description: DNS domain of the cluster, for the C(kubernetes.default.svc.<domain>) SAN.
        type: str
        default: cluster.local
      service_cidr:
        description: Service CIDR(s), comma separated; the first IP of each is an apiserver SAN.
        type: str
        default: 10.96.0.0/12
      api_endpoint:
        description: Load-balanced API name or IP; empty means each host reaches its local proxy.
        type: str
        default: ""
      api_endpoint_port:
        description: Port of O(settings.api_endpoint).
        type: int
        default: 6443
      apiserver_port:
        description: Secure port of each apiserver.
        type: int
        default: 6443
      api_proxy_port:
        description: Port of the local API proxy on every host.
        type: int
        default: 6443
      apiserver_extra_sans:
        description: More apiserver SANs (IPs or DNS names).
        type: list
        elements: str
        default: []
      key_algorithm:
        description: Key algorithm of new keys.
        type: str
        default: rsa2048
        choices: [rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384]
      ca_validity_days:
        description: Validity of a new CA.
        type: int
        default: 3650
      leaf_validity_days:
        description: Validity of a new leaf certificate.
        type: int
        default: 365
      kubelet_tls_bootstrap:
        description: Kubelets get their certificates by TLS bootstrapping instead of from this PKI.
        type: bool
        default: false
  encryption_provider:
    description: Provider of the secrets-encryption key, made once (changing it later is an error).
    type: str
    default: aescbc
    choices: [aescbc, secretbox]
  bootstrap_token:
    description: Also make a bootstrap token Secret manifest (implied by O(settings.kubelet_tls_bootstrap)).
    type: bool
    default: false
  bootstrap_token_ttl_hours:
    description: Lifetime of a new bootstrap token in hours (0 means no expiration).
    type: int
    default: 24
notes:
  - Files made are those of the controller layout in C(docs/architecture.md).
seealso:
  - module: kubebin.cluster.pki
  - module: kubebin.cluster.kubeconfig
  - module: kubebin.cluster.pki_files
"""

EXAMPLES = r"""
- name: Ensure the cluster PKI on the controller
  kubebin.cluster.cluster_pki:
    path: "{{ kubebin_pki_dir }}"
    hosts: "{{ groups | kubebin.cluster.pki_hosts(hostvars) }}"
    settings:
      cluster_name: prod
      service_cidr: 10.96.0.0/12
      apiserver_extra_sans: [api.example.org]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
certificates:
  description: Per certificate name, its status, reason and notAfter, exactly as M(kubebin.cluster.pki) returns them.
  returned: success
  type: dict
  sample: {apiserver: {status: renewed, reason: SANs differ, not_after: "2027-11-22T03:03:45+00:00"}}
summary:
  description: Certificate counts per status and the soonest expiry, as M(kubebin.cluster.pki) returns them.
  returned: success
  type: dict
  sample: {created: 0, renewed: 1, unchanged: 40, total: 41, soonest_expiry: {name: apiserver, days_left: 364}}
kubeconfigs:
  description: Kubeconfigs written (or that would be) and how many there are.
  returned: success
  type: dict
  sample:
    changed_paths: [/srv/pki/admin.conf]
    total: 8
service_account_key:
  description: What happened to the service-account key pair, and its algorithm.
  returned: success
  type: dict
  sample: {private_key: unchanged, public_key: unchanged, algorithm: rsa2048}
encryption_config:
  description: Status, provider and key name of the secrets-encryption configuration.
  returned: success
  type: dict
  sample: {status: unchanged, provider: aescbc, key_name: key1}
bootstrap_token:
  description: Status, reason, token ID and expiration of the bootstrap token (never its secret); null when none is made.
  returned: success
  type: dict
  sample: {status: created, reason: missing, token_id: abcdef, expiration: "2026-11-23T06:00:00Z"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubebin.cluster.plugins.module_utils import pki_crypto
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_cluster import ensure_cluster_pki
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_module import (
    CERTIFICATE_RUN_ARGS, exit_with_result, mode_setter, require_cryptography)
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_secrets import ENCRYPTION_PROVIDERS


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            hosts=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                ips=dict(type="list", elements="str", default=[]),
                groups=dict(type="list", elements="str", default=[]),
            )),
            settings=dict(type="dict", default={}, options=dict(
                cluster_name=dict(type="str", default="kubebin"),
                cluster_domain=dict(type="str", default="cluster.local"),
                service_cidr=dict(type="str", default="10.96.0.0/12"),
                api_endpoint=dict(type="str", default=""),
                api_endpoint_port=dict(type="int", default=6443),
                apiserver_port=dict(type="int", default=6443),
                api_proxy_port=dict(type="int", default=6443),
                apiserver_extra_sans=dict(type="list", elements="str", default=[]),
                key_algorithm=dict(type="str", default="rsa2048", choices=list(pki_crypto.KEY_ALGORITHMS)),
                ca_validity_days=dict(type="int", default=3650),
                leaf_validity_days=dict(type="int", default=365),
                kubelet_tls_bootstrap=dict(type="bool", default=False),
            )),
            encryption_provider=dict(type="str", default="aescbc", choices=list(ENCRYPTION_PROVIDERS)),
            bootstrap_token=dict(type="bool", default=False),
            bootstrap_token_ttl_hours=dict(type="int", default=24, no_log=False),
            **CERTIFICATE_RUN_ARGS
        ),
        supports_check_mode=True,
    )
    require_cryptography(module)
    params = module.params

    set_mode = mode_setter(module)

    exit_with_result(module, "cluster_pki", lambda: ensure_cluster_pki(
        params["path"], params["hosts"], params["settings"], renew_before_days=params["renew_before_days"],
        rotate_ca=params["rotate_ca"], encryption_provider=params["encryption_provider"],
        bootstrap_token=params["bootstrap_token"], bootstrap_token_ttl_hours=params["bootstrap_token_ttl_hours"],
        check_mode=module.check_mode, workers=params["workers"], set_mode=set_mode,
        ca_key_passphrase=params["ca_key_passphrase"] or None))


if __name__ == "__main__":
    main()
