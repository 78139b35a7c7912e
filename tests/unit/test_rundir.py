"""Reading a finished run back: one set of checks for replay, offer and sweep objectives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlsys import build_pipeline, compose_config
from mlsys._rebuild import run_component
from mlsys._rundir import RunDir
from mlsys.errors import DataError

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, small_leads_csv: Path) -> Path:
    """A finished logistic-regression run on its own copy of the data."""
    root = tmp_path_factory.mktemp("rundir")
    data = root / "leads.csv"
    shutil.copy(small_leads_csv, data)
    cfg = compose_config(
        [
            f"data.path={data}",
            "model=logreg",
            "tracker=none",
            "registry=none",
            "evaluation.report.enabled=false",
        ]
    )
    build_pipeline(cfg, output_dir=root / "run").run()
    return root / "run"


def test_reads_config_metadata_metrics_splits_and_the_same_data(finished_run: Path) -> None:
    run = RunDir.open(finished_run, purpose="replay")
    assert run.metrics["roc_auc"] > 0.5
    assert run.metrics_bytes == (finished_run / "metrics.json").read_bytes()
    assert str(run.config.model._target_).endswith("LogisticRegressionModel")
    run.check_data()
    dataset = run.load_data(run_component(run, "data"))
    splits = run.splits()
    assert len(splits.test) > 0
    assert splits.test.max() < len(dataset)


def test_not_a_run_directory_is_a_clear_error(finished_run: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"offer: '.*nowhere' is not a directory\. Fix:"):
        RunDir.open(tmp_path / "nowhere", purpose="offer")
    (tmp_path / "half").mkdir()
    shutil.copy(finished_run / "config.yaml", tmp_path / "half")
    with pytest.raises(DataError, match=r"lacks metadata.json, metrics.json; .* Fix:"):
        RunDir.open(tmp_path / "half", purpose="offer")


def test_changed_or_missing_data_refuses_with_the_fix(finished_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    run = RunDir.open(copy, purpose="replay")
    data = Path(str(run.config.data.path))
    original = data.read_bytes()
    try:
        data.write_bytes(original + original.splitlines(keepends=True)[-1])  # one more row
        with pytest.raises(DataError, match=r"replay: data changed since the run.*Fix: restore"):
            run.check_data()
        with pytest.raises(DataError, match=r"data changed since the run"):
            run.load_data(run_component(run, "data"))
        data.unlink()
        with pytest.raises(DataError, match=r"no longer exists\. Fix:"):
            run.check_data()
    finally:
        data.write_bytes(original)
    (copy / "splits.npz").unlink()
    with pytest.raises(DataError, match=r"has no splits\.npz"):
        run.splits()
