# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How every kubebin PKI module reports: the same errors, warnings and diff handling."""

from __future__ import annotations

import traceback

from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError


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
    for warning in result.pop("warnings", []):
        module.warn(warning)
    diff = result.pop("diff")
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = diff
    module.exit_json(**result)
