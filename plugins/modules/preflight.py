#!/usr/bin/python
# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation of the kubebin.cluster.preflight action (the work is in plugins/action/preflight.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: preflight
short_description: Check the inventory and every role's settings before any host is changed
version_added: 0.1.0
author: kubebin maintainers (@kubebin)
description:
  - Runs on the controller and contacts no host. For every host of the groups C(etcd), C(kube_control_plane),
    C(kube_node) and C(k8s_cluster) it computes each setting of every kubebin.cluster role as the roles will see it
    (role defaults, overridden by the inventory and extra vars) and checks it.
  - Checks the argument spec of every role (types, choices, element types; a string where a list is expected is
    refused), variables with a role's prefix that no role knows, ports, URLs, durations and quantities, the
    inventory groups and host addresses, the address families of the pod and service networks, the room in the pod
    network for every kubelet host and its pods, per-host overrides, listeners that would share a port, kubectl
    version skew, what the PKI would refuse, and the artifact source (download mirrors or the offline bundle).
  - Every problem is reported at once, each naming the variable or host, the value and what would be valid.
  - See docs/preflight.md for the list of checks.
options: {}
attributes:
  action:
    support: full
    description: The check runs in the action plugin on the controller.
  async:
    support: none
    description: Not supported.
  bypass_host_loop:
    support: none
    description: Use C(run_once) to check all hosts in one task.
  check_mode:
    support: full
    description: Reads only; the same checks run in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
  platform:
    support: full
    platforms: all
    description: Runs on the controller.
notes:
  - Values that need facts gathered on a host cannot be known on the controller and are not checked here; the
    role's own argument validation checks them when it runs.
"""

EXAMPLES = r"""
- name: Check the inventory and every role's settings
  run_once: true
  delegate_to: localhost
  kubebin.cluster.preflight:
"""

RETURN = r"""
problems:
  description: Every problem found; empty when the inventory and settings are valid.
  returned: always
  type: list
  elements: str
  sample: ["kubebin_service_cidr 10.0.0.0/8 is too large: the apiserver accepts at most 1048576 addresses (/12 for IPv4)"]
checked_hosts:
  description: Number of hosts checked.
  returned: always
  type: int
  sample: 5
checked_settings:
  description: Number of role settings checked per host.
  returned: always
  type: int
  sample: 230
"""
