#!/usr/bin/python
# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pki
short_description: Ensure a whole set of CAs and leaf certificates in one directory
version_added: 0.1.0
description:
  - Makes O(path) hold every CA and leaf certificate of O(certificates), in one call.
  - Each entry becomes C(<path>/<name>.crt) (mode 0644) and C(<path>/<name>.key) (mode 0600);
    directories are created with mode 0700.
  - A CA (an entry without O(certificates[].ca)) is created when missing and otherwise never
    regenerated, unless O(rotate_ca=true). An unusable existing CA is an error, not a reason to
    replace it.
  - A leaf is re-issued only when it is missing or unparsable, its key does not match or is of
    another algorithm, it is not signed by the current CA, its subject, SANs or usages differ from
    the spec, or it expires within O(renew_before_days). Its key is kept when still valid.
  - Every entry is validated before anything is written; bad input fails naming the entry and field.
  - Keys are generated in parallel threads.
author: kubebin maintainers (@kubebin)
extends_documentation_fragment:
  - kubebin.cluster.pki
attributes:
  check_mode:
    support: full
    description: Reports what would be created or renewed, and why.
  diff_mode:
    support: full
    description: Subject, SANs and notAfter before and after, per changed certificate. Never key material.
options:
  path:
    description: Directory of the PKI (created with mode 0700).
    type: path
    required: true
  certificates:
    description: The certificates of the PKI. CAs and leaves may appear in any order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Relative path without extension, for example V(etcd/members/etcd1/server).
        type: str
        required: true
      ca:
        description: Name of the issuing CA entry of the same list. Absent or null makes a self-signed CA.
        type: str
      common_name:
        description: Subject CN.
        type: str
        required: true
      organizations:
        description: Subject O values.
        type: list
        elements: str
        default: []
      key_usage:
        description:
          - Key usages (critical extension).
          - Default for a CA V(digital_signature), V(key_cert_sign), V(crl_sign); for a leaf
            V(digital_signature), V(key_encipherment).
        type: list
        elements: str
        choices: [digital_signature, content_commitment, key_encipherment, data_encipherment, key_agreement, key_cert_sign, crl_sign]
      extended_key_usage:
        description: Extended key usages.
        type: list
        elements: str
        choices: [server_auth, client_auth]
        default: []
      dns_names:
        description: DNS subject alternative names.
        type: list
        elements: str
        default: []
      ip_addresses:
        description: IP subject alternative names (IPv4 or IPv6).
        type: list
        elements: str
        default: []
      key_algorithm:
        description: Key algorithm of this entry; defaults to O(key_algorithm).
        type: str
        choices: [rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384]
      validity_days:
        description: Validity; defaults to O(ca_validity_days) or O(leaf_validity_days). A leaf may not outlive its CA.
        type: int
      validity_minutes:
        description:
          - Validity in minutes instead of days, for short-lived credentials (a user's client
            certificate). Excludes O(certificates[].validity_days).
          - A leaf shorter than O(renew_before_days) is within its renewal window from the start, so
            every run re-issues it; give O(renew_before_days=0) to keep it until it expires.
        type: int
  key_algorithm:
    description: Default key algorithm.
    type: str
    default: rsa2048
    choices: [rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384]
  ca_validity_days:
    description: Default validity of a CA.
    type: int
    default: 3650
  leaf_validity_days:
    description: Default validity of a leaf certificate.
    type: int
    default: 365
notes:
  - Keys are written in the traditional PEM format (C(RSA PRIVATE KEY) / C(EC PRIVATE KEY)), CA
    keys with O(ca_key_passphrase) as encrypted PKCS#8 (C(ENCRYPTED PRIVATE KEY)).
seealso:
  - module: kubebin.cluster.kubeconfig
  - module: kubebin.cluster.pki_files
"""

EXAMPLES = r"""
- name: Ensure the cluster PKI on the controller
  kubebin.cluster.pki:
    path: "{{ kubebin_pki_dir }}"
    certificates:
      - name: etcd/ca
        common_name: etcd-ca
      - name: etcd/members/etcd1/server
        ca: etcd/ca
        common_name: etcd1
        extended_key_usage: [server_auth, client_auth]
        dns_names: [etcd1, localhost]
        ip_addresses: [10.0.0.11, 127.0.0.1, "::1"]
    renew_before_days: 30
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
certificates:
  description: Per certificate name, its status (V(created), V(renewed), V(unchanged)), the reason and its notAfter.
  returned: success
  type: dict
  sample:
    apiserver:
      status: renewed
      reason: SANs differ
      not_after: "2027-11-22T03:03:45+00:00"
summary:
  description: Counts per status and the soonest expiry.
  returned: success
  type: dict
  sample:
    created: 0
    renewed: 1
    unchanged: 40
    total: 41
    soonest_expiry:
      name: apiserver
      not_after: "2027-11-22T03:03:45+00:00"
      days_left: 364
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubebin.cluster.plugins.module_utils import pki_crypto
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_engine import ensure_pki
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_module import (
    CERTIFICATE_RUN_ARGS, exit_with_result, mode_setter, require_cryptography)

ALGORITHMS = list(pki_crypto.KEY_ALGORITHMS)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            certificates=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                ca=dict(type="str"),
                common_name=dict(type="str", required=True),
                organizations=dict(type="list", elements="str", default=[]),
                key_usage=dict(type="list", elements="str", choices=list(pki_crypto.KEY_USAGES)),
                extended_key_usage=dict(type="list", elements="str", default=[], choices=list(pki_crypto.EXTENDED_KEY_USAGES)),
                dns_names=dict(type="list", elements="str", default=[]),
                ip_addresses=dict(type="list", elements="str", default=[]),
                key_algorithm=dict(type="str", choices=ALGORITHMS),
                validity_days=dict(type="int"),
                validity_minutes=dict(type="int"),
            )),
            key_algorithm=dict(type="str", default="rsa2048", choices=ALGORITHMS),
            ca_validity_days=dict(type="int", default=3650),
            leaf_validity_days=dict(type="int", default=365),
            **CERTIFICATE_RUN_ARGS
        ),
        supports_check_mode=True,
    )
    require_cryptography(module)
    params = module.params

    set_mode = mode_setter(module)

    exit_with_result(module, "pki", lambda: ensure_pki(
        params["path"], params["certificates"], key_algorithm=params["key_algorithm"],
        ca_validity_days=params["ca_validity_days"], leaf_validity_days=params["leaf_validity_days"],
        renew_before_days=params["renew_before_days"], rotate_ca=params["rotate_ca"],
        check_mode=module.check_mode, workers=params["workers"], set_mode=set_mode,
        ca_key_passphrase=params["ca_key_passphrase"] or None))


if __name__ == "__main__":
    main()
