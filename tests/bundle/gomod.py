# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build upstream programs from their published Go modules, in a wrapper module per project.

Upstream go.mod files replace their sibling modules with local directories (Kubernetes' staging
tree, etcd's api/client/pkg). Those replaces only count in the main module, so a consumer gets
"unknown revision v0.0.0". The wrapper written here requires the upstream module and replaces each
sibling that upstream's go.mod both requires and points at a relative path with that sibling's
published release. The list is read from the downloaded go.mod, never written down here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

_GO_TIMEOUT = 3600
_SEMVER = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


class BuildError(SystemExit):
    """A build step failed: the message names the module and version."""


def _go(args, cwd=None, env=None, timeout=_GO_TIMEOUT) -> str:
    run_env = dict(os.environ, **(env or {}))
    run_env.setdefault("GOFLAGS", "-mod=mod")
    proc = subprocess.run(["go"] + args, cwd=cwd, env=run_env, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise BuildError("go %s failed (exit %d):\n%s" % (" ".join(args), proc.returncode, proc.stderr[-4000:]))
    return proc.stdout


def go_version() -> str:
    return _go(["env", "GOVERSION"]).strip()


def served_versions(module: str) -> list:
    """Released versions the proxy serves for a module (no pre-releases), oldest first."""
    data = json.loads(_go(["list", "-m", "-versions", "-json", module], timeout=300))
    return [v for v in data.get("Versions") or [] if _SEMVER.match(v)]


def _parts(version: str) -> tuple:
    match = _SEMVER.match(version)
    return tuple(int(part) for part in match.groups())


def resolve_version(module: str, wanted: str, explicit: bool, minor_fallback: bool) -> tuple:
    """(version to build, note). An explicit request must be served exactly; a default may be
    replaced by the nearest served patch of its minor (or, with minor_fallback, any release)."""
    tag = "v" + wanted.lstrip("v")
    served = served_versions(module)
    if tag in served:
        return tag, ""
    if not _SEMVER.match(tag):
        raise BuildError("%s: %r is not a release version (vMAJOR.MINOR.PATCH)" % (module, wanted))
    # A version missing from the list may still be served (the list can be partial): ask for it.
    try:
        download(module, tag)
        return tag, ""
    except BuildError:
        pass
    if explicit:
        raise BuildError("%s %s is not served by the Go module proxy (served: %s)" % (module, tag, ", ".join(served[-8:]) or "none"))
    major, minor, patch = _parts(tag)
    same_minor = [v for v in served if _parts(v)[:2] == (major, minor)]
    pool = same_minor or (served if minor_fallback else [])
    if not pool:
        raise BuildError("%s: no %d.%d.x release is served by the Go module proxy (served: %s)"
                         % (module, major, minor, ", ".join(served[-8:]) or "none"))

    def distance(version):
        vmaj, vmin, vpat = _parts(version)
        return (abs((vmaj * 1000 + vmin) - (major * 1000 + minor)), abs(vpat - patch), -vpat)

    chosen = min(pool, key=distance)
    return chosen, "%s %s is not served by the Go module proxy; built the nearest served release %s" % (module, tag, chosen)


def download(module: str, version: str) -> dict:
    """`go mod download -json`: Dir, GoMod, Info (the proxy's metadata: Time, Origin)."""
    data = json.loads(_go(["mod", "download", "-json", "%s@%s" % (module, version)], timeout=1800))
    if data.get("Error"):
        raise BuildError("%s@%s: %s" % (module, version, data["Error"]))
    with open(data["Info"], encoding="utf-8") as handle:
        data["InfoData"] = json.load(handle)
    return data


def parse_go_mod(text: str) -> dict:
    """The parts of a go.mod a wrapper needs: go, godebug lines, requires, relative replaces."""
    result = {"go": None, "godebug": [], "require": {}, "local_replace": []}
    block = None
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if line.endswith("("):
            block = line[:-1].strip()
            continue
        if line == ")":
            block = None
            continue
        directive, rest = (block, line) if block else (line.split(None, 1) + [""])[:2]
        fields = rest.split()
        if directive == "go" and fields:
            result["go"] = fields[0]
        elif directive == "godebug":
            result["godebug"].append(rest.strip())
        elif directive == "require" and len(fields) >= 2:
            result["require"][fields[0]] = fields[1]
        elif directive == "replace" and "=>" in fields:
            arrow = fields.index("=>")
            target = fields[arrow + 1]
            if target.startswith("./") or target.startswith("../"):
                result["local_replace"].append(fields[0])
    return result


def output_name(package: str) -> str:
    """The file name `go build -o DIR/` gives a main package: its last path element, or the one
    before a major-version suffix (go.etcd.io/etcd/server/v3 -> server)."""
    parts = package.split("/")
    return parts[-2] if re.match(r"^v\d+$", parts[-1]) and len(parts) > 1 else parts[-1]


def sibling_version(pattern: str, version: str) -> str:
    major, minor, patch = _parts(version)
    return pattern.format(v=version, major=major, minor=minor, patch=patch)


def wrapper_go_mod(name: str, modules: dict, upstream_mods: list, siblings: str, tools: list) -> str:
    """go.mod text of the wrapper module. modules: {module: version} required directly."""
    parsed = [parse_go_mod(text) for text in upstream_mods]
    go_line = max((p["go"] for p in parsed if p["go"]), key=lambda v: tuple(int(x) for x in re.findall(r"\d+", v)))
    godebug = sorted({line for p in parsed for line in p["godebug"]})
    version = next(iter(modules.values()))
    replaces = sorted({mod for p in parsed for mod in p["local_replace"] if mod in p["require"] and mod not in modules})
    lines = ["// Generated by tests/bundle/gomod.py: builds %s from its published modules." % name,
             "module kubebin.test/build/%s" % name, "", "go %s" % go_line, ""]
    lines += ["godebug %s" % entry for entry in godebug] + ([""] if godebug else [])
    lines += ["require %s %s" % (mod, ver) for mod, ver in sorted(modules.items())] + [""]
    lines += ["replace %s => %s %s" % (mod, mod, sibling_version(siblings, version)) for mod in replaces]
    lines += [""] + ["tool %s" % pkg for pkg in tools] + [""]
    return "\n".join(lines)


def prepare_wrapper(workdir: str, name: str, recipe: dict, version: str) -> dict:
    """Write the wrapper module into workdir and tidy it; returns the main module's metadata."""
    modules = {recipe["module"]: version}
    for extra in recipe.get("extra_modules", []):
        modules[extra] = version
    infos = {mod: download(mod, ver) for mod, ver in modules.items()}
    upstream = []
    for info in infos.values():
        with open(info["GoMod"], encoding="utf-8") as handle:
            upstream.append(handle.read())
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "go.mod"), "w", encoding="utf-8") as handle:
        handle.write(wrapper_go_mod(name, modules, upstream, recipe["siblings"], recipe["main"]))
    _go(["mod", "tidy"], cwd=workdir, timeout=1800)
    return infos[recipe["module"]]


