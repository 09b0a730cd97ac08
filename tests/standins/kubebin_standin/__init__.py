# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract stand-ins for the Kubernetes server binaries (tests only).

One package, five entry points (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
kube-proxy). Each checks what the collection gave it (flags, files, TLS) and fails loudly where
the real binary would; none of them runs workloads. See docs/testing.md.
"""
