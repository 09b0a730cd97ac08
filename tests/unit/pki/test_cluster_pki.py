"""The one-call cluster PKI (module cluster_pki): same files as the parts, nothing written on a
rerun or in check mode, and TLS-bootstrap mode with a token kubeconfig that real kubectl uses."""

from __future__ import annotations

import http.server
import json
import os
import ssl
import subprocess
import threading

import pytest
import yaml

from ansible_collections.kubebin.cluster.plugins.module_utils.pki_cluster import ensure_cluster_pki
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError
from pki_helpers import find_tool, hosts, openssl, snapshot

SETTINGS = {"api_endpoint": "127.0.0.1", "api_endpoint_port": 6443, "key_algorithm": "ecdsa-p256"}


def test_makes_every_part_and_a_rerun_writes_nothing(tmp_path):
    directory = str(tmp_path / "pki")
    first = ensure_cluster_pki(directory, hosts(), SETTINGS)
    assert first["changed"] is True
    assert first["summary"]["created"] == first["summary"]["total"] == 3 + 10 + 3 * 2 + 3 * 2
    assert first["service_account_key"]["private_key"] == "created"
    assert first["encryption_config"]["status"] == "created"
    assert first["bootstrap_token"] is None
    assert first["kubeconfigs"]["total"] == 5 + 3
    files = snapshot(directory)
    for name in ("sa.key", "sa.pub", "encryption-config.yaml", "admin.conf", "nodes/w2/kubelet.conf",
                 "nodes/w2/kubelet.crt", "etcd/members/cp3/peer.key"):
        assert name in files, name
    assert "bootstrap-token.yaml" not in files
    assert oct(os.stat(os.path.join(directory, "sa.key")).st_mode & 0o777) == "0o600"
    openssl("verify", "-CAfile", os.path.join(directory, "ca.crt"), os.path.join(directory, "nodes/w2/kubelet.crt"))

    again = ensure_cluster_pki(directory, hosts(), SETTINGS)
    assert again["changed"] is False
    assert again["summary"]["unchanged"] == again["summary"]["total"]
    assert again["kubeconfigs"]["changed_paths"] == []
    assert snapshot(directory) == files


def test_check_mode_writes_nothing(tmp_path):
    directory = tmp_path / "pki"
    result = ensure_cluster_pki(str(directory), hosts(), SETTINGS, check_mode=True)
    assert result["changed"] is True
    assert result["summary"]["created"] == result["summary"]["total"]
    assert not directory.exists()


def test_invalid_spec_fails_before_writing(tmp_path):
    directory = tmp_path / "pki"
    bad = dict(SETTINGS, apiserver_extra_sans=["not a name!"])
    try:
        ensure_cluster_pki(str(directory), hosts(), bad)
    except Exception as exc:  # PkiError names the variable
        assert "kubebin_apiserver_extra_sans[0]" in str(exc)
    else:
        raise AssertionError("a bad SAN was accepted")
    assert not directory.exists()


def test_negative_token_lifetime_fails_before_writing(tmp_path):
    directory = tmp_path / "pki"
    with pytest.raises(PkiError, match="ttl_hours must be >= 0"):
        ensure_cluster_pki(str(directory), hosts(), dict(SETTINGS, kubelet_tls_bootstrap=True), bootstrap_token_ttl_hours=-1)
    assert not directory.exists()


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_GET(self):  # noqa: N802 - the http.server API
        self.seen.append((self.path.split("?")[0], self.headers.get("Authorization")))
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve_apiserver_cert(directory):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(directory, "apiserver.crt"), os.path.join(directory, "apiserver.key"))
    server = http.server.HTTPServer(("127.0.0.1", 0), _RecordingHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_tls_bootstrap_mode_gives_nodes_a_token_kubeconfig(tmp_path):
    directory = str(tmp_path / "pki")
    result = ensure_cluster_pki(directory, hosts(), dict(SETTINGS, kubelet_tls_bootstrap=True))
    files = snapshot(directory)
    assert not any(name.startswith("nodes/") for name in files), "no per-node certificates in TLS-bootstrap mode"
    token_doc = yaml.safe_load(files["bootstrap-token.yaml"][1])["stringData"]
    token = "%s.%s" % (token_doc["token-id"], token_doc["token-secret"])
    assert result["bootstrap_token"]["token_id"] == token_doc["token-id"]
    assert token_doc["token-secret"] not in json.dumps(result), "the token secret must never be returned"
    assert token_doc["auth-extra-groups"] == "system:bootstrappers:kubebin:default-node-token"

    # Real kubectl reads the kubeconfig, verifies the apiserver certificate against the embedded CA
    # and sends the bootstrap token.
    server = _serve_apiserver_cert(directory)
    try:
        conf = yaml.safe_load(files["bootstrap-kubelet.conf"][1])
        conf["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % server.server_address[1]
        kubeconfig = tmp_path / "bootstrap.conf"
        kubeconfig.write_text(yaml.safe_dump(conf))
        _RecordingHandler.seen.clear()
        out = subprocess.run([find_tool("kubectl"), "--kubeconfig", str(kubeconfig), "--request-timeout=10s",
                              "get", "--raw", "/healthz"], capture_output=True, text=True, timeout=30, check=False)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "ok"
        assert ("/healthz", "Bearer " + token) in _RecordingHandler.seen
    finally:
        server.shutdown()

    again = ensure_cluster_pki(directory, hosts(), dict(SETTINGS, kubelet_tls_bootstrap=True))
    assert again["changed"] is False
    assert snapshot(directory) == files
