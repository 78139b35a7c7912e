"""CsvSource: reading, schema inference and the errors a user meets with a bad file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.api import types as ptypes

import mlsys.data._synthetic as synthetic
from mlsys.data import CsvSource, Dataset, FrameSource, file_sha256
from mlsys.errors import DataError, SchemaError

pytestmark = pytest.mark.unit

# id, a date, a group, a float with a blank, a true/false flag, a numeric code, a city with a blank.
MIXED = """\
id,when,grp,x,flag,code,city,y
1,2024-01-01,g1,1.5,true,3,paris,1
2,2024-01-02,g1,2.5,false,4,rome,0
3,2024-01-03,g2,,true,3,,0
4,2024-01-04,g2,4,false,5,paris,1
"""


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _load(path: Path, target: str = "y", **options: Any) -> Dataset:
    return CsvSource(str(path), target=target, **options).load()


@pytest.fixture
def mixed_csv(tmp_path: Path) -> Path:
    return _write(tmp_path, MIXED)


def test_loads_rows_target_and_provenance(mixed_csv: Path) -> None:
    dataset = _load(mixed_csv, id_column="id", date_columns=["when"], non_feature_columns=["grp"])

    assert len(dataset) == 4
    np.testing.assert_array_equal(dataset.target, [1, 0, 0, 1])
    assert dataset.positive_rate == 0.5
    assert dataset.name == "data"  # the file stem when no name is given
    assert dataset.source == str(mixed_csv)
    assert dataset.sha256 == file_sha256(mixed_csv)
    assert dataset.target_name == "y"
    assert "y" not in dataset.frame.columns


def test_infers_kinds_and_types_columns(mixed_csv: Path) -> None:
    dataset = _load(mixed_csv, id_column="id", date_columns=["when"], non_feature_columns=["grp"])

    assert dataset.schema.to_dict() == {
        "x": "numeric",
        "flag": "boolean",
        "code": "numeric",
        "city": "categorical",
    }
    frame = dataset.frame
    assert ptypes.is_float_dtype(frame["x"])
    assert np.isnan(frame["x"].iloc[2])
    np.testing.assert_array_equal(frame["flag"], [1.0, 0.0, 1.0, 0.0])
    assert ptypes.is_string_dtype(frame["city"])
    assert frame["city"].isna().tolist() == [False, False, True, False]
    assert ptypes.is_datetime64_any_dtype(frame["when"])


def test_id_date_and_non_feature_columns_are_kept_but_not_features(mixed_csv: Path) -> None:
    dataset = _load(mixed_csv, id_column="id", date_columns=["when"], non_feature_columns=["grp"])

    for name in ("id", "when", "grp"):
        assert name in dataset.frame.columns
        assert name not in dataset.schema.columns
        assert name not in dataset.features.columns
    assert list(dataset.features.columns) == list(dataset.schema.columns)
    assert dataset.column("grp", purpose="split.column").tolist() == ["g1", "g1", "g2", "g2"]


def test_a_column_of_iso_dates_is_a_date_not_a_feature(
    mixed_csv: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="mlsys.data._csv"):
        dataset = _load(mixed_csv, id_column="id")  # `when` is not named a date column

    assert "when" not in dataset.schema.columns
    assert ptypes.is_datetime64_any_dtype(dataset.frame["when"])
    assert "column 'when' holds dates" in caplog.text
    assert "data.categorical=[when]" in caplog.text
    forced = _load(mixed_csv, id_column="id", categorical=["when"])
    assert forced.schema.to_dict()["when"] == "categorical"


@pytest.mark.parametrize(
    "values",
    [["1-10", "11-50", "51-200"], ["may", "jun", "jul"], ["2024-01-01", "soon", "2024-01-03"]],
    ids=["size-bands", "month-names", "mixed"],
)
def test_text_that_only_resembles_dates_stays_categorical(
    tmp_path: Path, values: list[str]
) -> None:
    rows = "\n".join(f"{v},{i % 2}" for i, v in enumerate(values * 2))
    dataset = _load(_write(tmp_path, f"band,y\n{rows}\n"))
    assert dataset.schema.to_dict() == {"band": "categorical"}


def test_hints_override_inference(mixed_csv: Path) -> None:
    dataset = _load(
        mixed_csv,
        id_column="id",
        date_columns=["when"],
        non_feature_columns=["grp"],
        categorical=["code"],
    )

    assert dataset.schema.to_dict()["code"] == "categorical"
    # Integer codes become their text, not "3.0".
    assert dataset.frame["code"].tolist() == ["3", "4", "3", "5"]
    assert ptypes.is_string_dtype(dataset.frame["code"])


def test_boolean_with_blanks_is_boolean_and_yes_no_needs_a_hint(tmp_path: Path) -> None:
    path = _write(tmp_path, "b,answer,y\nTrue,yes,1\n,no,0\nFalse,no,0\nTrue,yes,1\n")

    inferred = _load(path)
    hinted = _load(path, boolean=["answer"])

    assert inferred.schema.to_dict() == {"b": "boolean", "answer": "categorical"}
    np.testing.assert_array_equal(inferred.frame["b"], [1.0, np.nan, 0.0, 1.0])
    assert hinted.schema.to_dict()["answer"] == "boolean"
    np.testing.assert_array_equal(hinted.frame["answer"], [1.0, 0.0, 0.0, 1.0])


def test_numeric_hint_on_text_column_names_the_column_and_fix(tmp_path: Path) -> None:
    path = _write(tmp_path, "x,y\n1,1\nabc,0\n3,0\n")

    with pytest.raises(SchemaError, match=r"data\.numeric: column 'x'") as info:
        _load(path, numeric=["x"])

    assert "'abc'" in str(info.value)
    assert "Fix:" in str(info.value)


def test_drop_columns_are_removed(mixed_csv: Path) -> None:
    dataset = _load(mixed_csv, id_column="id", drop_columns=["city", "grp"])

    assert "city" not in dataset.frame.columns
    assert "grp" not in dataset.frame.columns
    assert "city" not in dataset.schema.columns


def test_na_values_are_read_as_missing(tmp_path: Path) -> None:
    path = _write(tmp_path, "x,y\n1,1\n?,0\n3,0\n")

    dataset = _load(path, na_values=["?"])

    assert dataset.schema.to_dict() == {"x": "numeric"}
    np.testing.assert_array_equal(dataset.frame["x"], [1.0, np.nan, 3.0])


def test_positive_label_is_case_and_space_insensitive(tmp_path: Path) -> None:
    path = _write(tmp_path, "x,won\n1,Yes\n2, no\n3,YES\n4,no\n")

    dataset = _load(path, target="won", positive_label="yes")

    np.testing.assert_array_equal(dataset.target, [1, 0, 1, 0])
    # recorded as the file spells it (its first matching value), so the model's metadata is true
    assert dataset.positive_label == "Yes"


def test_unlabelled_rows_are_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, "x,y\n1,1\n2,\n3,0\n4,1\n")

    with caplog.at_level(logging.WARNING, logger="mlsys.data"):
        dataset = _load(path)

    assert len(dataset) == 3
    np.testing.assert_array_equal(dataset.frame["x"], [1.0, 3.0, 4.0])
    np.testing.assert_array_equal(dataset.target, [1, 0, 1])
    assert "1 of 4 rows" in caplog.text
    assert "no label" in caplog.text


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        pytest.param(lambda d: d / "missing.csv", "not found", id="missing-file"),
        pytest.param(lambda d: d, "is a directory", id="directory"),
        pytest.param(lambda d: _write(d, ""), "is empty", id="empty-file"),
        pytest.param(lambda d: _write(d, "x,y\n"), "has a header but no rows", id="header-only"),
        pytest.param(
            lambda d: _write(d, "x,y\n1,1\n2,0,5,6\n"), "not a valid CSV", id="ragged-rows"
        ),
    ],
)
def test_unreadable_files_raise_data_error(
    tmp_path: Path, make: Callable[[Path], Path], fragment: str
) -> None:
    path = make(tmp_path)

    with pytest.raises(DataError, match=r"data\.path") as info:
        _load(path)

    assert fragment in str(info.value)
    assert "Fix:" in str(info.value)
    assert not isinstance(info.value, SchemaError)


def test_wrong_separator_suggests_the_real_one(tmp_path: Path) -> None:
    path = _write(tmp_path, "x;z;y\n1;2;1\n3;4;0\n")

    with pytest.raises(DataError, match=r"data\.sep") as info:
        _load(path)

    assert "Fix: pass \"data.sep=';'\" (quoted for the shell)" in str(info.value)
    assert _load(path, sep=";").schema.columns == ("x", "z")


def test_missing_target_lists_the_columns(mixed_csv: Path) -> None:
    with pytest.raises(SchemaError, match=r"data\.target: column 'won' not found") as info:
        _load(mixed_csv, target="won")

    assert "Fix: data.target=<one of ['id', 'when'" in str(info.value)


@pytest.mark.parametrize(
    "key", ["id_column", "date_columns", "non_feature_columns", "drop_columns", "categorical"]
)
def test_unknown_configured_column_names_the_key(mixed_csv: Path, key: str) -> None:
    value: object = "nope" if key == "id_column" else ["nope"]

    with pytest.raises(SchemaError, match=rf"data\.{key}: column\(s\) \['nope'\]") as info:
        _load(mixed_csv, **{key: value})

    assert "Fix:" in str(info.value)


def test_dropping_the_target_is_refused(mixed_csv: Path) -> None:
    with pytest.raises(SchemaError, match=r"data\.drop_columns: drops the target 'y'"):
        _load(mixed_csv, drop_columns=["y"])


def test_absent_positive_label_lists_the_values(mixed_csv: Path) -> None:
    with pytest.raises(SchemaError, match=r"data\.positive_label: '7' never occurs") as info:
        _load(mixed_csv, positive_label="7")

    assert "Fix: data.positive_label=<one of ['0', '1']>" in str(info.value)


def test_text_positive_label_on_numeric_target(mixed_csv: Path) -> None:
    with pytest.raises(SchemaError, match=r"data\.positive_label: 'yes' is not a number") as info:
        _load(mixed_csv, positive_label="yes")

    assert "Fix:" in str(info.value)


def test_single_class_target(tmp_path: Path) -> None:
    path = _write(tmp_path, "x,y\n1,1\n2,1\n3,1\n")

    with pytest.raises(DataError, match=r"data\.target: column 'y'") as info:
        _load(path)

    assert "single class" in str(info.value)
    assert "Fix:" in str(info.value)


def test_more_than_two_classes(tmp_path: Path) -> None:
    path = _write(tmp_path, "x,stage\n1,won\n2,lost\n3,open\n")

    with pytest.raises(SchemaError, match=r"data\.target: column 'stage'") as info:
        _load(path, target="stage", positive_label="won")

    assert "3 distinct values" in str(info.value)
    assert "Fix:" in str(info.value)


def test_no_feature_left(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,y\n1,1\n2,0\n")

    with pytest.raises(SchemaError, match="no feature columns are left"):
        _load(path, id_column="id")


LEAKY = "x,amount,y\n1,5.0,1\n2,,0\n3,,0\n4,7.5,1\n"


def test_leaky_column_kept_as_feature_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, LEAKY)

    with caplog.at_level(logging.WARNING, logger="mlsys.data"):
        dataset = _load(path, leaky_columns=["amount"])

    assert "LEAKAGE" in caplog.text
    assert "'amount'" in caplog.text
    assert dataset.leaky_columns == ("amount",)


def test_dropped_leaky_column_does_not_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, LEAKY)

    with caplog.at_level(logging.WARNING, logger="mlsys.data"):
        dataset = _load(path, leaky_columns=["amount"], drop_columns=["amount"])

    assert "LEAKAGE" not in caplog.text
    assert dataset.leaky_columns == ()
    assert dataset.schema.columns == ("x",)


def test_generate_if_missing_writes_the_synthetic_set_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_leads = synthetic.write_leads
    # CsvSource imports write_leads at call time from mlsys.data._synthetic: patch it there.
    monkeypatch.setattr(synthetic, "write_leads", lambda path: write_leads(path, n_rows=300))
    path = tmp_path / "nested" / "leads.csv"

    with caplog.at_level(logging.WARNING, logger="mlsys.data"):
        dataset = CsvSource(str(path), target="converted", generate_if_missing=True).load()

    assert path.is_file()
    assert len(dataset) == 300
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("GENERATING" in r.getMessage() and str(path) in r.getMessage() for r in warnings)


def test_generate_if_missing_leaves_an_existing_file_alone(
    mixed_csv: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = mixed_csv.read_bytes()

    with caplog.at_level(logging.WARNING, logger="mlsys.data"):
        _load(mixed_csv, generate_if_missing=True)

    assert mixed_csv.read_bytes() == before
    assert "GENERATING" not in caplog.text


def test_frame_source_matches_csv_source(mixed_csv: Path) -> None:
    options: dict[str, Any] = {
        "id_column": "id",
        "date_columns": ["when"],
        "non_feature_columns": ["grp"],
    }
    from_csv = _load(mixed_csv, **options)
    from_frame = FrameSource(pd.read_csv(mixed_csv), target="y", name="mixed", **options).load()

    assert from_frame.name == "mixed"
    assert from_frame.schema == from_csv.schema
    pd.testing.assert_frame_equal(from_frame.frame, from_csv.frame)
    np.testing.assert_array_equal(from_frame.target, from_csv.target)
    assert len(from_frame.sha256) == 64


def test_frame_source_does_not_mutate_its_frame() -> None:
    frame = pd.DataFrame({"x": ["1", "2", "3", "4"], "y": [0, 1, 0, 1], "z": [1, 2, 3, 4]})
    original = frame.copy()

    dataset = FrameSource(frame, target="y", numeric=["x"], drop_columns=["z"]).load()

    pd.testing.assert_frame_equal(frame, original)
    assert dataset.schema.to_dict() == {"x": "numeric"}


def test_frame_source_digest_tracks_content() -> None:
    frame = pd.DataFrame({"x": [1, 2, 3, 4], "y": [0, 1, 0, 1]})
    changed = frame.assign(x=[1, 2, 3, 5])

    first = FrameSource(frame, target="y").load().sha256

    assert FrameSource(frame.copy(), target="y").load().sha256 == first
    assert FrameSource(changed, target="y").load().sha256 != first


# --- bad input that used to be accepted silently ------------------------------------------


def _numbers_with(stray: dict[int, str], rows: int = 200) -> str:
    """A CSV of ``rows`` rows whose column ``x`` is a number except at the rows in ``stray``."""
    lines = ["x,y"]
    for i in range(rows):
        lines.append(f"{stray.get(i, i * 1.5)},{i % 2}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        pytest.param("a,b,a,y", "'a' in columns [1, 3]", id="twice"),
        pytest.param("a,a,a,y", "'a' in columns [1, 2, 3]", id="three-times"),
    ],
)
def test_repeated_column_names_are_refused(tmp_path: Path, header: str, fragment: str) -> None:
    # pandas would read the second 'a' as 'a.1' and train on both.
    path = _write(tmp_path, f"{header}\n1,2,3,1\n4,5,6,0\n")

    with pytest.raises(SchemaError, match=r"data\.path: .* has repeated column names") as info:
        _load(path)

    assert fragment in str(info.value)
    assert "Fix: rename them in the header line" in str(info.value)


def test_a_frame_with_repeated_column_names_is_refused() -> None:
    frame = pd.DataFrame([[1, 2, 1], [3, 4, 0]], columns=["a", "a", "y"])

    with pytest.raises(SchemaError, match=r"'a' in columns \[1, 2\]"):
        FrameSource(frame, target="y").load()


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        pytest.param(",x,y\n0,1,1\n1,2,0\n", "[1]", id="saved-index"),
        pytest.param("x,y,\n1,1,\n2,0,\n", "[3]", id="trailing-separator"),
        pytest.param("x, ,y\n1,2,1\n2,3,0\n", "[2]", id="blank"),
    ],
)
def test_a_column_without_a_name_is_refused_with_its_position(
    tmp_path: Path, text: str, columns: str
) -> None:
    path = _write(tmp_path, text)

    with pytest.raises(SchemaError, match=r"data\.path: column\(s\) ") as info:
        _load(path)

    assert f"column(s) {columns} of '{path}' have no name" in str(info.value)
    assert "Fix: name them" in str(info.value)


def test_a_few_non_numbers_in_a_numeric_column_warn_with_counts_values_and_fix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, _numbers_with({3: "?", 50: "?", 70: "unknown"}))

    with caplog.at_level(logging.WARNING, logger="mlsys.data"):
        dataset = _load(path)

    assert dataset.schema.to_dict() == {"x": "categorical"}  # as read, and said so
    (warning,) = dataset.warnings
    assert "column 'x' holds numbers except for 3 of 200 values" in warning
    assert "'?' (2 rows), 'unknown' (1 row)" in warning
    assert (
        "Fix: if it is a number, pass \"data.numeric=['x']\" \"data.na_values=['?','unknown']\""
        in (warning)
    )
    assert warning in caplog.text
    # ... and the fix it names works.
    fixed = _load(path, numeric=["x"], na_values=["?", "unknown"])
    assert fixed.schema.to_dict() == {"x": "numeric"}
    assert fixed.warnings == ()


def test_the_stray_text_check_parses_each_distinct_value_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parsing every row took seconds per 200,000 rows; the distinct values say the same.
    path = _write(tmp_path, _numbers_with({3: "?", 50: "?", 70: "unknown"}, rows=400))
    parsed: list[int] = []
    to_numeric = pd.to_numeric

    def counting(values: Any, **kwargs: Any) -> Any:
        parsed.append(len(values))
        return to_numeric(values, **kwargs)

    monkeypatch.setattr(pd, "to_numeric", counting)

    (warning,) = _load(path).warnings

    assert "holds numbers except for 3 of 400 values" in warning
    assert parsed == [399]  # 397 numbers and two words, each once


def test_a_text_column_with_some_numbers_is_categorical_without_a_warning(tmp_path: Path) -> None:
    # 10% text: a column of codes and words, not a numeric one with stray markers.
    path = _write(tmp_path, _numbers_with({i: f"code{i}" for i in range(0, 200, 10)}))

    dataset = _load(path)

    assert dataset.schema.to_dict() == {"x": "categorical"}
    assert dataset.warnings == ()


def test_a_forced_numeric_column_suggests_the_na_values_override(tmp_path: Path) -> None:
    path = _write(tmp_path, "x,y\n1,1\nn/a?,0\n3,0\n")

    with pytest.raises(SchemaError, match=r"data\.numeric: column 'x'") as info:
        _load(path, numeric=["x"])

    assert "\"data.na_values=['n/a?']\"" in str(info.value)


def test_an_empty_column_is_left_out_of_the_features_with_a_warning(tmp_path: Path) -> None:
    path = _write(tmp_path, "x,notes,z,y\n1,,a,1\n2,,b,0\n3,,c,0\n4,,,1\n")

    dataset = _load(path)

    assert dataset.schema.columns == ("x", "z")
    assert "notes" not in dataset.frame.columns
    (warning,) = dataset.warnings
    assert "column(s) ['notes']" in warning
    assert "empty on all 4 labelled rows" in warning
    assert "\"data.drop_columns=['notes']\" to drop them" in warning
    assert _load(path, drop_columns=["notes"]).warnings == ()


def test_a_column_empty_only_on_unlabelled_rows_is_kept(tmp_path: Path) -> None:
    path = _write(tmp_path, "x,z,y\n1,,1\n2,,0\n3,,0\n4,7,\n")

    dataset = _load(path)

    assert dataset.schema.columns == ("x",)  # z has a value on the unlabelled row only
    assert any("column(s) ['z']" in w for w in dataset.warnings)


def test_repeated_and_blank_ids_warn_with_counts(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,x,y\na,1,1\na,2,0\nb,3,0\nb,4,1\nb,5,1\n,6,0\nc,7,1\n")

    dataset = _load(path, id_column="id")

    blank, repeated = dataset.warnings
    assert "1 of 7 rows" in blank
    assert "have no 'id'" in blank
    assert "'id' in" in repeated
    assert "repeats 2 ids on 5 rows (e.g. b (3 rows), a (2 rows))" in repeated
    assert "split=group split.column=id" in repeated
    assert len(dataset) == 7  # warned, not dropped


def test_unique_ids_do_not_warn(mixed_csv: Path) -> None:
    assert _load(mixed_csv, id_column="id", date_columns=["when"]).warnings == ()


@pytest.mark.parametrize("spelling", ["inf", "-inf", "Infinity", "-Infinity", "INF", "1e999"])
def test_an_infinite_number_is_refused_naming_the_column_count_and_fix(
    tmp_path: Path, spelling: str
) -> None:
    path = _write(tmp_path, f"x,y\n1,1\n{spelling},0\n3,0\n{spelling},1\n")

    with pytest.raises(SchemaError, match="column 'x' has 2 value") as info:
        _load(path)

    assert "not a finite number" in str(info.value)
    assert "Fix: read them as missing with \"data.na_values=['inf','-inf']\"" in str(info.value)
    # The fix works for every spelling pandas reads as an infinity.
    dataset = _load(path, na_values=["inf", "-inf"])
    np.testing.assert_array_equal(dataset.frame["x"], [1.0, np.nan, 3.0, np.nan])


def test_an_infinity_in_a_frame_is_refused_too() -> None:
    frame = pd.DataFrame({"x": [1.0, np.inf, 3.0, 4.0], "y": [0, 1, 0, 1]})

    with pytest.raises(SchemaError, match="not a finite number"):
        FrameSource(frame, target="y").load()


def test_every_warning_of_loading_is_kept_on_the_data_set(tmp_path: Path) -> None:
    path = _write(tmp_path, "x,amount,y\n1,5.0,1\n2,,\n3,,0\n4,7.5,1\n")

    dataset = _load(path, leaky_columns=["amount"])

    assert [w.split(":")[0] for w in dataset.warnings] == ["data.target", "LEAKAGE"]
