# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the kubebin PKI: inventory -> spec, file lists for distribution, expiry reports."""

from __future__ import annotations

import base64
import datetime

from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError, decrypt_key_pem, load_cert, utcnow
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_spec import cluster_spec, compact_hosts


def pki_hosts(groups, hostvars):
    """[{name, ips, groups}] of the cluster hosts, read once from the inventory."""
    try:
        return compact_hosts(groups, hostvars)
    except PkiError as exc:
        raise AnsibleFilterError(str(exc))


def pki_spec(hosts, settings=None):
    """{certificates, kubeconfigs} for the kubebin.cluster.pki and kubeconfig modules."""
    try:
        return cluster_spec(hosts, settings)
    except PkiError as exc:
        raise AnsibleFilterError(str(exc))


def pki_attach_contents(entries, contents):
    """Zip file entries (dicts) with their contents (same order) into pki_files entries.

    The controller-side `src` of an entry is dropped: the module only knows host paths.
    """
    if len(entries) != len(contents):
        raise AnsibleFilterError("pki_attach_contents: %d entries but %d contents" % (len(entries), len(contents)))
    return [dict(((k, v) for k, v in entry.items() if k != "src"), content=content) for entry, content in zip(entries, contents)]


def pki_restart_marks(marks_by_set, files_by_set, sets):
    """{mark path: [dests]} for kubebin.cluster.pki_files: each of SETS with a mark in MARKS_BY_SET
    watches the destinations of its own files (FILES_BY_SET), so a changed file marks for a restart
    only the components whose set holds it."""
    if not isinstance(marks_by_set, dict) or not isinstance(files_by_set, dict):
        raise AnsibleFilterError("pki_restart_marks: marks and files must be mappings by set name")
    unknown = sorted(name for name in marks_by_set if name not in files_by_set)
    if unknown:
        raise AnsibleFilterError("pki_restart_marks: no file set named %s (known: %s)"
                                 % (", ".join(unknown), ", ".join(sorted(files_by_set))))
    plan = {}
    for name in sets:
        if name in marks_by_set:
            plan.setdefault(marks_by_set[name], set()).update(entry["dest"] for entry in files_by_set[name])
    return {path: sorted(dests) for path, dests in plan.items()}


def pki_decrypt_key(content, passphrase=None):
    """CONTENT with an encrypted private key replaced by its plaintext PEM; anything else unchanged.

    For pushing a CA key kept encrypted at rest on the controller to a host that needs it in the
    clear (the controller-manager signs with ca.key). The plaintext is what pki_crypto.key_to_pem
    writes for a plaintext key, the same bytes on every run, so the push stays idempotent.
    Messages never hold the passphrase or key material.
    """
    if not isinstance(content, str):
        raise AnsibleFilterError("pki_decrypt_key: the input must be file content (a string)")
    try:
        return decrypt_key_pem(content, str(passphrase) if passphrase else None)
    except PkiError as exc:
        raise AnsibleFilterError("pki_decrypt_key: %s; the roles take the passphrase from "
                                 "kubebin_pki_ca_key_passphrase" % exc)


def _pem_certs(text):
    marker = "-----BEGIN CERTIFICATE-----"
    return [marker + part.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
            for part in text.split(marker)[1:]]


def _kubeconfig_certs(text):
    """(field, PEM) of the certificates embedded in a kubeconfig, without parsing YAML."""
    found = []
    for line in text.splitlines():
        key, _sep, value = line.strip().partition(":")
        if key in ("certificate-authority-data", "client-certificate-data") and value.strip():
            found.append((key, base64.b64decode(value.strip()).decode("ascii", "replace")))
    return found


def _row(host, path, what, pem, now):
    cert = load_cert(pem.encode("ascii"))
    not_after = cert.not_valid_after_utc
    return {"host": host, "path": path, "what": what, "subject": cert.subject.rfc4514_string(),
            "not_after": not_after.isoformat(), "days_left": (not_after - now).days}


def pki_expiry_report(slurped, host, now=None):
    """Rows {host, path, what, subject, not_after, days_left} for slurp results (certs and kubeconfigs)."""
    now = now or utcnow()
    if isinstance(now, str):
        now = datetime.datetime.fromisoformat(now)
    rows = []
    for item in slurped:
        if item.get("failed") or item.get("skipped") or "content" not in item:
            continue
        path = item.get("source") or item.get("item")
        text = base64.b64decode(item["content"]).decode("utf-8", "replace")
        try:
            if path.endswith(".conf"):
                for field, pem in _kubeconfig_certs(text):
                    rows.append(_row(host, path, field, pem, now))
            else:
                for pem in _pem_certs(text):
                    rows.append(_row(host, path, "certificate", pem, now))
        except Exception as exc:
            rows.append({"host": host, "path": path, "what": "error", "subject": str(exc), "not_after": None, "days_left": None})
    return sorted(rows, key=lambda r: (r["days_left"] is None, r["days_left"] or 0, r["path"]))


def pki_expiry_line(row):
    """One readable line of an expiry report row."""
    if row.get("days_left") is None:
        return "%s %s: unreadable (%s)" % (row["host"], row["path"], row["subject"])
    return "%s %s [%s] %s: notAfter %s (%d days left)" % (
        row["host"], row["path"], row["what"], row["subject"], row["not_after"], row["days_left"])


class FilterModule(object):
    def filters(self):
        return {
            "pki_hosts": pki_hosts,
            "pki_spec": pki_spec,
            "pki_attach_contents": pki_attach_contents,
            "pki_decrypt_key": pki_decrypt_key,
            "pki_restart_marks": pki_restart_marks,
            "pki_expiry_report": pki_expiry_report,
            "pki_expiry_line": pki_expiry_line,
        }
