"""Offline replacement for the pip bootstrap script ansible-test downloads.

ansible-test creates each sanity virtualenv without pip and runs a get-pip script it fetches from
a CI file host that this project's machines cannot reach. This script does the same job from
what is at hand: the standard library's ensurepip installs the pip bundled with Python, and that
pip then installs exactly what ansible-test asked for (for example pip==24.2) from the package
index. Used by tests/sanity.sh only.
"""

import subprocess
import sys

# Options that only the upstream get-pip script understands.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

# In a child process: ensurepip points PIP_CONFIG_FILE at /dev/null in its own process, and the
# second step needs the machine's pip configuration (index, certificates).
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)
