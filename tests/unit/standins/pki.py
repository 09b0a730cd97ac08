# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throw-away cluster PKI for the stand-in tests (independent of the collection's PKI module)."""

from __future__ import annotations

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str, orgs=()) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs] + [x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: str, data: bytes, mode: int) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)
    return path


class Pki:
    """Writes <name>.crt (0644) and <name>.key (0600) into a directory."""

    def __init__(self, directory: str) -> None:
        self.dir = directory
        self._cas = {}

    def ca(self, name: str) -> str:
        key = _key()
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name)).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .sign(key, hashes.SHA256()))
        self._cas[name] = (cert, key)
        return self._save(name, cert, key)

    def leaf(self, name: str, ca: str, cn: str, orgs=(), hosts=(), server=False, client=True) -> tuple:
        ca_cert, ca_key = self._cas[ca]
        key = _key()
        now = datetime.datetime.now(datetime.timezone.utc)
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
        builder = (x509.CertificateBuilder().subject_name(_name(cn, orgs)).issuer_name(ca_cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(usages), critical=False))
        sans = [x509.IPAddress(ipaddress.ip_address(h)) if h[0].isdigit() else x509.DNSName(h) for h in hosts]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return self._save(name, builder.sign(ca_key, hashes.SHA256()), key)

    def _save(self, name: str, cert, key) -> tuple:
        crt = _write(os.path.join(self.dir, name + ".crt"), cert.public_bytes(serialization.Encoding.PEM), 0o644)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return crt, _write(os.path.join(self.dir, name + ".key"), pem, 0o600)

    def path(self, name: str, ext: str) -> str:
        return os.path.join(self.dir, "%s.%s" % (name, ext))


def kubeconfig(path: str, server: str, ca: str, cert: str, key: str, embed: bool = True) -> str:
    import base64  # pylint: disable=import-outside-toplevel
    import yaml  # pylint: disable=import-outside-toplevel

    def data(file_path):
        with open(file_path, "rb") as handle:
            return base64.b64encode(handle.read()).decode()
    cluster = {"server": server}
    user = {}
    if embed:
        cluster["certificate-authority-data"] = data(ca)
        user = {"client-certificate-data": data(cert), "client-key-data": data(key)}
    else:
        cluster["certificate-authority"] = ca
        user = {"client-certificate": cert, "client-key": key}
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "default",
           "clusters": [{"name": "kubebin", "cluster": cluster}], "users": [{"name": "user", "user": user}],
           "contexts": [{"name": "default", "context": {"cluster": "kubebin", "user": "user"}}]}
    _write(path, yaml.safe_dump(doc).encode(), 0o600)
    return path
