#!/usr/bin/python
# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: bootstrap_token
short_description: Ensure a kubelet TLS-bootstrap token (as a Secret manifest)
version_added: 0.1.0
description:
  - Makes a bootstrap token C([a-z0-9]{6}.[a-z0-9]{16}) once and keeps it, written (mode 0600) as
    the manifest of Secret C(bootstrap-token-<id>) of type C(bootstrap.kubernetes.io/token) in
    C(kube-system), ready to apply.
  - A new token replaces the old one only when the old one is unparsable or expires within an hour.
  - Only needed in TLS-bootstrap mode; with the default mode every kubelet gets its certificates
    from M(kubebin.cluster.pki).
author: kubebin maintainers (@kubebin)
requirements:
  - PyYAML
attributes:
  check_mode:
    support: full
    description: Reports whether a token would be made.
  diff_mode:
    support: none
    description: The file holds the token; it is never shown.
options:
  path:
    description: Secret manifest file.
    type: path
    required: true
  description:
    description: Text of the token's C(description) field.
    type: str
    default: kubebin bootstrap token
  usages:
    description: Token usages.
    type: list
    elements: str
    choices: [authentication, signing]
    default: [authentication, signing]
  groups:
    description: Extra groups of the token; each must start with C(system:bootstrappers:).
    type: list
    elements: str
    default: ["system:bootstrappers:kubebin:default-node-token"]
  ttl_hours:
    description: Lifetime of a new token in hours; V(0) means no expiration.
    type: int
    default: 0
seealso:
  - module: kubebin.cluster.kubeconfig
"""

EXAMPLES = r"""
- name: Ensure the bootstrap token
  kubebin.cluster.bootstrap_token:
    path: "{{ kubebin_pki_dir }}/bootstrap-token.yaml"
    ttl_hours: 24
  delegate_to: localhost
  run_once: true
  register: token
  no_log: true
"""

RETURN = r"""
token:
  description: The token (secret; use C(no_log) on the task).
  returned: success
  type: str
  sample: abcdef.0123456789abcdef
token_id:
  description: The public id part of the token.
  returned: success
  type: str
  sample: abcdef
status:
  description: V(created), V(updated), V(unchanged) or V(mode fixed).
  returned: success
  type: str
  sample: unchanged
reason:
  description: Why the token was kept or made.
  returned: success
  type: str
  sample: kept
expiration:
  description: RFC 3339 expiration, or null.
  returned: success
  type: str
  sample: "2026-11-23T03:00:00Z"
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kubebin.cluster.plugins.module_utils import pki_secrets
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_module import exit_with_result, mode_setter


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            description=dict(type="str", default="kubebin bootstrap token"),
            usages=dict(type="list", elements="str", default=["authentication", "signing"], choices=["authentication", "signing"]),
            groups=dict(type="list", elements="str", default=["system:bootstrappers:kubebin:default-node-token"]),
            ttl_hours=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    if not pki_secrets.HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))

    set_mode = mode_setter(module)

    params = module.params
    exit_with_result(module, "bootstrap_token", lambda: pki_secrets.ensure_bootstrap_token(
        params["path"], params["description"], params["usages"], params["groups"], params["ttl_hours"],
        check_mode=module.check_mode, set_mode=set_mode))


if __name__ == "__main__":
    main()