def ldflags(recipe: dict, version: str, info: dict) -> str:
    meta = info["InfoData"]
    rev = (meta.get("Origin") or {}).get("Hash", "")
    major, minor, _patch = _parts(version)
    values = {"v": version, "vbare": version.lstrip("v"), "major": major, "minor": minor, "rev": rev,
              "rev7": rev[:7], "date": meta.get("Time", "")}
    for value, rel in recipe.get("module_files", {}).items():
        with open(os.path.join(info["Dir"], rel), encoding="utf-8") as handle:
            values[value] = handle.read().strip()
    return " ".join(flag.format(**values) for flag in recipe["ldflags"])


def build(workdir: str, recipe: dict, version: str, info: dict, out_dir: str, arch: str) -> None:
    """go build every main package of the recipe into out_dir, as upstream's release build does:
    one go build per cgo setting, so the second one reuses the packages the first compiled."""
    os.makedirs(out_dir, exist_ok=True)
    flags = ["-trimpath", "-o", out_dir + "/", "-ldflags", ldflags(recipe, version, info)]
    if recipe["tags"]:
        flags += ["-tags", ",".join(recipe["tags"])]
    for cgo in (False, True):
        mains = [pkg for pkg in recipe["main"] if (pkg in recipe["cgo"]) == cgo]
        if mains:
            env = {"CGO_ENABLED": "1" if cgo else "0", "GOOS": "linux", "GOARCH": arch}
            _go(["build"] + flags + mains, cwd=workdir, env=env)
    for built, name in recipe.get("program_names", {}).items():
        os.replace(os.path.join(out_dir, built), os.path.join(out_dir, name))
