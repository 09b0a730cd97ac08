#!/usr/bin/python
# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeconfig
short_description: Write kubeconfigs with the CA and client credentials embedded
version_added: 0.1.0
description:
  - Writes every kubeconfig of O(kubeconfigs) in one call (one cluster, one user, one context each),
    with the CA, client certificate and client key embedded as C(*-data) fields.
  - An entry with O(kubeconfigs[].token) authenticates with that token instead of a certificate
    (the TLS-bootstrap kubeconfig of a kubelet).
  - Files are mode 0600 and written atomically, and only when their content would change.
  - Every entry is validated (files readable and parsable, client key matching the certificate)
    before anything is written.
author: kubebin maintainers (@kubebin)
requirements:
  - cryptography >= 40.0
attributes:
  check_mode:
    support: full
    description: Reports which files would be written.
  diff_mode:
    support: full
    description: Paths of the kubeconfigs that change; never their content.
options:
  base_dir:
    description: Directory relative paths of O(kubeconfigs) are resolved against.
    type: path
  kubeconfigs:
    description: The kubeconfigs to write.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Kubeconfig file to write.
        type: path
        required: true
      server:
        description: API server URL (C(https://)).
        type: str
        required: true
      cluster_name:
        description: Name of the cluster entry.
        type: str
        default: kubernetes
      user:
        description: Name of the user entry (usually the certificate CN).
        type: str
        required: true
      context:
        description: Name of the context; default C(<user>@<cluster_name>).
        type: str
      ca_file:
        description: PEM CA certificate to embed.
        type: path
        required: true
      client_cert_file:
        description: PEM client certificate to embed. Required unless O(kubeconfigs[].token) is set.
        type: path
      client_key_file:
        description: PEM client key to embed; must match O(kubeconfigs[].client_cert_file).
        type: path
      token:
        description:
          - Bearer token for the user instead of a client certificate and key (for example a bootstrap
            token C(abcdef.0123456789abcdef)). Excludes O(kubeconfigs[].client_cert_file).
        type: str
seealso:
  - module: kubebin.cluster.pki
"""

EXAMPLES = r"""
- name: Write the admin kubeconfig
  kubebin.cluster.kubeconfig:
    base_dir: "{{ kubebin_pki_dir }}"
    kubeconfigs:
      - path: admin.conf
        server: https://10.0.0.10:6443
        cluster_name: kubebin
        user: kubernetes-admin
        ca_file: ca.crt
        client_cert_file: admin.crt
        client_key_file: admin.key
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
changed_paths:
  description: Kubeconfigs written (or that would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [/srv/pki/admin.conf]
kubeconfigs:
  description: Per path, its status (V(created), V(updated), V(unchanged)), server, user and the client certificate notAfter.
  returned: success
  type: dict
  sample:
    /srv/pki/admin.conf:
      status: unchanged
      server: https://10.0.0.10:6443
      user: kubernetes-admin
      cluster: kubebin
      auth: certificate
      client_not_after: "2027-11-22T03:03:45+00:00"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubebin.cluster.plugins.module_utils.pki_kubeconfig import ensure_kubeconfigs
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_module import exit_with_result, mode_setter, require_cryptography


def main():
    module = AnsibleModule(
        argument_spec=dict(
            base_dir=dict(type="path"),
            kubeconfigs=dict(type="list", elements="dict", required=True, options=dict(
                path=dict(type="path", required=True),
                server=dict(type="str", required=True),
                cluster_name=dict(type="str", default="kubernetes"),
                user=dict(type="str", required=True),
                context=dict(type="str"),
                ca_file=dict(type="path", required=True),
                client_cert_file=dict(type="path"),
                client_key_file=dict(type="path"),
                token=dict(type="str", no_log=True),
            )),
        ),
        supports_check_mode=True,
    )
    require_cryptography(module)

    set_mode = mode_setter(module)

    exit_with_result(module, "kubeconfig", lambda: ensure_kubeconfigs(
        module.params["base_dir"], module.params["kubeconfigs"], check_mode=module.check_mode, set_mode=set_mode))


if __name__ == "__main__":
    main()
