"""``ml-predict`` and ``ml-evaluate`` take their defaults from the composed ``conf/``.

A copy of ``conf/`` with other values stands in for the project's, as ``MLSYS_CONFIG_DIR`` would.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import mlsys.config
import mlsys.scoring
from mlsys import evaluate, predict
from mlsys.errors import MlsysError


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """conf/ with another name, tracking store and report settings."""
    copy = shutil.copytree(mlsys.config.CONFIG_DIR, tmp_path / "conf")
    _edit(copy / "train.yaml", "name: conversion ", "name: acme_leads ")
    _edit(copy / "tracker" / "mlflow.yaml", "uri: null", "uri: sqlite:///team.db")
    report = copy / "evaluation" / "default.yaml"
    for old, new in [
        ("bootstrap: 200", "bootstrap: 7"),
        ("confidence: 0.95", "confidence: 0.8"),
        ("min_positives: 10", "min_positives: 3"),
        ("shap: false", "shap: true"),
        ("plots: true", "plots: false"),
        ("segment_column: null", "segment_column: region"),
        ("lift_fraction: 0.1", "lift_fraction: 0.2"),
    ]:
        _edit(report, old, new)
    monkeypatch.setattr(mlsys.config, "CONFIG_DIR", copy)
    return copy


class _StopError(MlsysError):
    """Raised by the stand-in model resolver once it has seen its arguments."""


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def resolve_model(model: str, *, name: str, tracking_uri: str | None) -> object:
        seen.update(model=model, name=name, tracking_uri=tracking_uri)
        raise _StopError("stop here")

    monkeypatch.setattr(mlsys.scoring, "resolve_model", resolve_model)
    return seen


def test_help_shows_the_defaults_of_conf(conf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for cli in (predict, evaluate):
        with pytest.raises(SystemExit):
            cli.main(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert shown.count("conf name: acme_leads") == 2
    assert shown.count("conf tracker.uri: sqlite:///team.db") == 2
    for default in ("conf: 7", "conf: 3", "conf shap: on", "conf plots: off", "column: region"):
        assert default in shown, default


def test_ml_predict_finds_the_model_by_the_name_and_store_of_conf(
    conf: Path, resolved: dict[str, Any], leads_file: Path, tmp_path: Path
) -> None:
    assert predict.main([str(leads_file), "-o", str(tmp_path / "s.csv")]) == 2
    assert resolved == {
        "model": "champion",
        "name": "acme_leads",
        "tracking_uri": "sqlite:///team.db",
    }


def test_ml_evaluate_builds_the_report_of_conf_with_the_options_on_top(
    conf: Path, leads_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Any] = []

    def evaluate_file(*args: object, evaluator: Any, **kwargs: object) -> object:
        built.append(evaluator)
        raise _StopError("stop here")

    monkeypatch.setattr(mlsys.scoring, "resolve_model", lambda *a, **k: object())
    monkeypatch.setattr(evaluate, "evaluate_file", evaluate_file)
    args = [str(leads_file), "--out", str(tmp_path / "eval")]
    assert evaluate.main(args) == 2
    assert evaluate.main([*args, "--bootstrap", "0", "--no-shap", "--plots", "--seed", "5"]) == 2
    from_conf, overridden = (evaluator.report for evaluator in built)
    assert (from_conf.bootstrap, from_conf.shap, from_conf.plots) == (7, True, False)
    assert (from_conf.seed, from_conf.min_positives, from_conf.segment_column) == (42, 3, "region")
    assert (overridden.bootstrap, overridden.shap, overridden.plots, overridden.seed) == (
        0,
        False,
        True,
        5,
    )
    for report in (from_conf, overridden):  # settings without an option come from conf/ too
        assert report.confidence == 0.8
    assert built[0].lift_fraction == 0.2


def test_a_conf_that_does_not_compose_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(mlsys.config, "CONFIG_DIR", tmp_path / "nowhere")
    for cli in (predict, evaluate):
        assert cli.main(["x.csv", "-o", "y.csv", "--out", "z"]) == 2
    err = capsys.readouterr().err
    assert err.count("error: config dir") == 2
    assert "MLSYS_CONFIG_DIR" in err
