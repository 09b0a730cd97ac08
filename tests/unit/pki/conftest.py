"""Shared fixtures of the PKI tests: the generated PKI of a small test cluster."""

from __future__ import annotations

import pytest

from pki_helpers import free_port, generate, hosts


@pytest.fixture(scope="session")
def api_port():
    return free_port()


@pytest.fixture(scope="session")
def cluster_pki(tmp_path_factory, api_port):
    """The whole PKI of a 3 control-plane/etcd + 2 worker cluster, default RSA 2048, made once.

    All host-side kubeconfigs point at https://127.0.0.1:<api_port> (the endpoint), which the
    kubectl test serves with the apiserver certificate.
    """
    directory = str(tmp_path_factory.mktemp("cluster") / "pki")
    settings = {"api_endpoint": "127.0.0.1", "api_endpoint_port": api_port, "apiserver_extra_sans": ["api.example.test"]}
    spec, certs, confs = generate(directory, hosts(), settings)
    return {"dir": directory, "spec": spec, "certs": certs, "confs": confs, "port": api_port}
