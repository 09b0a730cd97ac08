# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Declarative PKI: make a directory hold exactly the CAs and leaves of a spec list.

Phases, so that bad input writes nothing and unchanged files are never touched:
  1. validate and normalize every spec (errors name the entry and the field);
  2. inspect what is on disk and decide, per certificate, created / renewed / unchanged + reason;
  3. generate keys and sign in a thread pool (key generation in `cryptography` releases the GIL,
     so threads give real parallelism);
  4. write atomically only what changed, CAs first.
"""

from __future__ import annotations

import datetime
import os
import stat
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kubebin.cluster.plugins.module_utils import pki_crypto as crypto
from ansible_collections.kubebin.cluster.plugins.module_utils import host_fs as fs

CA_KEY_USAGE = ["digital_signature", "key_cert_sign", "crl_sign"]
LEAF_KEY_USAGE = ["digital_signature", "key_encipherment"]
KEY_MODE = 0o600
CERT_MODE = 0o644
DIR_MODE = 0o700


def _str_list(entry, field, label):
    value = entry.get(field)
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise crypto.PkiError("%s: %s must be a list" % (label, field))
    for item in value:
        if not isinstance(item, str) or not item:
            raise crypto.PkiError("%s: %s contains %r, not a non-empty string" % (label, field, item))
    return list(value)


def is_validity_days(value):
    """A certificate validity: a whole number of days, at least one (a bool is no number here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def is_renew_before_days(value):
    """A renewal window: a whole number of days, 0 or more (0 re-issues only expired leaves)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive_int(value, label, field):
    if not is_validity_days(value):
        raise crypto.PkiError("%s: %s must be a positive integer, got %r" % (label, field, value))
    return value


def _validity(entry, label, default_days):
    """The entry's validity as a timedelta: validity_minutes (short-lived user credentials) or
    validity_days, never both; else default_days."""
    minutes, days = entry.get("validity_minutes"), entry.get("validity_days")
    if minutes is not None and days is not None:
        raise crypto.PkiError("%s: set validity_days or validity_minutes, not both" % label)
    if minutes is not None:
        return datetime.timedelta(minutes=_positive_int(minutes, label, "validity_minutes"))
    return datetime.timedelta(days=_positive_int(days or default_days, label, "validity_days"))


def validity_text(validity):
    """A validity in the unit it was given in: '365 days' or '90 minutes'."""
    if validity.seconds or validity.microseconds:
        return "%d minutes" % (validity.total_seconds() // 60)
    return "%d days" % validity.days


def normalize_specs(certificates, key_algorithm="rsa2048", ca_validity_days=3650, leaf_validity_days=365):
    """Validate the spec list; return normalized dicts in order (CAs first). Raise PkiError."""
    if not isinstance(certificates, list):
        raise crypto.PkiError("certificates must be a list")
    specs = []
    seen = set()
    for index, entry in enumerate(certificates):
        label = "certificates[%d]" % index
        if not isinstance(entry, dict):
            raise crypto.PkiError("%s must be a dict" % label)
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise crypto.PkiError("%s: name is required" % label)
        label = "certificates[%d] (%s)" % (index, name)
        parts = name.split("/")
        if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise crypto.PkiError("%s: name must be a relative path without '.' or '..' parts" % label)
        if name in seen:
            raise crypto.PkiError("%s: name is listed twice" % label)
        seen.add(name)
        unknown = set(entry) - {"name", "ca", "common_name", "organizations", "key_usage", "extended_key_usage",
                                "dns_names", "ip_addresses", "key_algorithm", "validity_days", "validity_minutes"}
        if unknown:
            raise crypto.PkiError("%s: unknown field(s) %s" % (label, ", ".join(sorted(unknown))))
        ca = entry.get("ca") or None
        if ca is not None and not isinstance(ca, str):
            raise crypto.PkiError("%s: ca must be the name of a CA entry" % label)
        common_name = entry.get("common_name")
        if not isinstance(common_name, str) or not common_name:
            raise crypto.PkiError("%s: common_name is required" % label)
        algorithm = entry.get("key_algorithm") or key_algorithm
        if algorithm not in crypto.KEY_ALGORITHMS:
            raise crypto.PkiError("%s: key_algorithm %r is not supported (supported: %s)"
                                  % (label, algorithm, ", ".join(crypto.KEY_ALGORITHMS)))
        key_usage = _str_list(entry, "key_usage", label) or list(LEAF_KEY_USAGE if ca else CA_KEY_USAGE)
        bad = [u for u in key_usage if u not in crypto.KEY_USAGES]
        if bad:
            raise crypto.PkiError("%s: key_usage %s unknown (known: %s)" % (label, bad, ", ".join(crypto.KEY_USAGES)))
        eku = _str_list(entry, "extended_key_usage", label)
        bad = [u for u in eku if u not in crypto.EXTENDED_KEY_USAGES]
        if bad:
            raise crypto.PkiError("%s: extended_key_usage %s unknown (known: %s)"
                                  % (label, bad, ", ".join(crypto.EXTENDED_KEY_USAGES)))
        dns_names = []
        for i, value in enumerate(_str_list(entry, "dns_names", label)):
            if crypto.normalize_ip(value) is not None or not crypto.is_dns_name(value):
                raise crypto.PkiError("%s: dns_names[%d] %r is not a DNS name" % (label, i, value))
            dns_names.append(value.lower())
        ips = []
        for i, value in enumerate(_str_list(entry, "ip_addresses", label)):
            ip = crypto.normalize_ip(value)
            if ip is None:
                raise crypto.PkiError("%s: ip_addresses[%d] %r is not an IP address" % (label, i, value))
            ips.append(ip)
        validity = _validity(entry, label, leaf_validity_days if ca else ca_validity_days)
        specs.append({
            "name": name,
            "ca": ca,
            "common_name": common_name,
            "organizations": sorted(set(_str_list(entry, "organizations", label))),
            "key_usage": [u for u in crypto.KEY_USAGES if u in key_usage],
            "extended_key_usage": sorted(set(eku)),
            "dns_names": sorted(set(dns_names)),
            "ip_addresses": sorted(set(ips)),
            "key_algorithm": algorithm,
            "validity": validity,
            "label": label,
        })
    cas = {s["name"] for s in specs if s["ca"] is None}
    for spec in specs:
        if spec["ca"] is not None and spec["ca"] not in cas:
            raise crypto.PkiError("%s: ca %r is not the name of a CA entry (CAs: %s)"
                                  % (spec["label"], spec["ca"], ", ".join(sorted(cas)) or "none"))
    return sorted(specs, key=lambda s: s["ca"] is not None)


def _subject_text(desc):
    parts = ["CN=%s" % desc["common_name"]] + ["O=%s" % o for o in desc["organizations"]]
    return ",".join(parts)


def _diff_view(desc):
    return {
        "subject": _subject_text(desc),
        "dns_names": desc["dns_names"],
        "ip_addresses": desc["ip_addresses"],
        "not_after": desc["not_after"].isoformat(),
    }


class _Item(object):
    """State of one certificate through the phases."""

    def __init__(self, spec, base_dir):
        self.spec = spec
        self.crt_path = os.path.join(base_dir, spec["name"] + ".crt")
        self.key_path = os.path.join(base_dir, spec["name"] + ".key")
        self.cert = None
        self.key = None
        self.desc = None
        self.status = "unchanged"
        self.reason = "matches the spec"
        self.new_key = False
        self.cert_pem = None
        self.key_pem = None
        self.key_encrypted = False  # the key file on disk is passphrase-protected
        self.encrypt_key = False  # keep key and certificate, rewrite the key file encrypted

    def load(self, passphrase=None):
        """Load what is on disk; return a problem description or None.

        PASSPHRASE (CAs only) decrypts an encrypted key; an encrypted key without it, or that it
        does not decrypt, raises PkiError: that is a missing or wrong secret, not a damaged CA.
        """
        crt = fs.read_bytes(self.crt_path)
        key = fs.read_bytes(self.key_path)
        if crt is None and key is None:
            return "missing"
        if crt is None:
            return "certificate file is missing"
        try:
            self.cert = crypto.load_cert(crt)
            self.desc = crypto.describe(self.cert)
        except Exception as exc:
            return "certificate is unparsable (%s)" % exc
        if key is None:
            return "key file is missing"
        if self.spec["ca"] is None and crypto.is_encrypted_pem(key):
            self.key_encrypted = True
            self.key = _load_encrypted_ca_key(self.spec["label"], self.key_path, key, passphrase)
        else:
            try:
                self.key = crypto.load_key(key)
            except Exception as exc:
                return "key is unparsable (%s)" % exc.__class__.__name__
        if not crypto.same_public_key(self.key.public_key(), self.cert.public_key()):
            self.key = None
            return "key does not match the certificate"
        return None

    def differences(self, now, renew_before):
        spec, desc = self.spec, self.desc
        wanted_algorithm = spec["key_algorithm"]
        if crypto.key_algorithm_of(self.key) != wanted_algorithm:
            return "key algorithm is %s, spec wants %s" % (crypto.key_algorithm_of(self.key), wanted_algorithm)
        if desc["common_name"] != spec["common_name"] or desc["organizations"] != spec["organizations"]:
            return "subject differs (%s)" % _subject_text(desc)
        if desc["dns_names"] != spec["dns_names"] or desc["ip_addresses"] != spec["ip_addresses"]:
            return "SANs differ"
        if desc["key_usage"] != spec["key_usage"] or desc["extended_key_usage"] != spec["extended_key_usage"]:
            return "usages differ"
        if desc["is_ca"] != (spec["ca"] is None):
            return "basic constraints differ"
        if desc["not_after"] - now < datetime.timedelta(days=renew_before):
            return "expires %s, within the renewal window of %d days" % (desc["not_after"].isoformat(), renew_before)
        return None


PASSPHRASE_VARIABLE = "kubebin_pki_ca_key_passphrase"


def _load_encrypted_ca_key(label, path, pem, passphrase):
    """The key of an encrypted CA key file, or PkiError naming the file (never the passphrase)."""
    if not passphrase:
        raise crypto.PkiError(
            "%s: the CA key %s is encrypted and no passphrase was given: set %s (module option "
            "ca_key_passphrase), normally an Ansible Vault value. Nothing was written" % (label, path, PASSPHRASE_VARIABLE))
    try:
        return crypto.load_key(pem, passphrase)
    except Exception:  # ValueError (bad decrypt, inconsistent key) or TypeError: the same answer
        raise crypto.PkiError(
            "%s: the CA key passphrase (%s, module option ca_key_passphrase) does not decrypt %s: wrong "
            "passphrase or damaged file. Nothing was written" % (label, PASSPHRASE_VARIABLE, path))


def _decide_ca(item, now, rotate_ca, warnings, passphrase=None):
    problem = item.load(passphrase)
    if problem == "missing":
        item.status, item.reason, item.new_key = "created", "missing", True
        return
    if rotate_ca:
        item.status, item.reason, item.new_key = "renewed", "CA rotation requested (rotate_ca)", True
        return
    if problem:
        raise crypto.PkiError(
            "%s: existing CA in %s is not usable: %s. A CA is never regenerated implicitly; "
            "restore it or set rotate_ca to re-create every CA and certificate" % (item.spec["label"], item.crt_path, problem))
    difference = item.differences(now, 0)
    if difference:
        warnings.append("CA %s differs from the spec (%s); kept, as CAs change only with rotate_ca" % (item.spec["name"], difference))
    if item.desc["not_after"] - now < item.spec["validity"] / 10:
        warnings.append("CA %s expires %s; plan a rotation (rotate_ca)" % (item.spec["name"], item.desc["not_after"].isoformat()))
    if passphrase and not item.key_encrypted:
        # Same key, same certificate: only the key file is rewritten, so no leaf is touched.
        item.encrypt_key, item.reason = True, "key encrypted at rest"


def _decide_leaf(item, ca_item, now, renew_before):
    problem = item.load()
    if problem == "missing":
        item.status, item.reason, item.new_key = "created", "missing", True
        return
    item.status = "renewed"
    if problem:
        item.reason = problem
        item.new_key = item.key is None
        return
    if ca_item.status != "unchanged":
        item.reason = "issuing CA %s is new" % ca_item.spec["name"]
        return
    if not crypto.signed_by(item.cert, ca_item.cert):
        item.reason = "not signed by the current CA %s" % ca_item.spec["name"]
        return
    difference = item.differences(now, renew_before)
    if difference is None:
        item.status, item.reason = "unchanged", "matches the spec"
        return
    item.reason = difference
    item.new_key = difference.startswith("key algorithm")


def _issue(item, ca_item, now, passphrase=None):
    """Thread-pool job: new key if needed, then sign. Pure CPU, no file access.

    PASSPHRASE (given for CAs only) encrypts the new key's PEM."""
    if item.new_key or item.key is None:
        item.key = crypto.generate_key(item.spec["key_algorithm"])
        item.key_pem = crypto.key_to_pem(item.key, passphrase)
    if ca_item is None:
        item.cert = crypto.sign_certificate(item.spec, item.key, now)
    else:
        item.cert = crypto.sign_certificate(item.spec, item.key, now, ca_item.cert, ca_item.key)
    item.cert_pem = crypto.cert_to_pem(item.cert)
    item.desc = crypto.describe(item.cert)
    return item


def _run_pool(jobs, workers):
    if workers <= 1 or len(jobs) <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: job(), jobs))


