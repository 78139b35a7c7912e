"""Plots: valid PNG files of the requested size, and the tables behind them by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from mlsys.errors import DataError
from mlsys.evaluation import (
    PLOT_NAMES,
    binary_metrics,
    calibration_table,
    gains_table,
    plot_calibration,
    plot_confusion_matrix,
    plot_feature_importance,
    plot_gains_lift,
    plot_precision_recall,
    plot_roc,
    plot_score_distribution,
    plot_threshold_analysis,
    threshold_table,
)
from mlsys.evaluation._plots import plot_availability

from .helpers import png_size
from .strategies import FAST, labelled_scores

pytestmark = pytest.mark.unit

RNG = np.random.default_rng(7)
Y = (RNG.random(300) < 0.2).astype(np.int64)
P = np.clip(RNG.normal(0.25 + 0.3 * Y, 0.15), 0, 1)


Drawer = Callable[[Path, tuple[float, float], int], Path]
DRAWERS: dict[str, Drawer] = {
    "roc": lambda f, s, d: plot_roc(Y, P, f, size=s, dpi=d),
    "precision_recall": lambda f, s, d: plot_precision_recall(Y, P, f, size=s, dpi=d),
    "calibration": lambda f, s, d: plot_calibration(Y, P, f, bins=8, size=s, dpi=d),
    "gains_lift": lambda f, s, d: plot_gains_lift(Y, P, f, size=s, dpi=d),
    "score_distribution": lambda f, s, d: plot_score_distribution(
        Y, P, f, threshold=0.4, size=s, dpi=d
    ),
    "threshold_analysis": lambda f, s, d: plot_threshold_analysis(Y, P, 0.4, f, size=s, dpi=d),
    "confusion_matrix": lambda f, s, d: plot_confusion_matrix(
        binary_metrics(Y, P, 0.4)["confusion_matrix"], f, threshold=0.4, size=s, dpi=d
    ),
}


def test_every_plot_name_has_a_drawer() -> None:
    assert set(DRAWERS) == set(PLOT_NAMES)


@pytest.mark.parametrize("name", PLOT_NAMES)
def test_plot_writes_a_png_of_the_requested_size(name: str, tmp_path: Path) -> None:
    path = DRAWERS[name](tmp_path / f"{name}.png", (3.0, 2.5), 40)

    assert path == tmp_path / f"{name}.png"
    assert png_size(path) == (120, 100)


def test_size_and_dpi_scale_the_image(tmp_path: Path) -> None:
    small = plot_roc(Y, P, tmp_path / "small.png", size=(2.0, 1.5), dpi=50)
    large = plot_roc(Y, P, tmp_path / "large.png", size=(4.0, 3.0), dpi=100)

    assert png_size(small) == (100, 75)
    assert png_size(large) == (400, 300)
    assert large.stat().st_size > small.stat().st_size


def test_plot_creates_missing_folders(tmp_path: Path) -> None:
    path = plot_calibration(Y, P, tmp_path / "a" / "b" / "cal.png", size=(2, 2), dpi=30)

    assert png_size(path) == (60, 60)


def test_same_data_gives_the_same_bytes(tmp_path: Path) -> None:
    first = plot_gains_lift(Y, P, tmp_path / "a.png", size=(3, 2), dpi=40)
    second = plot_gains_lift(Y, P, tmp_path / "b.png", size=(3, 2), dpi=40)

    assert first.read_bytes() == second.read_bytes()


def test_feature_importance_plot(tmp_path: Path) -> None:
    values = {f"column_{i}": 1.0 / (i + 1) for i in range(30)}

    path = plot_feature_importance(values, tmp_path / "fi.png", top=5, size=(3, 2), dpi=40)

    assert png_size(path) == (120, 80)
    with pytest.raises(DataError, match="no importances"):
        plot_feature_importance({}, tmp_path / "empty.png")


@pytest.mark.parametrize("label", [0, 1])
@pytest.mark.parametrize("name", ["roc", "precision_recall"])
def test_curves_needing_both_classes_refuse_one_class(
    name: str, label: int, tmp_path: Path
) -> None:
    draw = plot_roc if name == "roc" else plot_precision_recall

    with pytest.raises(DataError, match="single class"):
        draw(np.full(5, label), np.linspace(0, 1, 5), tmp_path / "x.png")

    assert not (tmp_path / "x.png").exists()


def test_plots_without_converters_refuse_and_availability_says_why(tmp_path: Path) -> None:
    y, p = np.zeros(6, dtype=np.int64), np.linspace(0.1, 0.6, 6)

    available = plot_availability(y)

    assert [n for n, why in available.items() if why is None] == [
        "calibration",
        "score_distribution",
        "confusion_matrix",
    ]
    assert "single class (0 of 6 rows positive)" in str(available["gains_lift"])
    with pytest.raises(DataError, match="no converters"):
        plot_gains_lift(y, p, tmp_path / "g.png")
    with pytest.raises(DataError, match="no converters"):
        plot_threshold_analysis(y, p, 0.5, tmp_path / "t.png")
    # What can be drawn on one class still is.
    assert png_size(plot_calibration(y, p, tmp_path / "c.png", size=(2, 2), dpi=30)) == (60, 60)


def test_mismatched_lengths_and_bad_counts_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="3 labels but 2 probabilities"):
        plot_roc([0, 1, 0], [0.2, 0.5], tmp_path / "x.png")
    with pytest.raises(DataError, match=r"counts \['tp'\] missing"):
        plot_confusion_matrix({"tn": 1, "fp": 2, "fn": 3}, tmp_path / "x.png")


def test_gains_table_by_hand() -> None:
    # 10 leads, 4 converters; scores descending by row order, so deciles are the rows.
    y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])
    p = np.linspace(0.95, 0.05, 10)

    table = gains_table(y, p, groups=5)

    assert [r["converters"] for r in table] == [2, 1, 0, 1, 0]
    assert [r["rows"] for r in table] == [2, 2, 2, 2, 2]
    assert [r["lift"] for r in table] == pytest.approx([2.5, 1.25, 0.0, 1.25, 0.0])
    assert [r["cumulative_converters"] for r in table] == pytest.approx([0.5, 0.75, 0.75, 1.0, 1.0])
    assert table[-1]["cumulative_leads"] == 1.0


def test_gains_table_breaks_ties_by_row_order_and_handles_no_converters() -> None:
    table = gains_table([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], groups=2)
    assert [r["converters"] for r in table] == [1, 1]

    empty = gains_table([0, 0, 0], [0.1, 0.2, 0.3], groups=3)
    assert [r["lift"] for r in empty] == [None, None, None]


def test_calibration_table_by_hand() -> None:
    y = np.array([0, 1, 1, 1, 1])
    p = np.array([0.1, 0.15, 0.8, 0.85, 1.0])

    table = calibration_table(y, p, bins=10)

    assert [(r["bin"], r["rows"]) for r in table] == [(1, 2), (8, 2), (9, 1)]
    assert table[0]["mean_predicted"] == pytest.approx(0.125)
    assert table[0]["observed_rate"] == pytest.approx(0.5)


def _counts(y: np.ndarray[Any, Any], p: np.ndarray[Any, Any], t: float) -> tuple[int, int]:
    called = p >= t
    return int((called & (y == 1)).sum()), int(called.sum())


@settings(FAST, max_examples=30)
@given(labelled_scores())
def test_threshold_table_matches_brute_force(
    data: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]],
) -> None:
    y, p = data

    table = threshold_table(y, p)

    assert list(table["threshold"]) == sorted(set(p))
    for i, t in enumerate(table["threshold"]):
        tp, called = _counts(y, p, t)
        assert table["precision"][i] == pytest.approx(tp / called)
        assert table["recall"][i] == pytest.approx(tp / y.sum())
        assert table["f1"][i] == pytest.approx(2 * tp / (called + y.sum()))
        assert table["called"][i] == pytest.approx(called / len(y))


@settings(FAST)
@given(labelled_scores())
def test_curves_match_scikit_learn(data: tuple[np.ndarray, np.ndarray]) -> None:
    """The plots compute their curves with numpy (the plot worker never imports scikit-learn)."""
    from sklearn import metrics as skm

    from mlsys.evaluation._plots import _precision_recall_points, _roc_points

    y, p = data
    if not 0 < y.sum() < len(y):
        return
    p = np.round(p, 2)  # ties
    fpr, tpr = _roc_points(y, p)
    sk_fpr, sk_tpr, _ = skm.roc_curve(y, p, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr, atol=1e-12)
    np.testing.assert_allclose(tpr, sk_tpr, atol=1e-12)
    assert np.trapezoid(tpr, fpr) == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    precision, recall = _precision_recall_points(y, p)
    sk_precision, sk_recall, _ = skm.precision_recall_curve(y, p, drop_intermediate=False)
    np.testing.assert_allclose(precision, sk_precision, atol=1e-12)
    np.testing.assert_allclose(recall, sk_recall, atol=1e-12)
    ap = -np.sum(np.diff(recall) * precision[:-1])
    assert ap == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
