# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Preflight checks of the PKI settings: refuse up front what the PKI would refuse later.

The PKI (cluster_pki on the controller) validates its own input, but it runs after preflight,
stops at the first problem and names its module fields (settings.ca_validity_days,
certificates[3] (apiserver)), not the inventory variables an operator sets. These checks give
the same verdicts before any host is touched, all at once, each naming the variable, the value
given and what would be valid.

One rule lives in one place: every rule the PKI enforces is imported from it (the algorithm table,
the encryption providers, the SAN, host-name and service-CIDR rules, the validity predicates), so
preflight and the PKI cannot drift apart. What lives here are the relations the PKI cannot see in
one call or does not check: a leaf against its CA, the renewal window against the leaf, the
controller-manager's signing duration against the CA, the node name against the certificates.

Pure: values and hosts in, messages out. What depends on the files of an existing PKI (a CA that
is no longer usable, an encryption config made with another provider) is left to the PKI run: it
runs on the controller in the play after preflight, before any play touches a host.
"""

from __future__ import annotations

import datetime
import re
from fractions import Fraction

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.kubebin.cluster.plugins.module_utils.host_address import parse_cidrs
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError, utcnow
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_engine import is_renew_before_days, is_validity_days
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_secrets import is_token_ttl_hours
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_spec import (
    NODE_NAME, endpoint_host, san_entry, service_first_ips)

CA_DAYS = "kubebin_pki_ca_validity_days"
LEAF_DAYS = "kubebin_pki_leaf_validity_days"
RENEW_DAYS = "kubebin_pki_renew_before_days"
TOKEN_TTL = "pki_bootstrap_token_ttl_hours"
SIGNING_DURATION = "kube_controller_manager_cluster_signing_duration"
CSR_SIGNING = "kube_controller_manager_csr_signing"
TLS_BOOTSTRAP = "kubebin_kubelet_tls_bootstrap"

# Whole-number settings: the PKI's own predicate, what it accepts in words, the unit the PKI adds
# to the current time (a certificate's notAfter, the token's expiration) and what that date is.
COUNTS = (
    (CA_DAYS, is_validity_days, "a number of days of at least 1", "days", "a certificate"),
    (LEAF_DAYS, is_validity_days, "a number of days of at least 1", "days", "a certificate"),
    (RENEW_DAYS, is_renew_before_days, "0 or more days", None, None),
    (TOKEN_TTL, is_token_ttl_hours, "0 (no expiration) or more hours", "hours", "a token's expiration"),
)

# Go's time.ParseDuration: an optional sign, then numbers with a unit each ("1h30m", "1.5h"); "0" alone.
GO_DURATION_PART = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
GO_UNIT_SECONDS = {"ns": Fraction(1, 10 ** 9), "us": Fraction(1, 10 ** 6), "\u00b5s": Fraction(1, 10 ** 6),
                   "\u03bcs": Fraction(1, 10 ** 6), "ms": Fraction(1, 1000), "s": 1, "m": 60, "h": 3600}


def _quoted(value):
    return "'%s'" % value


def _integer(value):
    """VALUE as a whole number, or None when it is none.

    A string holding one counts: the roles pass these settings through `| int` and the modules
    take them as int options. Anything else is a type error, reported by the type checks.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _text(value):
    """VALUE as the text a str option gets (numbers converted), or None for a list, mapping, bool or null."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return str(value)


def _flag(value):
    """VALUE as a boolean the way Ansible reads one, or None when it is no boolean."""
    try:
        return boolean(value, strict=True)
    except TypeError:
        return None


def _go_duration_seconds(text):
    """Seconds of a Go duration (what the controller-manager's flag parses), or None when TEXT is none."""
    if not isinstance(text, str):
        return None
    sign = -1 if text.startswith("-") else 1
    rest = text[1:] if text[:1] in ("-", "+") else text
    if rest in ("0", ""):
        return Fraction(0) if rest else None
    total, position = Fraction(0), 0
    while position < len(rest):
        part = GO_DURATION_PART.match(rest, position)
        if part is None:
            return None
        total += Fraction(part.group(1)) * GO_UNIT_SECONDS[part.group(2)]
        position = part.end()
    return sign * total


def _days_text(seconds):
    days = Fraction(seconds) / 86400
    return str(days.numerator) if days.denominator == 1 else "%.2f" % float(days)


def _latest_count(unit):
    # Python dates end with the year 9999: the PKI fails with "date value out of range" beyond it.
    room = datetime.datetime.max.replace(tzinfo=datetime.timezone.utc) - utcnow()
    return room // datetime.timedelta(**{unit: 1})


def _check_counts(values, errors):
    """Each whole-number setting on its own; returns the usable ones for the relations."""
    usable = {}
    for name, valid, what, unit, date in COUNTS:
        number = _integer(values.get(name))
        if number is None:
            continue
        if not valid(number):
            errors.append("%s %d is out of range: give %s" % (name, number, what))
            continue
        usable[name] = number
        latest = _latest_count(unit) if unit else None
        if latest is not None and number > latest:
            errors.append("%s %d would end after the year 9999, the last year %s can carry: give at most %d %s" % (name, number, date, latest, unit))
    return usable


def _check_lifetimes(counts, errors):
    ca, leaf, renew = counts.get(CA_DAYS), counts.get(LEAF_DAYS), counts.get(RENEW_DAYS)
    # Strictly shorter: a leaf as long as its CA outlives it once the CA is a day old, and the PKI
    # then refuses to issue it.
    if ca is not None and leaf is not None and leaf >= ca:
        errors.append("%s %d is not shorter than %s %d: a certificate may not outlive its CA; give a leaf validity below %d"
                      % (LEAF_DAYS, leaf, CA_DAYS, ca, ca))
    # A leaf is re-issued once fewer than RENEW days are left: with RENEW >= its whole validity that
    # is already true when it is issued, so every run would re-issue every leaf.
    if leaf is not None and renew is not None and renew >= leaf:
        errors.append("%s %d is not shorter than %s %d: every certificate would be inside its renewal window when issued, "
                      "so every run would re-issue all of them; give a renewal window below %d days" % (RENEW_DAYS, renew, LEAF_DAYS, leaf, leaf))


def _check_signing_duration(values, counts, errors):
    # The controller-manager gets --cluster-signing-duration only when CSR signing is on (its
    # template tests the value as given), so the duration matters only then.
    if CSR_SIGNING in values and not values[CSR_SIGNING]:
        return
    text = values.get(SIGNING_DURATION)
    seconds = _go_duration_seconds(text)
    if seconds is None:
        return  # not a Go duration: the shape checks report it
    if seconds <= 0:
        errors.append("%s %s is not positive: kubelet certificates signed with it would expire as they are issued; "
                      "give a duration such as 8760h" % (SIGNING_DURATION, _quoted(text)))
        return
    ca = counts.get(CA_DAYS)
    if ca is not None and seconds > ca * 86400:
        errors.append("%s %s (%s days) is longer than %s %d: the kubelet certificates the controller-manager signs with the "
                      "cluster CA may not outlive it; give at most %dh" % (SIGNING_DURATION, _quoted(text), _days_text(seconds), CA_DAYS, ca, ca * 24))


def _check_endpoint(values, errors):
    value = _text(values.get("kubebin_api_endpoint"))
    host = endpoint_host(value) if value is not None else ""
    if not host:
        return  # no endpoint: every host reaches the apiservers through its local proxy
    entry = san_entry(host)
    if entry is None:
        errors.append("kubebin_api_endpoint %s is neither an IP address nor a DNS name: give only the host, such as "
                      "api.example.com or 203.0.113.10, without scheme, port or path (the port is kubebin_api_endpoint_port)" % _quoted(value))
    elif host.startswith("*."):
        # The PKI would take it as a SAN, but every kubeconfig connects to the endpoint.
        errors.append("kubebin_api_endpoint %s is a wildcard, but the kubeconfigs connect to it: give one DNS name or IP "
                      "(a wildcard belongs in kubebin_apiserver_extra_sans)" % _quoted(value))


def _check_extra_sans(values, errors):
    sans = values.get("kubebin_apiserver_extra_sans")
    if not isinstance(sans, (list, tuple)):
        return
    for index, item in enumerate(sans):
        text = _text(item)
        if text is not None and san_entry(text) is None:
            errors.append("kubebin_apiserver_extra_sans[%d] %s is neither an IP address nor a DNS name: give an IP such as "
                          "203.0.113.10 or a DNS name such as api.example.com ('*.' may start a name as a wildcard, "
                          "as in *.api.example.com)" % (index, _quoted(text)))


def _check_service_cidr(values, errors):
    value = _text(values.get("kubebin_service_cidr"))
    nets, bad = parse_cidrs(value)
    if not nets or bad:
        return  # empty or not CIDRs: preflight's network checks name each part
    try:
        service_first_ips(value)
    except PkiError as exc:
        errors.append("%s: give one CIDR such as 10.96.0.0/12, or an IPv4 and an IPv6 CIDR separated by a comma (the apiserver "
                      "certificate names the first address of each)" % exc)


def _groups(host):
    groups = host.get("groups")
    return groups if isinstance(groups, (list, tuple)) else []


def _check_host(host, tls_bootstrap, errors):
    name = host.get("name")
    groups = _groups(host)
    # An invalid node name that is the inventory name is already reported by preflight's host checks.
    if not NODE_NAME.match(str(name)) and host.get("node_name") not in (None, name):
        errors.append("host %s: the PKI uses the inventory name as the node name in its certificates (system:node:%s), and it is "
                      "not a lowercase DNS label: rename the host with lowercase letters, digits and '-' (at most 63 "
                      "characters, starting and ending with a letter or digit)" % (_quoted(name), name))
    node_name = host.get("node_name")
    # Without TLS bootstrapping the PKI issues each kubelet's certificates for system:node:<inventory
    # name>; the Node authorizer lets a kubelet act only for the node its certificate names.
    if tls_bootstrap is False and "kube_node" in groups and isinstance(node_name, str) and node_name and node_name != name:
        errors.append("host %s: kubebin_node_name %s differs from the inventory name, but the PKI issues the kubelet's certificates "
                      "for system:node:%s, so the kubelet could not register node %s: remove kubebin_node_name, rename the host "
                      "to %s, or set kubebin_kubelet_tls_bootstrap to true (the kubelet then requests its own certificate)"
                      % (_quoted(name), _quoted(node_name), name, node_name, node_name))


def _check_hosts(values, hosts, errors):
    hosts = [h for h in hosts or [] if isinstance(h, dict) and isinstance(h.get("name"), str)]
    if not hosts:
        return  # no inventory given: preflight's own group checks report an empty one
    tls_bootstrap = _flag(values.get(TLS_BOOTSTRAP))  # None when not given: the node-name check then stays silent
    for host in hosts:
        _check_host(host, tls_bootstrap, errors)


def pki_errors(values, hosts):
    """Every problem the PKI would find with VALUES (full variable names) and HOSTS, and its relations; [] when none.

    HOSTS are {"name", "node_name", "ips", "arch", "groups"}; ips may be strings or ipaddress
    objects. A missing setting, or one of the wrong type, skips the checks that need it.
    """
    values = values if isinstance(values, dict) else {}
    errors = []
    counts = _check_counts(values, errors)
    _check_lifetimes(counts, errors)
    _check_signing_duration(values, counts, errors)
    _check_endpoint(values, errors)
    _check_extra_sans(values, errors)
    _check_service_cidr(values, errors)
    _check_hosts(values, hosts, errors)
    return errors
