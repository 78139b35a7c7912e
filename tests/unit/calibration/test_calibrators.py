"""Calibrators turn over-confident or under-confident scores into honest probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from mlsys.calibration import Calibrator, IsotonicCalibrator, NoCalibration, SigmoidCalibrator
from mlsys.errors import DataError
from mlsys.evaluation import expected_calibration_error

pytestmark = pytest.mark.unit

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
CALIBRATORS = [SigmoidCalibrator(), IsotonicCalibrator()]


def _miscalibrated(n: int, seed: int) -> tuple[FloatArray, np.ndarray[Any, Any]]:
    """Labels drawn from p, scores p**3: ranking is perfect, the scale is far too low."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.98, n)
    y = (rng.random(n) < p).astype(np.int64)
    return p**3, y


@pytest.fixture(scope="module")
def calibration_split() -> tuple[FloatArray, np.ndarray[Any, Any]]:
    return _miscalibrated(4000, seed=0)


@pytest.fixture(scope="module")
def held_out() -> tuple[FloatArray, np.ndarray[Any, Any]]:
    return _miscalibrated(4000, seed=1)


@pytest.mark.parametrize("calibrator", CALIBRATORS, ids=lambda c: type(c).__name__)
def test_calibration_lowers_ece_on_held_out_scores(
    calibrator: Calibrator,
    calibration_split: tuple[FloatArray, np.ndarray[Any, Any]],
    held_out: tuple[FloatArray, np.ndarray[Any, Any]],
) -> None:
    scores, y = held_out
    before = expected_calibration_error(y, scores)

    fitted = clone(calibrator).fit(*calibration_split)
    after = expected_calibration_error(y, fitted.transform(scores))

    assert before > 0.15
    assert after < 0.05
    assert isinstance(fitted, Calibrator)


@pytest.mark.parametrize("calibrator", CALIBRATORS, ids=lambda c: type(c).__name__)
def test_calibration_is_monotone_and_bounded(
    calibrator: Calibrator, calibration_split: tuple[FloatArray, np.ndarray[Any, Any]]
) -> None:
    fitted = clone(calibrator).fit(*calibration_split)
    grid = np.linspace(0.0, 1.0, 1001)  # includes the ends, which the logit has to clip

    out = fitted.transform(grid)

    assert out.shape == grid.shape
    assert out.dtype == np.float64
    assert np.all(np.diff(out) >= 0)
    assert ((out >= 0) & (out <= 1)).all()
    assert out[-1] > out[0]


@pytest.mark.parametrize("calibrator", CALIBRATORS, ids=lambda c: type(c).__name__)
def test_fit_learns_from_its_own_split_only(
    calibrator: Calibrator, calibration_split: tuple[FloatArray, np.ndarray[Any, Any]]
) -> None:
    scores, y = calibration_split
    probe = np.array([0.01, 0.1, 0.5])

    first = clone(calibrator).fit(scores, y).transform(probe)
    refit = clone(calibrator).fit(scores, y)
    refit.transform(np.random.default_rng(0).random(5000))  # scoring other rows changes nothing

    np.testing.assert_array_equal(refit.transform(probe), first)
    flipped = clone(calibrator).fit(scores, 1 - y).transform(probe)
    assert not np.allclose(flipped, first)


@pytest.mark.parametrize("calibrator", CALIBRATORS, ids=lambda c: type(c).__name__)
@pytest.mark.parametrize(
    ("scores", "labels"),
    [
        (np.array([0.1, 0.4, 0.8]), np.array([1, 1, 1])),
        (np.array([0.1, 0.4, 0.8]), np.array([0, 0, 0])),
        (np.array([]), np.array([])),
    ],
    ids=["all-positive", "all-negative", "empty"],
)
def test_single_class_calibration_split_is_a_data_error(
    calibrator: Calibrator, scores: FloatArray, labels: np.ndarray[Any, Any]
) -> None:
    with pytest.raises(DataError, match="calibration split needs both classes") as info:
        clone(calibrator).fit(scores, labels)

    assert "Fix: raise split.calibration or use calibration=none" in str(info.value)


@pytest.mark.parametrize("calibrator", CALIBRATORS, ids=lambda c: type(c).__name__)
def test_transform_before_fit_raises(calibrator: Calibrator) -> None:
    with pytest.raises(NotFittedError):
        clone(calibrator).transform(np.array([0.5]))


def test_no_calibration_is_the_identity() -> None:
    scores = np.array([0.0, 0.2, 0.999, 1.0], dtype=np.float32)

    fitted = NoCalibration().fit(np.array([]), np.array([]))  # needs no calibration rows

    out = fitted.transform(scores)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, scores.astype(np.float64))
    assert isinstance(fitted, Calibrator)


@pytest.mark.parametrize("calibrator", ["sigmoid", "isotonic"])
def test_fast_transform_equals_scikit_learn(calibrator: str) -> None:
    """transform() skips scikit-learn's per-call checks; it must give the same numbers."""
    from mlsys.calibration import IsotonicCalibrator, SigmoidCalibrator
    from mlsys.calibration._calibrators import _logit

    rng = np.random.default_rng(11)
    p = rng.uniform(0, 1, 4000)
    y = (rng.uniform(size=4000) < p**2).astype(int)
    fitted = (SigmoidCalibrator() if calibrator == "sigmoid" else IsotonicCalibrator()).fit(p, y)
    probe = np.concatenate([rng.uniform(0, 1, 500), [0.0, 1.0, 1e-12, 1 - 1e-12]])
    if calibrator == "sigmoid":
        reference = fitted.model_.predict_proba(_logit(probe))[:, 1]
    else:
        reference = np.clip(fitted.model_.predict(probe), 0, 1)
    np.testing.assert_allclose(fitted.transform(probe), reference, rtol=1e-12, atol=1e-15)
