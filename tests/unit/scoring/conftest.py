"""Small fitted bundles and lead files for the scoring tests, built once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlsys.calibration import SigmoidCalibrator
from mlsys.data import Dataset, write_leads
from mlsys.features import NativeFeatures, TabularFeatures
from mlsys.models import HistGradientBoostingModel, ModelBundle, XGBoostModel


def _bundle(leads: Dataset, kind: str) -> ModelBundle:
    X, y = leads.features, leads.target
    features: Any
    model: Any
    if kind == "native":
        features, model = NativeFeatures(), HistGradientBoostingModel(max_iter=20)
    else:
        features = TabularFeatures()
        model = XGBoostModel(n_estimators=30, early_stopping_rounds=None, n_jobs=1)
    Xt = features.fit(X.iloc[:1000]).transform(X)
    model.fit(Xt.iloc[:1000], y[:1000])
    calibrator = SigmoidCalibrator().fit(model.predict_proba(Xt.iloc[1000:])[:, 1], y[1000:])
    data = {**leads.summary(), "id_column": "lead_id"} if kind == "tabular" else leads.summary()
    return ModelBundle(
        features=features,
        model=model,
        calibrator=calibrator,
        threshold=0.3,
        schema=leads.schema,
        metadata={"name": "unit", "model": type(model).__name__, "data": data},
    )


@pytest.fixture(scope="session")
def bundle_files(tmp_path_factory: pytest.TempPathFactory, leads: Dataset) -> dict[str, Path]:
    """``tabular`` (compiled fast path; id column in its metadata) and ``native`` (pandas path;
    id column only in the ``schema.json`` beside it, as a training run writes it)."""
    out = {}
    for kind in ("tabular", "native"):
        run = tmp_path_factory.mktemp(f"run-{kind}")
        out[kind] = _bundle(leads, kind).save(run / "model.joblib")
    (out["native"].parent / "schema.json").write_text('{"id_column": "lead_id"}')
    return out


@pytest.fixture(scope="session")
def bundles(bundle_files: dict[str, Path]) -> dict[str, ModelBundle]:
    return {kind: ModelBundle.load(path) for kind, path in bundle_files.items()}


@pytest.fixture(scope="session")
def leads_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 raw leads as the generator writes them (every column, the label included)."""
    return write_leads(tmp_path_factory.mktemp("files") / "leads.csv", n_rows=400)
