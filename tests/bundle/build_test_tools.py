# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the tools only the tests run, from their published Go modules (never part of a bundle).

    python tests/bundle/build_test_tools.py LINK

LINK is made a symlink to a cache directory (cache.py) holding, per tool, `bin/` and the data
directories its module release ships (kube-bench's benchmark definitions in `cfg/`). A warm run
costs seconds. Each tool's version is pinned here: a test tool follows no collection default.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# pylint: disable=wrong-import-position,import-error
import cache  # noqa: E402
import gomod  # noqa: E402

_ARCHES = {"x86_64": "amd64", "aarch64": "arm64"}

# Same fields as recipes.py, plus version (pinned) and data (directories copied from the module).
TOOLS = {
    "kube-bench": {
        "module": "github.com/aquasecurity/kube-bench",
        # The proxy serves this release but lists no versions for the module: ask for it exactly.
        "version": "v0.15.1",
        "siblings": "{v}",
        "main": ["github.com/aquasecurity/kube-bench"],
        "cgo": [],
        "tags": [],
        # upstream's makefile: CGO_ENABLED=0, the version in cmd.KubeBenchVersion
        "ldflags": ["-s", "-w", "-X github.com/aquasecurity/kube-bench/cmd.KubeBenchVersion={v}"],
        "data": ["cfg"],
    },
}


def _copy_data(module_dir: str, names: list, dest: str) -> None:
    """Copy data directories out of the read-only module cache, writable so the cache can prune."""
    for name in names:
        target = os.path.join(dest, name)
        shutil.copytree(os.path.join(module_dir, name), target, copy_function=shutil.copyfile)
        for root, _dirs, files in os.walk(target):
            os.chmod(root, 0o755)
            for entry in files:
                os.chmod(os.path.join(root, entry), 0o644)


def build_tool(name: str, recipe: dict, arch: str) -> str:
    """Build one tool (or take it from the cache); returns its cache directory."""
    key = cache.key_of(recipe, gomod.go_version(), arch, cache.sha256_file(os.path.join(HERE, "gomod.py")))
    entry = cache.Entry("test-tools", "%s-%s" % (name, recipe["version"]), key)

    def produce(scratch):
        workdir = os.path.join(os.path.dirname(scratch), ".wrapper-%s" % name)
        shutil.rmtree(workdir, ignore_errors=True)
        try:
            info = gomod.prepare_wrapper(workdir, name, recipe, recipe["version"])
            gomod.build(workdir, recipe, recipe["version"], info, os.path.join(scratch, "bin"), arch)
            _copy_data(info["Dir"], recipe["data"], scratch)
            return {"module": recipe["module"], "version": recipe["version"], "go": gomod.go_version()}
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    started = time.monotonic()
    _record, hit = entry.get(produce)
    state = "cached" if hit else "built"
    sys.stdout.write("%-12s %s %s: %s (%.0f s)\n" % (name, recipe["module"], recipe["version"], state, time.monotonic() - started))
    return entry.path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("link", help="made a directory of symlinks, one per tool, into the build cache")
    args = parser.parse_args(argv)
    if shutil.which("go") is None:
        raise SystemExit("go is not on PATH: the test tools are built from Go modules (Go 1.26+)")
    arch = _ARCHES.get(platform.machine(), platform.machine())
    os.makedirs(args.link, exist_ok=True)
    for name, recipe in TOOLS.items():
        path = build_tool(name, recipe, arch)
        link = os.path.join(args.link, name)
        if os.path.islink(link) and os.readlink(link) == path:
            continue
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(path, link)
    return 0


if __name__ == "__main__":
    sys.exit(main())
