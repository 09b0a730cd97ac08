# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS servers and clients: HTTP(S) servers on threads, self-signed serving certs, the healthz client."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time

from . import files, log
from .log import StandinError

CONNECT_TIMEOUT_ENV = "KUBEBIN_STANDIN_CONNECT_TIMEOUT"


def server_context(cert_path: str, key_path: str, client_ca_pem: str | None = None) -> ssl.SSLContext:
    """Serve cert/key; when client_ca_pem is given, ask for client certificates and verify them
    (CERT_OPTIONAL: a client without certificate still connects and is answered 401, like the
    apiserver; a certificate from another CA fails the handshake, like Go's VerifyClientCertIfGiven)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    context.set_alpn_protocols(["http/1.1"])
    if client_ca_pem:
        context.load_verify_locations(cadata=client_ca_pem)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def self_signed(hosts: list, label: str) -> tuple:
    """Self-signed serving certificate, as the real components make when given none."""
    openssl = shutil.which("openssl")
    if not openssl:
        raise StandinError("no --tls-cert-file given and no openssl binary to make a self-signed serving certificate")
    workdir = files.scratch()
    cert_path = workdir.write(label + "-selfsigned.crt", b"")
    key_path = workdir.write(label + "-selfsigned.key", b"")
    sans = ",".join(("IP:%s" % host) if _is_ip(host) else ("DNS:%s" % host) for host in hosts)
    command = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
               "-keyout", key_path, "-out", cert_path, "-days", "365", "-subj", "/CN=%s@%d" % (hosts[0], int(time.time())),
               "-addext", "subjectAltName=" + sans]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    if result.returncode != 0:
        raise StandinError("openssl could not make a self-signed certificate: %s" % result.stderr.strip())
    log.ok("self-signed serving certificate for %s (no certificate file given)" % ", ".join(hosts))
    return cert_path, key_path


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


def split_host_port(value: str, default_port: int) -> tuple:
    """'1.2.3.4:10256', '[::]:10256', '0.0.0.0' -> (host, port)."""
    if value.startswith("["):
        host, _sep, rest = value[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if value.count(":") == 1:
        host, port = value.split(":")
        return host or "0.0.0.0", int(port)
    return value, default_port


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple, handler, tls: ssl.SSLContext | None, app) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.tls = tls
        self.app = app
        super().__init__(address, handler)

    def finish_request(self, request, client_address) -> None:
        # TLS handshake on the worker thread, so one slow or bad client never blocks accept().
        if self.tls is None:
            self.RequestHandlerClass(request, client_address, self)
            return
        request.settimeout(30)
        try:
            tls_sock = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.info("TLS handshake from %s refused: %s" % (client_address[0], getattr(exc, "reason", None) or exc))
            return
        try:
            self.RequestHandlerClass(tls_sock, client_address, self)
        finally:
            tls_sock.close()


class Handler(http.server.BaseHTTPRequestHandler):
    """Routes every request to server.app(handler, method) -> (status, body object or bytes, content type)."""

    protocol_version = "HTTP/1.1"
    server_version = "kubebin-standin"

    def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
        return

    def peer_identity(self):
        """(CN, [O...]) of a verified client certificate, else None."""
        getpeercert = getattr(self.connection, "getpeercert", None)
        cert = getpeercert() if getpeercert else None
        return files.subject_cn_o(cert) if cert else None

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        status, payload, ctype = self.server.app(self, method)
        if not isinstance(payload, bytes):
            payload = (json.dumps(payload) + "\n").encode() if ctype == "application/json" else str(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="kubernetes-master"')
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # pylint: disable=invalid-name
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # pylint: disable=invalid-name
        self._dispatch("POST")

    def do_PUT(self) -> None:  # pylint: disable=invalid-name
        self._dispatch("PUT")

    def do_PATCH(self) -> None:  # pylint: disable=invalid-name
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:  # pylint: disable=invalid-name
        self._dispatch("DELETE")


def serve(host: str, port: int, app, tls: ssl.SSLContext | None, what: str) -> _Server:
    """Bind now (so a busy port fails the start), serve on a daemon thread."""
    try:
        server = _Server((host, port), Handler, tls, app)
    except OSError as exc:
        raise StandinError("%s: cannot listen on %s:%d: %s" % (what, host, port, exc.strerror or exc)) from None
    threading.Thread(target=server.serve_forever, name=what, daemon=True).start()
    log.ok("%s listening on %s %s:%d" % (what, "https" if tls else "http", host, port))
    return server


def health_app(paths=("/healthz", "/livez", "/readyz")):
    """Health endpoints that answer everyone, like the components' default always-allow paths."""
    def app(handler, method):
        path = handler.path.split("?", 1)[0]
        if method in ("GET", "HEAD") and path in paths:
            return 200, b"ok", "text/plain; charset=utf-8"
        if method in ("GET", "HEAD") and path == "/metrics":
            return 200, b"# kubebin stand-in: no metrics\n", "text/plain; version=0.0.4"
        return 404, b"404 page not found\n", "text/plain; charset=utf-8"
    return app


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return True
    if isinstance(exc, ssl.SSLError):
        return False
    return isinstance(exc, (OSError, http.client.HTTPException))


def get(kubecfg, path: str, timeout: float = 10.0) -> tuple:
    conn = http.client.HTTPSConnection(kubecfg.host, kubecfg.port, context=kubecfg.ssl_context(), timeout=timeout)
    try:
        conn.request("GET", path, headers=dict({"Accept": "application/json, */*", "User-Agent": "kubebin-standin"}, **kubecfg.headers()))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def request_json(kubecfg, method: str, path: str, body=None, timeout: float = 10.0) -> tuple:
    conn = http.client.HTTPSConnection(kubecfg.host, kubecfg.port, context=kubecfg.ssl_context(), timeout=timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "kubebin-standin"}
        conn.request(method, path, body=payload, headers=dict(headers, **kubecfg.headers()))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_healthz(kubecfg, what: str) -> None:
    """GET /healthz until 200; a TLS verification failure or a rejected identity is fatal at once."""
    limit = float(os.environ.get(CONNECT_TIMEOUT_ENV) or 120)
    deadline = time.monotonic() + limit
    last = "no attempt"
    while True:
        try:
            status, body = get(kubecfg, "/healthz")
        except Exception as exc:  # pylint: disable=broad-except
            if not _retryable(exc):
                reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
                raise StandinError("%s: TLS with %s failed: %s (server certificate checked against the kubeconfig CA and "
                                   "host %r; %s)" % (what, kubecfg.server, reason, kubecfg.host, kubecfg.who())) from None
            last = "%s: %s" % (type(exc).__name__, exc)
        else:
            if status == 200:
                log.ok("%s: %s/healthz answered 200 to our %s (server certificate verified against the kubeconfig CA and host %s)"
                       % (what, kubecfg.server, kubecfg.who(), kubecfg.host))
                return
            if status in (401, 403):
                raise StandinError("%s: %s rejected our %s: HTTP %d %s"
                                   % (what, kubecfg.server, kubecfg.who(), status, body[:200].decode("utf-8", "replace")))
            last = "HTTP %d %s" % (status, body[:200].decode("utf-8", "replace"))
        if time.monotonic() >= deadline:
            raise StandinError("%s: %s/healthz did not answer 200 within %.0f s (last: %s)" % (what, kubecfg.server, limit, last))
        log.info("%s: waiting for %s/healthz (%s)" % (what, kubecfg.server, last))
        time.sleep(2)
