"""XGBoost's OpenMP threads wait passively unless the user chose otherwise (ml/__init__.py: spinning threads made
training 15-20x slower on a busy 2-core machine). The runtime reads the setting when it loads, so each case runs in
a fresh interpreter that imports xgboost through the package, as the DAG tasks do."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import ml.train, os, xgboost; print(os.environ['OMP_WAIT_POLICY'])"


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_openmp_threads_wait_passively_unless_set(given: str | None, expected: str):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected
