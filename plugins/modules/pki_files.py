#!/usr/bin/python
# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pki_files
short_description: Push certificates, keys and kubeconfigs to a host in one call
version_added: 0.1.0
description:
  - Writes each file of O(files) whose content differs, atomically (temporary file in the same
    directory, created with the final mode, then renamed), and fixes mode, owner and group of the
    others. Missing directories are created with O(dir_mode).
  - File contents are never logged and never shown in diffs; only paths are.
  - The same destination may be listed twice (files shared by two sets) if both entries are equal.
author: kubebin maintainers (@kubebin)
attributes:
  check_mode:
    support: full
    description: Reports the paths that would change.
  diff_mode:
    support: full
    description: Paths only, never content.
options:
  files:
    description: Files to ensure.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description: Absolute path on the host.
        type: path
        required: true
      content:
        description: File content (secret; not logged).
        type: str
        required: true
      mode:
        description: Octal mode, for example V('0600').
        type: raw
        required: true
      owner:
        description: Owner; unchanged when omitted.
        type: str
      group:
        description: Group; unchanged when omitted.
        type: str
  absent:
    description:
      - Files that must not exist on the host (credentials a newer layout no longer puts there, such
        as C(super-admin.conf) on control-plane hosts); each one present is removed and reported.
      - A path that is also in O(files) is an error.
    type: list
    elements: path
    default: []
  marks:
    description:
      - Restart marks, as a mapping of mark path to the destinations (paths of O(files)) it watches.
        A mark is written (mode V('0644'), listing the changed paths) when one of its watched files
        is written or has its attributes fixed; the component's role restarts the component and
        removes the mark. So a change restarts only the components that read the changed file, and
        a run that fails after the push still restarts them on the next run.
      - A watched path that is not in O(files) is an error.
    type: dict
    default: {}
  dir_mode:
    description: Mode of directories the module creates.
    type: raw
    default: "0700"
seealso:
  - module: kubebin.cluster.pki
"""

EXAMPLES = r"""
- name: Push the CA certificate and this node's kubelet serving pair
  kubebin.cluster.pki_files:
    files:
      - dest: /etc/kubernetes/pki/ca.crt
        content: "{{ lookup('ansible.builtin.file', kubebin_pki_dir ~ '/ca.crt', rstrip=false) }}"
        mode: "0644"
      - dest: /etc/kubernetes/pki/kubelet.key
        content: "{{ lookup('ansible.builtin.file', kubebin_pki_dir ~ '/nodes/' ~ inventory_hostname ~ '/kubelet.key', rstrip=false) }}"
        mode: "0600"
"""

RETURN = r"""
changed_paths:
  description: Files written, removed (O(absent)) or whose attributes were fixed (or would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [/etc/kubernetes/pki/ca.crt]
created_dirs:
  description: Directories created.
  returned: success
  type: list
  elements: str
  sample: [/etc/kubernetes/pki/etcd]
marked:
  description: Marks of O(marks) written (or that would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [/etc/kubernetes/kube-scheduler.restart-pending]
files:
  description: Number of distinct files handled.
  returned: success
  type: int
  sample: 12
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubebin.cluster.plugins.module_utils.pki_module import attributes_setter, exit_with_result
from ansible_collections.kubebin.cluster.plugins.module_utils.file_push import push_files


def _mode(module, value, field):
    try:
        return int(value, 8) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        module.fail_json(msg="%s: %r is not an octal mode" % (field, value))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=dict(
                dest=dict(type="path", required=True),
                content=dict(type="str", required=True, no_log=True),
                mode=dict(type="raw", required=True),
                owner=dict(type="str"),
                group=dict(type="str"),
            )),
            absent=dict(type="list", elements="path", default=[]),
            marks=dict(type="dict", default={}),
            dir_mode=dict(type="raw", default="0700"),
        ),
        supports_check_mode=True,
    )

    set_attrs = attributes_setter(module)
    files = [dict(entry, mode=_mode(module, entry["mode"], "files[%d].mode" % i)) for i, entry in enumerate(module.params["files"])]
    exit_with_result(module, "pki_files", lambda: push_files(
        files, _mode(module, module.params["dir_mode"], "dir_mode"), module.check_mode, set_attrs,
        absent=module.params["absent"], marks=module.params["marks"]))


if __name__ == "__main__":
    main()
