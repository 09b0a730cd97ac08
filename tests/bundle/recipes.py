# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How each upstream project of the test bundle is built from its Go module.

One recipe per upstream project, each built in a wrapper module of its own: Go's minimal version
selection would otherwise mix, say, Kubernetes' etcd 3.7 libraries into the etcd 3.6 server.

Fields:
- module, main: the module fetched from the proxy, and the main packages built from it (module
  paths of their own where a project publishes its commands as separate modules, e.g. etcd).
- default_var: the collection default (roles/kubebin/defaults/main.yml) that picks the version.
- siblings: the version a module replaced by a relative path in upstream's go.mod is pinned to
  ("{v}" the same release, "v0.{minor}.{patch}" Kubernetes' staging modules).
- cgo: the main packages linked with cgo (the others are built with CGO_ENABLED=0).
- tags, ldflags: as upstream's release build (Makefile / hack/lib/golang.sh), with {v}, {rev},
  {date}, {major}, {minor} filled in from the module's proxy metadata, and each name of
  module_files from that file of the module (stripped).
- minor_fallback: when the proxy serves no patch of the default's minor, the nearest served
  release may stand in (said in the manifest).
- artifacts: the bundle artifacts made from the built programs (name -> shape, docs/architecture.md).
"""

from __future__ import annotations

_KUBE_VERSION_PKGS = ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
# hack/lib/version.sh: a tree with no git metadata reports gitTreeState "archive".
_KUBE_LDFLAGS = ["-s", "-w"] + [
    "-X %s.%s" % (pkg, setting)
    for pkg in _KUBE_VERSION_PKGS
    for setting in ("gitVersion={v}", "gitMajor={major}", "gitMinor={minor}", "gitCommit={rev}",
                    "gitTreeState=archive", "buildDate={date}")
]
_KUBE_TAGS = ["selinux", "notest", "grpcnotrace"]
_CONTAINERD_PKG = "github.com/containerd/containerd/v2"
_KUBE_PROGRAMS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubelet", "kubectl")

RECIPES = {
    "kubernetes": {
        "module": "k8s.io/kubernetes",
        "default_var": "kubebin_kube_version",
        "siblings": "v0.{minor}.{patch}",
        # agnhost (test/images/agnhost, upstream's e2e test image) serves verify.yml's admission
        # webhook and aggregated API; it only goes into an image (images.py), not an artifact.
        "main": ["k8s.io/kubernetes/cmd/%s" % name for name in _KUBE_PROGRAMS] + ["k8s.io/kubernetes/test/images/agnhost"],
        # KUBE_STATIC_BINARIES in hack/lib/golang.sh; the 1.36/1.37 release kubelet is linked with
        # cgo (static only from 1.38). The second go build reuses every package already compiled.
        "cgo": ["k8s.io/kubernetes/cmd/kubelet"],
        "tags": _KUBE_TAGS,
        # agnhost's Makefile sets main.Version from its VERSION file (no kube command has main.Version).
        "module_files": {"agnhost": "test/images/agnhost/VERSION"},
        "ldflags": _KUBE_LDFLAGS + ["-X main.Version={agnhost}"],
        "artifacts": {name: {"shape": "binary", "programs": [name]} for name in _KUBE_PROGRAMS},
    },
    "etcd": {
        "module": "go.etcd.io/etcd/server/v3",
        "default_var": "kubebin_etcd_version",
        "siblings": "{v}",
        "extra_modules": ["go.etcd.io/etcd/etcdctl/v3", "go.etcd.io/etcd/etcdutl/v3"],
        "main": ["go.etcd.io/etcd/server/v3", "go.etcd.io/etcd/etcdctl/v3", "go.etcd.io/etcd/etcdutl/v3"],
        # the module roots are the commands: name them as upstream's build does
        "program_names": {"server": "etcd", "etcdctl": "etcdctl", "etcdutl": "etcdutl"},
        "cgo": [],
        "tags": [],
        "ldflags": ["-s", "-w", "-X go.etcd.io/etcd/api/v3/version.GitSHA={rev7}"],
        "artifacts": {"etcd": {"shape": "etcd", "programs": ["etcd", "etcdctl", "etcdutl"]}},
    },
    "containerd": {
        "module": _CONTAINERD_PKG,
        "default_var": "kubebin_containerd_version",
        "siblings": "{v}",
        "main": ["%s/cmd/%s" % (_CONTAINERD_PKG, name) for name in ("containerd", "containerd-shim-runc-v2", "ctr")],
        "cgo": [],
        "tags": ["urfave_cli_no_docs", "no_btrfs"],
        "ldflags": ["-s", "-w", "-X %s/version.Version={v}" % _CONTAINERD_PKG,
                    "-X %s/version.Revision={rev}" % _CONTAINERD_PKG,
                    "-X %s/version.Package=github.com/containerd/containerd/v2" % _CONTAINERD_PKG],
        "artifacts": {"containerd": {"shape": "containerd", "programs": ["containerd", "containerd-shim-runc-v2", "ctr"]}},
    },
    "runc": {
        "module": "github.com/opencontainers/runc",
        "default_var": "kubebin_runc_version",
        "siblings": "{v}",
        "main": ["github.com/opencontainers/runc"],
        # `make static`: cgo for libcontainer/nsenter, libseccomp linked in statically.
        "cgo": ["github.com/opencontainers/runc"],
        "tags": ["seccomp", "urfave_cli_no_docs", "netgo", "osusergo"],
        "ldflags": ["-s", "-w", "-X main.gitCommit={rev}", "-X main.version={vbare}", "-extldflags -static"],
        "debian_build_deps": ["libseccomp-dev", "pkg-config"],
        "artifacts": {"runc": {"shape": "runc", "programs": ["runc"]}},
    },
    "cni-plugins": {
        "module": "github.com/containernetworking/plugins",
        "default_var": "kubebin_cni_plugins_version",
        "siblings": "{v}",
        "main": ["github.com/containernetworking/plugins/plugins/%s" % path for path in
                 ("main/bridge", "main/loopback", "ipam/host-local", "meta/portmap")],
        "cgo": [],
        "tags": [],
        "ldflags": ["-s", "-w", "-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion={v}"],
        "artifacts": {"cni-plugins": {"shape": "cni-plugins", "programs": ["bridge", "loopback", "host-local", "portmap"]}},
    },
    "crictl": {
        "module": "sigs.k8s.io/cri-tools",
        "default_var": "kubebin_crictl_version",
        "siblings": "{v}",
        "minor_fallback": True,
        "main": ["sigs.k8s.io/cri-tools/cmd/crictl"],
        "cgo": [],
        "tags": [],
        "ldflags": ["-s", "-w", "-X sigs.k8s.io/cri-tools/pkg/version.Version={v}"],
        "artifacts": {"crictl": {"shape": "crictl", "programs": ["crictl"]}},
    },
    "coredns": {
        "module": "github.com/coredns/coredns",
        "default_var": "coredns_version",
        "defaults_file": "roles/coredns/defaults/main.yml",
        "siblings": "{v}",
        "main": ["github.com/coredns/coredns"],
        "cgo": [],
        "tags": [],
        "ldflags": ["-s", "-w", "-X github.com/coredns/coredns/coremain.GitCommit={rev7}"],
        # not a host artifact: it goes into the CoreDNS image (images.py)
        "artifacts": {},
    },
}
