# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which kubelet serving CSRs may be approved.

With `serverTLSBootstrap` each kubelet asks the API for its serving certificate, and nothing in
Kubernetes approves those requests: a node could ask for a certificate naming another node or
the API server. A request is approvable only when everything checks out:

- signer `kubernetes.io/kubelet-serving`, still pending (no Approved/Denied condition);
- requested by `system:node:<name>` in group `system:nodes`, for a node of the inventory;
- the CSR itself is signed by its key, subject exactly CN=system:node:<name>, O=system:nodes;
- usages within {digital signature, key encipherment, server auth} and including server auth;
- SANs: DNS names only the node's name, IPs only the node's inventory IPs, at least one, no
  e-mail or URI names.

Everything else is left pending with the reason, for an operator to look at.
"""

from __future__ import annotations

import base64
import ipaddress

try:
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - a controller requirement
    HAS_CRYPTOGRAPHY = False

SIGNER = "kubernetes.io/kubelet-serving"
ALLOWED_USAGES = {"digital signature", "key encipherment", "server auth"}
NODE_PREFIX = "system:node:"


def _state(item):
    """pending, approved, denied or failed: the first decisive condition of the request."""
    for condition in (item.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Approved", "Denied", "Failed") and condition.get("status", "True") == "True":
            return condition["type"].lower()
    return "pending"


def _requester_node(spec):
    """Node name of a request made by system:node:NAME, else None."""
    username = spec.get("username") or ""
    return username[len(NODE_PREFIX):] if username.startswith(NODE_PREFIX) else None


def _subject_problem(csr, node):
    cns = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if cns != [NODE_PREFIX + node] or orgs != ["system:nodes"] or len(list(csr.subject)) != 2:
        return "subject %s is not CN=system:node:%s, O=system:nodes" % (csr.subject.rfc4514_string(), node)
    return None


def _san_problem(csr, node, node_ips):
    try:
        sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "no subject alternative names"
    if sans.get_values_for_type(x509.RFC822Name) or sans.get_values_for_type(x509.UniformResourceIdentifier):
        return "e-mail or URI names requested"
    dns = sans.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    if not dns and not ips:
        return "no DNS name or IP requested"
    foreign_dns = sorted(set(d.lower() for d in dns) - {node})
    allowed_ips = {str(ipaddress.ip_address(ip)) for ip in node_ips}
    foreign_ips = sorted(set(ips) - allowed_ips)
    if foreign_dns or foreign_ips:
        return "names that are not this node's own: %s" % ", ".join(foreign_dns + foreign_ips)
    return None


def check_serving_csr(item, nodes):
    """(node or None, problem or None) for one CertificateSigningRequest object (a dict)."""
    spec = item.get("spec") or {}
    if spec.get("signerName") != SIGNER:
        return None, "signer %s is not %s" % (spec.get("signerName"), SIGNER)
    node = _requester_node(spec)
    if node is None:
        return None, "requested by %s, not by a node" % (spec.get("username") or "nobody")
    if node not in nodes:
        return node, "requested by %s, which is not a node of the inventory" % spec["username"]
    if "system:nodes" not in (spec.get("groups") or []):
        return node, "requester is not in group system:nodes"
    usages = set(spec.get("usages") or [])
    if "server auth" not in usages or not usages <= ALLOWED_USAGES:
        return node, "usages %s are not server auth with digital signature/key encipherment" % sorted(usages)
    try:
        csr = x509.load_pem_x509_csr(base64.b64decode(spec.get("request") or ""))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        return node, "request is not a PEM CSR (%s)" % exc.__class__.__name__
    if not csr.is_signature_valid:
        return node, "the CSR's signature does not verify"
    return node, _subject_problem(csr, node) or _san_problem(csr, node, nodes[node])


def serving_csr_decisions(csr_list, nodes):
    """Decide for every kubelet-serving CSR of CSR_LIST (`kubectl get csr -o json`).

    NODES maps node name to its inventory IPs. Returns one {name, node, state, approve, reason} per
    request of that signer: `state` is pending, approved, denied or failed, and only a pending
    request that passes every check has `approve` true. Other signers' requests are left out.
    """
    if not HAS_CRYPTOGRAPHY:
        raise RuntimeError("the cryptography Python package is required on the controller")
    decisions = []
    for item in (csr_list or {}).get("items", []):
        spec = item.get("spec") or {}
        if spec.get("signerName") != SIGNER:
            continue
        name, state = item.get("metadata", {}).get("name"), _state(item)
        if state != "pending":
            decisions.append({"name": name, "node": _requester_node(spec), "state": state, "approve": False,
                              "reason": "already " + state})
            continue
        node, problem = check_serving_csr(item, nodes)
        decisions.append({"name": name, "node": node, "state": state, "approve": problem is None,
                          "reason": problem or "requester, usages and names are the node's own"})
    return decisions
