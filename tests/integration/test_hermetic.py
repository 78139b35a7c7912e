"""The suite is hermetic: what the caller exported does not change a result.

A subprocess runs CLI tests that read the exported variables' effects (tracebacks from
``HYDRA_FULL_ERROR``, the store from ``MLFLOW_TRACKING_URI``, a setting from ``MLSYS_*``)
with those variables set to values that would break them if they leaked through.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.integration]


def test_cli_tests_pass_with_the_callers_variables_exported() -> None:
    env = {
        **os.environ,
        "HYDRA_FULL_ERROR": "1",
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",  # a store nobody listens on
        "MLSYS_SERVE_PORT": "1",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "tests/integration/test_cli_errors.py",
            "-k",
            "misspelt_key or top_level_type",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
