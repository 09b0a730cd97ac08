# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Preflight checks of where the binaries come from, run on the controller before any host is touched.

Without them a wrong artifacts source, a bundle built for other versions or architectures, a
mistyped mirror or a malformed pinned sum is only noticed when the binaries role first runs,
after the PKI and node preparation plays changed hosts. Everything here reads local settings and
at most the bundle's manifest.json (no network, no hashing of artifacts); the artifact module
still proves every file when it obtains it.

The bundle is read with bundle_manifest, as the artifact module reads it, so preflight and the
deploy agree on what a bundle carries.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from ansible_collections.kubebin.cluster.plugins.module_utils import bundle_manifest

SOURCES = ("download", "bundle")
SOURCE_HELP = "download (fetch from the kubebin_mirror_* mirrors) or bundle (use only kubebin_bundle_dir)"
BUNDLE_HELP = "the directory playbooks/bundle.yml writes (or its %s tarball)" % "/".join(bundle_manifest.BUNDLE_SUFFIXES)

# Which hosts need which artifact, and which variable gives its version: the one place preflight
# knows it. It follows the component roles, which ask the binaries role for binaries
# (binaries_wanted in roles/*/tasks) on the hosts of the plays that run them (playbooks/*.yml):
#   etcd                                   roles/etcd, play on etcd
#   kube-apiserver, -controller-manager,   roles/kube_apiserver, kube_controller_manager,
#   -scheduler, kubectl                    kube_scheduler, cluster_objects; play on kube_control_plane
#                                          (kubectl also comes from roles/kubelet, on control-plane nodes only)
#   kubelet, kube-proxy                    roles/kubelet, kube_proxy, play on kube_node
#   containerd, runc, crictl               roles/containerd, play on kube_node (crictl unless containerd_crictl is false)
#   cni-plugins                            roles/pod_network, play on k8s_cluster but installed on kube_node hosts only
# tests/unit/preflight/test_preflight_sources.py evaluates those tasks and plays for every mix of
# groups and fails when they and this table disagree.
# artifact: (inventory groups whose hosts need it, switch that drops it when false, version variables: the first set wins)
ARTIFACT_NEEDS = {
    "etcd": (("etcd",), None, ("kubebin_etcd_version",)),
    "kube-apiserver": (("kube_control_plane",), None, ("kubebin_kube_version",)),
    "kube-controller-manager": (("kube_control_plane",), None, ("kubebin_kube_version",)),
    "kube-scheduler": (("kube_control_plane",), None, ("kubebin_kube_version",)),
    "kubectl": (("kube_control_plane",), None, ("kubebin_kubectl_version", "kubebin_kube_version")),
    "kubelet": (("kube_node",), None, ("kubebin_kube_version",)),
    "kube-proxy": (("kube_node",), None, ("kubebin_kube_version",)),
    "containerd": (("kube_node",), None, ("kubebin_containerd_version",)),
    "runc": (("kube_node",), None, ("kubebin_runc_version",)),
    "crictl": (("kube_node",), "containerd_crictl", ("kubebin_crictl_version",)),
    "cni-plugins": (("kube_node",), None, ("kubebin_cni_plugins_version",)),
}

# Longer lists of host names are cut, so one message stays readable for a large cluster.
MAX_HOSTS_SHOWN = 5


def _show(value):
    """A value as a message shows it: scalars as they are, containers by kind (never a Python repr)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple, set)):
        return "a list"
    return "'%s'" % (value,)


def _join(words):
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return "%s and %s" % (", ".join(words[:-1]), words[-1])


def _host_list(names):
    names = sorted(names)
    if len(names) > MAX_HOSTS_SHOWN:
        return "%s and %d more" % (", ".join(names[:MAX_HOSTS_SHOWN]), len(names) - MAX_HOSTS_SHOWN)
    return ", ".join(names)


def _switched_off(values, switch):
    """Whether switch drops its artifact. The role tests it inside a Jinja expression
    (`['crictl'] if containerd_crictl`), so Python truthiness decides, as there: the string
    "false" keeps crictl. A missing switch has its role default, true."""
    return bool(switch) and switch in values and not values[switch]


def _scalar(value):
    """value as a version string, or None when it is missing or not a scalar (a type error, reported elsewhere)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value) == "":
        return None
    return str(value)


# ---- what the run needs ------------------------------------------------------------------

def _version(values, name):
    """(version, variable that sets it) of artifact name, as the binaries role will ask for it.

    The rendered catalog is what the role passes to the artifact module; the version variables
    stand in when the caller has no catalog.
    """
    variables = ARTIFACT_NEEDS[name][2]
    variable = next((v for v in variables if _scalar(values.get(v)) is not None), variables[0])
    catalog = values.get("_binaries_catalog")
    entry = catalog.get(name) if isinstance(catalog, dict) else None
    version = _scalar(entry.get("version")) if isinstance(entry, dict) else None
    return (version or _scalar(values.get(variable))), variable


