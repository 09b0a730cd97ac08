"""Render every control-plane unit and config file with the roles' own defaults and vars (real
ansible-playbook, no host) and check each flag against the upstream flag reference, every named
file against what the collection puts on the host, and the secure defaults. Independent of the
stand-ins: nothing here runs a component.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
REFERENCE = os.path.join(REPO, "tests", "unit", "reference", "k8s-flags.json")
CP_IPS = {"cp1": "10.0.0.11", "cp2": "10.0.0.12", "cp3": "10.0.0.13"}
UNITS = {"kube-apiserver": "kube-apiserver.service", "kube-controller-manager": "kube-controller-manager.service",
         "kube-scheduler": "kube-scheduler.service"}
# Files the control-plane roles write themselves (the rest come from the certs role).
ROLE_FILES = {"/etc/kubernetes/audit-policy.yaml", "/etc/kubernetes/authentication-config.yaml",
              "/etc/kubernetes/kube-scheduler.yaml"}
HEALTH_PATHS = ["/healthz", "/livez", "/readyz"]


def _ansible_playbook():
    found = shutil.which("ansible-playbook") or os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(found):
        pytest.skip("ansible-playbook not found")
    return found


def render(tmp_path, name, extra=None, limit=None):
    """Run render.yml for a 3 control-plane + 1 worker inventory; return {host: {file: text}}."""
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                         "children": {
                             "k8s_cluster": {"children": {
                                 "kube_control_plane": {"hosts": {h: {"ip": ip} for h, ip in CP_IPS.items()}},
                                 "kube_node": {"hosts": {"w1": {"ip": "10.0.0.21"}}}}},
                             "etcd": {"hosts": {h: None for h in CP_IPS}}}}}
    inv = tmp_path / ("%s-hosts.yml" % name)
    inv.write_text(yaml.safe_dump(inventory))
    out = tmp_path / name
    extra_file = tmp_path / ("%s-extra.json" % name)
    extra_file.write_text(json.dumps(dict(extra or {}, render_dir=str(out))))
    command = [_ansible_playbook(), "-i", str(inv), os.path.join(HERE, "render.yml"), "-e", "@%s" % extra_file]
    if limit:
        command += ["--limit", limit]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600,
                            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    rendered = {}
    for host in sorted(os.listdir(out)):
        rendered[host] = {f: (out / host / f).read_text() for f in os.listdir(out / host)}
    return rendered


def unit_flags(text):
    """[(name, value)] of the ExecStart line, in order (systemd continuation lines joined)."""
    lines, started = [], False
    for line in text.splitlines():
        if line.startswith("ExecStart="):
            started, line = True, line[len("ExecStart="):]
        if started:
            lines.append(line.rstrip("\\").strip())
            if not line.endswith("\\"):
                break
    argv = shlex.split(" ".join(lines))
    pairs = []
    for token in argv[1:]:
        assert token.startswith("--") and "=" in token, "not a --name=value flag: %r" % token
        name, _sep, value = token.partition("=")
        pairs.append((name, value))
    return argv[0], pairs


@pytest.fixture(scope="module")
def reference():
    with open(REFERENCE, encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    return render(tmp_path_factory.mktemp("render"), "default")


def _removed(reference, component):
    names = set()
    for key in reference["removed"][component]:
        names.update(word for word in key.split() if word.startswith("--"))
    return names


@pytest.mark.parametrize("component", sorted(UNITS))
def test_every_flag_is_in_the_reference_and_not_deprecated(default, reference, component):
    known = set(reference["flags"][component])
    deprecated = set(reference["deprecated"][component])
    removed = _removed(reference, component)
    for host in CP_IPS:
        binary, pairs = unit_flags(default[host][UNITS[component]])
        assert binary == "/usr/local/bin/" + component
        names = [name for name, _value in pairs]
        assert names == sorted(names), "flags are rendered sorted"
        assert len(names) == len(set(names)), "a flag is given twice"
        assert not set(names) - known, "unknown flags: %s" % (set(names) - known)
        assert not set(names) & deprecated, "deprecated flags: %s" % (set(names) & deprecated)
        assert not set(names) & removed, "removed flags: %s" % (set(names) & removed)


def _file_kind(flag):
    if flag == "--service-account-key-file":
        return "public key"
    if flag.endswith("kubeconfig"):
        return "kubeconfig"
    if flag.endswith(("-key", "-keyfile", "-key-file")):
        return "key"
    if flag.endswith(("ca-file", "cafile", "-authority", "-certificate", "-certfile", "-cert-file")):
        return "cert"
    return "other"


@pytest.mark.parametrize("component", sorted(UNITS))
def test_every_named_file_is_put_there_and_of_the_right_kind(default, component):
    """Every path a flag names is a file the certs set control_plane or these roles write, and a key
    flag names a private key (0600), a certificate flag a certificate, a kubeconfig flag a kubeconfig."""
    values = json.loads(default["cp1"]["values.json"])
    pushed = {entry["dest"]: entry for entry in values["control_plane_files"]}
    _binary, pairs = unit_flags(default["cp1"][UNITS[component]])
    named = [(name, value) for name, value in pairs if value.startswith("/") and not name.startswith("--audit-log-path")]
    assert named
    for flag, path in named:
        assert path in pushed or path in ROLE_FILES, "%s names %s, which nothing puts on the host" % (flag, path)
        kind = _file_kind(flag)
        if kind == "key":
            assert path.endswith(".key") and pushed[path]["mode"] == "0600", (flag, path)
        elif kind == "cert":
            assert path.endswith(".crt"), (flag, path)
        elif kind == "kubeconfig":
            assert path.endswith(".conf") and pushed[path]["mode"] == "0600", (flag, path)
    if component == "kube-apiserver":
        flags = dict(pairs)
        assert pushed[flags["--encryption-provider-config"]]["mode"] == "0600"
        assert flags["--service-account-key-file"].endswith("sa.pub")
        assert flags["--service-account-signing-key-file"].endswith("sa.key")


def test_apiserver_secure_defaults(default):
    for host, ip in CP_IPS.items():
        _binary, pairs = unit_flags(default[host]["kube-apiserver.service"])
        flags = dict(pairs)
        assert flags["--bind-address"] == ip and flags["--advertise-address"] == ip
        assert flags["--authorization-mode"] == "Node,RBAC"
        assert "NodeRestriction" in flags["--enable-admission-plugins"].split(",")
        assert flags["--profiling"] == "false"
        assert flags["--tls-min-version"] == "VersionTLS12"
        assert flags["--kubelet-certificate-authority"] == "/etc/kubernetes/pki/ca.crt"
        assert flags["--encryption-provider-config"] == "/etc/kubernetes/pki/encryption-config.yaml"
        assert flags["--requestheader-client-ca-file"] == "/etc/kubernetes/pki/front-proxy-ca.crt"
        assert flags["--requestheader-allowed-names"] == "front-proxy-client"
        # cp2 and cp3 run no kube-proxy: webhooks and aggregated APIs are reached at pod IPs
        assert flags["--enable-aggregator-routing"] == "true"
        assert flags["--etcd-servers"] == ",".join("https://%s:2379" % i for i in CP_IPS.values())
        assert flags["--service-account-issuer"] == "https://kubernetes.default.svc.cluster.local"
        assert flags["--secure-port"] == "6443"
        for name in ("--audit-log-path", "--audit-log-maxage", "--audit-log-maxbackup", "--audit-log-maxsize", "--audit-policy-file"):
            assert flags[name]
        assert "--anonymous-auth" not in flags, "anonymous access is limited by the authentication config instead"
        authn = yaml.safe_load(default[host]["authentication-config.yaml"])
        assert authn["apiVersion"] == "apiserver.config.k8s.io/v1" and authn["kind"] == "AuthenticationConfiguration"
        assert authn["anonymous"]["enabled"] is True
        assert sorted(c["path"] for c in authn["anonymous"]["conditions"]) == sorted(HEALTH_PATHS)
        assert "Type=notify" in default[host]["kube-apiserver.service"]
        assert "ReadWritePaths=/var/log/kubernetes" in default[host]["kube-apiserver.service"]


def _hardening(unit):
    """The directives of the unit's hardening block (after its '# Hardening' comment)."""
    block = unit[unit.index("# Hardening"):unit.index("[Install]")]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_the_three_units_share_one_hardening_block(default):
    units = default["cp1"]
    scheduler = _hardening(units["kube-scheduler.service"])
    # Nothing of a service's sandbox may be lost on the way through the shared settings.
    for line in ("UMask=0077", "NoNewPrivileges=true", "CapabilityBoundingSet=", "AmbientCapabilities=", "ProtectSystem=strict",
                 "ProtectHome=true", "PrivateTmp=true", "PrivateDevices=true", "ProtectKernelModules=true", "RestrictNamespaces=true",
                 "SystemCallFilter=@system-service", "SystemCallErrorNumber=EPERM"):
        assert line in scheduler, line
    assert not any(line.startswith(("ReadWritePaths=", "MemoryDenyWriteExecute=")) for line in scheduler)
    assert _hardening(units["kube-controller-manager.service"]) == scheduler
    # The apiserver differs only by the directory it writes its audit log to.
    apiserver = _hardening(units["kube-apiserver.service"])
    assert [line for line in apiserver if not line.startswith("ReadWritePaths=")] == scheduler
    assert [line for line in apiserver if line.startswith("ReadWritePaths=")] == ["ReadWritePaths=/var/log/kubernetes"]


