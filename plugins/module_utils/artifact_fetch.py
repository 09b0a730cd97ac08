# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to the collection: streaming, hashing and HTTP for the artifact module.

Every byte the module reads or writes goes through one loop, ``stream_and_hash``, so a file is
hashed while it is downloaded or copied and never read twice.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import time
import urllib.error

from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.urls import open_url

from ansible_collections.kubebin.cluster.plugins.module_utils import bundle_manifest

CHUNK = 1024 * 1024
HEX64 = bundle_manifest.HEX64
# Network and disk errors while streaming a download: worth another attempt.
STREAM_ERRORS = (socket.timeout, ConnectionError, OSError)


class ArtifactError(Exception):
    pass


class TransientError(ArtifactError):
    """A failure worth trying again: connection problems, timeouts, HTTP 5xx and 429."""


def remove_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def stream_and_hash(src, sink=None):
    """Read src to its end, writing every chunk to sink when given; return the SHA-256."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: src.read(CHUNK), b""):
        digest.update(chunk)
        if sink is not None:
            sink.write(chunk)
    return digest.hexdigest()


def sha256_file(path):
    with open(path, "rb") as handle:
        return stream_and_hash(handle)


def stream_to_temp(src, directory, prefix, transient=False):
    """Stream src into a new temporary file in directory; return (path, sha256).

    The temporary file is removed on any failure. With transient, a read or write error becomes a
    TransientError so that a download is tried again; creating the file is outside that, as a
    cache directory that cannot be written is not going to heal by retrying.
    """
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix)
    try:
        with os.fdopen(fd, "wb") as handle:
            return tmp, stream_and_hash(src, handle)
    except BaseException as exc:
        remove_quietly(tmp)
        if transient and isinstance(exc, STREAM_ERRORS):
            raise TransientError(to_native(exc))
        raise


def place(tmp, dest, mode):
    """Give a finished temporary file its mode and move it over dest in one rename."""
    os.chmod(tmp, mode)
    os.replace(tmp, dest)


def copy_stream(src, dest, mode):
    """Write a stream to dest atomically; return its SHA-256."""
    tmp, digest = stream_to_temp(src, os.path.dirname(dest), ".tmp-")
    try:
        place(tmp, dest, mode)
    except BaseException:
        remove_quietly(tmp)
        raise
    return digest


def parse_checksum_file(text, file_name):
    """Return the digest for file_name from a bare-digest or '<digest>  <name>' checksum file."""
    bare = []
    for line in text.splitlines():
        fields = line.strip().split()
        if not fields:
            continue
        digest = fields[0].lower()
        if not HEX64.match(digest):
            continue
        if len(fields) == 1:
            bare.append(digest)
            continue
        name = fields[1].lstrip("*")
        if name.startswith("./"):
            name = name[2:]
        if os.path.basename(name) == file_name:
            return digest
    if len(bare) == 1:
        return bare[0]
    return None


class Fetcher:
    """HTTP(S) with a timeout on every socket operation and a bounded number of retries."""

    def __init__(self, module):
        self.module = module
        self.timeout = module.params["timeout"]
        self.retries = max(0, module.params["retries"])

    def _attempts(self, url, action):
        last = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(2 ** attempt, 10))
            try:
                return action()
            except TransientError as exc:
                last = exc
        attempts = self.retries + 1
        raise ArtifactError("%s: giving up after %d attempt%s: %s" % (url, attempts, "" if attempts == 1 else "s", last))

    def _open(self, url):
        try:
            return open_url(url, timeout=self.timeout, http_agent="kubebin.cluster-artifact", follow_redirects="all")
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise TransientError("HTTP %d" % exc.code)
            raise ArtifactError("%s: HTTP %d %s" % (url, exc.code, exc.reason))
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
            raise TransientError(to_native(getattr(exc, "reason", exc)))

    def text(self, url):
        def action():
            response = self._open(url)
            try:
                return response.read(1024 * 1024).decode("utf-8", "replace")
            except STREAM_ERRORS as exc:
                raise TransientError(to_native(exc))
            finally:
                response.close()
        return self._attempts(url, action)

    def file(self, url, directory):
        """Download url into a temporary file in directory; return (path, sha256)."""
        def action():
            response = self._open(url)
            try:
                return stream_to_temp(response, directory, ".download-", transient=True)
            finally:
                response.close()
        return self._attempts(url, action)