def _fix_modes(item, set_mode):
    changed = False
    for path, mode in ((item.key_path, KEY_MODE), (item.crt_path, CERT_MODE)):
        changed = set_mode(path, mode) or changed
    return changed


def ensure_pki(base_dir, certificates, key_algorithm="rsa2048", ca_validity_days=3650, leaf_validity_days=365,
               renew_before_days=30, rotate_ca=False, check_mode=False, now=None, workers=None, set_mode=fs.fix_mode,
               ca_key_passphrase=None):
    """Make base_dir hold the certificates of the spec list. Returns a result dict (see the pki module RETURN).

    With ca_key_passphrase the CA keys (entries without ca) are kept encrypted at rest (PKCS#8,
    best available encryption) and read back with it; leaf keys stay plaintext. An empty
    passphrase is none.
    """
    now = now or crypto.utcnow()
    ca_key_passphrase = ca_key_passphrase or None
    if not is_renew_before_days(renew_before_days):
        raise crypto.PkiError("renew_before_days must be an integer >= 0")
    specs = normalize_specs(certificates, key_algorithm, ca_validity_days, leaf_validity_days)
    items = [_Item(spec, base_dir) for spec in specs]
    by_name = {item.spec["name"]: item for item in items}
    warnings = []

    # Phase 2: inspect and decide. Nothing is written before every check has passed.
    for item in items:
        if item.spec["ca"] is None:
            _decide_ca(item, now, rotate_ca, warnings, ca_key_passphrase)
    for item in items:
        ca_item = by_name.get(item.spec["ca"])
        if ca_item is None:
            continue
        ca_not_after = (ca_item.desc["not_after"] if ca_item.status == "unchanged"
                        else now + ca_item.spec["validity"])
        leaf_not_after = now + item.spec["validity"]
        if leaf_not_after > ca_not_after:
            raise crypto.PkiError(
                "%s: a validity of %s outlives its CA %s (notAfter %s); shorten the validity or rotate the CA"
                % (item.spec["label"], validity_text(item.spec["validity"]), ca_item.spec["name"], ca_not_after.isoformat()))
        _decide_leaf(item, ca_item, now, renew_before_days)

    todo = [item for item in items if item.status != "unchanged"]
    encrypt = [item for item in items if item.encrypt_key]
    before = {item.spec["name"]: _diff_view(item.desc) for item in todo if item.desc}
    before.update((item.spec["name"], dict(_diff_view(item.desc), key_at_rest="plaintext")) for item in encrypt)
    changed = bool(todo or encrypt)

    if check_mode:
        for item in items:
            if item.status == "unchanged" and not changed:
                changed = any(os.path.exists(path) and stat.S_IMODE(os.stat(path).st_mode) != mode
                              for path, mode in ((item.key_path, KEY_MODE), (item.crt_path, CERT_MODE)))
        for item in todo:
            item.desc = dict(item.desc or {}, not_after=now + item.spec["validity"])
            item.desc.update((k, item.spec[k]) for k in ("common_name", "organizations", "dns_names", "ip_addresses"))
    else:
        workers = workers or min(8, os.cpu_count() or 1)
        # CAs first: their leaves need the new CA key.
        cas = [item for item in todo if item.spec["ca"] is None]
        _run_pool([lambda item=item: _issue(item, None, now, ca_key_passphrase) for item in cas], workers)
        leaves = [item for item in todo if item.spec["ca"] is not None]
        _run_pool([lambda item=item: _issue(item, by_name[item.spec["ca"]], now) for item in leaves], workers)
        dirs = sorted({os.path.dirname(item.crt_path) for item in items})
        for directory in [base_dir] + dirs:
            changed = fs.ensure_dir(directory, DIR_MODE) or changed
        for item in encrypt:
            fs.atomic_write(item.key_path, crypto.key_to_pem(item.key, ca_key_passphrase), KEY_MODE)
        for item in todo:
            if item.key_pem is not None:
                fs.atomic_write(item.key_path, item.key_pem, KEY_MODE)
            elif not os.path.exists(item.key_path):
                raise crypto.PkiError("%s: key vanished while running" % item.spec["label"])
            fs.atomic_write(item.crt_path, item.cert_pem, CERT_MODE)
        for item in items:
            if item.status == "unchanged":
                changed = _fix_modes(item, set_mode) or changed

    results = {}
    summary = {"created": 0, "renewed": 0, "unchanged": 0, "total": len(items), "soonest_expiry": None}
    soonest = None
    for item in items:
        not_after = item.desc["not_after"]
        # Kept small on purpose: 1000 entries at 500 nodes travel back through Ansible.
        results[item.spec["name"]] = {"status": item.status, "reason": item.reason, "not_after": not_after.isoformat()}
        summary[item.status] += 1
        if soonest is None or not_after < soonest[1]:
            soonest = (item.spec["name"], not_after)
    if soonest:
        summary["soonest_expiry"] = {"name": soonest[0], "not_after": soonest[1].isoformat(),
                                     "days_left": (soonest[1] - now).days}
    after = {item.spec["name"]: _diff_view(item.desc) for item in todo}
    after.update((item.spec["name"], dict(_diff_view(item.desc), key_at_rest="encrypted")) for item in encrypt)
    return {
        "changed": changed,
        "certificates": results,
        "summary": summary,
        "diff": {"before": before, "after": after},
        "warnings": warnings,
    }
