"""Train / validation / calibration / test splits, made before any resampling or scaling."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from pydantic import Field

from mlsys._params import Seed, check_instance
from mlsys.data import Dataset
from mlsys.errors import ConfigError, DataError
from mlsys.files import atomic_path

# The package __init__ lists these again: its __all__ is the public API (test_public_api).
__all__ = [
    "SPLIT_NAMES",
    "GroupSplitter",
    "RandomSplitter",
    "SplitIndices",
    "Splitter",
    "TimeSplitter",
]

log = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "validation", "calibration", "test")
IntArray = np.ndarray[Any, np.dtype[np.int64]]
#: Validation drives early stopping and the threshold, test is the holdout: neither may be empty.
Fraction = Annotated[float, Field(gt=0, lt=1)]
#: The calibration split may be empty (``split.calibration=0`` with ``calibration=none``).
CalibrationFraction = Annotated[float, Field(ge=0, lt=1)]
Column = Annotated[str, Field(min_length=1)]


@dataclass(frozen=True)
class SplitIndices:
    """Row positions of each split; disjoint and together covering every row."""

    train: IntArray
    validation: IntArray
    calibration: IntArray
    test: IntArray

    def items(self) -> list[tuple[str, IntArray]]:
        """(name, indices) pairs in the canonical order."""
        return [(name, getattr(self, name)) for name in SPLIT_NAMES]

    def sizes(self) -> dict[str, int]:
        """Row count per split."""
        return {name: len(idx) for name, idx in self.items()}

    def digests(self) -> dict[str, str]:
        """sha256 of each split's sorted indices: equal digests mean identical splits."""
        return {
            name: hashlib.sha256(np.sort(idx).astype("<i8").tobytes()).hexdigest()
            for name, idx in self.items()
        }

    def save(self, path: Path) -> Path:
        """Write the indices and their digests as one ``.npz`` file."""
        arrays: dict[str, Any] = dict(self.items())
        # Through a handle: given a bare path, numpy would append ".npz" to the name.
        with atomic_path(path) as tmp, tmp.open("wb") as handle:
            np.savez_compressed(handle, **arrays, digests=np.array(json.dumps(self.digests())))
        return path

    @classmethod
    def load(cls, path: Path) -> SplitIndices:
        """Read indices written by :meth:`save`."""
        with np.load(path) as data:
            return cls(**{name: data[name].astype(np.int64) for name in SPLIT_NAMES})


@runtime_checkable
class Splitter(Protocol):
    """Assign every row of a data set to exactly one split."""

    def split(self, dataset: Dataset) -> SplitIndices:
        """Return the row positions of each split."""
        ...


def _check_fractions(splitter: RandomSplitter | TimeSplitter | GroupSplitter) -> None:
    check_instance(splitter, "split")
    validation, calibration, test = splitter.validation, splitter.calibration, splitter.test
    if validation + calibration + test >= 0.9:
        raise ConfigError(
            f"split: validation + calibration + test = {validation + calibration + test:.2f} "
            "leaves under 10% of rows to train on. Fix: lower the fractions."
        )


def _cut(rows: IntArray, splitter: RandomSplitter | TimeSplitter) -> list[IntArray]:
    """Cut ``rows``, in order, into train, validation, calibration and test at the fractions."""
    n = len(rows)
    n_test = round(n * splitter.test)
    n_cal = round(n * splitter.calibration)
    n_val = round(n * splitter.validation)
    return list(np.split(rows, np.cumsum([n - n_test - n_cal - n_val, n_val, n_cal])))


def _check_both_classes(dataset: Dataset, indices: SplitIndices, how: str) -> SplitIndices:
    for name, idx in indices.items():
        if name == "calibration" and len(idx) == 0:
            continue
        labels = dataset.target[idx]
        if len(idx) == 0 or labels.min() == labels.max():
            raise DataError(
                f"split: the {name} split ({len(idx)} rows, {how}) holds a single class; "
                f"data set '{dataset.name}' has {int(dataset.target.sum())} positives in "
                f"{len(dataset)} rows. Fix: supply more data or enlarge split.{name}."
            )
    return indices


class RandomSplitter:
    """Stratified random split: every split keeps the data set's positive rate.

    Args:
        validation: Fraction of rows for early stopping and threshold choice.
        calibration: Fraction of rows for fitting the probability calibrator (0 to disable).
        test: Fraction of rows held out for the final, untouched evaluation.
        seed: Seed of the shuffle.
    """

    # Only stores its parameters: scikit-learn's estimator contract (clone, get_params).
    def __init__(
        self,
        validation: Fraction = 0.15,
        calibration: CalibrationFraction = 0.1,
        test: Fraction = 0.2,
        seed: Seed = 0,
    ) -> None:
        self.validation = validation
        self.calibration = calibration
        self.test = test
        self.seed = seed

    def split(self, dataset: Dataset) -> SplitIndices:
        """Shuffle each class separately and cut it at the configured fractions."""
        _check_fractions(self)
        rng = np.random.default_rng(self.seed)
        parts: dict[str, list[IntArray]] = {name: [] for name in SPLIT_NAMES}
        for label in (0, 1):
            rows = np.flatnonzero(dataset.target == label).astype(np.int64)
            rng.shuffle(rows)
            for name, chunk in zip(SPLIT_NAMES, _cut(rows, self), strict=True):
                parts[name].append(chunk)
        merged = {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}
        return _check_both_classes(dataset, SplitIndices(**merged), "stratified random")


