#!/usr/bin/python
# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: service_account_key
short_description: Ensure the service-account signing key pair
version_added: 0.1.0
description:
  - Makes the private key (mode 0600) that kube-apiserver signs service-account tokens with
    (C(--service-account-signing-key-file)) and kube-controller-manager uses
    (C(--service-account-private-key-file)), and its public key (mode 0644) for
    C(--service-account-key-file).
  - The key is made once and kept. An existing valid key of another algorithm is kept with a
    warning (replacing it invalidates every issued token); an unusable one is an error.
  - The public key file is rewritten when it does not match the private key.
author: kubebin maintainers (@kubebin)
requirements:
  - cryptography >= 40.0
attributes:
  check_mode:
    support: full
    description: Reports what would be created.
  diff_mode:
    support: none
    description: Key material is never shown.
options:
  path:
    description: Private key file.
    type: path
    required: true
  public_path:
    description: Public key file (PEM SubjectPublicKeyInfo).
    type: path
    required: true
  key_algorithm:
    description: Algorithm of a new key.
    type: str
    default: rsa2048
    choices: [rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384]
seealso:
  - module: kubebin.cluster.pki
"""

EXAMPLES = r"""
- name: Ensure the service-account key pair
  kubebin.cluster.service_account_key:
    path: "{{ kubebin_pki_dir }}/sa.key"
    public_path: "{{ kubebin_pki_dir }}/sa.pub"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
private_key:
  description: What happened to the private key (V(created), V(unchanged), V(mode fixed)).
  returned: success
  type: str
  sample: unchanged
public_key:
  description: What happened to the public key (V(created), V(updated), V(unchanged), V(mode fixed)).
  returned: success
  type: str
  sample: created
algorithm:
  description: Algorithm of the key in place.
  returned: success
  type: str
  sample: rsa2048
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubebin.cluster.plugins.module_utils import pki_crypto
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_module import exit_with_result, mode_setter, require_cryptography
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_secrets import ensure_service_account_key


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            public_path=dict(type="path", required=True),
            key_algorithm=dict(type="str", default="rsa2048", choices=list(pki_crypto.KEY_ALGORITHMS)),
        ),
        supports_check_mode=True,
    )
    require_cryptography(module)

    set_mode = mode_setter(module)

    exit_with_result(module, "service_account_key", lambda: ensure_service_account_key(
        module.params["path"], module.params["public_path"], module.params["key_algorithm"], module.check_mode, set_mode))


if __name__ == "__main__":
    main()
