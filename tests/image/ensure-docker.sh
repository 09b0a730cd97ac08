#!/usr/bin/env bash
# Make sure the host tools the tests need (Docker engine, debootstrap, openssl, shellcheck, the test
# bundle's build dependencies) are
# installed and dockerd is running.
# A new machine has none of them: install them from Debian's packages and start dockerd.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# ansible-test sanity runs shellcheck on the shell scripts when it is installed.
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# The test bundle (tests/bundle): a static busybox is the test image; runc links libseccomp
# statically (pkg-config finds it); gcc builds the pause program. Go itself is on the machine.
for pkg in busybox-static libseccomp-dev pkg-config gcc libc6-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "starting dockerd"
  log="${TMPDIR:-/tmp}/kubebin-dockerd.log"
  nohup dockerd >"$log" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start, see $log" >&2; tail -20 "$log" >&2; exit 1; }
fi
echo "docker engine $(docker version -f '{{.Server.Version}}') is running"
