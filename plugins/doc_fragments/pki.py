# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Options of the modules that issue certificates (pki, cluster_pki); argument spec in module_utils/pki_module.py."""

    DOCUMENTATION = r"""
requirements:
  - cryptography >= 40.0
options:
  renew_before_days:
    description: A leaf that expires within this many days is re-issued.
    type: int
    default: 30
  rotate_ca:
    description: Regenerate every CA (new key and certificate), and so re-issue every leaf. Never implicit.
    type: bool
    default: false
  workers:
    description: Threads generating keys; default the number of CPUs (at most 8).
    type: int
"""
