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
  ca_key_passphrase:
    description:
      - Keep the CA keys (entries without a CA of their own) encrypted at rest with this passphrase,
        as PKCS#8 C(ENCRYPTED PRIVATE KEY) with the best encryption the C(cryptography) library
        offers, and decrypt them with it to sign. Leaf keys stay plaintext. Meant for an Ansible
        Vault value; never logged or returned.
      - An existing plaintext CA key is rewritten encrypted (same key and certificate, reason
        V(key encrypted at rest)). An encrypted CA key and a missing or wrong passphrase fail
        naming the file, before anything is written.
      - Empty or omitted means none (CA keys stay plaintext).
    type: str
"""
