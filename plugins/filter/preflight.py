# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Inventory and variable checks that must pass before any host is touched."""

from __future__ import annotations

DOCUMENTATION = r"""
name: preflight_errors
short_description: List what is wrong with a kubebin inventory and its cluster settings
version_added: 0.1.0
description:
  - Takes the compact host list built by the C(kubebin) role and the cluster-wide settings,
    and returns one message per problem, each naming the host or variable and saying what is wrong.
  - An empty list means the inventory is fit for C(site.yml).
options:
  _input:
    description: Hosts as dicts with C(name), C(node_name), C(ip), C(arch) and C(groups).
    type: list
    elements: dict
    required: true
  settings:
    description: The C(kubebin_*) cluster settings, keyed without the C(kubebin_) prefix.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Fail on a bad inventory
  ansible.builtin.fail:
    msg: "{{ _errors | join('; ') }}"
  vars:
    _errors: "{{ _kubebin_hosts | kubebin.cluster.preflight_errors({'service_cidr': kubebin_service_cidr}) }}"
  when: _errors | length > 0
"""

RETURN = r"""
_value:
  description: One message per problem found; empty when everything is valid.
  type: list
  elements: str
"""

from ansible_collections.kubebin.cluster.plugins.module_utils.preflight import preflight_errors


class FilterModule:
    """kubebin preflight filters."""

    def filters(self):
        return {"preflight_errors": preflight_errors}
