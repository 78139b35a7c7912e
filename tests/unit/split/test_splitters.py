"""Splitters: disjoint, complete, stratified or ordered or grouped, and reproducible."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlsys.data import Dataset, FrameSource
from mlsys.errors import ConfigError, DataError, SchemaError
from mlsys.split import (
    SPLIT_NAMES,
    GroupSplitter,
    RandomSplitter,
    SplitIndices,
    Splitter,
    TimeSplitter,
)

pytestmark = pytest.mark.unit

FRACTIONS = {"validation": 0.15, "calibration": 0.1, "test": 0.2}


def _assert_partition(indices: SplitIndices, n_rows: int) -> None:
    everything = np.concatenate([idx for _, idx in indices.items()])
    assert len(everything) == n_rows, "splits overlap or miss rows"
    np.testing.assert_array_equal(np.sort(everything), np.arange(n_rows))


def _splitters() -> list[Splitter]:
    return [
        RandomSplitter(seed=3),
        TimeSplitter(column="created_at"),
        GroupSplitter(column="account_id", seed=3),
    ]


@pytest.mark.parametrize("splitter", _splitters(), ids=lambda s: type(s).__name__)
def test_every_splitter_partitions_the_rows(splitter: Splitter, leads: Dataset) -> None:
    indices = splitter.split(leads)

    assert isinstance(splitter, Splitter)
    _assert_partition(indices, len(leads))
    assert [name for name, _ in indices.items()] == list(SPLIT_NAMES)
    for name, idx in indices.items():
        assert idx.dtype == np.int64, name
        assert 0 < leads.target[idx].sum() < len(idx), f"{name} holds a single class"


@pytest.mark.parametrize("splitter", _splitters(), ids=lambda s: type(s).__name__)
def test_every_splitter_roughly_honours_the_fractions(splitter: Splitter, leads: Dataset) -> None:
    sizes = splitter.split(leads).sizes()

    for name, fraction in FRACTIONS.items():
        assert sizes[name] / len(leads) == pytest.approx(fraction, abs=0.02), name
    assert sizes["train"] == len(leads) - sum(sizes[name] for name in FRACTIONS)


def test_random_split_is_stratified(leads: Dataset) -> None:
    indices = RandomSplitter(seed=0).split(leads)

    for name, idx in indices.items():
        assert leads.target[idx].mean() == pytest.approx(leads.positive_rate, abs=0.01), name


def test_random_split_is_deterministic_per_seed(leads: Dataset) -> None:
    first = RandomSplitter(seed=7).split(leads)
    again = RandomSplitter(seed=7).split(leads)
    other = RandomSplitter(seed=8).split(leads)

    assert first.digests() == again.digests()
    assert first.digests()["test"] != other.digests()["test"]
    assert first.sizes() == other.sizes()


def test_zero_calibration_gives_an_empty_calibration_split(leads: Dataset) -> None:
    indices = RandomSplitter(calibration=0.0).split(leads)

    assert indices.sizes()["calibration"] == 0
    _assert_partition(indices, len(leads))


@pytest.mark.parametrize(
    ("fractions", "fragment"),
    [
        (
            {"validation": 0.0},
            r"split\.validation: got 0\.0 \(float\), expected number in \(0, 1\)",
        ),
        ({"test": 0.0}, r"split\.test: got 0\.0 \(float\), expected number in \(0, 1\)"),
        ({"test": 1.0}, r"split\.test: got 1\.0 \(float\), expected number in \(0, 1\)"),
        (
            {"calibration": -0.1},
            r"split\.calibration: got -0\.1 \(float\), expected number in \[0, 1\)",
        ),
        ({"validation": 0.4, "calibration": 0.2, "test": 0.3}, "under 10% of rows to train"),
    ],
)
@pytest.mark.parametrize("kind", ["random", "time", "group"])
def test_bad_fractions_are_config_errors(
    fractions: dict[str, float], fragment: str, kind: str, leads: Dataset
) -> None:
    splitter: Splitter
    if kind == "random":
        splitter = RandomSplitter(**fractions)
    elif kind == "time":
        splitter = TimeSplitter(column="created_at", **fractions)
    else:
        splitter = GroupSplitter(column="account_id", **fractions)

    with pytest.raises(ConfigError, match=fragment):
        splitter.split(leads)


def test_time_split_trains_on_the_past(leads: Dataset) -> None:
    indices = TimeSplitter(column="created_at").split(leads)
    when = leads.frame["created_at"].to_numpy()

    order = [when[getattr(indices, name)] for name in SPLIT_NAMES]
    for earlier, later in itertools.pairwise(order):
        assert earlier.max() <= later.min()


def test_time_split_parses_text_dates() -> None:
    frame = pd.DataFrame(
        {
            "day": [f"2024-01-{d:02d}" for d in range(20, 0, -1)],  # newest first in the file
            "x": np.arange(20.0),
            "y": [0, 1] * 10,
        }
    )
    dataset = FrameSource(frame, target="y", non_feature_columns=["day"]).load()

    indices = TimeSplitter(column="day", validation=0.2, calibration=0.0, test=0.2).split(dataset)

    # The file lists the newest day first, so the test split is the first rows of the file.
    np.testing.assert_array_equal(indices.test, [0, 1, 2, 3])
    np.testing.assert_array_equal(indices.train, np.arange(8, 20))


def test_time_split_rejects_rows_without_a_date() -> None:
    frame = pd.DataFrame({"day": ["2024-01-01", "soon"] * 10, "x": range(20), "y": [0, 1] * 10})
    dataset = FrameSource(frame, target="y", non_feature_columns=["day"]).load()

    with pytest.raises(DataError, match=r"split\.column: 10 rows have no valid date in 'day'"):
        TimeSplitter(column="day").split(dataset)


def test_split_column_must_exist(leads: Dataset) -> None:
    with pytest.raises(SchemaError, match=r"split\.column: column 'when' is not in"):
        TimeSplitter(column="when").split(leads)


def test_group_split_keeps_each_group_in_one_split(leads: Dataset) -> None:
    indices = GroupSplitter(column="account_id", seed=1).split(leads)
    groups = leads.frame["account_id"].to_numpy()

    seen: dict[str, str] = {}
    for name, idx in indices.items():
        for group in set(groups[idx]):
            assert seen.setdefault(group, name) == name, f"group {group} in {seen[group]}, {name}"
    assert leads.frame["account_id"].nunique() < len(leads)  # the test is not vacuous


def test_group_split_is_deterministic_per_seed(leads: Dataset) -> None:
    first = GroupSplitter(column="account_id", seed=4).split(leads)

    assert GroupSplitter(column="account_id", seed=4).split(leads).digests() == first.digests()
    assert GroupSplitter(column="account_id", seed=5).split(leads).digests() != first.digests()


def test_group_split_rejects_missing_groups() -> None:
    frame = pd.DataFrame({"g": ["a", None] * 10, "x": range(20), "y": [0, 1] * 10})
    dataset = FrameSource(frame, target="y", non_feature_columns=["g"]).load()

    with pytest.raises(DataError, match=r"split\.column: 10 rows have no group in 'g'"):
        GroupSplitter(column="g").split(dataset)


def test_a_split_without_both_classes_is_a_data_error() -> None:
    frame = pd.DataFrame({"x": np.arange(40.0), "y": [1] + [0] * 39})
    dataset = FrameSource(frame, target="y", name="rare").load()

    with pytest.raises(DataError, match="holds a single class") as info:
        RandomSplitter().split(dataset)

    message = str(info.value)
    assert "data set 'rare' has 1 positives in 40 rows" in message
    assert "Fix:" in message


def test_split_indices_save_load_round_trip(leads: Dataset, tmp_path: Path) -> None:
    indices = RandomSplitter(seed=2).split(leads)

    path = indices.save(tmp_path / "splits.npz")
    loaded = SplitIndices.load(path)

    for name, idx in indices.items():
        np.testing.assert_array_equal(getattr(loaded, name), idx)
        assert getattr(loaded, name).dtype == np.int64
    assert loaded.digests() == indices.digests()


def test_split_indices_save_writes_exactly_the_given_path(tmp_path: Path) -> None:
    indices = SplitIndices(
        train=np.array([0, 1]), validation=np.array([2]), calibration=np.array([], dtype=np.int64),
        test=np.array([3]),
    )  # fmt: skip

    path = indices.save(tmp_path / "splits.bin")

    assert path == tmp_path / "splits.bin"
    assert [p.name for p in tmp_path.iterdir()] == ["splits.bin"]
    assert SplitIndices.load(path).sizes() == {
        "train": 2, "validation": 1, "calibration": 0, "test": 1,
    }  # fmt: skip


def test_digests_ignore_order_but_not_content() -> None:
    base = SplitIndices(
        train=np.array([0, 1, 2]), validation=np.array([3]), calibration=np.array([4]),
        test=np.array([5]),
    )  # fmt: skip
    shuffled = SplitIndices(
        train=np.array([2, 0, 1]), validation=np.array([3]), calibration=np.array([4]),
        test=np.array([5]),
    )  # fmt: skip
    moved = SplitIndices(
        train=np.array([0, 1]), validation=np.array([2, 3]), calibration=np.array([4]),
        test=np.array([5]),
    )  # fmt: skip

    assert shuffled.digests() == base.digests()
    assert moved.digests()["train"] != base.digests()["train"]
    assert moved.digests()["test"] == base.digests()["test"]
    assert all(len(d) == 64 for d in base.digests().values())
