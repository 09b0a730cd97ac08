# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How every kubebin PKI module reports: the same errors, warnings and diff handling."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.kubebin.cluster.plugins.module_utils import pki_crypto
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError


# Argument spec of the options in doc_fragments/pki.py.
CERTIFICATE_RUN_ARGS = dict(
    renew_before_days=dict(type="int", default=30),
    rotate_ca=dict(type="bool", default=False),
    workers=dict(type="int"),
    ca_key_passphrase=dict(type="str", no_log=True),
)


def require_cryptography(module):
    """Fail the module the standard way when the cryptography package is missing."""
    if not pki_crypto.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=str(pki_crypto.CRYPTOGRAPHY_IMPORT_ERROR))


def mode_setter(module):
    """set_mode(path, mode) -> changed, through Ansible's own attribute handling (also SELinux)."""
    def set_mode(path, mode):
        file_args = module.load_file_common_arguments({"path": path, "mode": mode})
        return module.set_fs_attributes_if_different(file_args, False)
    return set_mode


def exit_with_result(module, action, run):
    """Call RUN() and exit the module with its result dict.

    A PkiError is the user's input or state at fault: its message is the failure. Anything else
    is a bug: its traceback is kept for the report. Warnings are passed to Ansible, and the diff
    (which never holds key material) is returned only when the user asked for one.
    """
    try:
        result = run()
    except PkiError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_json(msg="%s failed: %s" % (action, exc), exception=traceback.format_exc())
    for warning in result.pop("warnings", []) + ([result.pop("warning")] if "warning" in result else []):
        module.warn(warning)
    diff = result.pop("diff", None)
    if module._diff and diff is not None:  # pylint: disable=protected-access
        result["diff"] = diff
    module.exit_json(**result)


def attributes_setter(module):
    """set_attrs(path, mode, owner, group) -> changed, by the module's own file attribute code
    (owner and group by name, SELinux context kept): what push_files mends existing paths with."""
    def set_attrs(path, mode, owner, group):
        file_args = module.load_file_common_arguments({"path": path, "mode": mode, "owner": owner, "group": group})
        return module.set_fs_attributes_if_different(file_args, False)
    return set_attrs
