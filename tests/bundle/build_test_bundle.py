# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the test bundle from upstream source: every binary built from its published Go module,
the images built locally, in exactly the offline-bundle format (docs/architecture.md).

    python tests/bundle/build_test_bundle.py LINK [--arch amd64] [--kube-version 1.36.4] ...

Versions are the collection defaults (roles/kubebin/defaults/main.yml, roles/coredns/defaults)
wherever the Go module proxy serves them, else the nearest served patch, said in the manifest. A
version given on the command line must be served exactly. Builds are cached outside the clone
(cache.py); the bundle itself is assembled in the cache too and LINK is made a symlink to it, so a
warm run costs seconds. Needs Go, gcc and Debian's libseccomp-dev, pkg-config and busybox-static.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import sys
import tarfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

# pylint: disable=wrong-import-position,import-error
import cache  # noqa: E402
import gomod  # noqa: E402
import images  # noqa: E402
from recipes import RECIPES  # noqa: E402

_ARCHES = {"x86_64": "amd64", "aarch64": "arm64"}
# What decides a program (its cache key), and what else decides the assembled bundle.
_BUILD_SOURCES = ("gomod.py", "recipes.py")
_BUNDLE_SOURCES = _BUILD_SOURCES + ("build_test_bundle.py", "cache.py", "images.py", "oci.py")
# Command-line overrides: option -> recipe
_OVERRIDES = {"kube_version": "kubernetes", "etcd_version": "etcd", "containerd_version": "containerd",
              "runc_version": "runc", "cni_plugins_version": "cni-plugins", "crictl_version": "crictl",
              "coredns_version": "coredns"}


def sources_digest(names) -> str:
    return cache.key_of(*[cache.sha256_file(os.path.join(HERE, name)) for name in names])


def collection_default(recipe: dict) -> str:
    path = os.path.join(ROOT, recipe.get("defaults_file", "roles/kubebin/defaults/main.yml"))
    with open(path, encoding="utf-8") as handle:
        return str(yaml.safe_load(handle)[recipe["default_var"]])


def _tar_gz(out_path: str, members: list) -> None:
    """Deterministic tar.gz of (archive name, file path or None for a directory)."""
    with open(out_path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=6) as stream:
        with tarfile.open(fileobj=stream, mode="w", format=tarfile.GNU_FORMAT) as archive:
            for name, path in members:
                info = tarfile.TarInfo(name)
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mtime = 0
                if path is None:
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    archive.addfile(info)
                    continue
                info.size, info.mode = os.path.getsize(path), 0o755
                with open(path, "rb") as handle:
                    archive.addfile(info, handle)


def lay_out(shape: str, name: str, version: str, arch: str, programs: dict, bundle: str) -> str:
    """Write one artifact in its upstream shape; returns its path relative to the bundle."""
    base = "%s/%s/%s" % (name, version, arch)
    os.makedirs(os.path.join(bundle, base), exist_ok=True)
    if shape == "binary":
        rel = "%s/%s" % (base, name)
        shutil.copyfile(programs[name], os.path.join(bundle, rel))
        os.chmod(os.path.join(bundle, rel), 0o755)
        return rel
    if shape == "runc":
        rel = "%s/runc.%s" % (base, arch)
        shutil.copyfile(programs["runc"], os.path.join(bundle, rel))
        os.chmod(os.path.join(bundle, rel), 0o755)
        return rel
    layouts = {
        "etcd": ("etcd-v%s-linux-%s.tar.gz" % (version, arch), "etcd-v%s-linux-%s/" % (version, arch)),
        "containerd": ("containerd-%s-linux-%s.tar.gz" % (version, arch), "bin/"),
        "cni-plugins": ("cni-plugins-linux-%s-v%s.tgz" % (arch, version), "./"),
        "crictl": ("crictl-v%s-linux-%s.tar.gz" % (version, arch), ""),
    }
    file_name, top = layouts[shape]
    members = [(top, None)] if top else []
    members += [(top + prog, programs[prog]) for prog in sorted(programs)]
    rel = "%s/%s" % (base, file_name)
    _tar_gz(os.path.join(bundle, rel), members)
    return rel


