"""ModelBundle: one file that scores raw leads the same way after a save and a load."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest

from mlsys.calibration import SigmoidCalibrator
from mlsys.data import Dataset, file_sha256, generate_leads
from mlsys.errors import BundleError, SchemaError
from mlsys.features import NativeFeatures, TabularFeatures
from mlsys.models import (
    BUNDLE_FORMAT,
    CatBoostModel,
    LogisticRegressionModel,
    ModelBundle,
)
from mlsys.models._bundle import checksum_path
from mlsys.monitoring import DataProfile

pytestmark = pytest.mark.unit


def _bundle(leads: Dataset, kind: str) -> ModelBundle:
    X, y = leads.features, leads.target
    features: Any
    model: Any
    if kind == "native":
        features, model = NativeFeatures(), CatBoostModel(iterations=30, thread_count=1)
    else:
        features, model = TabularFeatures(), LogisticRegressionModel()
    Xt = features.fit(X.iloc[:1000]).transform(X)
    model.fit(Xt.iloc[:1000], y[:1000])
    calibrator = SigmoidCalibrator().fit(model.predict_proba(Xt.iloc[1000:])[:, 1], y[1000:])
    return ModelBundle(
        features=features,
        model=model,
        calibrator=calibrator,
        threshold=0.3,
        schema=leads.schema,
        metadata={"name": "unit", "seed": 0},
    )


@pytest.fixture(scope="module", params=["native", "tabular"])
def bundle(request: pytest.FixtureRequest, leads: Dataset) -> ModelBundle:
    return _bundle(leads, request.param)


@pytest.fixture(scope="module")
def raw_leads() -> pd.DataFrame:
    """Leads as a caller sends them: raw generator types, ids, dates and the leaky column."""
    frame, _ = generate_leads(n_rows=200, seed=99)
    return frame.drop(columns=["converted"])


def test_save_load_round_trip_predicts_identically(
    bundle: ModelBundle, raw_leads: pd.DataFrame, tmp_path: Path
) -> None:
    path = bundle.save(tmp_path / "model.joblib")

    loaded = ModelBundle.load(path)

    assert path.is_file()
    np.testing.assert_array_equal(loaded.predict_proba(raw_leads), bundle.predict_proba(raw_leads))
    assert loaded.threshold == bundle.threshold
    assert loaded.schema == bundle.schema
    assert loaded.metadata == {"name": "unit", "seed": 0}


def test_predictions_are_calibrated_probabilities_and_threshold_decisions(
    bundle: ModelBundle, raw_leads: pd.DataFrame
) -> None:
    raw = bundle.score(raw_leads, calibrated=False)
    proba = bundle.predict_proba(raw_leads)

    assert proba.shape == (len(raw_leads),)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba, bundle.calibrator.transform(raw))
    np.testing.assert_array_equal(bundle.predict(raw_leads), (proba >= 0.3).astype(np.int64))
    np.testing.assert_array_equal(bundle.decide(np.array([0.29, 0.3, 0.9])), [0, 1, 1])


def test_extra_columns_and_column_order_do_not_matter(
    bundle: ModelBundle, raw_leads: pd.DataFrame
) -> None:
    features_only = raw_leads[list(bundle.schema.columns)]
    reordered = raw_leads[raw_leads.columns[::-1]].assign(unexpected="x")

    expected = bundle.predict_proba(features_only)

    np.testing.assert_array_equal(bundle.predict_proba(raw_leads), expected)
    np.testing.assert_array_equal(bundle.predict_proba(reordered), expected)


def test_missing_input_column_is_a_schema_error(
    bundle: ModelBundle, raw_leads: pd.DataFrame
) -> None:
    with pytest.raises(SchemaError, match=r"missing model input column\(s\) \['industry'\]"):
        bundle.predict_proba(raw_leads.drop(columns=["industry"]))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"model bundle '.*nope\.joblib' not found") as info:
        ModelBundle.load(tmp_path / "nope.joblib")

    assert "Fix:" in str(info.value)


def test_directory_is_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not found"):
        ModelBundle.load(tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"this is not a model bundle\n", id="text"),
        pytest.param(np.random.default_rng(0).bytes(4096), id="random-bytes"),
        pytest.param(b"\x1f\x8b\x08\x00garbage-after-gzip-magic", id="gzip-magic"),
        pytest.param(b"\x80\x04\x95garbage", id="truncated-pickle"),
    ],
)
def test_garbage_file_is_a_bundle_error(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "model.joblib"
    path.write_bytes(content)

    with pytest.raises(BundleError, match="is corrupt or not a joblib file") as info:
        ModelBundle.load(path)

    assert "Fix: re-train" in str(info.value)


def test_truncated_bundle_is_a_bundle_error(bundle: ModelBundle, tmp_path: Path) -> None:
    path = bundle.save(tmp_path / "model.joblib")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    checksum_path(path).unlink()  # a bundle from before checksums

    with pytest.raises(BundleError, match="is corrupt"):
        ModelBundle.load(path)


def test_save_writes_a_checksum_that_sha256sum_accepts(bundle: ModelBundle, tmp_path: Path) -> None:
    import shutil
    import subprocess

    path = bundle.save(tmp_path / "model.joblib")
    assert checksum_path(path) == tmp_path / "model.joblib.sha256"
    assert checksum_path(path).read_text() == f"{file_sha256(path)}  model.joblib\n"
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "-c", "model.joblib.sha256"], cwd=tmp_path, check=True)
    assert isinstance(ModelBundle.load(path), ModelBundle)
    assert isinstance(ModelBundle.load(path, sha256=file_sha256(path)), ModelBundle)


class _Payload:
    """Unpickling it touches a file: proof that a pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_a_changed_bundle_is_refused_before_it_is_unpickled(
    bundle: ModelBundle, tmp_path: Path
) -> None:
    path = bundle.save(tmp_path / "model.joblib")
    marker = tmp_path / "pickle-ran"
    joblib.dump(_Payload(marker), path)  # swapped after training; the checksum stays

    with pytest.raises(BundleError, match="does not match its recorded sha256") as info:
        ModelBundle.load(path)

    assert not marker.exists()
    assert "Fix:" in str(info.value)
    with pytest.raises(BundleError, match="does not match"):
        ModelBundle.load(path, sha256="0" * 64)  # an expected digest from elsewhere


