"""Preflight checks of the artifact source: one refusal at a time against valid download and bundle
baselines, and the artifact -> host-group table checked against what the roles and plays do."""

from __future__ import annotations

import functools
import itertools
import glob
import json
import os
import re
import sys
import tarfile
from types import SimpleNamespace

import jinja2
import jinja2.meta
import pytest
import yaml

from ansible_collections.kubebin.cluster.plugins.module_utils import preflight_sources
from ansible_collections.kubebin.cluster.plugins.module_utils.preflight_sources import source_errors
from ansible_collections.kubebin.cluster.plugins.module_utils.artifact_export import export_bundle
from ansible_collections.kubebin.cluster.plugins.module_utils.artifact_obtain import Obtainer, expand

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "binaries"))

from binaries_helpers import VERSIONS, binary_body, sha256  # noqa: E402  pylint: disable=wrong-import-position,import-error


def load(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


BINARIES_VARS = load("roles", "binaries", "vars", "main.yml")
CATALOG_TEMPLATE = BINARIES_VARS["_binaries_catalog"]
ARTIFACT_OF = BINARIES_VARS["_binaries_artifact_of"]
PINS = BINARIES_VARS["_binaries_pinned_sha256"]

# Plain Jinja is enough for the expressions involved; `bool` is the one Ansible filter they use.
ENV = jinja2.Environment(undefined=jinja2.StrictUndefined)
ENV.filters["bool"] = lambda value: value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on", "y")


# ---- values and hosts as preflight gets them --------------------------------------------

def render(value, context):
    """A role value as Jinja renders it (the catalog leaves {version} and {arch} alone, as in Ansible)."""
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if isinstance(value, str) and "{{" in value:
        return ENV.from_string(value).render(**context)
    return value


def settings(tmp_path, **overrides):
    values = {
        "kubebin_artifacts_source": "download",
        "kubebin_bundle_dir": "",
        "kubebin_download_cache_dir": str(tmp_path / "cache"),
        "kubebin_mirror_kubernetes": "https://dl.k8s.io",
        "kubebin_mirror_github": "https://github.com",
        "binaries_checksums": {},
        "_binaries_pinned_sha256": PINS,
    }
    values.update(("kubebin_%s_version" % key, version) for key, version in VERSIONS.items())
    values["kubebin_kubectl_version"] = values["kubebin_kube_version"]
    values.update(overrides)
    values["_binaries_catalog"] = render(CATALOG_TEMPLATE, values)
    return values


def host(name, arch, *groups):
    return {"name": name, "node_name": name, "ips": ["192.0.2.%d" % (len(name) + 10)], "arch": arch, "groups": list(groups)}


CP = ("etcd", "kube_control_plane", "k8s_cluster")
NODE = ("kube_node", "k8s_cluster")
HOSTS = [host("cp1", "amd64", *CP), host("w1", "amd64", *NODE)]
WITH_ARM = HOSTS + [host("w2", "arm64", *NODE)]


# ---- bundles, written by the artifact module's own export --------------------------------

def write_bundle(tmp_path, arches=("amd64",), drop=()):
    """A bundle directory laid out and listed exactly as playbooks/bundle.yml makes it (small fake files)."""
    root = tmp_path / "bundle"
    catalog = settings(tmp_path)["_binaries_catalog"]
    params = dict(cache_dir=str(tmp_path / "src"), source="download", checksums={}, timeout=1, retries=0)
    obtainer = Obtainer(SimpleNamespace(params=params, check_mode=False))
    results = {}
    for entry, arch in itertools.product(catalog.values(), arches):
        if entry["name"] in drop:
            continue
        item = dict(entry, arch=arch)
        relative = obtainer.relative_file(item)
        body = binary_body(item["name"], item["version"], arch)
        path = tmp_path / "src" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        results[relative] = dict(name=item["name"], version=item["version"], arch=arch, file=relative, path=str(path),
                                 sha256=sha256(body), url=expand(item["url"], item))
    manifest = [dict((k, r[k]) for k in ("name", "version", "arch", "file", "sha256", "url")) for _f, r in sorted(results.items())]
    export_bundle(SimpleNamespace(check_mode=False), str(root), results, manifest)
    return root


def edit_manifest(root, change):
    path = root / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def pack(root):
    tarball = root.parent / "bundle.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(str(root), "kubebin-bundle")
    return tarball


def download(hosts=None, **overrides):
    return lambda t: (settings(t, **overrides), hosts or HOSTS)


def bundle(hosts=None, arches=("amd64",), drop=(), change=None, where=None, **overrides):
    """Setup for a bundle run; where(tmp_path, bundle root) -> kubebin_bundle_dir (default: the directory)."""
    def setup(t):
        root = write_bundle(t, arches, drop)
        if change:
            edit_manifest(root, change)
        path = where(t, root) if where else root
        return settings(t, kubebin_artifacts_source="bundle", kubebin_bundle_dir=str(path), **overrides), hosts or HOSTS
    return setup


def set_entry(name, arch, **fields):
    def change(data):
        next(e for e in data["artifacts"] if e["name"] == name and e["arch"] == arch).update(fields)
    return change


def write_file(name, text):
    def where(t, _root):
        (t / name).write_text(text)
        return t / name
    return where


def bundle_dir_with(manifest_text):
    def where(t, _root):
        (t / "other").mkdir()
        if manifest_text is not None:
            (t / "other" / "manifest.json").write_text(manifest_text)
        return t / "other"
    return where


def empty_tarball(t, _root):
    (t / "empty").mkdir()
    (t / "empty" / "README").write_text("no manifest here\n")
    with tarfile.open(t / "empty.tgz", "w:gz") as tar:
        tar.add(str(t / "empty"), "empty")
    return t / "empty.tgz"


K, E = VERSIONS["kube"], VERSIONS["etcd"]
CASES = [
    # valid baselines
    ("download baseline", download(), []),
    ("download with a pinned sum in capitals and blanks", download(binaries_checksums={"etcd-%s-amd64" % E: " %s \n" % ("AB" * 32)}), []),
    ("bundle directory", bundle(), []),
    ("bundle tarball", bundle(where=lambda t, root: pack(root)), []),
    ("bundle with arm64 for an arm64 node", bundle(hosts=WITH_ARM, arches=("amd64", "arm64")), []),
    ("bundle without crictl when containerd_crictl is false", bundle(drop=("crictl",), containerd_crictl=False), []),
    ("bundle mode does not read the mirrors", bundle(kubebin_mirror_github="ftp://mirror.example"), []),
    # refusals
    ("unknown source", download(kubebin_artifacts_source="usb"), ["kubebin_artifacts_source is 'usb': give download (", "or bundle ("]),
    ("bundle without a bundle dir", download(kubebin_artifacts_source="bundle"),
     ["kubebin_bundle_dir is empty but kubebin_artifacts_source is bundle: set it to the directory playbooks/bundle.yml writes"]),
    ("missing bundle dir", bundle(where=lambda t, _root: t / "nowhere"),
     ["kubebin_bundle_dir '", "/nowhere", "does not exist", "rebuild it with playbooks/bundle.yml"]),
    ("bundle dir without manifest", bundle(where=bundle_dir_with(None)), ["/other has no readable manifest.json"]),
    ("manifest is not JSON", bundle(where=bundle_dir_with("{not json")), ["/other/manifest.json is not JSON"]),
    ("manifest of another format", bundle(where=bundle_dir_with('{"format": 2, "artifacts": []}')), ["is not a format 1 bundle manifest"]),
    ("bundle dir is a plain file", bundle(where=write_file("bundle.txt", "x")), ["bundle.txt' is a file but not a bundle tarball: give", ".tar.gz/.tgz/.tar"]),
    ("tarball without manifest", bundle(where=empty_tarball), ["empty.tgz has no manifest.json at its top or one level down"]),
    ("artifact missing from the bundle", bundle(drop=("etcd",)),
     ["has no etcd %s for amd64, which etcd hosts cp1 need (kubebin_etcd_version is '%s'; the bundle has no etcd at all)" % (E, E),
      "rebuild it with playbooks/bundle.yml from this inventory (-e bundle_dir=", "-e bundle_arches=amd64) for kubebin_etcd_version %s" % E]),
    ("version the bundle does not carry", bundle(kubebin_etcd_version="3.6.98"),
     ["has no etcd 3.6.98 for amd64", "the bundle has etcd %s for amd64" % E, "or set kubebin_etcd_version to a version the bundle carries"]),
    ("kubectl version the bundle does not carry", bundle(kubebin_kubectl_version="1.37.0"),
     ["has no kubectl 1.37.0 for amd64, which kube_control_plane hosts cp1 need (kubebin_kubectl_version is '1.37.0'"]),
    ("architecture missing for an arm64 node", bundle(hosts=WITH_ARM),
     ["has no kubelet %s for arm64, which kube_node hosts w2 need" % K, "the bundle has kubelet %s for amd64)" % K,
      "-e bundle_arches=amd64,arm64) so it carries every architecture of the hosts"]),
    ("manifest entry without a usable sum", bundle(change=set_entry("etcd", "amd64", sha256="abc")),
     ["etcd %s for amd64: manifest entry needs a relative file and a sha256; rebuild the bundle with playbooks/bundle.yml" % E]),
    ("mirror with another scheme", download(kubebin_mirror_github="ftp://mirror.example"),
     ["kubebin_mirror_github is 'ftp://mirror.example': its scheme is not http or https; give an http or https URL with a host"]),
    ("mirror without a scheme", download(kubebin_mirror_kubernetes="dl.k8s.io"), ["kubebin_mirror_kubernetes is 'dl.k8s.io': its scheme is not http or https"]),
    ("mirror without a host", download(kubebin_mirror_kubernetes="https://"), ["kubebin_mirror_kubernetes is 'https://': it has no host"]),
    ("mirror with blanks", download(kubebin_mirror_kubernetes="https://dl k8s.io"), ["it has blanks in it"]),
    ("empty mirror", download(kubebin_mirror_kubernetes=""), ["kubebin_mirror_kubernetes is '': it is empty"]),
    ("mirror with a bad port", download(kubebin_mirror_kubernetes="https://dl.k8s.io:99999"), ["it does not parse as a URL"]),
    ("mirror with a query", download(kubebin_mirror_github="https://mirror.example/?repo=gh"), ["it has a query or fragment"]),
    ("pinned sum that is not a SHA-256", download(binaries_checksums={"etcd-%s-amd64" % E: "abc"}),
     ["binaries_checksums entry etcd-%s-amd64 is 'abc': give the artifact's SHA-256 as 64 hex digits" % E]),
    ("pinned sum that is a list", download(binaries_checksums={"etcd-%s-amd64" % E: ["a" * 64]}), ["binaries_checksums entry etcd-%s-amd64 is a list:" % E]),
    ("pin key without an architecture", download(binaries_checksums={"etcd-%s" % E: "a" * 64}),
     ["binaries_checksums key 'etcd-%s': it does not end with -amd64 or -arm64; keys are NAME-VERSION-ARCH, such as etcd-3.6.15-amd64" % E]),
    ("pin key with a v before the version", download(binaries_checksums={"etcd-v%s-amd64" % E: "a" * 64}), ["its version is written with a leading v"]),
    ("pin key of an unknown artifact", download(binaries_checksums={"etcdadm-1.0.0-amd64": "a" * 64}),
     ["it does not start with an artifact name (cni-plugins, containerd,"]),
    ("pin key without a version", download(binaries_checksums={"etcd--amd64": "a" * 64}), ["it has no version between the name and the architecture"]),
    ("host of an unknown architecture", download(hosts=HOSTS + [host("w9", "x86_64", *NODE)]), ["host 'w9': kubebin_arch is 'x86_64': give amd64 or arm64"]),
]


@pytest.mark.parametrize("setup, fragments", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_source_errors(tmp_path, setup, fragments):
    values, hosts = setup(tmp_path)
    errors = source_errors(values, hosts)
    if not fragments:
        assert errors == []
        return
    assert errors, "expected a refusal"
    text = "\n".join(errors)
    for fragment in fragments:
        assert fragment in text, text
    # Messages name the value, never a Python repr of a container.
    assert not re.search(r"\[['\"{]|\{'", text), text


def test_every_problem_is_reported_at_once(tmp_path):
    values, hosts = bundle(hosts=WITH_ARM, drop=("etcd",), binaries_checksums={"etcd": "x"})(tmp_path)
    errors = source_errors(values, hosts)
    # etcd (amd64), six node artifacts for arm64, and the bad pin (key and value).
    assert len(errors) == 1 + 6 + 2, errors
    assert all(isinstance(error, str) for error in errors)


def test_a_version_given_as_a_number_matches_the_manifest_string(tmp_path):
    """YAML reads etcd_version: 3.6 as a float; the module compares versions as strings, and so does preflight."""
    values, hosts = bundle(change=set_entry("etcd", "amd64", version="3.6"))(tmp_path)
    values["_binaries_catalog"]["etcd"]["version"] = 3.6
    assert source_errors(values, hosts) == []


def test_a_tarball_already_unpacked_is_read_from_its_copy_in_the_cache(tmp_path):
    values, hosts = bundle(where=lambda t, root: pack(root))(tmp_path)
    cache = values["kubebin_download_cache_dir"]
    unpacked = os.path.join(preflight_sources.bundle_manifest.unpacked_dir(cache, values["kubebin_bundle_dir"]), "kubebin-bundle")
    os.makedirs(unpacked)
    with open(os.path.join(unpacked, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump({"format": 1, "artifacts": []}, handle)
    open(os.path.join(os.path.dirname(unpacked), ".unpacked"), "w", encoding="utf-8").close()
    assert any("has no etcd" in error for error in source_errors(values, hosts))


@pytest.mark.parametrize("odd", [None, 3, True, ["x"], {"a": 1}, "", "bundle"])
def test_wrong_types_never_raise(tmp_path, odd):
    values = {key: odd for key in settings(tmp_path)}
    values["kubebin_artifacts_source"] = "bundle"
    hosts = [odd, {"name": "h", "groups": odd, "arch": odd}, {"name": "n", "groups": ["kube_node", ["x"]], "arch": "amd64"}]
    for candidate in (values, dict(values, _binaries_catalog={"etcd": odd}), odd):
        errors = source_errors(candidate, hosts)
        assert isinstance(errors, list) and all(isinstance(error, str) for error in errors)
        assert not re.search(r"\[['\"{]|\{'", "\n".join(errors)), errors


# ---- what the table must agree with ------------------------------------------------------

def test_every_catalog_entry_has_a_checksum_url():
    """So no artifact can lack a sum in download mode, and preflight has no check for it: keep it so."""
    lacking = sorted(name for name, entry in CATALOG_TEMPLATE.items() if not entry.get("checksum_url"))
    assert not lacking, "catalog entries without checksum_url: %s (add a preflight check for them)" % ", ".join(lacking)


def test_table_names_each_catalog_artifact_with_its_version_variables():
    assert sorted(preflight_sources.ARTIFACT_NEEDS) == sorted(CATALOG_TEMPLATE)
    assert sorted(set(ARTIFACT_OF.values())) == sorted(CATALOG_TEMPLATE)
    for name, entry in CATALOG_TEMPLATE.items():
        assert tuple(re.findall(r"\bkubebin_\w+_version\b", entry["version"])) == preflight_sources.ARTIFACT_NEEDS[name][2], name


def test_the_shipped_pins_pass_the_pin_rule():
    assert source_errors({"binaries_checksums": PINS}, []) == []


# The roles and plays as Ansible runs them, for a host of every mix of groups: which artifacts it
# gets must be what ARTIFACT_NEEDS says. Plain Jinja stands in for Ansible's templating.

ROLE_PREFIX = "kubebin.cluster."
GROUP_MIXES = [mix for size in (1, 2, 3) for mix in itertools.combinations(("etcd", "kube_control_plane", "kube_node"), size)]


def module_args(task, action):
    for key in (action, "ansible.builtin." + action):
        if key in task:
            return task[key]
    return None


@functools.lru_cache(maxsize=None)
def expression(source):
    return ENV.compile_expression(source, undefined_to_none=False)


class Scope:
    """The variables one host sees inside one role, templated on demand (precedence by layer order)."""

    def __init__(self, layers, magic):
        self.raw = {}
        for layer in layers:
            self.raw.update(layer or {})
        self.values = dict(magic)

    def _references(self, value):
        if isinstance(value, dict):
            return set().union(*(self._references(v) for v in value.values())) if value else set()
        if isinstance(value, list):
            return set().union(*(self._references(v) for v in value)) if value else set()
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            return jinja2.meta.find_undeclared_variables(ENV.parse(value))
        return set()

    def _resolve(self, names, active=()):
        for name in sorted(names):
            if name in self.values or name not in self.raw or name in active:
                continue
            self._resolve(self._references(self.raw[name]), active + (name,))
            self.values[name] = self.template(self.raw[name])

    def template(self, value):
        self._resolve(self._references(value))
        if isinstance(value, dict):
            return {k: self.template(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.template(v) for v in value]
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("{{") and text.endswith("}}") and text.count("{{") == 1:
            result = expression(text[2:-2])(**self.values)
            assert not isinstance(result, jinja2.Undefined), "undefined: %s" % text
            return result
        return ENV.from_string(value).render(**self.values) if "{{" in value or "{%" in value else value

    def condition(self, when):
        if isinstance(when, bool):
            return when
        self._resolve(jinja2.meta.find_undeclared_variables(ENV.parse("{{ %s }}" % when)))
        return bool(expression(when)(**self.values))


def role_file(role, *parts):
    path = os.path.join(REPO, "roles", role, *parts)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def binaries_includes(tasks, where, conditions=(), seen=()):
    """Every include of the binaries role reached from tasks: (role, file, task name, conditions, vars).

    where is (role, file of tasks); other roles are walked too (their includes are theirs).
    """
    role, path = where
    for task in tasks or []:
        conds = conditions + tuple((role, w) for w in (task.get("when") if isinstance(task.get("when"), list) else [task.get("when")]) if w)
        for key in ("block", "rescue", "always"):
            yield from binaries_includes(task.get(key), where, conds, seen)
        included = module_args(task, "include_tasks") or module_args(task, "import_tasks")
        if included:
            name = included["file"] if isinstance(included, dict) else included
            # A templated file name (gate_{{ kind }}.yml) may be any file it matches: walk them all.
            children = sorted(glob.glob(os.path.join(os.path.dirname(path), re.sub(r"\{\{[^}]*\}\}", "*", name))))
            assert children, "no task file matches %s in %s" % (name, path)
            for child in children:
                with open(child, encoding="utf-8") as handle:
                    yield from binaries_includes(yaml.safe_load(handle), (role, child), conds, seen)
        args = module_args(task, "include_role") or module_args(task, "import_role")
        if not args:
            continue
        assert "loop" not in task and "with_items" not in task, "looped include_role: teach this test"
        target = args["name"]
        if target == ROLE_PREFIX + "binaries" and not args.get("tasks_from"):
            assert "binaries_wanted" in (task.get("vars") or {}), "include of binaries without binaries_wanted in %s" % path
            yield role, path, task.get("name"), conds, task["vars"]
        elif target.startswith(ROLE_PREFIX) and (target, args.get("tasks_from")) not in seen:
            yield from role_includes(target, args.get("tasks_from") or "main", conds, seen + ((target, args.get("tasks_from")),))


def role_includes(target, tasks_from="main", conditions=(), seen=()):
    role = target[len(ROLE_PREFIX):]
    for dependency in (role_file(role, "meta", "main.yml") or {}).get("dependencies") or []:
        name = dependency["role"] if isinstance(dependency, dict) else dependency
        if name == ROLE_PREFIX + "binaries":
            yield role, os.path.join(REPO, "roles", role, "meta", "main.yml"), "dependency", conditions, dependency.get("vars") or {}
        else:
            yield from role_includes(name, "main", conditions, seen)
    tasks = role_file(role, "tasks", tasks_from + ".yml")
    yield from binaries_includes(tasks, (role, os.path.join(REPO, "roles", role, "tasks", tasks_from + ".yml")), conditions, seen)


def plays(path):
    with open(path, encoding="utf-8") as handle:
        entries = yaml.safe_load(handle)
    for entry in entries:
        if "never" in (entry.get("tags") or []):
            continue  # not part of a normal run
        imported = module_args(entry, "import_playbook")
        if imported:
            yield from plays(os.path.join(os.path.dirname(path), imported))
        else:
            yield path, entry


def pattern_hosts(pattern, groups):
    # site.yml's own patterns (scale.yml narrows them with _kubebin_added_nodes, unset here).
    pattern = jinja2.Template(pattern).render() if "{{" in pattern else pattern
    hosts = []
    for part in pattern.split(":"):
        match = re.fullmatch(r"(\w+)(?:\[(\d+)\])?", part)
        assert match, "host pattern %s: teach this test" % pattern
        members = groups.get(match.group(1), [])
        if match.group(2) is not None:
            members = members[int(match.group(2)):int(match.group(2)) + 1]
        hosts += [h for h in members if h not in hosts]
    return hosts


def play_includes(play, path):
    for entry in play.get("roles") or []:
        name = entry["role"] if isinstance(entry, dict) else entry
        if name == ROLE_PREFIX + "binaries":
            # A play of several components installs all their binaries in one role entry.
            assert "binaries_wanted" in (entry.get("vars") or {}), "binaries role without binaries_wanted in %s" % path
            yield None, path, "role entry", (), entry["vars"]
        yield from role_includes(name)
    for key in ("pre_tasks", "tasks", "post_tasks"):
        # Play-level task files are relative to the playbooks directory.
        yield from binaries_includes(play.get(key), (None, os.path.join(REPO, "playbooks", "play.yml")))


def role_layers(role):
    own = [role_file(role, "defaults", "main.yml"), role_file(role, "vars", "main.yml")] if role else [{}, {}]
    return role_file("kubebin", "defaults", "main.yml"), own[0], own[1]


def artifacts_from_roles(inventory_vars):
    """{host: set of artifacts} as the site playbook's roles install them, for one host per group mix."""
    hosts = {"h-" + "-".join(mix): list(mix) + (["k8s_cluster"] if set(mix) - {"etcd"} else []) for mix in GROUP_MIXES}
    groups = {"all": sorted(hosts)}
    for name in sorted(hosts):
        for group in hosts[name]:
            groups.setdefault(group, []).append(name)
    got = {name: set() for name in hosts}
    reached = set()
    for play_file, play in plays(os.path.join(REPO, "site.yml")):
        play_hosts = pattern_hosts(play["hosts"], groups)
        for role, path, task, conditions, task_vars in play_includes(play, play_file):
            reached.add(path)
            for name in play_hosts:
                magic = dict(inventory_hostname=name, groups=groups, group_names=hosts[name], ansible_play_hosts=play_hosts)
                kubebin, defaults, role_vars = role_layers(role)
                scope = Scope([kubebin, defaults, inventory_vars, play.get("vars"), role_vars, task_vars], magic)
                if all(scope.condition(when) for _role, when in conditions):
                    wanted = scope.template(task_vars["binaries_wanted"])
                    assert isinstance(wanted, list), "%s: %s in %s gives %r" % (name, task, path, wanted)
                    got[name] |= set(ARTIFACT_OF[binary] for binary in wanted)
    return hosts, got, reached


def binaries_wanted_files():
    """The roles/*/tasks and roles/*/meta files that ask the binaries role for binaries."""
    found = set()
    for role in os.listdir(os.path.join(REPO, "roles")):
        for part in ("tasks", "meta"):
            directory = os.path.join(REPO, "roles", role, part)
            for base, _dirs, files in os.walk(directory) if role != "binaries" else ():
                for file_name in files:
                    with open(os.path.join(base, file_name), encoding="utf-8") as handle:
                        if re.search(r"^\s*binaries_wanted:", handle.read(), re.M):
                            found.add(os.path.join(base, file_name))
    return found


def settings_for_table():
    values = {"kubebin_%s_version" % key: version for key, version in VERSIONS.items()}
    values["kubebin_kubectl_version"] = values["kubebin_kube_version"]
    return values


@pytest.mark.parametrize("crictl", [True, False])
def test_table_matches_what_the_roles_install_on_each_mix_of_groups(crictl):
    hosts, got, reached = artifacts_from_roles({"containerd_crictl": crictl})
    unreached = binaries_wanted_files() - reached
    assert not unreached, "binaries_wanted in files no play of site.yml reaches: %s (teach this test)" % ", ".join(sorted(unreached))
    inventory = [{"name": name, "arch": "amd64", "groups": groups} for name, groups in hosts.items()]
    needed = preflight_sources._needed(dict(settings_for_table(), containerd_crictl=crictl), inventory, [])  # pylint: disable=protected-access
    table = {name: set() for name in hosts}
    for (name, _version, _arch), names in needed.items():
        for host_name in names:
            table[host_name].add(name)
    for name in sorted(hosts):
        assert table[name] == got[name], "%s: table says %s, roles install %s" % (
            name, ", ".join(sorted(table[name])), ", ".join(sorted(got[name])))
    assert any("crictl" in artifacts for artifacts in got.values()) == crictl