class TimeSplitter:
    """Time-based split: train on the oldest rows, test on the newest.

    Rows are ordered by ``column`` (ties broken by file order), so the test split is always
    later in time than training, as it will be in production.

    Args:
        column: A date column listed in ``data.date_columns``.
        validation: Fraction of rows, after train, for early stopping and threshold choice.
        calibration: Fraction of rows, after validation, for the calibrator.
        test: Fraction of the newest rows held out.
    """

    # Only stores its parameters: scikit-learn's estimator contract (clone, get_params).
    def __init__(
        self,
        column: Column,
        validation: Fraction = 0.15,
        calibration: CalibrationFraction = 0.1,
        test: Fraction = 0.2,
    ) -> None:
        self.column = column
        self.validation = validation
        self.calibration = calibration
        self.test = test

    def split(self, dataset: Dataset) -> SplitIndices:
        """Sort by time and cut into consecutive periods."""
        _check_fractions(self)
        times = self._times(dataset)
        if times.isna().any():
            raise DataError(
                f"split.column: {int(times.isna().sum())} rows have no valid date in "
                f"'{self.column}'. Fix: clean the column or use split=random."
            )
        chunks = _cut(np.argsort(times.to_numpy(), kind="stable").astype(np.int64), self)
        indices = SplitIndices(*(np.sort(c) for c in chunks))
        log.info(
            "Time split on '%s': train up to %s, test from %s",
            self.column,
            times.iloc[chunks[0]].max(),
            times.iloc[chunks[3]].min(),
        )
        return _check_both_classes(dataset, indices, f"time-ordered by '{self.column}'")

    def period(self, dataset: Dataset, indices: SplitIndices) -> tuple[str, str]:
        """The last date any fitted row holds and the first date of the test rows (ISO).

        Fitted rows are train, validation and calibration: everything the model, its early
        stopping, threshold or calibrator saw. The champion gate uses the pair to know that a
        newer model's test rows were never seen by an older one.
        """
        times = self._times(dataset)
        fitted = np.concatenate([indices.train, indices.validation, indices.calibration])
        return (
            pd.Timestamp(times.iloc[fitted].max()).isoformat(),
            pd.Timestamp(times.iloc[indices.test].min()).isoformat(),
        )

    def _times(self, dataset: Dataset) -> pd.Series[Any]:
        times = dataset.column(self.column, purpose="split.column")
        if not pd.api.types.is_datetime64_any_dtype(times):
            times = pd.to_datetime(times, errors="coerce")
        return times


class GroupSplitter:
    """Group split: all rows of a group (e.g. an account) land in the same split.

    Prevents a model from memorising an account in training and being "tested" on the same
    account's other leads.

    Args:
        column: The group id column (kept via ``data.non_feature_columns`` or ``data.id_column``).
        validation: Approximate fraction of rows for validation.
        calibration: Approximate fraction of rows for calibration.
        test: Approximate fraction of rows for test.
        seed: Seed of the group shuffle.
    """

    # Only stores its parameters: scikit-learn's estimator contract (clone, get_params).
    def __init__(
        self,
        column: Column,
        validation: Fraction = 0.15,
        calibration: CalibrationFraction = 0.1,
        test: Fraction = 0.2,
        seed: Seed = 0,
    ) -> None:
        self.column = column
        self.validation = validation
        self.calibration = calibration
        self.test = test
        self.seed = seed

    def split(self, dataset: Dataset) -> SplitIndices:
        """Shuffle the groups and fill the splits group by group up to their row budgets."""
        _check_fractions(self)
        groups = dataset.column(self.column, purpose="split.column")
        if groups.isna().any():
            raise DataError(
                f"split.column: {int(groups.isna().sum())} rows have no group in '{self.column}'. "
                "Fix: fill the column or use split=random."
            )
        codes, uniques = pd.factorize(groups, sort=True)
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(uniques))
        sizes = np.bincount(codes, minlength=len(uniques))
        n = len(codes)
        budgets = [n * self.test, n * self.calibration, n * self.validation]
        assignment = np.zeros(len(uniques), dtype=np.int64)  # 0 train, 1 val, 2 cal, 3 test
        filled, slot = 0.0, 0
        for group in order:
            while slot < len(budgets) and filled >= budgets[slot]:
                slot, filled = slot + 1, 0.0
            if slot == len(budgets):
                break
            assignment[group] = 3 - slot
            filled += sizes[group]
        row_split = assignment[codes]
        indices = SplitIndices(*(np.flatnonzero(row_split == k).astype(np.int64) for k in range(4)))
        return _check_both_classes(dataset, indices, f"grouped by '{self.column}'")
