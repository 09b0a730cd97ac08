"""Preflight checks of the PKI settings: one problem at a time against the role defaults, a table
of valid settings, wrong types, and the PKI's own verdict on every case (same rules, one place)."""

from __future__ import annotations

import copy
import ipaddress
import os

import pytest
import yaml

from ansible_collections.kubebin.cluster.plugins.module_utils.pki_cluster import ensure_cluster_pki
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import KEY_ALGORITHMS, PkiError
from ansible_collections.kubebin.cluster.plugins.module_utils.preflight import preflight_errors
from ansible_collections.kubebin.cluster.plugins.module_utils.preflight_pki import pki_errors
from ansible_collections.kubebin.cluster.plugins.module_utils.preflight_spec import merged_options, option_problems

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEFAULTS_FILES = ("roles/kubebin/defaults/main.yml", "roles/pki/defaults/main.yml", "roles/kube_controller_manager/defaults/main.yml")
KEYS = (
    "kubebin_pki_key_algorithm", "kubebin_pki_ca_validity_days", "kubebin_pki_leaf_validity_days", "kubebin_pki_renew_before_days",
    "pki_bootstrap_token_ttl_hours", "pki_encryption_provider", "kube_controller_manager_csr_signing",
    "kube_controller_manager_cluster_signing_duration", "kubebin_api_endpoint", "kubebin_apiserver_extra_sans",
    "kubebin_cluster_domain", "kubebin_service_cidr", "kubebin_kubelet_tls_bootstrap",
)


def _role_defaults():
    merged = {}
    for path in DEFAULTS_FILES:
        with open(os.path.join(REPO, path), encoding="utf-8") as handle:
            merged.update(yaml.safe_load(handle))
    return {key: merged[key] for key in KEYS}


BASELINE = _role_defaults()


def _role_specs():
    options = {}
    for role in sorted(os.listdir(os.path.join(REPO, "roles"))):
        path = os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                options.update(merged_options(yaml.safe_load(handle)["argument_specs"]))
    return options


SPECS = _role_specs()


def host(name, ip, *groups, node_name=None):
    # As preflight passes them: the addresses already parsed.
    return {"name": name, "node_name": node_name or name, "ips": [ipaddress.ip_address(ip)] if ip else [], "arch": "amd64",
            "groups": list(groups)}


CP = ("etcd", "kube_control_plane", "k8s_cluster")
NODE = ("kube_node", "k8s_cluster")
HOSTS = [host("cp1", "192.0.2.11", *CP), host("cp2", "192.0.2.12", *CP), host("cp3", "192.0.2.13", *CP),
         host("w1", "192.0.2.21", *NODE)]


def _set(index, **fields):
    def change(hosts):
        hosts[index].update(fields)
    return change


def _leave(group):
    def change(hosts):
        for h in hosts:
            if group in h["groups"]:
                h["groups"].remove(group)
    return change


def errors_with(values=None, change_hosts=None):
    """What the whole preflight says about these PKI settings: the argument specs, the inventory and
    network checks and the PKI's rules, so one mistake must give one message across all of them."""
    hosts = copy.deepcopy(HOSTS)
    if change_hosts:
        change_hosts(hosts)
    merged = dict(BASELINE, **(values or {}))
    errors = []
    for name, value in merged.items():
        errors.extend(option_problems(name, SPECS[name], value))
    usable = {k: v for k, v in merged.items() if not option_problems(k, SPECS[k], v)}
    settings = {k[len("kubebin_"):]: v for k, v in usable.items() if k.startswith("kubebin_")}
    errors.extend(preflight_errors(hosts, settings))
    errors.extend(pki_errors(usable, hosts))
    return errors, hosts


LEAF_MESSAGE = ("kubebin_pki_leaf_validity_days 4000 is not shorter than kubebin_pki_ca_validity_days 3650: a certificate may not "
                "outlive its CA; give a leaf validity below 3650")

