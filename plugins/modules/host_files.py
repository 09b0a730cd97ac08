#!/usr/bin/python
# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: host_files
short_description: Ensure a component's directories, configuration files and units on a host in one call
version_added: 0.1.0
description:
  - Ensures each directory of O(directories) (created, or its mode, owner and group fixed), then
    writes each file of O(files) whose content differs, atomically (temporary file in the same
    directory, created with the final mode, then renamed), and fixes mode, owner and group of the
    others. A missing parent directory not in O(directories) is created V(0755), root's.
  - Removes each path of O(absent) that exists, last (a component's files when a host is reset).
  - One call checks everything of a component that a task per file would check one round trip at
    a time; a rerun where nothing differs changes nothing.
  - Contents are not logged (they may hold credentials) and diffs show the changed paths only; the
    rendered contents are the role's templates, which the operator can read.
author: kubebin maintainers (@kubebin)
attributes:
  check_mode:
    support: full
    description: Reports the paths that would change.
  diff_mode:
    support: full
    description: Paths only, never content.
options:
  directories:
    description: Directories to ensure, before any file is written.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path on the host.
        type: path
        required: true
      mode:
        description: Octal mode, for example V('0755').
        type: raw
        required: true
      owner:
        description: Owner; unchanged when omitted.
        type: str
      group:
        description: Group; unchanged when omitted.
        type: str
  files:
    description: Files to ensure.
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: Absolute path on the host.
        type: path
        required: true
      content:
        description: File content.
        type: str
        required: true
      mode:
        description: Octal mode, for example V('0644').
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
      - Paths that must not exist on the host; each one present is removed and reported. A
        directory goes with everything below it.
      - A directory that is itself a mount point (a volume) is emptied and kept. A directory with
        a file system mounted below it is refused before anything is changed, naming the mounts,
        and the caller unmounts them first (a pod's volumes below C(/var/lib/kubelet), for example).
      - A path that is in O(files), or holds one of them, is an error.
    type: list
    elements: path
    default: []
  unmount:
    description:
      - Directories below which every file system is unmounted, innermost first, before O(absent) is
        removed; the directory itself too where it is bound onto itself (the kubelet binds its root
        directory onto itself), not where it is a file system of its own (it is emptied and kept).
      - Each unmounted mount point is reported among RV(changed_paths).
    type: list
    elements: path
    default: []
  marks:
    description:
      - Restart marks, as a mapping of mark path to the destinations (paths of O(files)) it watches,
        as in M(kubebin.cluster.pki_files).
    type: dict
    default: {}
seealso:
  - module: kubebin.cluster.pki_files
"""

EXAMPLES = r"""
- name: Write the containerd configuration and unit
  kubebin.cluster.host_files:
    directories:
      - {path: /etc/containerd, mode: "0755", owner: root, group: root}
    files:
      - dest: /etc/containerd/config.toml
        content: "{{ lookup('ansible.builtin.template', 'config.toml.j2') }}"
        mode: "0644"
        owner: root
        group: root
  register: _containerd_files
  notify: containerd_restart

- name: Remove the kubelet's directory with the pods' volumes mounted below it (a host being reset)
  kubebin.cluster.host_files:
    unmount: [/var/lib/kubelet]
    absent: [/var/lib/kubelet]

- name: Remove kube-proxy's files (a host being reset)
  kubebin.cluster.host_files:
    absent:
      - /etc/kubernetes/kube-proxy-config.yaml
      - /etc/systemd/system/kube-proxy.service
"""

RETURN = r"""
changed_paths:
  description:
    - Mount points unmounted, directories and files created, written, removed or whose attributes were fixed (or
      would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [/etc/containerd/config.toml]
created_dirs:
  description: Directories created.
  returned: success
  type: list
  elements: str
  sample: [/etc/containerd]
marked:
  description: Marks of O(marks) written (or that would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: []
files:
  description: Number of distinct files handled.
  returned: success
  type: int
  sample: 3
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubebin.cluster.plugins.module_utils.pki_module import attributes_setter, exit_with_result
from ansible_collections.kubebin.cluster.plugins.module_utils.file_push import push_files

_ATTRS = dict(mode=dict(type="raw", required=True), owner=dict(type="str"), group=dict(type="str"))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="dict", default=[], options=dict(path=dict(type="path", required=True), **_ATTRS)),
            files=dict(type="list", elements="dict", default=[], options=dict(
                dest=dict(type="path", required=True), content=dict(type="str", required=True, no_log=True), **_ATTRS)),
            absent=dict(type="list", elements="path", default=[]),
            unmount=dict(type="list", elements="path", default=[]),
            marks=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )

    def umount(point):
        # One layer at a time; a mount that cannot be taken away fails the task, naming it.
        module.run_command(["umount", point], check_rc=True)

    set_attrs = attributes_setter(module)
    exit_with_result(module, "host_files", lambda: push_files(
        module.params["files"], dir_mode=0o755, check_mode=module.check_mode, set_attrs=set_attrs, marks=module.params["marks"],
        directories=module.params["directories"], absent=module.params["absent"], unmount=module.params["unmount"], umount=umount))


if __name__ == "__main__":
    main()
