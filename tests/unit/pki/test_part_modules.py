"""The part modules (pki, service_account_key, encryption_config, bootstrap_token, kubeconfig) run
by real Ansible: the pki role uses cluster_pki, so these are proved here for users who compose them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from pki_helpers import find_tool, snapshot

PLAY = """
- hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: {python}
  tasks:
    - kubebin.cluster.pki:
        path: "{{{{ dir }}}}"
        certificates:
          - {{name: ca, common_name: kubernetes}}
          - {{name: admin, ca: ca, common_name: kubernetes-admin, organizations: [kubeadm:cluster-admins],
             extended_key_usage: [client_auth]}}
      register: pki
    - kubebin.cluster.service_account_key: {{path: "{{{{ dir }}}}/sa.key", public_path: "{{{{ dir }}}}/sa.pub"}}
      register: sa
    - kubebin.cluster.encryption_config: {{path: "{{{{ dir }}}}/encryption-config.yaml"}}
      register: enc
    - kubebin.cluster.bootstrap_token: {{path: "{{{{ dir }}}}/bootstrap-token.yaml", ttl_hours: 2}}
      register: token
      no_log: true
    - kubebin.cluster.kubeconfig:
        base_dir: "{{{{ dir }}}}"
        kubeconfigs:
          - {{path: admin.conf, server: "https://10.0.0.1:6443", user: kubernetes-admin, ca_file: ca.crt,
             client_cert_file: admin.crt, client_key_file: admin.key}}
          - {{path: bootstrap.conf, server: "https://10.0.0.1:6443", user: kubelet-bootstrap, ca_file: ca.crt,
             token: "{{{{ token.token }}}}"}}
      register: conf
    - ansible.builtin.copy:
        dest: "{{{{ dir }}}}/../results.json"
        content: "{{{{ {{'pki': pki.changed, 'sa': sa.changed, 'enc': enc.changed, 'token': token.changed,
                     'conf': conf.changed, 'summary': pki.summary}} | to_json }}}}"
        mode: "0644"
"""


def run(tmp_path, *args):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(python=sys.executable))
    proc = subprocess.run([find_tool("ansible-playbook"), str(play), "-e", "dir=%s" % (tmp_path / "pki")] + list(args),
                          capture_output=True, text=True, timeout=300, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads((tmp_path / "results.json").read_text()), proc.stdout


def test_each_part_module_creates_then_keeps(tmp_path):
    first, out = run(tmp_path)
    assert all(first[k] for k in ("pki", "sa", "enc", "token", "conf")), first
    assert first["summary"]["created"] == 2
    token = yaml.safe_load((tmp_path / "pki" / "bootstrap-token.yaml").read_text())["stringData"]
    assert token["token-secret"] not in out
    conf = yaml.safe_load((tmp_path / "pki" / "bootstrap.conf").read_text())
    assert conf["users"][0]["user"]["token"] == "%s.%s" % (token["token-id"], token["token-secret"])
    before = snapshot(str(tmp_path / "pki"))
    again, _out = run(tmp_path)
    assert not any(again[k] for k in ("pki", "sa", "enc", "token", "conf")), again
    assert snapshot(str(tmp_path / "pki")) == before


def test_part_modules_in_check_mode_write_nothing(tmp_path):
    proc = subprocess.run([find_tool("ansible-playbook"), "--check", "/dev/stdin", "-e", "dir=%s" % (tmp_path / "pki")],
                          input=PLAY.format(python=sys.executable).rsplit("    - ansible.builtin.copy:", 1)[0],
                          capture_output=True, text=True, timeout=300, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "changed=5" in proc.stdout
    assert not (tmp_path / "pki").exists()