# (values over the baseline, change to the hosts, expected fragment, whether the PKI itself refuses it)
REFUSALS = [
    pytest.param({"kubebin_pki_key_algorithm": "rsa1024"}, None,
                 "kubebin_pki_key_algorithm 'rsa1024' is not one of rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384",
                 True, id="algorithm"),
    pytest.param({"pki_encryption_provider": "aesgcm"}, None, "pki_encryption_provider 'aesgcm' is not one of aescbc, secretbox",
                 True, id="encryption-provider"),
    pytest.param({"kubebin_pki_ca_validity_days": 0}, None, "kubebin_pki_ca_validity_days 0 is out of range: give a number of days of at least 1",
                 False, id="ca-validity-zero"),
    pytest.param({"kubebin_pki_ca_validity_days": -1}, None, "kubebin_pki_ca_validity_days -1 is out of range", True, id="ca-validity-negative"),
    pytest.param({"kubebin_pki_leaf_validity_days": "0"}, None, "kubebin_pki_leaf_validity_days 0 is out of range: give a number of days",
                 False, id="leaf-validity-zero"),
    pytest.param({"kubebin_pki_renew_before_days": -1}, None, "kubebin_pki_renew_before_days -1 is out of range: give 0 or more days",
                 True, id="renew-negative"),
    pytest.param({"pki_bootstrap_token_ttl_hours": -1}, None, "pki_bootstrap_token_ttl_hours -1 is out of range: give 0 (no expiration) or more hours",
                 True, id="ttl-negative"),
    pytest.param({"kubebin_pki_ca_validity_days": 10 ** 7}, None,
                 "kubebin_pki_ca_validity_days 10000000 would end after the year 9999, the last year a certificate can carry: give at most",
                 True, id="ca-validity-past-9999"),
    pytest.param({"pki_bootstrap_token_ttl_hours": 10 ** 9}, None, "pki_bootstrap_token_ttl_hours 1000000000 would end after the year 9999",
                 True, id="ttl-past-9999"),
    pytest.param({"kubebin_pki_leaf_validity_days": 4000}, None, LEAF_MESSAGE, True, id="leaf-outlives-ca"),
    pytest.param({"kubebin_pki_leaf_validity_days": 3650}, None, "kubebin_pki_leaf_validity_days 3650 is not shorter than kubebin_pki_ca_validity_days 3650",
                 False, id="leaf-as-long-as-ca"),
    pytest.param({"kubebin_pki_renew_before_days": 365}, None,
                 "kubebin_pki_renew_before_days 365 is not shorter than kubebin_pki_leaf_validity_days 365: every certificate would be "
                 "inside its renewal window when issued, so every run would re-issue all of them; give a renewal window below 365 days",
                 False, id="renew-as-long-as-leaf"),
    pytest.param({"kubebin_pki_renew_before_days": "400"}, None, "kubebin_pki_renew_before_days 400 is not shorter than", False,
                 id="renew-longer-than-leaf"),
    pytest.param({"kube_controller_manager_cluster_signing_duration": "87601h"}, None,
                 "kube_controller_manager_cluster_signing_duration '87601h' (3650.04 days) is longer than kubebin_pki_ca_validity_days "
                 "3650: the kubelet certificates the controller-manager signs with the cluster CA may not outlive it; give at most 87600h",
                 False, id="signing-outlives-ca"),
    pytest.param({"kubebin_pki_ca_validity_days": 300, "kubebin_pki_leaf_validity_days": 200}, None,
                 "kube_controller_manager_cluster_signing_duration '8760h' (365 days) is longer than kubebin_pki_ca_validity_days 300",
                 False, id="signing-outlives-short-ca"),
    pytest.param({"kube_controller_manager_cluster_signing_duration": "0s"}, None,
                 "kube_controller_manager_cluster_signing_duration '0s' is not positive: kubelet certificates signed with it would expire",
                 False, id="signing-zero"),
    pytest.param({"kube_controller_manager_cluster_signing_duration": "-1h"}, None,
                 "kube_controller_manager_cluster_signing_duration '-1h' is not positive", False, id="signing-negative"),
    pytest.param({"kubebin_api_endpoint": "https://lb:6443"}, None,
                 "kubebin_api_endpoint 'https://lb:6443' is neither an IP address nor a DNS name: give only the host, such as "
                 "api.example.com or 203.0.113.10, without scheme, port or path", True, id="endpoint-url"),
    pytest.param({"kubebin_api_endpoint": "lb.example.com:6443"}, None, "kubebin_api_endpoint 'lb.example.com:6443' is neither", True,
                 id="endpoint-with-port"),
    pytest.param({"kubebin_api_endpoint": "*.example.com"}, None,
                 "kubebin_api_endpoint '*.example.com' is a wildcard, but the kubeconfigs connect to it: give one DNS name or IP",
                 False, id="endpoint-wildcard"),
    pytest.param({"kubebin_apiserver_extra_sans": ["ok.example.com", "bad name"]}, None,
                 "kubebin_apiserver_extra_sans[1] 'bad name' is neither an IP address nor a DNS name: give an IP such as 203.0.113.10 "
                 "or a DNS name such as api.example.com", True, id="san-space"),
    pytest.param({"kubebin_apiserver_extra_sans": ["a.*.example.com"]}, None, "kubebin_apiserver_extra_sans[0] 'a.*.example.com' is neither",
                 True, id="san-inner-wildcard"),
    pytest.param({"kubebin_apiserver_extra_sans": ["under_score.example.com"]}, None, "kubebin_apiserver_extra_sans[0] 'under_score.example.com'",
                 True, id="san-underscore"),
    pytest.param({"kubebin_cluster_domain": "cluster_local"}, None,
                 "kubebin_cluster_domain 'cluster_local' is not a valid DNS name", True, id="cluster-domain"),
    pytest.param({"kubebin_service_cidr": "10.96.0.0/99"}, None,
                 "kubebin_service_cidr: '10.96.0.0/99' is not a valid network CIDR",
                 True, id="service-cidr"),
    pytest.param({"kubebin_service_cidr": ""}, None, "kubebin_service_cidr is empty: give a CIDR", True, id="service-cidr-empty"),
    pytest.param({"kubebin_service_cidr": "10.96.0.1/32"}, None, "kubebin_service_cidr: '10.96.0.1/32' has no address after its network address",
                 True, id="service-cidr-single-address"),
    pytest.param({}, _set(0, name="CP1", node_name="CP1"), "host 'CP1': node name 'CP1' is not a valid DNS label", True, id="host-name"),
    pytest.param({}, _set(0, name="CP1", node_name="cp1"), "host 'CP1': the PKI uses the inventory name as the node name in its certificates "
                 "(system:node:CP1), and it is not a lowercase DNS label", True, id="host-name-behind-a-valid-node-name"),
    pytest.param({}, _leave("etcd"), "inventory group 'etcd' is missing or empty", True, id="no-etcd"),
    pytest.param({}, _leave("kube_control_plane"), "inventory group 'kube_control_plane' is missing or empty", True, id="no-control-plane"),
    pytest.param({}, _set(3, node_name="worker-1"), "host 'w1': kubebin_node_name 'worker-1' differs from the inventory name, but the PKI "
                 "issues the kubelet's certificates for system:node:w1", False, id="node-name-differs"),
]

