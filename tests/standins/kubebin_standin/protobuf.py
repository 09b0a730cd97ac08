# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decoding of the Kubernetes protobuf wire format (application/vnd.kubernetes.protobuf) for the
one type a client sends that way in our paths: kubectl's typed client PUTs CertificateSigningRequest
(`kubectl certificate approve|deny`) as protobuf. Field numbers are those of the upstream
generated.proto files (k8s.io/api/certificates/v1, k8s.io/apimachinery/pkg/apis/meta/v1). Anything
else in protobuf is refused with 415 by the caller."""

from __future__ import annotations

import base64
import datetime

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def fields(data: bytes) -> list:
    """(field number, value) of every field: int for varint/fixed, bytes for length-delimited."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
            if pos > len(data):
                raise ProtobufError("truncated field %d" % number)
        elif wire == 5:
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        else:
            raise ProtobufError("wire type %d of field %d is not supported" % (wire, number))
        out.append((number, value))
    return out


def _time(data: bytes):
    """metav1.Time {seconds = 1, nanos = 2}; the zero time is an empty message (unset)."""
    items = dict(fields(data))
    if 1 not in items:
        return None
    seconds = items[1] - (1 << 64) if items[1] >= 1 << 63 else items[1]
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _str(data: bytes) -> str:
    return data.decode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _int32(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _map(entries: list) -> dict:
    result = {}
    for entry in entries:
        items = dict(fields(entry))
        result[_str(items.get(1, b""))] = _str(items.get(2, b""))
    return result


# message -> field number -> (json name, converter, repeated)
_SCHEMAS = {
    "CertificateSigningRequest": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "CertificateSigningRequestSpec", False),
                                  3: ("status", "CertificateSigningRequestStatus", False)},
    "ObjectMeta": {1: ("name", _str, False), 2: ("generateName", _str, False), 3: ("namespace", _str, False), 5: ("uid", _str, False),
                   6: ("resourceVersion", _str, False), 7: ("generation", _int32, False), 8: ("creationTimestamp", _time, False),
                   9: ("deletionTimestamp", _time, False), 11: ("labels", "map", True), 12: ("annotations", "map", True),
                   14: ("finalizers", _str, True)},
    "CertificateSigningRequestSpec": {1: ("request", _b64, False), 2: ("username", _str, False), 3: ("uid", _str, False),
                                      4: ("groups", _str, True), 5: ("usages", _str, True), 7: ("signerName", _str, False),
                                      8: ("expirationSeconds", _int32, False)},
    "CertificateSigningRequestStatus": {1: ("conditions", "CertificateSigningRequestCondition", True), 2: ("certificate", _b64, False)},
    "CertificateSigningRequestCondition": {1: ("type", _str, False), 2: ("reason", _str, False), 3: ("message", _str, False),
                                           4: ("lastUpdateTime", _time, False), 5: ("lastTransitionTime", _time, False),
                                           6: ("status", _str, False)},
}


def _message(data: bytes, schema: str) -> dict:
    result, maps = {}, {}
    for number, value in fields(data):
        if number not in _SCHEMAS[schema]:
            continue  # fields the stand-in's CSR semantics never read (ownerReferences, managedFields, extra)
        name, convert, repeated = _SCHEMAS[schema][number]
        if convert == "map":
            maps.setdefault(name, []).append(value)
            continue
        converted = _message(value, convert) if isinstance(convert, str) else convert(value)
        if converted is None:
            continue
        if repeated:
            result.setdefault(name, []).append(converted)
        else:
            result[name] = converted
    for name, entries in maps.items():
        result[name] = _map(entries)
    return result


def decode(body: bytes, kind: str) -> dict:
    """The JSON form of a protobuf-encoded object (runtime.Unknown envelope with TypeMeta)."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic prefix")
    envelope = dict(fields(body[len(MAGIC):]))
    type_meta = dict(fields(envelope.get(1, b"")))
    api_version, sent_kind = _str(type_meta.get(1, b"")), _str(type_meta.get(2, b""))
    if sent_kind != kind or kind not in _SCHEMAS:
        raise ProtobufError("protobuf is decoded only for CertificateSigningRequest, got %s %s" % (api_version, sent_kind))
    if envelope.get(3) or (envelope.get(4) and _str(envelope[4]) not in ("", "application/vnd.kubernetes.protobuf")):
        raise ProtobufError("content encoding/type of the envelope is not plain protobuf")
    obj = {"apiVersion": api_version, "kind": sent_kind}
    obj.update(_message(envelope.get(2, b""), kind))
    return obj