def _needed(values, hosts, errors):
    """{(artifact, version, arch): [host names]} of every artifact some host of the run needs."""
    needed = {}
    for host in hosts if isinstance(hosts, (list, tuple)) else []:
        if not isinstance(host, dict):
            continue
        name = str(host.get("name", "?"))
        groups = host.get("groups") if isinstance(host.get("groups"), (list, tuple)) else []
        groups = set(g for g in groups if isinstance(g, str))
        arch = host.get("arch")
        wanted = [a for a, (need_groups, switch, _v) in ARTIFACT_NEEDS.items()
                  if groups.intersection(need_groups) and not _switched_off(values, switch)]
        if not wanted or not isinstance(arch, str):
            continue
        if arch not in bundle_manifest.ARCHES:
            errors.append("host '%s': kubebin_arch is '%s': give %s (the architectures upstream publishes builds for)"
                          % (name, arch, " or ".join(bundle_manifest.ARCHES)))
            continue
        for artifact in wanted:
            version = _version(values, artifact)[0]
            if version is not None:
                needed.setdefault((artifact, version, arch), []).append(name)
    return needed


# ---- bundle ------------------------------------------------------------------------------

def _read_bundle(values, errors):
    """(kubebin_bundle_dir as given, artifact index of its manifest), or None after reporting why it cannot be used."""
    bundle = values.get("kubebin_bundle_dir")
    if bundle is None or bundle == "":
        errors.append("kubebin_bundle_dir is empty but kubebin_artifacts_source is bundle: set it to %s" % BUNDLE_HELP)
        return None
    if not isinstance(bundle, str):
        return None
    # As the artifact module's `path` option expands it.
    path = os.path.expanduser(os.path.expandvars(bundle))
    if os.path.isfile(path) and not path.endswith(bundle_manifest.BUNDLE_SUFFIXES):
        errors.append("kubebin_bundle_dir '%s' is a file but not a bundle tarball: give %s" % (bundle, BUNDLE_HELP))
        return None
    cache = values.get("kubebin_download_cache_dir")
    cache = os.path.expanduser(os.path.expandvars(cache)) if isinstance(cache, str) and cache else None
    try:
        # A tarball the artifact module already unpacked is read from its copy in the cache, as the module does.
        data = bundle_manifest.read_manifest(path, cache)
        return bundle, bundle_manifest.artifact_index(data, path)
    except (ValueError, OSError) as exc:  # ManifestError is a ValueError
        errors.append("kubebin_bundle_dir '%s': %s; give %s, or rebuild it with playbooks/bundle.yml" % (bundle, exc, BUNDLE_HELP))
        return None


def _carried(index, artifact):
    """What the bundle has of artifact, e.g. "1.36.4 for amd64 and arm64", or None."""
    arches = {}
    for name, version, arch in index:
        if name == artifact:
            arches.setdefault(version, []).append(str(arch))
    if not arches:
        return None
    return "; ".join("%s for %s" % (version, _join(sorted(arches[version]))) for version in sorted(arches))


def _missing_message(values, bundle, index, artifact, version, missing, all_arches):
    variable = _version(values, artifact)[1]
    hosts = sorted(set(h for arch in missing for h in missing[arch]))
    groups = " or ".join(ARTIFACT_NEEDS[artifact][0])
    carried = _carried(index, artifact)
    rebuild = ("rebuild it with playbooks/bundle.yml from this inventory (-e bundle_dir=%s -e bundle_arches=%s)"
               % (bundle, ",".join(all_arches)))
    if any(key[:2] == (artifact, version) for key in index):
        fix = "%s so it carries every architecture of the hosts" % rebuild
    elif carried:
        fix = "%s for %s %s, or set %s to a version the bundle carries" % (rebuild, variable, version, variable)
    else:  # bundle.yml always writes every catalog artifact: this bundle is older or made another way
        fix = "%s for %s %s" % (rebuild, variable, version)
    return ("kubebin_bundle_dir '%s' has no %s %s for %s, which %s hosts %s need (%s is '%s'; the bundle has %s): %s"
            % (bundle, artifact, version, _join(sorted(missing)), groups, _host_list(hosts), variable, version,
               "%s %s" % (artifact, carried) if carried else "no %s at all" % artifact, fix))


