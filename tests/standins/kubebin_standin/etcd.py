# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""etcd v3 over its JSON gateway (POST /v3/kv/...; etcd 3.4-3.6), mutual TLS."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import urllib.parse

from .log import StandinError


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def prefix_end(prefix: bytes) -> bytes:
    """range_end that selects every key starting with prefix."""
    end = bytearray(prefix)
    while end and end[-1] == 0xFF:
        end.pop()
    if not end:
        return b"\0"
    end[-1] += 1
    return bytes(end)


class Etcd:
    """A client for the --etcd-servers list; each call tries the servers in order."""

    def __init__(self, servers: list, ca_pem: str, cert_path: str, key_path: str) -> None:
        self.servers = [urllib.parse.urlsplit(server) for server in servers]
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.context.load_verify_locations(cadata=ca_pem)
        self.context.load_cert_chain(cert_path, key_path)

    def _call(self, path: str, body: dict) -> dict:
        errors = []
        for url in self.servers:
            if url.scheme != "https":
                raise StandinError("--etcd-servers %s: the collection must use https:// (client certificates)" % url.geturl())
            conn = http.client.HTTPSConnection(url.hostname, url.port or 2379, context=self.context, timeout=10)
            try:
                conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                if response.status == 200:
                    return json.loads(payload)
                errors.append("%s: HTTP %d %s" % (url.geturl(), response.status, payload[:200]))
            except ssl.SSLCertVerificationError as exc:
                raise StandinError("etcd %s: server certificate does not verify against --etcd-cafile: %s"
                                   % (url.geturl(), exc.verify_message)) from None
            except (OSError, http.client.HTTPException, ValueError) as exc:
                errors.append("%s: %s" % (url.geturl(), exc))
            finally:
                conn.close()
        raise ConnectionError("; ".join(errors))

    def put(self, key: bytes, value: bytes) -> int:
        reply = self._call("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})
        return int(reply.get("header", {}).get("revision", 0))

    def get(self, key: bytes):
        kvs = self._call("/v3/kv/range", {"key": _b64(key)}).get("kvs") or []
        return (base64.b64decode(kvs[0]["value"]), int(kvs[0]["mod_revision"])) if kvs else (None, 0)

    def list(self, prefix: bytes) -> list:
        reply = self._call("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))})
        return [(base64.b64decode(kv["value"]), int(kv["mod_revision"])) for kv in reply.get("kvs") or []]

    def delete(self, key: bytes) -> int:
        return int(self._call("/v3/kv/deleterange", {"key": _b64(key)}).get("deleted", 0))
