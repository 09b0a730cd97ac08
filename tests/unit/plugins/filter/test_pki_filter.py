"""Filters: inventory compaction errors surface as filter errors; expiry report from slurp output."""

from __future__ import annotations

import base64

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.filter import pki as filters
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_engine import ensure_pki
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_kubeconfig import ensure_kubeconfigs


def test_filters_are_registered():
    assert set(filters.FilterModule().filters()) == {"pki_hosts", "pki_spec", "pki_attach_contents", "pki_expiry_report",
                                                     "pki_expiry_line", "pki_decrypt_key", "pki_restart_marks"}


def test_spec_errors_become_filter_errors():
    with pytest.raises(AnsibleFilterError, match="kube_control_plane is empty"):
        filters.pki_spec([{"name": "a", "ips": ["10.0.0.1"], "groups": ["etcd"]}], {})


def test_attach_contents_requires_equal_lengths():
    assert filters.pki_attach_contents([{"src": "ca.crt", "dest": "/a"}], ["x"]) == [{"dest": "/a", "content": "x"}]
    with pytest.raises(AnsibleFilterError):
        filters.pki_attach_contents([{"dest": "/a"}], [])


def test_expiry_report_reads_certificates_and_kubeconfigs(tmp_path):
    ensure_pki(str(tmp_path), [{"name": "ca", "common_name": "ca"},
                               {"name": "admin", "ca": "ca", "common_name": "kubernetes-admin", "validity_days": 20}],
               key_algorithm="ecdsa-p256")
    ensure_kubeconfigs(str(tmp_path), [{"path": "admin.conf", "server": "https://192.0.2.1:6443", "user": "kubernetes-admin",
                                        "ca_file": "ca.crt", "client_cert_file": "admin.crt", "client_key_file": "admin.key"}])

    def slurp(name):
        return {"source": str(tmp_path / name), "content": base64.b64encode((tmp_path / name).read_bytes()).decode()}

    rows = filters.pki_expiry_report([slurp("ca.crt"), slurp("admin.conf"), {"skipped": True}], "cp1")
    assert [(r["path"].rsplit("/", 1)[1], r["what"], r["days_left"]) for r in rows] == [
        ("admin.conf", "client-certificate-data", 19),
        ("admin.conf", "certificate-authority-data", 3649),
        ("ca.crt", "certificate", 3649),
    ]
    assert "kubernetes-admin" in filters.pki_expiry_line(rows[0]) and "19 days left" in filters.pki_expiry_line(rows[0])


def test_restart_marks_watch_only_their_own_sets_files():
    by_set = {
        "kube_apiserver": [{"dest": "/p/ca.crt"}, {"dest": "/p/apiserver.crt"}],
        "kube_scheduler": [{"dest": "/k/scheduler.conf"}],
        "admin": [{"dest": "/k/admin.conf"}],
    }
    marks = {"kube_apiserver": "/k/kube-apiserver.restart-pending", "kube_scheduler": "/k/kube-scheduler.restart-pending"}
    assert filters.pki_restart_marks(marks, by_set, ["kube_apiserver", "kube_scheduler", "admin"]) == {
        "/k/kube-apiserver.restart-pending": ["/p/apiserver.crt", "/p/ca.crt"],
        "/k/kube-scheduler.restart-pending": ["/k/scheduler.conf"],
    }
    # A set that is not pushed in this call gets no mark; no mark at all means {}.
    assert filters.pki_restart_marks(marks, by_set, ["kube_scheduler"]) == {"/k/kube-scheduler.restart-pending": ["/k/scheduler.conf"]}
    assert filters.pki_restart_marks({}, by_set, ["admin"]) == {}


def test_restart_marks_refuse_an_unknown_set():
    with pytest.raises(AnsibleFilterError, match="no file set named kube_sheduler"):
        filters.pki_restart_marks({"kube_sheduler": "/k/m"}, {"kube_scheduler": []}, ["kube_scheduler"])
