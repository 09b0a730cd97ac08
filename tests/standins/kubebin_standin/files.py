# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kind checks for the files a flag names: certificate, private key (+ pair), CA bundle, YAML."""

from __future__ import annotations

import base64
import datetime
import os
import re
import ssl
import stat
import tempfile

import yaml

from . import log
from .log import StandinError

_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)
_KEY_TYPES = (b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY")


def pem_blocks(data: bytes) -> list:
    """(type, der) of every PEM block in data."""
    blocks = []
    for kind, body in _PEM_RE.findall(data):
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except ValueError:
            der = b""
        blocks.append((kind, der))
    return blocks


def read(path: str, flag: str) -> bytes:
    if not path:
        raise StandinError("%s: empty path" % flag)
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise StandinError("%s: cannot read %s: %s" % (flag, path, exc.strerror)) from None


def decode_cert(path: str) -> dict:
    """Subject, issuer, validity and SANs of the first certificate in path.

    The stdlib has no public certificate decoder; CPython's internal one (used by its own test
    suite since 2.7) is the same code that fills SSLSocket.getpeercert().
    """
    return ssl._ssl._test_decode_cert(path)  # pylint: disable=protected-access


def subject_cn_o(cert: dict) -> tuple:
    cn = ""
    orgs = []
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                orgs.append(value)
    return cn, orgs


def _not_after(cert: dict) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), datetime.timezone.utc)


def check_cert(path: str, flag: str) -> dict:
    """A PEM file whose first block is a valid, unexpired X.509 certificate."""
    data = read(path, flag)
    blocks = pem_blocks(data)
    if not blocks or blocks[0][0] != b"CERTIFICATE":
        raise StandinError("%s: %s is not a PEM certificate (first block: %s)" % (flag, path, blocks[0][0].decode() if blocks else "none"))
    try:
        cert = decode_cert(path)
    except (ssl.SSLError, OSError) as exc:
        raise StandinError("%s: %s: certificate does not parse: %s" % (flag, path, exc)) from None
    now = datetime.datetime.now(datetime.timezone.utc)
    if _not_after(cert) < now:
        raise StandinError("%s: %s: certificate expired on %s" % (flag, path, cert["notAfter"]))
    cn, orgs = subject_cn_o(cert)
    log.ok("%s %s: PEM certificate CN=%s O=%s expires %s" % (flag, path, cn, ",".join(orgs), cert["notAfter"]))
    return cert


def check_private(path: str, flag: str) -> None:
    """Files holding secrets must not be readable by every user."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise StandinError("%s: cannot stat %s: %s" % (flag, path, exc.strerror)) from None
    if mode & stat.S_IROTH:
        raise StandinError("%s: %s holds a secret but is world-readable (mode %04o)" % (flag, path, stat.S_IMODE(mode)))


def check_key(path: str, flag: str) -> None:
    """An unencrypted PEM private key, not world-readable."""
    data = read(path, flag)
    check_private(path, flag)
    kinds = [kind for kind, _der in pem_blocks(data)]
    if b"ENCRYPTED PRIVATE KEY" in kinds:
        raise StandinError("%s: %s is an encrypted private key; components cannot read it" % (flag, path))
    if not any(kind in _KEY_TYPES for kind in kinds):
        raise StandinError("%s: %s is not a PEM private key (blocks: %s)" % (flag, path, ", ".join(k.decode() for k in kinds) or "none"))
    log.ok("%s %s: PEM private key, mode %04o" % (flag, path, stat.S_IMODE(os.stat(path).st_mode)))


def check_pair(cert_path: str, cert_flag: str, key_path: str, key_flag: str) -> dict:
    """Certificate + its private key; OpenSSL itself checks that they match."""
    cert = check_cert(cert_path, cert_flag)
    check_key(key_path, key_flag)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert_path, key_path)
    except ssl.SSLError as exc:
        raise StandinError("%s %s does not match %s %s: %s" % (key_flag, key_path, cert_flag, cert_path, exc.reason or exc)) from None
    log.ok("%s matches %s" % (key_flag, cert_flag))
    return cert


def check_ca_bundle(path: str, flag: str) -> int:
    """One or more PEM certificates, every one of them a CA (basicConstraints CA:TRUE)."""
    data = read(path, flag)
    blocks = pem_blocks(data)
    if not blocks or any(kind != b"CERTIFICATE" for kind, _der in blocks):
        raise StandinError("%s: %s is not a PEM CA bundle (blocks: %s)" % (flag, path, ", ".join(k.decode() for k, _d in blocks) or "none"))
    return check_ca_data(data.decode("ascii", "replace"), "%s %s" % (flag, path))


def check_ca_data(pem: str, what: str) -> int:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cadata=pem)
    except ssl.SSLError as exc:
        raise StandinError("%s: CA bundle does not parse: %s" % (what, exc)) from None
    stats = context.cert_store_stats()
    if stats["x509"] != stats["x509_ca"]:
        raise StandinError("%s: %d of %d certificates are not CA certificates (basicConstraints CA:TRUE missing)"
                           % (what, stats["x509"] - stats["x509_ca"], stats["x509"]))
    names = [subject_cn_o(cert)[0] for cert in context.get_ca_certs()]
    log.ok("%s: CA bundle with %d CA certificate(s): %s" % (what, stats["x509_ca"], ", ".join(names)))
    return stats["x509_ca"]


def check_exists(path: str, flag: str) -> None:
    if not os.path.isfile(path):
        raise StandinError("%s: %s does not exist or is not a regular file" % (flag, path))
    log.ok("%s %s exists" % (flag, path))


def load_yaml(path: str, flag: str, secret: bool = False):
    data = read(path, flag)
    if secret:
        check_private(path, flag)
    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise StandinError("%s: %s is not valid YAML/JSON: %s" % (flag, path, exc)) from None


class PemScratch:
    """Private temporary directory for PEM data embedded in kubeconfigs (ssl wants file names)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="kubebin-standin-")  # pylint: disable=consider-using-with

    def write(self, name: str, data: bytes) -> str:
        path = os.path.join(self._dir.name, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path

    def cleanup(self) -> None:
        self._dir.cleanup()


SCRATCH = {}


def scratch() -> PemScratch:
    if "dir" not in SCRATCH:
        SCRATCH["dir"] = PemScratch()
    return SCRATCH["dir"]
