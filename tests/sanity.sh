#!/usr/bin/env bash
# ansible-test needs the collection at ansible_collections/NAMESPACE/NAME: copy the files git
# knows (tracked, and untracked but not ignored) into a temporary tree and run sanity there.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/kubebin/cluster"
mkdir -p "$dest"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' | tar --null -T - -cf -) | tar -C "$dest" -xf -
# ansible-test fetches a pip bootstrap script from a host CI cannot reach: give it ours.
ansible_test_dir=$(python -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_version=$(grep -oP "pip='\K[0-9.]+" "$ansible_test_dir/_internal/python_requirements.py" | head -1)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp "$repo/tests/ansible_test_get_pip.py" "$cache"

cd "$dest"
git init -q && git add -A && git -c user.email=ci@kubebin.invalid -c user.name=ci commit -qm sanity
python_version=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ansible-test sanity --color no --python "$python_version" --requirements "$@"
