# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cluster secrets that are not certificates: service-account keys, the secrets-encryption
configuration and bootstrap tokens. Each is made once and kept; none is rotated silently."""

from __future__ import annotations

import base64
import datetime
import os
import re
import secrets
import string

from ansible_collections.kubebin.cluster.plugins.module_utils import pki_crypto as crypto
from ansible_collections.kubebin.cluster.plugins.module_utils import host_fs as fs

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

SECRET_MODE = 0o600
PUBLIC_MODE = 0o644


def ensure_service_account_key(path, public_path, algorithm="rsa2048", check_mode=False, set_mode=fs.fix_mode):
    """Private key at path (0600), its public key at public_path (0644). An existing valid private key
    is kept whatever its algorithm; the public file is rewritten when it does not match it."""
    result = {"changed": False, "private_key": "unchanged", "public_key": "unchanged"}
    pem = fs.read_bytes(path)
    key = None
    if pem is not None:
        try:
            key = crypto.load_key(pem)
        except Exception as exc:
            raise crypto.PkiError("path: %s holds no usable private key (%s); it is never replaced implicitly, "
                                  "remove it to make a new one" % (path, exc.__class__.__name__))
        if crypto.key_algorithm_of(key) != algorithm:
            result["warning"] = ("%s is %s, not %s; kept (tokens signed with it stay valid). Remove it to change"
                                 % (path, crypto.key_algorithm_of(key), algorithm))
    if key is None:
        key = crypto.generate_key(algorithm)
        result["private_key"] = "created"
        if not check_mode:
            if not os.path.isdir(os.path.dirname(path) or "."):
                fs.ensure_dir(os.path.dirname(path), 0o700)
            fs.atomic_write(path, crypto.key_to_pem(key), SECRET_MODE)
    elif not check_mode and set_mode(path, SECRET_MODE):
        result["private_key"] = "mode fixed"
    public_pem = crypto.public_key_to_pem(key)
    current = fs.read_bytes(public_path)
    if current != public_pem:
        result["public_key"] = "created" if current is None else "updated"
        if not check_mode:
            fs.atomic_write(public_path, public_pem, PUBLIC_MODE)
    elif not check_mode and set_mode(public_path, PUBLIC_MODE):
        result["public_key"] = "mode fixed"
    result["changed"] = result["private_key"] != "unchanged" or result["public_key"] != "unchanged"
    result["algorithm"] = crypto.key_algorithm_of(key)
    return result


ENCRYPTION_PROVIDERS = ("aescbc", "secretbox")

_ENCRYPTION_TEMPLATE = """apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources:
{resources}
  providers:
  - {provider}:
      keys:
      - name: {key_name}
        secret: {secret}
  - identity: {{}}
"""


def render_encryption_config(provider, key_name, secret_b64, resources):
    lines = "\n".join("  - %s" % r for r in resources)
    return _ENCRYPTION_TEMPLATE.format(resources=lines, provider=provider, key_name=key_name, secret=secret_b64).encode()


def _existing_encryption_key(content, path):
    """(provider, key name, base64 secret) of the first provider of an existing file."""
    try:
        doc = yaml.safe_load(content)
        provider_entry = doc["resources"][0]["providers"][0]
        provider = next(iter(provider_entry))
        key = provider_entry[provider]["keys"][0]
        secret = key["secret"]
        if len(base64.b64decode(secret, validate=True)) != 32:
            raise ValueError("the key is not 32 bytes")
        return provider, key["name"], secret
    except Exception as exc:
        raise crypto.PkiError("path: %s exists but is not an EncryptionConfiguration with a 32-byte key (%s); "
                              "it is never replaced implicitly" % (path, exc))


def ensure_encryption_config(path, provider="aescbc", key_name="key1", resources=None, check_mode=False,
                             set_mode=fs.fix_mode):
    """EncryptionConfiguration at path (0600). The 32-byte key is made once and kept; a different
    provider or key name in an existing file is an error (that change is a planned key rotation)."""
    if provider not in ENCRYPTION_PROVIDERS:
        raise crypto.PkiError("provider: %r is not one of %s" % (provider, ", ".join(ENCRYPTION_PROVIDERS)))
    if not re.match(r"^[A-Za-z0-9][-A-Za-z0-9_.]*$", key_name or ""):
        raise crypto.PkiError("key_name: %r must be a simple name" % (key_name,))
    resources = resources or ["secrets"]
    for index, resource in enumerate(resources):
        if not re.match(r"^[a-z0-9*][-a-z0-9.*]*$", resource):
            raise crypto.PkiError("resources[%d]: %r is not a resource name" % (index, resource))
    current = fs.read_bytes(path)
    if current is not None:
        old_provider, old_name, secret = _existing_encryption_key(current, path)
        if (old_provider, old_name) != (provider, key_name):
            raise crypto.PkiError(
                "provider/key_name: %s uses %s key %s, not %s key %s. Changing them re-encrypts every "
                "secret and is a planned rotation (see docs/pki.md), never an implicit one"
                % (path, old_provider, old_name, provider, key_name))
    else:
        secret = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    content = render_encryption_config(provider, key_name, secret, resources)
    status = "unchanged"
    if current != content:
        status = "created" if current is None else "updated"
        if not check_mode:
            fs.atomic_write(path, content, SECRET_MODE)
    elif not check_mode and set_mode(path, SECRET_MODE):
        status = "mode fixed"
    return {"changed": status != "unchanged", "status": status, "provider": provider, "key_name": key_name}


def is_token_ttl_hours(value):
    """A bootstrap token lifetime: whole hours, 0 (no expiration) or more; a negative one would be expired when made."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_token_ttl_hours(ttl_hours):
    """Raise PkiError unless ttl_hours is a valid bootstrap token lifetime."""
    if not is_token_ttl_hours(ttl_hours):
        raise crypto.PkiError("ttl_hours must be >= 0 (0 means no expiration), got %r" % (ttl_hours,))


TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


def new_token():
    def pick(length):
        return "".join(secrets.choice(_TOKEN_ALPHABET) for dummy in range(length))
    return "%s.%s" % (pick(6), pick(16))


def render_bootstrap_secret(token, description, usages, groups, expiration):
    token_id, token_secret = TOKEN_RE.match(token).groups()
    data = {
        "token-id": token_id,
        "token-secret": token_secret,
        "description": description,
    }
    for usage in usages:
        data["usage-bootstrap-%s" % usage] = "true"
    if groups:
        data["auth-extra-groups"] = ",".join(groups)
    if expiration:
        data["expiration"] = expiration
    lines = ["apiVersion: v1", "kind: Secret", "metadata:", "  name: bootstrap-token-%s" % token_id,
             "  namespace: kube-system", "type: bootstrap.kubernetes.io/token", "stringData:"]
    lines += ['  %s: "%s"' % (k, str(v).replace("\\", "\\\\").replace('"', '\\"')) for k, v in data.items()]
    return ("\n".join(lines) + "\n").encode()


def ensure_bootstrap_token(path, description="kubebin bootstrap token", usages=("authentication", "signing"),
                           groups=("system:bootstrappers:kubebin:default-node-token",), ttl_hours=0,
                           check_mode=False, now=None, set_mode=fs.fix_mode):
    """Secret manifest of a bootstrap token at path (0600). The token is made once and kept while its
    expiration (if any) is more than an hour away; then a new one replaces it."""
    now = now or crypto.utcnow()
    check_token_ttl_hours(ttl_hours)
    for index, group in enumerate(groups):
        if not group.startswith("system:bootstrappers:"):
            raise crypto.PkiError("groups[%d]: %r must start with system:bootstrappers:" % (index, group))
    for index, usage in enumerate(usages):
        if usage not in ("authentication", "signing"):
            raise crypto.PkiError("usages[%d]: %r is not authentication or signing" % (index, usage))
    current = fs.read_bytes(path)
    token, expiration, reason = None, None, "missing"
    if current is not None:
        try:
            doc = yaml.safe_load(current)
            data = doc["stringData"]
            token = "%s.%s" % (data["token-id"], data["token-secret"])
            if not TOKEN_RE.match(token):
                raise ValueError("malformed token")
            expiration = data.get("expiration")
            if expiration:
                expires = datetime.datetime.fromisoformat(expiration.replace("Z", "+00:00"))
                if expires - now < datetime.timedelta(hours=1):
                    token, reason = None, "expired or expiring"
        except crypto.PkiError:
            raise
        except Exception as exc:
            token, reason = None, "unparsable (%s)" % exc.__class__.__name__
    if token is None:
        token = new_token()
        expiration = None
        if ttl_hours:
            expiration = (now + datetime.timedelta(hours=ttl_hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        reason = "kept"
    content = render_bootstrap_secret(token, description, list(usages), list(groups), expiration)
    status = "unchanged"
    if content != current:
        status = "created" if current is None else "updated"
        if not check_mode:
            fs.atomic_write(path, content, SECRET_MODE)
    elif not check_mode and set_mode(path, SECRET_MODE):
        status = "mode fixed"
    return {"changed": status != "unchanged", "status": status, "reason": reason, "token": token,
            "token_id": token.split(".")[0], "expiration": expiration}
