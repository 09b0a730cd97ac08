#!/usr/bin/env bash
# Run galaxy-importer on a built collection tarball, as Galaxy would on upload.
set -euo pipefail
tarball=$(realpath "$1")
cfg=$(mktemp)
out=$(mktemp -d)
trap 'rm -rf "$cfg" "$out"' EXIT
cat > "$cfg" <<CFG
[galaxy-importer]
LOG_LEVEL_MAIN = INFO
RUN_ANSIBLE_TEST = False
RUN_ANSIBLE_LINT = True
CHECK_REQUIRED_TAGS = False
CFG
cd "$out"
GALAXY_IMPORTER_CONFIG="$cfg" python -m galaxy_importer.main "$tarball" | tee importer.log
if grep -E "^ERROR|ImporterError|Traceback" importer.log; then
  echo "galaxy-importer reported errors" >&2
  exit 1
fi
echo "galaxy-importer: no errors"