def _bundle_errors(values, needed, errors):
    read = _read_bundle(values, errors)
    if read is None:
        return
    bundle, index = read
    all_arches = sorted(set(arch for (_a, _v, arch) in needed))
    missing = {}
    for (artifact, version, arch), hosts in sorted(needed.items()):
        entry = index.get(bundle_manifest.artifact_key(artifact, version, arch))
        if entry is None:
            missing.setdefault((artifact, version), {})[arch] = hosts
            continue
        try:
            bundle_manifest.artifact_file(entry)
        except bundle_manifest.ManifestError as exc:
            errors.append("kubebin_bundle_dir '%s': %s %s for %s: %s; rebuild the bundle with playbooks/bundle.yml"
                          % (bundle, artifact, version, arch, exc))
    for (artifact, version), by_arch in sorted(missing.items()):
        errors.append(_missing_message(values, bundle, index, artifact, version, by_arch, all_arches))


# ---- download ----------------------------------------------------------------------------

def _url_problem(value):
    """Why value is not a usable mirror base URL, or None."""
    if not value.strip():
        return "it is empty"
    if any(c.isspace() for c in value):
        return "it has blanks in it"
    try:
        parts = urlsplit(value)
        if parts.port == 0:  # .port raises ValueError for a port that is not a number up to 65535
            return "its port is 0"
    except ValueError as exc:
        return "it does not parse as a URL (%s)" % exc
    if parts.scheme not in ("http", "https"):
        return "its scheme is not http or https"
    if not parts.hostname:
        return "it has no host"
    # The artifact paths are appended to the mirror: after a query or fragment they would not be a path.
    if parts.query or parts.fragment:
        return "it has a query or fragment, where the artifact paths appended to it would end up"
    return None


def _mirror_errors(values, errors):
    for name in sorted(k for k in values if isinstance(k, str) and k.startswith("kubebin_mirror_")):
        value = values[name]
        if not isinstance(value, str):
            continue  # a type error, reported by the type checks
        problem = _url_problem(value)
        if problem:
            errors.append("%s is '%s': %s; give an http or https URL with a host, serving the upstream paths below it"
                          " (such as https://artifacts.example.com/k8s)" % (name, value, problem))


# ---- pinned sums -------------------------------------------------------------------------

def _pin_key_problem(key):
    """Why key is not NAME-VERSION-ARCH as the artifact module looks pins up ("%s-%s-%s"), or None."""
    if not isinstance(key, str):
        return "it is not a string"
    name = next((n for n in sorted(ARTIFACT_NEEDS, key=len, reverse=True) if key.startswith(n + "-")), None)
    arch = next((a for a in bundle_manifest.ARCHES if key.endswith("-" + a)), None)
    if name is None:
        return "it does not start with an artifact name (%s)" % ", ".join(sorted(ARTIFACT_NEEDS))
    if arch is None:
        return "it does not end with -%s" % " or -".join(bundle_manifest.ARCHES)
    version = key[len(name) + 1:-len(arch) - 1]
    if not version:
        return "it has no version between the name and the architecture"
    # Catalog versions never carry the v (the URLs add it), so such a key would never be looked up.
    if version[0] in "vV" and version[1:2].isdigit():
        return "its version is written with a leading v, which versions here never have"
    return None


def _checksum_errors(values, errors):
    pins = values.get("binaries_checksums")
    if not isinstance(pins, dict):
        return  # not set, or a type error reported by the type checks
    for key in sorted(pins, key=str):
        problem = _pin_key_problem(key)
        if problem:
            errors.append("binaries_checksums key %s: %s; keys are NAME-VERSION-ARCH, such as etcd-3.6.15-amd64" % (_show(key), problem))
        value = pins[key]
        # The module strips and lower-cases the pin before comparing.
        if not isinstance(value, str) or not bundle_manifest.HEX64.match(value.strip().lower()):
            errors.append("binaries_checksums entry %s is %s: give the artifact's SHA-256 as 64 hex digits, as the release page lists it"
                          % (key, _show(value)))


# ---- entry point -------------------------------------------------------------------------

def source_errors(values, hosts):
    """Every problem with the artifact source settings (strings naming variable, value and fix); [] when none.

    values: variable name -> value (kubebin_*, binaries_checksums, the rendered _binaries_catalog);
    missing names skip the checks that need them. hosts: [{name, groups, arch, ...}].
    Never raises: wrong types are left to the type checks.
    """
    errors = []
    if not isinstance(values, dict):
        return errors
    needed = _needed(values, hosts, errors)
    source = values.get("kubebin_artifacts_source")
    if isinstance(source, str) and source not in SOURCES:
        errors.append("kubebin_artifacts_source is '%s': give %s" % (source, SOURCE_HELP))
    elif source == "bundle":
        _bundle_errors(values, needed, errors)
    elif source == "download":
        # Every catalog entry has a checksum_url (a unit test keeps it so): nothing can lack a sum here.
        _mirror_errors(values, errors)
    _checksum_errors(values, errors)
    return errors
