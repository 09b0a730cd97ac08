# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubeconfigs with the CA and the client credentials embedded, written only when they change.

The credentials are a client certificate and key, or a token (the TLS-bootstrap kubeconfig of a
kubelet authenticates with a bootstrap token until it has its own certificate)."""

from __future__ import annotations

import base64
import json
import os
import re

from ansible_collections.kubebin.cluster.plugins.module_utils import pki_crypto as crypto
from ansible_collections.kubebin.cluster.plugins.module_utils import host_fs as fs

KUBECONFIG_MODE = 0o600
# A bearer token goes into an HTTP header: visible ASCII only.
_TOKEN = re.compile(r"^[!-~]+$")

_TEMPLATE = """apiVersion: v1
kind: Config
clusters:
- name: {cluster}
  cluster:
    certificate-authority-data: {ca}
    server: {server}
contexts:
- name: {context}
  context:
    cluster: {cluster}
    user: {user}
current-context: {context}
preferences: {{}}
users:
- name: {user}
  user:
"""
_CERT_USER = """    client-certificate-data: {cert}
    client-key-data: {key}
"""
_TOKEN_USER = """    token: {token}
"""


def _q(value):
    # A JSON string is a valid YAML double-quoted scalar: safe for any user, cluster or URL text.
    return json.dumps(str(value))


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def render(server, cluster_name, user, context, ca_pem, cert_pem=None, key_pem=None, token=None):
    """Kubeconfig text (bytes); deterministic for equal input, so bytes compare for "changed"."""
    head = _TEMPLATE.format(cluster=_q(cluster_name), server=_q(server), context=_q(context), user=_q(user),
                            ca=_b64(ca_pem))
    if token is not None:
        return (head + _TOKEN_USER.format(token=_q(token))).encode("utf-8")
    return (head + _CERT_USER.format(cert=_b64(cert_pem), key=_b64(key_pem))).encode("utf-8")


def _resolve(base_dir, path):
    return path if os.path.isabs(path) or not base_dir else os.path.join(base_dir, path)


def _read(base_dir, path, label, field, check_mode):
    full = _resolve(base_dir, path)
    data = fs.read_bytes(full)
    if data is None and not check_mode:
        raise crypto.PkiError("%s: %s %s does not exist" % (label, field, full))
    return data


def ensure_kubeconfigs(base_dir, kubeconfigs, check_mode=False, set_mode=fs.fix_mode):
    """Validate every entry first, then write the ones whose content changed. Returns a result dict."""
    planned = []
    for index, entry in enumerate(kubeconfigs):
        label = "kubeconfigs[%d] (%s)" % (index, entry.get("path"))
        token = entry.get("token")
        credentials = ("ca_file",) if token else ("ca_file", "client_cert_file", "client_key_file")
        for field in ("path", "server", "user") + credentials:
            if not entry.get(field) or not isinstance(entry.get(field), str):
                raise crypto.PkiError("%s: %s is required%s" % (
                    label, field, " (or token)" if field.startswith("client_") else ""))
        if token and (entry.get("client_cert_file") or entry.get("client_key_file")):
            raise crypto.PkiError("%s: token and client_cert_file/client_key_file exclude each other" % label)
        if token is not None and not _TOKEN.match(str(token)):
            raise crypto.PkiError("%s: token must be printable ASCII without spaces" % label)
        if not entry["server"].startswith("https://"):
            raise crypto.PkiError("%s: server must be an https:// URL, got %r" % (label, entry["server"]))
        cluster = entry.get("cluster_name") or "kubernetes"
        context = entry.get("context") or "%s@%s" % (entry["user"], cluster)
        sources = [_read(base_dir, entry[f], label, f, check_mode) for f in credentials]
        path = _resolve(base_dir, entry["path"])
        info = {"server": entry["server"], "user": entry["user"], "cluster": cluster, "client_not_after": None}
        if None in sources:
            # Only in check mode: the certificates would be made by the same run.
            planned.append((path, None, info, "sources do not exist yet"))
            continue
        if token:
            try:
                crypto.load_cert(sources[0])
            except Exception as exc:
                raise crypto.PkiError("%s: cannot parse the CA (%s)" % (label, exc))
            info["auth"] = "token"
            content = render(entry["server"], cluster, entry["user"], context, sources[0], token=token)
            planned.append((path, content, info, None))
            continue
        ca_pem, cert_pem, key_pem = sources
        try:
            cert = crypto.load_cert(cert_pem)
            crypto.load_cert(ca_pem)
            key = crypto.load_key(key_pem)
        except Exception as exc:
            raise crypto.PkiError("%s: cannot parse the CA, client certificate or key (%s)" % (label, exc))
        if not crypto.same_public_key(cert.public_key(), key.public_key()):
            raise crypto.PkiError("%s: client_key_file does not match client_cert_file" % label)
        info["client_not_after"] = cert.not_valid_after_utc.isoformat()
        content = render(entry["server"], cluster, entry["user"], context, ca_pem, cert_pem, key_pem)
        info["auth"] = "certificate"
        planned.append((path, content, info, None))

    seen = set()
    for path, _content, _info, _note in planned:
        if path in seen:
            raise crypto.PkiError("kubeconfig path %s is listed twice" % path)
        seen.add(path)

    results, changed_paths = {}, []
    for path, content, info, note in planned:
        current = fs.read_bytes(path)
        if content is None:
            status = "created" if current is None else "updated"
        elif current == content:
            status = "unchanged"
        else:
            status = "created" if current is None else "updated"
        if status != "unchanged":
            changed_paths.append(path)
            if not check_mode:
                if not os.path.isdir(os.path.dirname(path)):
                    fs.ensure_dir(os.path.dirname(path), 0o700)
                fs.atomic_write(path, content, KUBECONFIG_MODE)
        elif not check_mode and set_mode(path, KUBECONFIG_MODE):
            changed_paths.append(path)
            status = "updated"
        results[path] = dict(info, status=status)
        if note:
            results[path]["note"] = note
    return {
        "changed": bool(changed_paths),
        "changed_paths": changed_paths,
        "kubeconfigs": results,
        "diff": {"before": {"changed": []}, "after": {"changed": changed_paths}},
    }