def test_audit_policy_is_a_valid_policy(default):
    policy = yaml.safe_load(default["cp1"]["audit-policy.yaml"])
    assert policy["apiVersion"] == "audit.k8s.io/v1" and policy["kind"] == "Policy"
    levels = [rule["level"] for rule in policy["rules"]]
    assert set(levels) <= {"None", "Metadata", "Request", "RequestResponse"}
    secrets_rule = next(rule for rule in policy["rules"]
                        if any("secrets" in group.get("resources", []) for group in rule.get("resources", [])))
    assert secrets_rule["level"] == "Metadata", "secret contents must never reach the audit log"


def test_controller_manager_secure_defaults(default):
    _binary, pairs = unit_flags(default["cp1"]["kube-controller-manager.service"])
    flags = dict(pairs)
    assert flags["--use-service-account-credentials"] == "true"
    assert flags["--cluster-signing-cert-file"] == "/etc/kubernetes/pki/ca.crt"
    assert flags["--cluster-signing-key-file"] == "/etc/kubernetes/pki/ca.key"
    # bridge network (the default): the pod_network role allocates the node CIDRs, not the controller-manager
    assert flags["--allocate-node-cidrs"] == "false" and "--cluster-cidr" not in flags
    assert flags["--service-cluster-ip-range"] == "10.96.0.0/12"
    assert flags["--leader-elect"] == "true" and flags["--profiling"] == "false"
    assert flags["--bind-address"] == "127.0.0.1" and flags["--tls-min-version"] == "VersionTLS12"
    assert flags["--kubeconfig"] == flags["--authentication-kubeconfig"] == flags["--authorization-kubeconfig"]
    assert flags["--kubeconfig"] == "/etc/kubernetes/controller-manager.conf"


