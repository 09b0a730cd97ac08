"""Keep docs/kube-bench true: every path the kube-bench mapping names is one the roles write (with
the defaults), and every stated exception is explained in docs/security.md."""

import glob
import os
import re

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SIMPLE_REF = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _written_paths() -> set:
    """Absolute paths in the roles' defaults, vars and tasks, simple `{{ var }}` references
    resolved with the defaults and vars (what a default inventory gets)."""
    variables, texts = {}, set()
    for kind in ("defaults", "vars"):
        for path in glob.glob(os.path.join(REPO, "roles", "*", kind, "main.yml")):
            data = _load(path) or {}
            variables.update({k: v for k, v in data.items() if isinstance(v, str)})
            texts.update(_strings(data))
    for path in glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml")):
        texts.update(_strings(_load(path) or []))

    def resolve(text, depth=0):
        if depth > 5:
            return text
        resolved = _SIMPLE_REF.sub(lambda m: variables.get(m.group(1), m.group(0)), text)
        return resolved if resolved == text else resolve(resolved, depth + 1)

    return {resolve(text) for text in texts if "/" in text}


def _mapping_paths(node) -> set:
    return {text for text in _strings(node) if text.startswith("/")}


def test_every_mapped_path_is_written_by_a_role():
    mapping = _load(os.path.join(REPO, "docs", "kube-bench", "config.yaml"))
    paths = _mapping_paths(mapping)
    assert len(paths) >= 10
    unknown = sorted(paths - _written_paths())
    assert not unknown, "docs/kube-bench/config.yaml names paths no role writes: %s" % unknown


def test_every_stated_exception_is_explained_in_the_security_doc():
    exceptions = _load(os.path.join(REPO, "docs", "kube-bench", "exceptions.yml"))
    with open(os.path.join(REPO, "docs", "security.md"), encoding="utf-8") as handle:
        doc = handle.read()
    for entry in exceptions:
        assert set(entry) == {"id", "modes", "reason"}, entry
        assert entry["modes"] and set(entry["modes"]) <= {"pki", "tls_bootstrap"}, entry
        assert entry["reason"].strip(), entry
        assert re.search(r"\|\s*%s\s*\|[^\n]*exception" % re.escape(entry["id"]), doc), \
            "docs/security.md has no exception row for %s" % entry["id"]