# Values over the baseline (and a change to the hosts) that are valid.
VALID = [
    pytest.param({}, None, id="role-defaults"),
    *[pytest.param({"kubebin_pki_key_algorithm": algorithm}, None, id=algorithm) for algorithm in KEY_ALGORITHMS],
    pytest.param({"pki_encryption_provider": "secretbox"}, None, id="secretbox"),
    pytest.param({"kubebin_pki_ca_validity_days": 36500, "kubebin_pki_leaf_validity_days": 3650,
                  "kube_controller_manager_cluster_signing_duration": "87600h"}, None, id="long-ca"),
    pytest.param({"kubebin_pki_ca_validity_days": 366, "kubebin_pki_leaf_validity_days": 365, "kubebin_pki_renew_before_days": 364,
                  "kube_controller_manager_cluster_signing_duration": "8784h"}, None, id="boundaries"),
    pytest.param({"kubebin_pki_ca_validity_days": "3650", "kubebin_pki_leaf_validity_days": " 365 ", "kubebin_pki_renew_before_days": "30",
                  "pki_bootstrap_token_ttl_hours": "48"}, None, id="numbers-as-strings"),
    pytest.param({"kubebin_pki_renew_before_days": 0, "pki_bootstrap_token_ttl_hours": 0}, None, id="zero-window-and-ttl"),
    pytest.param({"kube_controller_manager_cluster_signing_duration": "8760h0m0s"}, None, id="duration-hms"),
    pytest.param({"kube_controller_manager_cluster_signing_duration": "1.5h"}, None, id="duration-fraction"),
    pytest.param({"kube_controller_manager_cluster_signing_duration": "+525600m"}, None, id="duration-signed-minutes"),
    pytest.param({"kube_controller_manager_csr_signing": False, "kube_controller_manager_cluster_signing_duration": "999999h"}, None,
                 id="duration-unused-without-csr-signing"),
    pytest.param({"kubebin_apiserver_extra_sans": ["*.api.example.com", "fd00::10", "203.0.113.10", "K8s.Example.com", "api.example.com."]},
                 None, id="wildcard-ipv6-and-mixed-case-sans"),
    pytest.param({"kubebin_api_endpoint": "api.example.com"}, None, id="endpoint-dns"),
    pytest.param({"kubebin_api_endpoint": "fd00::10"}, None, id="endpoint-ipv6"),
    pytest.param({"kubebin_api_endpoint": "203.0.113.10"}, None, id="endpoint-ipv4"),
    pytest.param({"kubebin_service_cidr": "10.96.0.0/12,fd00:10:96::/112"}, None, id="dual-stack-service-cidr"),
    pytest.param({"kubebin_kubelet_tls_bootstrap": True}, _set(3, node_name="worker-1"), id="node-name-with-tls-bootstrap"),
]


