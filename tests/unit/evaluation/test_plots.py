"""Plots: valid PNG files of the requested size that show the numbers they are given."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from sklearn import metrics as skm

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
M = binary_metrics(Y, P, 0.4)
FPR, TPR, _ = skm.roc_curve(Y, P)
PRECISION, RECALL, _ = skm.precision_recall_curve(Y, P)


Drawer = Callable[[Path, tuple[float, float], int], Path]
DRAWERS: dict[str, Drawer] = {
    "roc": lambda f, s, d: plot_roc(FPR, TPR, f, auc=M["roc_auc"], size=s, dpi=d),
    "precision_recall": lambda f, s, d: plot_precision_recall(
        PRECISION,
        RECALL,
        f,
        average_precision=M["pr_auc"],
        base_rate=M["positive_rate"],
        size=s,
        dpi=d,
    ),
    "calibration": lambda f, s, d: plot_calibration(
        calibration_table(Y, P, 8), f, ece=M["ece"], bins=8, size=s, dpi=d
    ),
    "gains_lift": lambda f, s, d: plot_gains_lift(
        threshold_table(Y, P), gains_table(Y, P), f, size=s, dpi=d
    ),
    "score_distribution": lambda f, s, d: plot_score_distribution(
        Y, P, f, threshold=0.4, size=s, dpi=d
    ),
    "threshold_analysis": lambda f, s, d: plot_threshold_analysis(
        threshold_table(Y, P), 0.4, f, size=s, dpi=d
    ),
    "confusion_matrix": lambda f, s, d: plot_confusion_matrix(
        M["confusion_matrix"], f, threshold=0.4, size=s, dpi=d
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
    small = plot_roc(FPR, TPR, tmp_path / "small.png", auc=0.5, size=(2.0, 1.5), dpi=50)
    large = plot_roc(FPR, TPR, tmp_path / "large.png", auc=0.5, size=(4.0, 3.0), dpi=100)

    assert png_size(small) == (100, 75)
    assert png_size(large) == (400, 300)
    assert large.stat().st_size > small.stat().st_size


def test_plot_creates_missing_folders(tmp_path: Path) -> None:
    path = DRAWERS["calibration"](tmp_path / "a" / "b" / "cal.png", (2, 2), 30)

    assert png_size(path) == (60, 60)


def test_same_data_gives_the_same_bytes(tmp_path: Path) -> None:
    first = DRAWERS["gains_lift"](tmp_path / "a.png", (3, 2), 40)
    second = DRAWERS["gains_lift"](tmp_path / "b.png", (3, 2), 40)

    assert first.read_bytes() == second.read_bytes()


def test_feature_importance_plot(tmp_path: Path) -> None:
    values = {f"column_{i}": 1.0 / (i + 1) for i in range(30)}

    path = plot_feature_importance(values, tmp_path / "fi.png", top=5, size=(3, 2), dpi=40)

    assert png_size(path) == (120, 80)
    with pytest.raises(DataError, match="no importances"):
        plot_feature_importance({}, tmp_path / "empty.png")


def test_titles_and_legends_show_the_numbers_they_are_given(
    drawn_text: list[str], tmp_path: Path
) -> None:
    # Numbers no curve of Y, P has: a plot that computed its own would show other ones.
    plot_roc(FPR, TPR, tmp_path / "r.png", auc=0.1234)
    plot_precision_recall(
        PRECISION, RECALL, tmp_path / "p.png", average_precision=0.5678, base_rate=0.25
    )
    plot_calibration(calibration_table(Y, P), tmp_path / "c.png", ece=0.0909)

    assert "model, AUC 0.123" in drawn_text
    assert "model, AP 0.568" in drawn_text
    assert "Calibration: ECE 0.0909 over 10 bins" in drawn_text


@pytest.mark.parametrize(
    ("draw", "message"),
    [
        (lambda f: plot_roc(FPR, TPR, f, auc=None), "ROC curve: ROC-AUC is undefined"),
        (
            lambda f: plot_precision_recall(
                PRECISION, RECALL, f, average_precision=None, base_rate=0.0
            ),
            "precision-recall curve: average precision is undefined",
        ),
        (lambda f: plot_calibration([], f, ece=None), "calibration plot: ECE"),
    ],
)
def test_an_undefined_metric_is_a_data_error_and_no_png(
    draw: Callable[[Path], Path], message: str, tmp_path: Path
) -> None:
    with pytest.raises(DataError, match=message):
        draw(tmp_path / "x.png")

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
    table = threshold_table(y, p)
    with pytest.raises(DataError, match="no converters"):
        plot_gains_lift(table, gains_table(y, p), tmp_path / "g.png")
    with pytest.raises(DataError, match="no converters"):
        plot_threshold_analysis(table, 0.5, tmp_path / "t.png")
    # What can be drawn on one class still is.
    calibration = plot_calibration(
        calibration_table(y, p), tmp_path / "c.png", ece=0.1, size=(2, 2), dpi=30
    )
    assert png_size(calibration) == (60, 60)


def test_mismatched_lengths_and_bad_counts_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="3 labels and 2 probabilities"):
        plot_score_distribution([0, 1, 0], [0.2, 0.5], tmp_path / "x.png")
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
