# Copyright (c) 2026, kubebin maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Inventory and variable checks that must pass before any host is touched."""

from __future__ import annotations

from ansible_collections.kubebin.cluster.plugins.module_utils.preflight import preflight_errors


class FilterModule:
    """kubebin preflight filters."""

    def filters(self):
        return {"preflight_errors": preflight_errors}