def test_scheduler_is_configured_through_kubeschedulerconfiguration(default):
    _binary, pairs = unit_flags(default["cp1"]["kube-scheduler.service"])
    flags = dict(pairs)
    assert flags["--config"] == "/etc/kubernetes/kube-scheduler.yaml"
    assert flags["--authentication-kubeconfig"] == flags["--authorization-kubeconfig"] == "/etc/kubernetes/scheduler.conf"
    assert flags["--bind-address"] == "127.0.0.1" and flags["--tls-min-version"] == "VersionTLS12"
    config = yaml.safe_load(default["cp1"]["kube-scheduler.yaml"])
    assert config["apiVersion"] == "kubescheduler.config.k8s.io/v1" and config["kind"] == "KubeSchedulerConfiguration"
    assert config["clientConnection"]["kubeconfig"] == "/etc/kubernetes/scheduler.conf"
    assert config["leaderElection"]["leaderElect"] is True
    assert config["enableProfiling"] is False
    # Top-level fields of kubescheduler.config.k8s.io/v1 (pkg/scheduler/apis/config/v1/types.go).
    known = {"apiVersion", "kind", "parallelism", "leaderElection", "clientConnection", "enableProfiling",
             "enableContentionProfiling", "percentageOfNodesToScore", "podInitialBackoffSeconds",
             "podMaxBackoffSeconds", "profiles", "extenders", "delayCacheUntilActive"}
    assert set(config) <= known


