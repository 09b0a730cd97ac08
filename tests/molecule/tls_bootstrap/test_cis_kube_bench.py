"""CIS Kubernetes Benchmark in TLS-bootstrap mode: the kubelets rotate their own certificates, so
4.2.10 must pass here (a stated exception of PKI mode only). The checks are the default scenario's."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "default"))
# pylint: disable=wrong-import-position,import-error,unused-import
from test_kube_bench import (  # noqa: E402,F401
    fixture_bench, test_every_automated_check_passes_or_is_a_stated_exception, test_every_target_of_the_host_ran,
    test_kube_proxy_metrics_stay_on_localhost, test_what_each_stated_exception_claims_holds, testinfra_hosts)