@pytest.mark.parametrize("values, change_hosts, expected, _pki_refuses", REFUSALS)
def test_each_problem_is_one_message(values, change_hosts, expected, _pki_refuses):
    errors, _hosts = errors_with(values, change_hosts)
    assert len(errors) == 1, errors
    assert expected in errors[0]


@pytest.mark.parametrize("values, change_hosts", VALID)
def test_valid_settings_give_no_errors(values, change_hosts):
    errors, _hosts = errors_with(values, change_hosts)
    assert errors == []


def _pki_run(tmp_path, values, hosts):
    """The PKI's own verdict: the cluster_pki pass in check mode (validates everything, writes nothing)."""
    def number(name):
        return int(str(values[name]).strip())
    settings = {"key_algorithm": values["kubebin_pki_key_algorithm"], "ca_validity_days": number("kubebin_pki_ca_validity_days"),
                "leaf_validity_days": number("kubebin_pki_leaf_validity_days"), "api_endpoint": values["kubebin_api_endpoint"],
                "apiserver_extra_sans": values["kubebin_apiserver_extra_sans"], "cluster_domain": values["kubebin_cluster_domain"],
                "service_cidr": values["kubebin_service_cidr"], "kubelet_tls_bootstrap": values["kubebin_kubelet_tls_bootstrap"]}
    pki_hosts = [{"name": h["name"], "ips": [str(ip) for ip in h["ips"]], "groups": [g for g in h["groups"] if g != "k8s_cluster"]}
                 for h in hosts]
    ensure_cluster_pki(str(tmp_path / "pki"), pki_hosts, settings, renew_before_days=number("kubebin_pki_renew_before_days"),
                       encryption_provider=values["pki_encryption_provider"], bootstrap_token=True,
                       bootstrap_token_ttl_hours=number("pki_bootstrap_token_ttl_hours"), check_mode=True)


