"""The test-bundle builder's own logic: go.mod parsing, the wrapper module, version choice, cache."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bundle"))

import cache  # noqa: E402  pylint: disable=wrong-import-position,import-error
import gomod  # noqa: E402  pylint: disable=wrong-import-position,import-error
from recipes import RECIPES  # noqa: E402  pylint: disable=wrong-import-position,import-error

UPSTREAM = """// generated
module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
\tgithub.com/blang/semver/v4 v4.0.0
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0 // indirect
)

require k8s.io/kubelet v0.0.0

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tk8s.io/sample-cli-plugin => ./staging/src/k8s.io/sample-cli-plugin
\tgithub.com/other/mod => github.com/fork/mod v1.2.3
)

replace k8s.io/kubelet => ./staging/src/k8s.io/kubelet
replace go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY
"""


def test_parse_go_mod_reads_blocks_and_single_lines():
    parsed = gomod.parse_go_mod(UPSTREAM)
    assert parsed["go"] == "1.26.0"
    assert parsed["godebug"] == ["default=go1.26"]
    assert parsed["require"]["k8s.io/kubelet"] == "v0.0.0"
    assert parsed["require"]["k8s.io/client-go"] == "v0.0.0"
    # only replaces by relative path; a replace by another module is upstream's own business
    assert parsed["local_replace"] == ["k8s.io/api", "k8s.io/client-go", "k8s.io/sample-cli-plugin",
                                       "k8s.io/kubelet", "go.etcd.io/etcd"]


def test_wrapper_replaces_required_local_siblings_with_their_release():
    text = gomod.wrapper_go_mod("kubernetes", {"k8s.io/kubernetes": "v1.36.4"}, [UPSTREAM], "v0.{minor}.{patch}",
                                ["k8s.io/kubernetes/cmd/kubelet"])
    lines = text.splitlines()
    assert "go 1.26.0" in lines and "godebug default=go1.26" in lines
    assert "require k8s.io/kubernetes v1.36.4" in lines
    assert "replace k8s.io/api => k8s.io/api v0.36.4" in lines
    assert "replace k8s.io/kubelet => k8s.io/kubelet v0.36.4" in lines
    assert "tool k8s.io/kubernetes/cmd/kubelet" in lines
    # not required upstream, so never replaced: no unknown module is pulled in
    assert not [line for line in lines if "sample-cli-plugin" in line or "FORBIDDEN" in line or "etcd" in line]


def test_wrapper_never_replaces_a_module_it_requires_itself():
    etcdutl = "module go.etcd.io/etcd/etcdutl/v3\n\ngo 1.25.0\n\nrequire go.etcd.io/etcd/server/v3 v3.6.14\n" \
              "require go.etcd.io/etcd/api/v3 v3.6.14\n\nreplace go.etcd.io/etcd/server/v3 => ../server\n" \
              "replace go.etcd.io/etcd/api/v3 => ../api\n"
    text = gomod.wrapper_go_mod("etcd", {"go.etcd.io/etcd/server/v3": "v3.6.14", "go.etcd.io/etcd/etcdutl/v3": "v3.6.14"},
                                [etcdutl], "{v}", [])
    assert "replace go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v3.6.14" in text
    assert "replace go.etcd.io/etcd/server/v3" not in text


@pytest.fixture
def served(monkeypatch):
    listing = {"versions": [], "downloadable": set()}
    monkeypatch.setattr(gomod, "served_versions", lambda module: listing["versions"])

    def download(module, version):
        if version not in listing["downloadable"]:
            raise gomod.BuildError("%s@%s: not found" % (module, version))
        return {}
    monkeypatch.setattr(gomod, "download", download)
    return listing


def test_default_takes_the_nearest_served_patch_and_says_so(served):
    served["versions"] = ["v1.35.4", "v1.36.1", "v1.36.3", "v1.37.2"]
    version, note = gomod.resolve_version("k8s.io/kubernetes", "1.36.4", explicit=False, minor_fallback=False)
    assert version == "v1.36.3"
    assert "v1.36.4 is not served" in note and "v1.36.3" in note


def test_a_version_missing_from_the_list_but_served_is_built_as_asked(served):
    served["versions"] = ["v1.36.1"]
    served["downloadable"] = {"v1.36.4"}
    assert gomod.resolve_version("k8s.io/kubernetes", "1.36.4", explicit=True, minor_fallback=False) == ("v1.36.4", "")


def test_an_explicit_version_that_is_not_served_fails_naming_module_and_version(served):
    served["versions"] = ["v1.36.1", "v1.36.3"]
    with pytest.raises(gomod.BuildError, match=r"k8s.io/kubernetes v1.36.9 is not served"):
        gomod.resolve_version("k8s.io/kubernetes", "1.36.9", explicit=True, minor_fallback=False)


def test_no_patch_of_the_minor_fails_unless_the_recipe_allows_another_release(served):
    served["versions"] = ["v1.34.0", "v1.37.0"]
    with pytest.raises(gomod.BuildError, match="no 1.36.x release"):
        gomod.resolve_version("sigs.k8s.io/cri-tools", "1.36.0", explicit=False, minor_fallback=False)
    version, note = gomod.resolve_version("sigs.k8s.io/cri-tools", "1.36.0", explicit=False, minor_fallback=True)
    assert version == "v1.37.0" and "nearest served release v1.37.0" in note


def test_ldflags_fill_the_version_revision_and_date(tmp_path):
    (tmp_path / "test" / "images" / "agnhost").mkdir(parents=True)
    (tmp_path / "test" / "images" / "agnhost" / "VERSION").write_text("2.63.0\n")
    info = {"Dir": str(tmp_path), "InfoData": {"Version": "v1.36.4", "Time": "2026-08-20T11:51:43Z", "Origin": {"Hash": "abcdef0123456789"}}}
    flags = gomod.ldflags(RECIPES["kubernetes"], "v1.36.4", info)
    assert "-X k8s.io/component-base/version.gitVersion=v1.36.4" in flags
    assert "-X k8s.io/client-go/pkg/version.gitMinor=36" in flags
    assert "-X k8s.io/component-base/version.gitCommit=abcdef0123456789" in flags
    assert "-X k8s.io/component-base/version.buildDate=2026-08-20T11:51:43Z" in flags
    assert "gitTreeState=archive" in flags
    assert "-X main.Version=2.63.0" in flags   # agnhost's, from its VERSION file
    assert "GitSHA=abcdef0" in gomod.ldflags(RECIPES["etcd"], "v3.6.14", info)


def test_output_name_is_what_go_build_names_a_program():
    assert gomod.output_name("k8s.io/kubernetes/cmd/kubelet") == "kubelet"
    assert gomod.output_name("go.etcd.io/etcd/server/v3") == "server"
    assert gomod.output_name("github.com/opencontainers/runc") == "runc"


def test_every_recipe_builds_the_programs_its_artifacts_name():
    for name, recipe in RECIPES.items():
        renames = recipe.get("program_names", {})
        built = {renames.get(gomod.output_name(pkg), gomod.output_name(pkg)) for pkg in recipe["main"]}
        for artifact, spec in recipe["artifacts"].items():
            assert set(spec["programs"]) <= built, (name, artifact, spec["programs"], built)
        assert set(recipe["cgo"]) <= set(recipe["main"]), name


def test_cache_entry_rebuilds_when_a_file_no_longer_matches(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBEBIN_BUILD_CACHE", str(tmp_path))
    calls = []

    def produce(scratch):
        calls.append(scratch)
        with open(os.path.join(scratch, "prog"), "w", encoding="utf-8") as handle:
            handle.write("built %d" % len(calls))
        return {"n": len(calls)}

    entry = cache.Entry("programs", "demo", cache.key_of("recipe", "v1"))
    record, hit = entry.get(produce)
    assert not hit and record["meta"] == {"n": 1}
    record, hit = entry.get(produce)
    assert hit and len(calls) == 1
    with open(os.path.join(entry.path, "prog"), "a", encoding="utf-8") as handle:
        handle.write("corrupted")
    record, hit = entry.get(produce)
    assert not hit and record["meta"] == {"n": 2}
    with open(os.path.join(entry.path, "prog"), encoding="utf-8") as handle:
        assert handle.read() == "built 2"


def test_cache_lives_outside_the_clone_by_default(monkeypatch):
    monkeypatch.delenv("KUBEBIN_BUILD_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/somewhere")
    assert cache.cache_root() == "/var/cache/somewhere/kubebin"
