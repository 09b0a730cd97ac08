# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The whole cluster PKI in one pass: spec from the host list, then certificates, service-account
key, secrets-encryption configuration, bootstrap token and kubeconfigs.

One pass instead of one module call per part because, on a no-change rerun, each module call
costs more than the comparison it does (bench/pki: at 500 nodes the five calls were most of the
rerun). Each part keeps its own rules; this only orders them and merges their results.
"""

from __future__ import annotations

import os

from ansible_collections.kubebin.cluster.plugins.module_utils import host_fs as fs
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_engine import ensure_pki
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_kubeconfig import ensure_kubeconfigs
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_secrets import (
    check_token_ttl_hours, ensure_bootstrap_token, ensure_encryption_config, ensure_service_account_key)
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_spec import cluster_spec, settings_with_defaults

SA_KEY, SA_PUB = "sa.key", "sa.pub"
ENCRYPTION_CONFIG = "encryption-config.yaml"
BOOTSTRAP_TOKEN = "bootstrap-token.yaml"


def ensure_cluster_pki(base_dir, hosts, settings, renew_before_days=30, rotate_ca=False, encryption_provider="aescbc",
                       bootstrap_token=False, bootstrap_token_ttl_hours=24, check_mode=False, workers=None,
                       set_mode=fs.fix_mode, now=None, ca_key_passphrase=None):
    """Ensure every file of the controller PKI under base_dir. Returns the merged result dict.

    ca_key_passphrase keeps the three CA keys encrypted at rest (see pki_engine.ensure_pki).

    The spec is derived (and so validated) before anything is written; the certificate pass
    validates its whole input before writing too.
    """
    spec = cluster_spec(hosts, settings)
    if bootstrap_token or "bootstrap_kubeconfig" in spec:
        check_token_ttl_hours(bootstrap_token_ttl_hours)  # here, so a bad lifetime fails before any file is written
    algorithm = settings_with_defaults(settings)["key_algorithm"]
    # The spec gives every entry its key algorithm and validity: ensure_pki's defaults do not apply.
    certs = ensure_pki(base_dir, spec["certificates"], renew_before_days=renew_before_days, rotate_ca=rotate_ca,
                       check_mode=check_mode, now=now, workers=workers, set_mode=set_mode,
                       ca_key_passphrase=ca_key_passphrase)
    path = os.path.join
    sa_key = ensure_service_account_key(path(base_dir, SA_KEY), path(base_dir, SA_PUB), algorithm, check_mode, set_mode)
    encryption = ensure_encryption_config(path(base_dir, ENCRYPTION_CONFIG), provider=encryption_provider,
                                          check_mode=check_mode, set_mode=set_mode)
    warnings = list(certs.pop("warnings", []))
    if "warning" in sa_key:
        warnings.append(sa_key.pop("warning"))

    kubeconfigs = list(spec["kubeconfigs"])
    token = None
    if bootstrap_token or "bootstrap_kubeconfig" in spec:
        token = ensure_bootstrap_token(path(base_dir, BOOTSTRAP_TOKEN), ttl_hours=bootstrap_token_ttl_hours,
                                       check_mode=check_mode, now=now, set_mode=set_mode)
        if "bootstrap_kubeconfig" in spec:
            kubeconfigs.append(dict(spec["bootstrap_kubeconfig"], token=token["token"]))
        token.pop("token")  # a credential: never returned
    configs = ensure_kubeconfigs(base_dir, kubeconfigs, check_mode=check_mode, set_mode=set_mode)

    parts = (certs, sa_key, encryption, configs) + ((token,) if token else ())
    diff = {"before": {"certificates": certs["diff"]["before"]},
            "after": {"certificates": certs["diff"]["after"], "kubeconfigs": configs["changed_paths"]}}
    return {
        "changed": any(part["changed"] for part in parts),
        "certificates": certs["certificates"],
        "summary": certs["summary"],
        "kubeconfigs": {"changed_paths": configs["changed_paths"], "total": len(configs["kubeconfigs"])},
        "service_account_key": {k: sa_key[k] for k in ("private_key", "public_key", "algorithm")},
        "encryption_config": {k: encryption[k] for k in ("status", "provider", "key_name")},
        "bootstrap_token": token and {k: token[k] for k in ("status", "reason", "token_id", "expiration")},
        "diff": diff,
        "warnings": warnings,
    }