def build_programs(name: str, recipe: dict, wanted: str, explicit: bool, arch: str) -> dict:
    """Resolve the version, build (or take from the cache) every program of one recipe."""
    version, note = gomod.resolve_version(recipe["module"], wanted, explicit, recipe.get("minor_fallback", False))
    key = cache.key_of(recipe, version, gomod.go_version(), arch, sources_digest(_BUILD_SOURCES))
    entry = cache.Entry("programs", "%s-%s" % (name, version), key)

    def produce(scratch):
        workdir = os.path.join(os.path.dirname(scratch), ".wrapper-%s" % name)
        if os.path.isdir(workdir):
            shutil.rmtree(workdir)
        try:
            info = gomod.prepare_wrapper(workdir, name, recipe, version)
            gomod.build(workdir, recipe, version, info, os.path.join(scratch, "bin"), arch)
            os.makedirs(os.path.join(scratch, "wrapper"))
            for kept in ("go.mod", "go.sum"):
                shutil.copyfile(os.path.join(workdir, kept), os.path.join(scratch, "wrapper", kept))
            return {"module": recipe["module"], "version": version, "go": gomod.go_version(),
                    "module_dir": info["Dir"], "time": info["InfoData"].get("Time"),
                    "revision": (info["InfoData"].get("Origin") or {}).get("Hash", "")}
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    started = _now()
    record, hit = entry.get(produce)
    state = "cached" if hit else "built"
    sys.stdout.write("%-12s %s %s: %s (%.0f s)\n" % (name, recipe["module"], version, state, _now() - started))
    bindir = os.path.join(entry.path, "bin")
    return {"version": version, "requested": wanted, "note": note, "meta": record["meta"],
            "programs": {prog: os.path.join(bindir, prog) for prog in os.listdir(bindir)}}


def _now() -> float:
    return time.monotonic()


def assemble(bundle: str, arch: str, built: dict, extra_images: list) -> dict:
    artifacts = []
    versions = {}
    for name, recipe in RECIPES.items():
        result = built[name]
        bare = result["version"].lstrip("v")
        for artifact, spec in recipe["artifacts"].items():
            programs = {prog: result["programs"][prog] for prog in spec["programs"]}
            rel = lay_out(spec["shape"], artifact, bare, arch, programs, bundle)
            entry = {"name": artifact, "version": bare, "arch": arch, "file": rel,
                     "sha256": cache.sha256_file(os.path.join(bundle, rel)),
                     "url": "built from Go module %s@%s with %s" % (recipe["module"], result["version"], result["meta"]["go"])}
            if result["note"]:
                entry["requested"] = result["requested"].lstrip("v")
                entry["note"] = result["note"]
            artifacts.append(entry)
        versions[recipe["default_var"]] = bare
    image_entries = images.build_all(bundle, arch, built, extra_images)
    manifest = {"format": 1, "artifacts": artifacts, "images": image_entries}
    with open(os.path.join(bundle, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
    with open(os.path.join(bundle, "versions.yml"), "w", encoding="utf-8") as handle:
        handle.write("---\n# Versions in this test bundle, every binary built from its upstream Go module.\n")
        for key in sorted(versions):
            handle.write('%s: "%s"\n' % (key, versions[key]))
    return manifest


def relink(link: str, target: str) -> None:
    if os.path.islink(link) or os.path.isfile(link):
        os.unlink(link)
    elif os.path.isdir(link):
        shutil.rmtree(link)
    os.makedirs(os.path.dirname(os.path.abspath(link)), exist_ok=True)
    os.symlink(target, link)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("link", help="made a symlink to the assembled bundle (in the build cache)")
    host_arch = _ARCHES.get(platform.machine(), platform.machine())
    parser.add_argument("--arch", default=host_arch, choices=[host_arch],
                        help="the build machine's architecture (kubelet and runc are linked with cgo)")
    for option in _OVERRIDES:
        parser.add_argument("--" + option.replace("_", "-"), help="build exactly this version (must be served)")
    args = parser.parse_args(argv)
    if shutil.which("go") is None:
        raise SystemExit("go is not on PATH: the test bundle is built from Go modules (Go 1.26+)")

    started = _now()
    built = {}
    for name, recipe in RECIPES.items():
        explicit = next((getattr(args, opt) for opt, rec in _OVERRIDES.items() if rec == name and getattr(args, opt)), None)
        built[name] = build_programs(name, recipe, explicit or collection_default(recipe), bool(explicit), args.arch)
    extra = images.extra_sources()
    key = cache.key_of(sorted((n, r["version"], sorted((p, cache.sha256_file(f)) for p, f in r["programs"].items()))
                              for n, r in built.items()), extra, args.arch, sources_digest(_BUNDLE_SOURCES))
    bundle = cache.Entry("bundles", "test-bundle", key)

    def produce(scratch):
        return assemble(scratch, args.arch, built, extra)

    record, hit = bundle.get(produce)
    relink(args.link, bundle.path)
    # "is up to date": molecule/etcd/prepare.yml reads it as "nothing changed".
    sys.stdout.write("bundle in %s %s -> %s (%.0f s)\n" % (args.link, "is up to date" if hit else "assembled", bundle.path, _now() - started))
    for entry in record["meta"]["artifacts"]:
        sys.stdout.write("  %-24s %-8s %s\n" % (entry["name"], entry["version"], entry.get("note", "")))
    for entry in record["meta"]["images"]:
        sys.stdout.write("  image %s (%s)\n" % (entry["name"], entry["purpose"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