@pytest.mark.parametrize("values, change_hosts, _expected, pki_refuses", REFUSALS)
def test_the_pki_refuses_what_preflight_says_it_refuses(tmp_path, values, change_hosts, _expected, pki_refuses):
    _errors, hosts = errors_with(values, change_hosts)
    merged = dict(BASELINE, **values)
    if pki_refuses:
        # A date past 9999 is no PkiError but a crash of the run: refused all the same.
        with pytest.raises((PkiError, OverflowError)):
            _pki_run(tmp_path, merged, hosts)
    else:  # a relation only preflight sees (or stricter than the PKI on purpose)
        _pki_run(tmp_path, merged, hosts)


@pytest.mark.parametrize("values, change_hosts", VALID)
def test_the_pki_accepts_the_valid_settings(tmp_path, values, change_hosts):
    _errors, hosts = errors_with(values, change_hosts)
    _pki_run(tmp_path, dict(BASELINE, **values), hosts)


def test_the_baseline_is_the_role_defaults_as_written():
    assert all("{{" not in str(value) for value in BASELINE.values()), BASELINE
    assert BASELINE["kubebin_pki_ca_validity_days"] == 3650 and BASELINE["kube_controller_manager_cluster_signing_duration"] == "8760h"


def test_every_problem_is_reported_at_once():
    errors, _hosts = errors_with({"kubebin_pki_key_algorithm": "dsa", "kubebin_pki_leaf_validity_days": 4000,
                                  "kubebin_apiserver_extra_sans": ["a b", "c d"], "kubebin_api_endpoint": "http://lb"})
    assert len(errors) == 5, errors


def test_messages_show_values_plainly():
    errors, _hosts = errors_with({"kubebin_apiserver_extra_sans": ["bad name"], "kubebin_pki_key_algorithm": "rsa1024"})
    for message in errors:
        assert "['" not in message and '["' not in message and "u'" not in message, message


WRONG_TYPES = {"nested-list": ["x", ["nested"]], "mapping": {"a": 1}, "null": None, "true": True, "false": False, "float": 3.5,
               "object": object(), "word": "abc", "empty": "", "empty-list": [], "exponent": "1e3"}


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("wrong", list(WRONG_TYPES.values()), ids=list(WRONG_TYPES))
def test_wrong_types_do_not_crash(key, wrong):
    errors = pki_errors(dict(BASELINE, **{key: wrong}), copy.deepcopy(HOSTS))
    assert isinstance(errors, list) and all(isinstance(e, str) for e in errors)
    if not isinstance(wrong, (str, float)) and key != "kubebin_apiserver_extra_sans":
        # Not text, not a number: a type error only, which the type checks report.
        assert errors == [], errors


@pytest.mark.parametrize("hosts", [None, [], ["junk"], [{"name": None}], [{"name": "cp1", "groups": "etcd", "ips": 5}],
                                   [{"name": "cp1", "groups": ["etcd", "kube_control_plane"], "ips": [{"a": 1}], "node_name": 7}]])
def test_odd_hosts_do_not_crash(hosts):
    errors = pki_errors(BASELINE, hosts)
    assert isinstance(errors, list) and all(isinstance(e, str) for e in errors)


def test_missing_settings_skip_their_checks():
    assert pki_errors({}, []) == []
    assert pki_errors(None, None) == []
    # The relation needs both sides: a leaf alone is judged only on its own.
    assert pki_errors({"kubebin_pki_leaf_validity_days": 4000}, []) == []


def test_the_argument_specs_offer_exactly_what_the_pki_supports():
    # Preflight refuses these through the specs' choices: they must be the PKI's own tables.
    from ansible_collections.kubebin.cluster.plugins.module_utils.pki_secrets import ENCRYPTION_PROVIDERS
    assert list(SPECS["kubebin_pki_key_algorithm"]["choices"]) == list(KEY_ALGORITHMS)
    assert list(SPECS["pki_encryption_provider"]["choices"]) == list(ENCRYPTION_PROVIDERS)
