# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate signing requests with the openssl CLI (the test hosts have Debian's python3 and
openssl, no Python crypto library): keys and requests for the kubelet, parsing and checks for the
apiserver and the controller-manager, signing with a CA for the controller-manager."""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import subprocess
import tempfile

from . import files
from .log import StandinError

# certificates.k8s.io/v1 KeyUsage values -> openssl keyUsage / extendedKeyUsage names
# (pkg/apis/certificates/v1 helpers keyUsagesFromStrings).
KEY_USAGES = {"signing": "digitalSignature", "digital signature": "digitalSignature", "content commitment": "nonRepudiation",
              "key encipherment": "keyEncipherment", "key agreement": "keyAgreement", "data encipherment": "dataEncipherment",
              "cert sign": "keyCertSign", "crl sign": "cRLSign", "encipher only": "encipherOnly", "decipher only": "decipherOnly"}
EXT_KEY_USAGES = {"any": "anyExtendedKeyUsage", "server auth": "serverAuth", "client auth": "clientAuth", "code signing": "codeSigning",
                  "email protection": "emailProtection", "s/mime": "emailProtection", "ipsec end system": "ipsecEndSystem",
                  "ipsec tunnel": "ipsecTunnel", "ipsec user": "ipsecUser", "timestamping": "timeStamping", "ocsp signing": "OCSPSigning",
                  "microsoft sgc": "msSGC", "netscape sgc": "nsSGC"}

_REQ_CONFIG = "[req]\ndistinguished_name = dn\nprompt = no\nutf8 = yes\nstring_mask = utf8only\n[dn]\n"
_CA_CONFIG = """[ca]
default_ca = signer
[signer]
database = {dir}/index.txt
new_certs_dir = {dir}
rand_serial = yes
default_md = sha256
policy = keep_subject
unique_subject = no
copy_extensions = none
email_in_dn = no
[keep_subject]
commonName = optional
"""


class CsrError(ValueError):
    """A request that does not parse or whose signature does not verify."""


def _openssl(args: list, data: bytes | None = None) -> subprocess.CompletedProcess:
    binary = shutil.which("openssl")
    if not binary:
        raise StandinError("no openssl binary: the stand-ins need it for certificate signing requests")
    return subprocess.run([binary] + args, input=data, capture_output=True, check=False, timeout=60)


def _write(directory: str, name: str, data) -> str:
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    return path


def _workdir():
    return tempfile.TemporaryDirectory(prefix="kubebin-standin-csr-")


def new_ec_key() -> bytes:
    """An ECDSA P-256 key in SEC1 PEM, like the keys the kubelet makes."""
    result = _openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout"])
    if result.returncode != 0:
        raise StandinError("openssl could not make a key: %s" % result.stderr.decode(errors="replace").strip())
    return result.stdout


def _subject_escape(value: str) -> str:
    return "".join("\\" + char if char in "\\/=+," else char for char in value)


def make_csr(key_pem: bytes, cn: str, orgs=(), dns=(), ips=()) -> bytes:
    """PEM request signed by key_pem, subject O=... CN=..., SANs as an extension request."""
    with _workdir() as work:
        args = ["req", "-new", "-config", _write(work, "req.cnf", _REQ_CONFIG), "-key", _write(work, "key.pem", key_pem),
                "-subj", "".join("/O=" + _subject_escape(o) for o in orgs) + "/CN=" + _subject_escape(cn)]
        sans = ["DNS:" + name for name in dns] + ["IP:" + str(ip) for ip in ips]
        if sans:
            args += ["-addext", "subjectAltName=" + ",".join(sans)]
        result = _openssl(args)
    if result.returncode != 0:
        raise StandinError("openssl could not make a certificate request: %s" % result.stderr.decode(errors="replace").strip())
    return result.stdout


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def parse(pem: bytes) -> dict:
    """Subject, SANs, public key and requested extensions of a PEM request; CsrError when it does
    not parse or its self-signature does not verify (what the apiserver's validation checks)."""
    blocks = files.pem_blocks(pem)
    if not blocks or blocks[0][0] != b"CERTIFICATE REQUEST":
        raise CsrError("PEM block type must be CERTIFICATE REQUEST")
    with _workdir() as work:
        path = _write(work, "csr.pem", pem)
        text = _openssl(["req", "-in", path, "-noout", "-text", "-nameopt", "sep_multiline,sname,utf8", "-reqopt", "no_sigdump,no_version"])
        if text.returncode != 0:
            raise CsrError("the request does not parse: %s" % text.stderr.decode(errors="replace").strip().splitlines()[-1:])
        verify = _openssl(["req", "-in", path, "-noout", "-verify"])
        # OpenSSL 3.0 exits 0 even when the self-signature does not verify: read what it says.
        if verify.returncode != 0 or b"verify OK" not in verify.stdout + verify.stderr:
            raise CsrError("the request's signature does not verify")
        pubkey = _openssl(["req", "-in", path, "-noout", "-pubkey"]).stdout
    info = {"subject": [], "cn": "", "orgs": [], "dns": [], "ips": [], "emails": [], "uris": [], "key_type": "",
            "extensions": [], "public_key": pubkey}
    lines = text.stdout.decode("utf-8", "replace").splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped == "Subject:":
            for attr in lines[index + 1:]:
                if _indent(attr) <= _indent(line):
                    break
                key, _sep, value = attr.strip().partition("=")
                info["subject"].append((key, value))
        elif stripped.startswith("Public Key Algorithm:"):
            info["key_type"] = {"id-ecPublicKey": "ecdsa", "rsaEncryption": "rsa", "ED25519": "ed25519"}.get(
                stripped.split(":", 1)[1].strip(), stripped.split(":", 1)[1].strip())
        elif stripped.startswith("X509v3 "):
            name = stripped.split(":", 1)[0]
            info["extensions"].append(name)
            if name == "X509v3 Subject Alternative Name" and index + 1 < len(lines):
                _sans(lines[index + 1].strip(), info)
    info["cn"] = ([v for k, v in info["subject"] if k == "CN"] or [""])[-1]
    info["orgs"] = [v for k, v in info["subject"] if k == "O"]
    return info


def _sans(line: str, info: dict) -> None:
    for item in filter(None, (part.strip() for part in line.split(", "))):
        kind, _sep, value = item.partition(":")
        if kind == "DNS":
            info["dns"].append(value)
        elif kind == "IP Address":
            info["ips"].append(str(ipaddress.ip_address(value)))
        elif kind == "email":
            info["emails"].append(value)
        elif kind == "URI":
            info["uris"].append(value)
        else:
            raise CsrError("subject alternative name of unknown kind: %s" % item)


def _asn1_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y%m%d%H%M%SZ")


def sign(request: dict, csr_pem: bytes, ca_cert: str, ca_key: str, usages: list, not_before: datetime.datetime,
         not_after: datetime.datetime) -> bytes:
    """Sign like the controller-manager's signer: subject and SANs from the request, key usages from
    spec.usages, CA:FALSE, nothing else the request asks for. Returns the certificate PEM."""
    key_usages = sorted({KEY_USAGES[u] for u in usages if u in KEY_USAGES})
    ext_usages = sorted({EXT_KEY_USAGES[u] for u in usages if u in EXT_KEY_USAGES})
    unknown = [u for u in usages if u not in KEY_USAGES and u not in EXT_KEY_USAGES]
    if unknown:
        raise CsrError("unknown key usage(s) %s" % ", ".join(unknown))
    ext = ["basicConstraints = critical,CA:FALSE"]
    if key_usages:
        ext.append("keyUsage = critical," + ",".join(key_usages))
    if ext_usages:
        ext.append("extendedKeyUsage = " + ",".join(ext_usages))
    sans = (["DNS:" + v for v in request["dns"]] + ["IP:" + v for v in request["ips"]] + ["email:" + v for v in request["emails"]]
            + ["URI:" + v for v in request["uris"]])
    if sans:
        ext.append("subjectAltName = " + ",".join(sans))
    with _workdir() as work:
        _write(work, "index.txt", b"")
        result = _openssl(["ca", "-batch", "-config", _write(work, "ca.cnf", _CA_CONFIG.format(dir=work)), "-in", _write(work, "csr.pem", csr_pem),
                           "-cert", ca_cert, "-keyfile", ca_key, "-startdate", _asn1_time(not_before), "-enddate", _asn1_time(not_after),
                           "-extfile", _write(work, "ext.cnf", "\n".join(ext) + "\n"), "-notext", "-preserveDN", "-out", os.path.join(work, "out.pem")])
        if result.returncode != 0:
            raise StandinError("openssl could not sign the request: %s" % result.stderr.decode(errors="replace").strip())
        with open(os.path.join(work, "out.pem"), "rb") as handle:
            return handle.read()


def cert_info(pem: bytes) -> dict:
    """Subject, SANs and validity of the first certificate in pem (CPython's own decoder)."""
    with _workdir() as work:
        return files.decode_cert(_write(work, "cert.pem", pem))
