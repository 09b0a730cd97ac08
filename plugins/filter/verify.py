# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the verify role: thin entry points over plugin_utils/cluster_verify.py."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.plugin_utils import cluster_verify


def verify_checks(observed, skip=None):
    """Every check of playbooks/verify.yml judged on what the cluster showed."""
    try:
        return cluster_verify.checks(observed, skip or [])
    except ValueError as exc:
        raise AnsibleFilterError("verify_checks: %s" % exc) from None


class FilterModule:
    """kubebin verify filters."""

    def filters(self):
        return {
            "verify_checks": verify_checks,
            "verify_flags": cluster_verify.flags,
            "verify_schedulable": cluster_verify.schedulable,
            "verify_reach_plan": cluster_verify.reach_plan,
            "verify_lease_holders": cluster_verify.lease_holders,
        }
