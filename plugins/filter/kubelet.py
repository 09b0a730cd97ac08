# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the kubelet role."""

from __future__ import annotations

from ansible_collections.kubebin.cluster.plugins.module_utils.csr_approval import serving_csr_decisions


class FilterModule:
    """kubebin kubelet filters."""

    def filters(self):
        return {"serving_csr_decisions": serving_csr_decisions}