def test_proxy_balances_over_every_apiserver_on_loopback(default):
    for host in ["cp1", "w1"]:
        config = default[host]["haproxy.cfg"]
        assert "    bind 127.0.0.1:6443" in config.splitlines()
        assert "bind 0.0.0.0" not in config and "bind *" not in config
        servers = [line.split()[1:3] for line in config.splitlines() if line.strip().startswith("server ")]
        assert servers == [[h, "%s:6443" % ip] for h, ip in CP_IPS.items()]
        assert "check inter" in config
    haproxy = shutil.which("haproxy")
    if haproxy:
        result = subprocess.run([haproxy, "-c", "-f", "/dev/stdin"], input=default["w1"]["haproxy.cfg"].replace(
            "chroot /var/lib/haproxy", "").replace("user haproxy", "").replace("group haproxy", ""),
            capture_output=True, text=True, check=False, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


def test_cluster_objects_are_valid_rbac(default):
    values = json.loads(default["cp1"]["values.json"])
    assert values["cluster_objects_manifests"] == ["rbac-cluster-admins.yaml", "rbac-apiserver-kubelet-client.yaml"]
    binding = yaml.safe_load(default["cp1"]["rbac-cluster-admins.yaml"])
    assert binding["kind"] == "ClusterRoleBinding" and binding["roleRef"]["name"] == "cluster-admin"
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "kubeadm:cluster-admins"}]
    kubelet_api = yaml.safe_load(default["cp1"]["rbac-apiserver-kubelet-client.yaml"])
    assert kubelet_api["roleRef"]["name"] == "system:kubelet-api-admin"
    assert kubelet_api["subjects"][0]["name"] == "kube-apiserver-kubelet-client"
    bootstrap = list(yaml.safe_load_all(default["cp1"]["rbac-tls-bootstrap.yaml"]))
    assert {doc["roleRef"]["name"] for doc in bootstrap} == {
        "system:node-bootstrapper", "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"}


def test_switches_anonymous_off_extra_args_dual_stack_endpoint(tmp_path, reference):
    """The switches change exactly what they document, and the result still passes the reference."""
    extra = {
        "kube_apiserver_anonymous_auth": "disabled",
        "kube_apiserver_audit_log": False,
        "kube_apiserver_extra_args": {"profiling": None, "v": 2},
        "kubebin_pod_cidr": "10.244.0.0/16,fd00:10:244::/56",
        "kubebin_pod_network_plugin": "calico",
        "kubebin_api_endpoint": "lb.example.test",
        "kube_scheduler_config_extra": {"percentageOfNodesToScore": 50},
    }
    rendered = render(tmp_path, "variant", extra, limit="cp1")
    _binary, pairs = unit_flags(rendered["cp1"]["kube-apiserver.service"])
    flags = dict(pairs)
    assert flags["--anonymous-auth"] == "false" and "--authentication-config" not in flags
    assert "--profiling" not in flags and flags["--v"] == "2"
    assert not [name for name in flags if name.startswith("--audit-")]
    assert "ReadWritePaths" not in rendered["cp1"]["kube-apiserver.service"]
    _binary, pairs = unit_flags(rendered["cp1"]["kube-controller-manager.service"])
    flags = dict(pairs)
    assert flags["--allocate-node-cidrs"] == "true" and flags["--cluster-cidr"] == "10.244.0.0/16,fd00:10:244::/56"
    assert flags["--node-cidr-mask-size-ipv4"] == "24" and flags["--node-cidr-mask-size-ipv6"] == "64"
    assert "--node-cidr-mask-size" not in flags
    assert not set(flags) - set(reference["flags"]["kube-controller-manager"])
    assert json.loads(rendered["cp1"]["values.json"])["api_proxy_enabled"] is False
    assert yaml.safe_load(rendered["cp1"]["kube-scheduler.yaml"])["percentageOfNodesToScore"] == 50


def test_tls_bootstrap_mode_turns_on_token_auth_and_the_token_controllers(tmp_path, reference):
    rendered = render(tmp_path, "bootstrap", {"kubebin_kubelet_tls_bootstrap": True}, limit="cp1")
    apiserver = dict(unit_flags(rendered["cp1"]["kube-apiserver.service"])[1])
    assert apiserver["--enable-bootstrap-token-auth"] == "true"
    manager = dict(unit_flags(rendered["cp1"]["kube-controller-manager.service"])[1])
    # bootstrapsigner signs the cluster-info ConfigMap, tokencleaner deletes expired tokens; both
    # are off in the upstream default set.
    assert manager["--controllers"] == "*,bootstrapsigner,tokencleaner"
    assert manager["--cluster-signing-key-file"].endswith("/ca.key")
    assert not set(manager) - set(reference["flags"]["kube-controller-manager"])
    default = render(tmp_path, "default-mode", {}, limit="cp1")
    assert "--enable-bootstrap-token-auth" not in dict(unit_flags(default["cp1"]["kube-apiserver.service"])[1])
    assert "--controllers" not in dict(unit_flags(default["cp1"]["kube-controller-manager.service"])[1])
