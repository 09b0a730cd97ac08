# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Key and certificate primitives of the kubebin PKI (cryptography package).

Everything here is pure: bytes in, objects or bytes out. File handling lives in host_fs and the
declarative logic in pki_engine.
"""

from __future__ import annotations

import datetime
import ipaddress

from ansible_collections.kubebin.cluster.plugins.module_utils.host_address import parse_ip

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the modules
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

KEY_ALGORITHMS = ("rsa2048", "rsa3072", "rsa4096", "ecdsa-p256", "ecdsa-p384")

KEY_USAGES = (
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
    "key_agreement", "key_cert_sign", "crl_sign",
)
EXTENDED_KEY_USAGES = ("server_auth", "client_auth")

# Leaf certificates start five minutes in the past so a host whose clock is slightly behind
# the controller's accepts them at once.
BACKDATE = datetime.timedelta(minutes=5)


class PkiError(Exception):
    """Invalid input or state; the message names the field or file at fault."""


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def generate_key(algorithm):
    if algorithm.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(algorithm[3:]))
    if algorithm == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "ecdsa-p384":
        return ec.generate_private_key(ec.SECP384R1())
    raise PkiError("unsupported key algorithm %r (supported: %s)" % (algorithm, ", ".join(KEY_ALGORITHMS)))


def key_algorithm_of(key):
    """Name of the algorithm of a private or public key, in KEY_ALGORITHMS terms (or None)."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa%d" % key.key_size
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384"}.get(key.curve.name)
    return None


def key_to_pem(key, passphrase=None):
    """PEM of a private key: traditional and plaintext (RSA/EC PRIVATE KEY), or with a passphrase
    PKCS#8 encrypted with the best encryption the library offers (ENCRYPTED PRIVATE KEY)."""
    if passphrase:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.BestAvailableEncryption(_passphrase_bytes(passphrase)))
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())


def _passphrase_bytes(passphrase):
    return passphrase if isinstance(passphrase, bytes) else str(passphrase).encode("utf-8")


ENCRYPTED_PEM_MARKERS = (b"-----BEGIN ENCRYPTED PRIVATE KEY-----", b"Proc-Type: 4,ENCRYPTED")


def is_encrypted_pem(pem):
    """True when PEM (bytes or text) holds a passphrase-protected private key (PKCS#8 or traditional)."""
    if isinstance(pem, str):
        pem = pem.encode("ascii", "replace")
    return any(marker in pem for marker in ENCRYPTED_PEM_MARKERS)


def decrypt_key_pem(pem, passphrase):
    """Plaintext PEM of a possibly encrypted private key, as key_to_pem writes a plaintext key.

    A key that is not encrypted is returned unchanged (same bytes or text), so a plaintext PKI
    pushes exactly what it always did. Raise PkiError when the key is encrypted and the
    passphrase is missing or does not decrypt it (the message holds neither).
    """
    if not is_encrypted_pem(pem):
        return pem
    if not passphrase:
        raise PkiError("the key is encrypted and no passphrase was given")
    text = isinstance(pem, str)
    try:
        key = load_key(pem.encode("ascii") if text else pem, passphrase)
    except (ValueError, TypeError, UnicodeError):
        raise PkiError("the passphrase does not decrypt the key (wrong passphrase or damaged file)")
    plain = key_to_pem(key)
    return plain.decode("ascii") if text else plain


def public_key_to_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_key(pem, passphrase=None):
    """Load a PEM private key (decrypted with PASSPHRASE when it is encrypted).

    RSA keys are loaded without the full consistency check (34 ms per 2048-bit key, as slow as
    generating one); instead n == p * q is checked here and callers compare the public half with
    the certificate, which together catch truncated, swapped or corrupted key files.
    """
    password = _passphrase_bytes(passphrase) if passphrase and is_encrypted_pem(pem) else None
    key = serialization.load_pem_private_key(pem, password=password, unsafe_skip_rsa_key_validation=True)
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        if numbers.p * numbers.q != numbers.public_numbers.n:
            raise ValueError("inconsistent RSA key")
    elif not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("unsupported key type %s" % type(key).__name__)
    return key


def load_cert(pem):
    return x509.load_pem_x509_certificate(pem)


def cert_to_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def same_public_key(a, b):
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return a.public_bytes(*fmt) == b.public_bytes(*fmt)


def _hash_for(key):
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384()
    return hashes.SHA256()


def build_name(common_name, organizations):
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _key_usage_ext(names):
    flags = {name: name in names for name in KEY_USAGES}
    return x509.KeyUsage(encipher_only=False, decipher_only=False, **flags)


_EKU_OIDS = {}
if HAS_CRYPTOGRAPHY:
    _EKU_OIDS = {"server_auth": ExtendedKeyUsageOID.SERVER_AUTH, "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH}


def sign_certificate(spec, key, now, issuer_cert=None, issuer_key=None):
    """Build and sign a certificate for spec (a normalized spec dict, see pki_engine).

    issuer_cert/issuer_key None means self-signed CA.
    """
    subject = build_name(spec["common_name"], spec["organizations"])
    is_ca = issuer_cert is None
    signer = key if is_ca else issuer_key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if is_ca else issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + spec["validity"])
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(_key_usage_ext(spec["key_usage"]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if spec["extended_key_usage"]:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([_EKU_OIDS[e] for e in spec["extended_key_usage"]]), critical=False)
    sans = [x509.DNSName(d) for d in spec["dns_names"]]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in spec["ip_addresses"]]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if not is_ca:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()), critical=False)
    return builder.sign(signer, _hash_for(signer))


def _ext(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def describe(cert):
    """Parsed, comparable view of a certificate (also what diff output shows; no key material)."""
    cn = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    san = _ext(cert, x509.SubjectAlternativeName)
    ku = _ext(cert, x509.KeyUsage)
    eku = _ext(cert, x509.ExtendedKeyUsage)
    bc = _ext(cert, x509.BasicConstraints)
    names = {v: k for k, v in _EKU_OIDS.items()}
    key_usage = []
    if ku is not None:
        for name in KEY_USAGES:
            if getattr(ku, name):
                key_usage.append(name)
    return {
        "common_name": cn[0] if cn else None,
        "organizations": sorted(orgs),
        "dns_names": sorted(san.get_values_for_type(x509.DNSName)) if san else [],
        "ip_addresses": sorted(str(i) for i in san.get_values_for_type(x509.IPAddress)) if san else [],
        "key_usage": key_usage,
        "extended_key_usage": sorted(names.get(o, o.dotted_string) for o in eku) if eku else [],
        "is_ca": bool(bc and bc.ca),
        "not_after": cert.not_valid_after_utc,
    }


def signed_by(cert, ca_cert):
    """True when cert's issuer is ca_cert's subject and ca_cert's key verifies the signature."""
    try:
        cert.verify_directly_issued_by(ca_cert)
        return True
    except Exception:  # ValueError, TypeError or InvalidSignature: all mean "not this CA"
        return False


def normalize_ip(value):
    """Canonical text of an IP address, or None when value is not an IP address."""
    ip = parse_ip(value)
    return str(ip) if ip is not None else None


def is_dns_name(value):
    """RFC 1123 host name, optionally with a leading '*.' wildcard label."""
    if not isinstance(value, str) or not value or len(value) > 253:
        return False
    labels = value.rstrip(".").split(".")
    if labels[0] == "*":
        labels = labels[1:]
    for label in labels:
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            return False
        if not all(c.isascii() and (c.isalnum() or c == "-") for c in label):
            return False
    return bool(labels)
