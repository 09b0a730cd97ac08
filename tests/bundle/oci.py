"""Deterministic OCI image archives for tests (no registry, no container tools).

    from oci import write_image
    sha = write_image("out/busybox.tar", "docker.io/kubebin/podtest:1", "amd64",
                      files=[("bin", None, 0o755), ("bin/busybox", "/bin/busybox", 0o755)],
                      entrypoint=[], cmd=["/bin/sh"], symlinks={"bin/sh": "busybox"})

The archive has the shape ``ctr images export`` writes and ``ctr images import`` reads:
``oci-layout``, ``index.json`` whose one manifest descriptor carries the annotations
``io.containerd.image.name`` (the full name) and ``org.opencontainers.image.ref.name`` (the tag),
and ``blobs/sha256/<digest>`` for the manifest, the config and one gzip-compressed layer.
Every tar header has mtime 0, uid/gid 0 and no user or group names, the gzip header has mtime 0
and no file name, and JSON is written with sorted keys: the same input gives the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
ARCHES = ("amd64", "arm64")
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _info(name: str, kind: bytes, mode: int, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, linkname
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    return info


def _json(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def image_tag(name: str) -> str:
    """The tag of REGISTRY/PATH:TAG; a name without a tag or with a digest is refused."""
    last = name.rsplit("/", 1)[-1]
    if "/" not in name or ":" not in last or "@" in name:
        raise ValueError("image name %r must be REGISTRY/PATH:TAG" % name)
    return last.rsplit(":", 1)[1]


def layer_tar(files: list[tuple[str, str | None, int]], symlinks: dict[str, str] | None = None) -> bytes:
    """The uncompressed layer: files in the given order, then symlinks sorted by path."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as layer:
        for path, source, mode in files:
            path = path.strip("/")
            if source is None:
                layer.addfile(_info(path, tarfile.DIRTYPE, mode))
                continue
            with open(source, "rb") as handle:
                data = handle.read()
            layer.addfile(_info(path, tarfile.REGTYPE, mode, len(data)), io.BytesIO(data))
        for path, target in sorted((symlinks or {}).items()):
            layer.addfile(_info(path.strip("/"), tarfile.SYMTYPE, 0o777, linkname=target))
    return buf.getvalue()


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=buf, mode="wb", compresslevel=6, mtime=0) as handle:
        handle.write(data)
    return buf.getvalue()


def image_blobs(name: str, arch: str, files, entrypoint, symlinks=None, cmd=None) -> tuple[dict, dict[str, bytes]]:
    """(index.json document, {digest: blob}) of the image."""
    if arch not in ARCHES:
        raise ValueError("arch must be one of %s" % ", ".join(ARCHES))
    tag = image_tag(name)
    raw = layer_tar(files, symlinks)
    layer = _gzip(raw)
    blobs: dict[str, bytes] = {}

    def blob(data: bytes, media_type: str) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    layer_desc = blob(layer, MEDIA_LAYER)
    image_config = {"Env": [DEFAULT_PATH]}
    if entrypoint:
        image_config["Entrypoint"] = list(entrypoint)
    if cmd:
        image_config["Cmd"] = list(cmd)
    config = {"architecture": arch, "os": "linux", "config": image_config,
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}
    config_desc = blob(_json(config), MEDIA_CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST, "config": config_desc, "layers": [layer_desc]}
    manifest_desc = blob(_json(manifest), MEDIA_MANIFEST)
    manifest_desc["platform"] = {"architecture": arch, "os": "linux"}
    manifest_desc["annotations"] = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag}
    index = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": [manifest_desc]}
    return index, blobs


def write_image(out_path: str, name: str, arch: str, files: list[tuple[str, str | None, int]], entrypoint: list[str],
                symlinks: dict[str, str] | None = None, cmd: list[str] | None = None) -> str:
    """Write the OCI archive of a one-layer linux/ARCH image to out_path; return its SHA-256.

    files: (path in the image, source file on this machine or None for a directory, mode), in
    the order they go into the layer (give parent directories first). symlinks: path -> target.
    entrypoint and cmd: the image config's Entrypoint and Cmd (left out when empty).
    """
    index, blobs = image_blobs(name, arch, files, entrypoint, symlinks, cmd)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as archive:
        def add(path: str, data: bytes) -> None:
            archive.addfile(_info(path, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))

        add("oci-layout", _json({"imageLayoutVersion": "1.0.0"}))
        archive.addfile(_info("blobs", tarfile.DIRTYPE, 0o755))
        archive.addfile(_info("blobs/sha256", tarfile.DIRTYPE, 0o755))
        for digest in sorted(blobs):
            add("blobs/sha256/" + digest.split(":", 1)[1], blobs[digest])
        add("index.json", _json(index))
    data = buf.getvalue()
    directory = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(directory, exist_ok=True)
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, out_path)
    return hashlib.sha256(data).hexdigest()
