"""playbooks/kubeconfig_user.yml on the live cluster: the user's kubeconfig works with the real
kubectl against the real apiservers, within its binding only, is renewed by a rerun, loses its
rights when the binding is deleted, and stops working when its short validity ends."""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import subprocess
import time

import pytest
import testinfra
from cryptography import x509
from testinfra.utils.ansible_runner import AnsibleRunner

INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
CONTROL_PLANE = sorted(AnsibleRunner(INVENTORY).get_hosts("kube_control_plane"))
PKI_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "pki")
PLAYBOOK = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "playbooks", "kubeconfig_user.yml")
USER = "kubebin-test-viewer"
GROUP = "kubebin-testers"
BINDING = "kubebin-user-" + USER
# Short enough to wait for in CI, long enough for the checks before it ends.
VALIDITY_MINUTES = 2
ADMIN = "/usr/local/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=20s"
USER_CONF = "/root/kubebin-test-user.conf"


def _cp1():
    return testinfra.get_host("ansible://%s" % CONTROL_PLANE[0], ansible_inventory=INVENTORY)


def _play(*extra):
    run = subprocess.run([shutil.which("ansible-playbook"), "-i", INVENTORY, PLAYBOOK, "-e", "user=" + USER] + list(extra),
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    return run.stdout


def _not_after():
    with open(os.path.join(PKI_DIR, "users", USER + ".crt"), "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read()).not_valid_after_utc


def _as_user(*args):
    return _cp1().run("/usr/local/bin/kubectl --kubeconfig %s --request-timeout=20s %s" % (USER_CONF, " ".join(args)))


@pytest.fixture(scope="module")
def issued():
    """Issue the user, put its kubeconfig on the first control-plane host; clean up afterwards."""
    output = _play("-e", json.dumps({"user_groups": [GROUP]}), "-e", "validity=%dm" % VALIDITY_MINUTES, "-e", "clusterrole=view")
    with open(os.path.join(PKI_DIR, "users", USER + ".conf"), "rb") as handle:
        encoded = base64.b64encode(handle.read()).decode("ascii")
    _cp1().run_test("umask 077 && echo %s | base64 -d > %s" % (encoded, USER_CONF))
    yield {"output": output, "not_after": _not_after()}
    _cp1().run("rm -f %s; %s delete clusterrolebinding %s --ignore-not-found" % (USER_CONF, ADMIN, BINDING))
    for suffix in (".crt", ".key", ".conf"):
        path = os.path.join(PKI_DIR, "users", USER + suffix)
        if os.path.exists(path):
            os.remove(path)


def test_the_certificate_carries_the_user_its_groups_and_the_short_validity(issued):
    with open(os.path.join(PKI_DIR, "users", USER + ".crt"), "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    assert cert.subject.rfc4514_string() == "CN=%s,O=%s" % (USER, GROUP)
    lifetime = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(0) < lifetime <= datetime.timedelta(minutes=VALIDITY_MINUTES)
    assert oct(os.stat(os.path.join(PKI_DIR, "users", USER + ".key")).st_mode & 0o777) == "0o600"
    assert "%s [groups %s]: notAfter" % (USER, GROUP) in issued["output"]
    assert "ClusterRoleBinding %s: ClusterRole view" % BINDING in issued["output"]


def test_the_apiserver_knows_the_user_and_its_groups(issued):
    whoami = _as_user("auth", "whoami", "-o", "json")
    assert whoami.rc == 0, whoami.stderr
    info = json.loads(whoami.stdout)["status"]["userInfo"]
    assert info["username"] == USER
    assert GROUP in info["groups"] and "system:authenticated" in info["groups"]


def test_the_binding_grants_view_and_nothing_more(issued):
    pods = _as_user("get", "pods", "--all-namespaces")
    assert pods.rc == 0, pods.stderr
    secrets = _as_user("get", "secrets", "--namespace=kube-system")
    assert secrets.rc != 0
    assert 'User "%s" cannot list resource "secrets"' % USER in secrets.stderr, secrets.stderr
    assert _as_user("auth", "can-i", "create", "deployments").stdout.strip() == "no"


def test_a_rerun_renews_and_state_absent_takes_the_rights_away_until_expiry(issued):
    time.sleep(2)
    _play("-e", json.dumps({"user_groups": [GROUP]}), "-e", "validity=%dm" % VALIDITY_MINUTES, "-e", "clusterrole=view")
    assert _not_after() > issued["not_after"]
    output = _play("-e", "state=absent")
    assert "%s [groups %s]: notAfter" % (USER, GROUP) in output and "no binding" in output, output[-2000:]
    gone = _cp1().run("%s get clusterrolebinding %s" % (ADMIN, BINDING))
    assert gone.rc != 0 and "NotFound" in gone.stderr, gone.stderr
    # Still authenticated (a certificate cannot be revoked), but no longer authorized.
    pods = _as_user("get", "pods", "--all-namespaces")
    assert pods.rc != 0 and "Forbidden" in pods.stderr, pods.stderr


def test_the_kubeconfig_stops_working_when_its_validity_ends(issued):
    # The copy on the host holds the first certificate; wait past its notAfter.
    wait = (issued["not_after"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds() + 5
    if wait > 0:
        time.sleep(wait)
    expired = _as_user("auth", "whoami")
    assert expired.rc != 0
    assert "Unauthorized" in expired.stderr, expired.stderr
