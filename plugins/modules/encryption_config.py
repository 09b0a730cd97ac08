#!/usr/bin/python
# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: encryption_config
short_description: Ensure the kube-apiserver secrets-encryption configuration
version_added: 0.1.0
description:
  - Writes an C(EncryptionConfiguration) (mode 0600) for C(--encryption-provider-config) with one
    32-byte random key, followed by the C(identity) provider so data written before encryption was
    enabled stays readable.
  - The key is made once and kept. A file with another provider or key name is an error, because
    that change is a planned rotation that re-encrypts every secret, never an implicit one.
author: kubebin maintainers (@kubebin)
requirements:
  - PyYAML
attributes:
  check_mode:
    support: full
    description: Reports whether the file would be created.
  diff_mode:
    support: none
    description: The file holds the key; it is never shown.
options:
  path:
    description: File to write.
    type: path
    required: true
  provider:
    description: Encryption provider.
    type: str
    default: aescbc
    choices: [aescbc, secretbox]
  key_name:
    description: Name of the key entry.
    type: str
    default: key1
  resources:
    description: API resources to encrypt.
    type: list
    elements: str
    default: [secrets]
seealso:
  - module: kubebin.cluster.pki
"""

EXAMPLES = r"""
- name: Ensure the secrets-encryption configuration
  kubebin.cluster.encryption_config:
    path: "{{ kubebin_pki_dir }}/encryption-config.yaml"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
status:
  description: V(created), V(updated) (resources changed, key kept), V(unchanged) or V(mode fixed).
  returned: success
  type: str
  sample: unchanged
provider:
  description: Provider in the file.
  returned: success
  type: str
  sample: aescbc
key_name:
  description: Name of the key in the file.
  returned: success
  type: str
  sample: key1
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kubebin.cluster.plugins.module_utils import pki_secrets
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_module import exit_with_result, mode_setter


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            provider=dict(type="str", default="aescbc", choices=list(pki_secrets.ENCRYPTION_PROVIDERS)),
            key_name=dict(type="str", default="key1", no_log=False),
            resources=dict(type="list", elements="str", default=["secrets"]),
        ),
        supports_check_mode=True,
    )
    if not pki_secrets.HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))

    set_mode = mode_setter(module)

    params = module.params
    exit_with_result(module, "encryption_config", lambda: pki_secrets.ensure_encryption_config(
        params["path"], params["provider"], params["key_name"], params["resources"], module.check_mode, set_mode))


if __name__ == "__main__":
    main()
