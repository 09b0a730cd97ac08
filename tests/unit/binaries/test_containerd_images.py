"""The containerd role's image import with real ansible-playbook and a real (private) containerd:
the bundle's images of the host's architecture and an extra image are imported once; a rerun
lists and changes nothing; an image removed from containerd is imported again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from binaries_helpers import REPO, _tool
from play_recap import play_recap
from test_bundle_images import COREDNS, PAUSE, make_bundle
from oci import write_image  # pylint: disable=import-error


def _play(tmp_path, ctr_cmd, bundle, extra_images):
    sock = ctr_cmd[2]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "ctr").exists():
        os.symlink(ctr_cmd[0], bin_dir / "ctr")
    variables = {"kubebin_artifacts_source": "bundle", "kubebin_bundle_dir": bundle, "kubebin_bin_dir": str(bin_dir),
                 "kubebin_download_cache_dir": str(tmp_path / "cache"), "kubebin_arch": "amd64",
                 "_containerd_socket": sock, "_containerd_images_dir": str(tmp_path / "node-images"),
                 "containerd_snapshotter": "native", "containerd_extra_images": extra_images}
    inventory = tmp_path / "inventory.json"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory.write_text(json.dumps({"all": {"hosts": {"node": host}}}))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_LOCAL_TEMP=str(tmp_path / ".tmp"))
    play = os.path.join(REPO, "tests", "unit", "binaries", "play_containerd_images.yml")
    proc = subprocess.run([_tool("ansible-playbook"), "-i", str(inventory), play, "-e", json.dumps(variables)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, play_recap(proc.stdout)["node"].changed


def test_bundle_images_imported_once(tmp_path, private_containerd):
    images = [(PAUSE, "amd64", "sandbox"), (COREDNS, "amd64", "coredns"), (PAUSE, "arm64", "sandbox")]
    bundle = make_bundle(str(tmp_path / "bundle"), images)[0]
    podtest = str(tmp_path / "podtest.tar")
    write_image(podtest, "docker.io/kubebin/podtest:1", "amd64", [], entrypoint=["/bin/sh"])
    extra = [{"name": "docker.io/kubebin/podtest:1", "file": podtest}]

    out, changed = _play(tmp_path, private_containerd, bundle, extra)
    listed = subprocess.run(private_containerd + ["images", "ls", "-q"], capture_output=True, text=True, check=True).stdout.split()
    assert {PAUSE, COREDNS, "docker.io/kubebin/podtest:1"} <= set(listed), out
    assert changed >= 3, out
    copied = sorted(os.listdir(tmp_path / "node-images"))
    assert copied == ["docker.io_kubebin_podtest_1.tar", "registry.k8s.io_coredns_coredns_v1.12.1.tar",
                      "registry.k8s.io_pause_3.10.1.tar"]
    assert all(oct(os.stat(tmp_path / "node-images" / name).st_mode & 0o777) == "0o644" for name in copied)

    out, changed = _play(tmp_path, private_containerd, bundle, extra)
    assert changed == 0, out

    subprocess.run(private_containerd + ["images", "rm", COREDNS], capture_output=True, check=True)
    out, changed = _play(tmp_path, private_containerd, bundle, extra)
    assert changed == 1, out        # the import only: the archive on the node was already right
    assert COREDNS in subprocess.run(private_containerd + ["images", "ls", "-q"], capture_output=True, text=True, check=True).stdout
