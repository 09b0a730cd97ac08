# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/verify.yml as the scenarios run it: the one runner of the molecule tests.

The playbook's JSON report (verify_report_file) is what the tests read; its own pass or fail is
the return code, asserted against the report so that neither can lie alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from typing import NamedTuple

PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "playbooks", "verify.yml")


class Verified(NamedTuple):
    returncode: int
    checks: dict
    output: str
    seconds: float


def run(inventory: str, report: str, *extra: str) -> Verified:
    """Run verify.yml against INVENTORY, writing its report to REPORT; every check by name."""
    if os.path.exists(report):
        os.remove(report)
    start = time.monotonic()
    done = subprocess.run([shutil.which("ansible-playbook"), "-i", inventory, PLAYBOOK, "-e", "verify_report_file=" + report] + list(extra),
                          capture_output=True, text=True, timeout=900, check=False)
    output = done.stdout + done.stderr
    seconds = time.monotonic() - start
    assert os.path.exists(report), "verify.yml wrote no report (rc %d): %s" % (done.returncode, output[-4000:])
    with open(report, encoding="utf-8") as handle:
        checks = {check["name"]: check for check in json.load(handle)["checks"]}
    failed = [name for name, check in checks.items() if check["ok"] is False]
    # the run fails exactly when a check failed, and says which
    assert (done.returncode != 0) == bool(failed), (done.returncode, failed, output[-3000:])
    for name in failed:
        assert checks[name]["line"] in output, "FAIL of %s not in the run's output" % name
    return Verified(done.returncode, checks, output, seconds)
