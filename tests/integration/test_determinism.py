"""Same config and seed, same bytes: every option of every group, with the default threads.

Each option is trained in two separate processes (so Python's per-process string hashing, and
with it the order of sets and of anything derived from them, differs between the two runs) and
the runs' metrics, validation metrics and test predictions must be byte-identical. The processes
run with the default thread count: ``OMP_NUM_THREADS``, which ``tests/conftest.py`` pins to 1
for every other test, is removed from their environment, and the models keep their configured
``n_jobs`` / ``thread_count`` (all cores). One process trains every option, so the stack is
imported twice in all rather than once per run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlsys.config import CONFIG_DIR
from tests.conftest import FAST_MODEL_OVERRIDES, NO_TRACKING, REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GROUPS = ("split", "features", "imbalance", "model", "calibration")
#: Settings an option needs to make sense on the leads data (conf/imbalance/*.yaml say why).
COMPANIONS = {("imbalance", "smotenc"): ["features=native"]}
ARTIFACTS = ("metrics.json", "validation_metrics.json", "test_predictions.csv")

# Trains each named run of a JSON {name: overrides} mapping into <out>/<name>; prints the
# OpenMP thread count the runs had.
_TRAIN_ALL = """
import json, sys
from pathlib import Path
from threadpoolctl import threadpool_info
from mlsys import compose_config, train_model

runs, out = json.loads(sys.argv[1]), Path(sys.argv[2])
for name, overrides in runs.items():
    train_model(compose_config(overrides), output_dir=out / name)
print(max(p["num_threads"] for p in threadpool_info() if p["internal_api"] == "openmp"))
"""


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def _runs(data: Path) -> dict[str, list[str]]:
    """One run per option of each group, the other groups at their defaults."""
    common = [
        f"data.path={data}",
        *NO_TRACKING,
        "evaluation.report.enabled=false",
    ]
    runs: dict[str, list[str]] = {}
    for group in GROUPS:
        for option in _options(group):
            model = option if group == "model" else "xgboost"
            overrides = [
                *common,
                *FAST_MODEL_OVERRIDES[model],
                f"{group}={option}",
                *COMPANIONS.get((group, option), []),
            ]
            runs[f"{group}={option}"] = overrides
    return runs


def _train_all(runs: dict[str, list[str]], out: Path) -> int:
    """Train every run in one fresh process; returns its OpenMP thread count."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", _TRAIN_ALL, json.dumps(runs), str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return int(done.stdout.split()[-1])


def test_every_option_of_every_group_is_byte_identical_across_runs(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    runs = _runs(small_leads_csv)
    assert len(runs) == sum(len(_options(g)) for g in GROUPS)
    threads = _train_all(runs, tmp_path / "first")
    _train_all(runs, tmp_path / "second")
    assert threads == len(os.sched_getaffinity(0)), "the runs did not use the default threads"

    differ = [
        f"{name}: {artifact}"
        for name in runs
        for artifact in ARTIFACTS
        if (tmp_path / "first" / name / artifact).read_bytes()
        != (tmp_path / "second" / name / artifact).read_bytes()
    ]
    assert not differ, f"not reproducible with the default thread count: {differ}"