def test_a_damaged_checksum_file_is_a_bundle_error(bundle: ModelBundle, tmp_path: Path) -> None:
    path = bundle.save(tmp_path / "model.joblib")
    checksum_path(path).write_text("not a digest\n")

    with pytest.raises(BundleError, match=r"checksum file '.*model\.joblib\.sha256' is damaged"):
        ModelBundle.load(path)


def test_a_bundle_without_a_checksum_loads_with_a_warning(
    bundle: ModelBundle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = bundle.save(tmp_path / "model.joblib")
    checksum_path(path).unlink()  # copied on its own, or from before checksums

    with caplog.at_level("WARNING", logger="mlsys.models._bundle"):
        assert isinstance(ModelBundle.load(path), ModelBundle)

    assert "loaded without an integrity check" in caplog.text


def test_a_run_bundle_is_checked_against_the_runs_tag(bundle: ModelBundle, tmp_path: Path) -> None:
    """The registry and ml-predict --model runs:/ check the digest tagged on the MLflow run."""
    from types import SimpleNamespace

    from mlsys.registry._registry import download_bundle

    (tmp_path / "run").mkdir()
    original = bundle.save(tmp_path / "run" / "model.joblib")
    digest = checksum_path(original).read_text().split()[0]
    swapped = tmp_path / "swapped.joblib"
    joblib.dump({"format": BUNDLE_FORMAT, "bundle": bundle, "extra": 1}, swapped)

    class Store:  # an artifact store whose model.joblib was replaced, and its checksum too
        def download_artifacts(self, run_id: str, name: str, into: str) -> str:
            target = Path(into) / name
            target.write_bytes(swapped.read_bytes())
            return str(target)

        def get_run(self, run_id: str) -> SimpleNamespace:
            tags = {"mlsys.bundle_sha256": digest}
            return SimpleNamespace(data=SimpleNamespace(tags=tags))

    (tmp_path / "dl").mkdir()
    path, expected = download_bundle(Store(), "run1", tmp_path / "dl")  # type: ignore[arg-type]
    assert expected == digest
    with pytest.raises(BundleError, match="does not match its recorded sha256"):
        ModelBundle.load(path, sha256=expected)


def test_pickle_needing_missing_code_is_a_bundle_error(tmp_path: Path) -> None:
    path = tmp_path / "model.joblib"
    path.write_bytes(b"cno_such_module_for_mlsys_tests\nThing\n.")  # protocol-0 global lookup

    with pytest.raises(BundleError, match="needs code this installation lacks") as info:
        ModelBundle.load(path)

    assert "no_such_module_for_mlsys_tests" in str(info.value)


@pytest.mark.parametrize(
    "payload",
    [{"a": 1}, [1, 2, 3], {"format": BUNDLE_FORMAT, "bundle": "not a bundle"}],
    ids=["dict", "list", "wrong-bundle-type"],
)
def test_joblib_file_that_is_not_a_bundle(payload: object, tmp_path: Path) -> None:
    path = tmp_path / "other.joblib"
    joblib.dump(payload, path)

    with pytest.raises(BundleError, match="is a joblib file but not an mlsys model bundle"):
        ModelBundle.load(path)


def test_wrong_format_number(bundle: ModelBundle, tmp_path: Path) -> None:
    path = tmp_path / "future.joblib"
    joblib.dump({"format": BUNDLE_FORMAT + 1, "bundle": bundle}, path)

    with pytest.raises(BundleError, match=f"has format {BUNDLE_FORMAT + 1}") as info:
        ModelBundle.load(path)

    assert f"reads format {BUNDLE_FORMAT}" in str(info.value)
    assert "Fix:" in str(info.value)


def test_a_format_1_bundle_is_refused_with_the_fix(bundle: ModelBundle, tmp_path: Path) -> None:
    """Format 1 bundles scored through copies of the transform; they are refused, not adapted."""
    path = tmp_path / "old.joblib"
    joblib.dump({"format": 1, "bundle": bundle}, path)

    with pytest.raises(BundleError, match="has format 1") as info:
        ModelBundle.load(path)

    assert BUNDLE_FORMAT == 2
    assert "re-train" in str(info.value)


def test_a_bundle_carries_its_training_profile(
    bundle: ModelBundle, leads: Dataset, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    profile = DataProfile.learn(leads.features, leads.schema)
    path = replace(bundle, profile=profile).save(tmp_path / "model.joblib")

    with caplog.at_level("WARNING", logger="mlsys.models._bundle"):
        loaded = ModelBundle.load(path)

    assert loaded.profile == profile
    assert "no training profile" not in caplog.text


def test_an_old_bundle_without_a_profile_loads_with_a_warning(
    bundle: ModelBundle,
    raw_leads: pd.DataFrame,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    old = copy.copy(bundle)
    del vars(old)["profile"]  # pickled before bundles had the attribute
    path = old.save(tmp_path / "model.joblib")

    with caplog.at_level("WARNING", logger="mlsys.models._bundle"):
        loaded = ModelBundle.load(path)

    assert loaded.profile is None
    np.testing.assert_array_equal(loaded.predict_proba(raw_leads), bundle.predict_proba(raw_leads))
    assert "carries no training profile" in caplog.text
