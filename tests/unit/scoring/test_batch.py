"""score_file end to end in-process: same probabilities as the bundle, rejects, summary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.api import types as ptypes

from mlsys.errors import ConfigError, DataError, SchemaError
from mlsys.models import ModelBundle
from mlsys.scoring import (
    RowValidator,
    ScoreStats,
    open_table,
    resolve_model,
    score_file,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kind", ["tabular", "native"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_scores_equal_the_bundle_on_every_row(
    tmp_path: Path,
    leads_file: Path,
    bundle_files: dict[str, Path],
    bundles: dict[str, ModelBundle],
    kind: str,
    suffix: str,
) -> None:
    output = tmp_path / f"scores{suffix}"
    summary = score_file(leads_file, output, resolve_model(str(bundle_files[kind])), chunk_size=150)
    scores = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    expected = bundles[kind].predict_proba(pd.read_csv(leads_file))
    assert list(scores.columns) == ["lead_id", "probability", "decision", "model_version"]
    assert scores["lead_id"].tolist() == pd.read_csv(leads_file)["lead_id"].tolist()
    np.testing.assert_allclose(scores["probability"], expected, rtol=1e-12, atol=1e-15)
    assert scores["decision"].tolist() == (expected >= 0.3).astype(int).tolist()
    assert ptypes.is_integer_dtype(scores["decision"])
    assert set(scores["model_version"]) == {summary.model["label"]}
    assert (summary.rows_in, summary.rows_scored, summary.rows_rejected) == (400, 400, 0)
    assert pd.read_csv(tmp_path / "scores.rejects.csv").empty


def test_parquet_input_scores_like_csv(
    tmp_path: Path, leads_file: Path, bundle_files: dict[str, Path]
) -> None:
    parquet = tmp_path / "leads.parquet"
    pd.read_csv(leads_file).to_parquet(parquet)
    model = resolve_model(str(bundle_files["tabular"]))
    score_file(leads_file, tmp_path / "a.parquet", model)
    score_file(parquet, tmp_path / "b.parquet", model)
    a, b = pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    np.testing.assert_allclose(a["probability"], b["probability"], rtol=1e-12)


def test_rejects_summary_threshold_and_row_numbers(
    tmp_path: Path, leads_file: Path, bundle_files: dict[str, Path]
) -> None:
    frame = pd.read_csv(leads_file, dtype=str, keep_default_na=False).head(50)
    frame.loc[3, "employees"] = "lots"
    frame.loc[7, "lead_id"] = ""
    data = tmp_path / "in.csv"
    frame.drop(columns=["converted"]).to_csv(data, index=False)
    summary = score_file(
        data,
        tmp_path / "out.csv",
        resolve_model(str(bundle_files["tabular"])),
        rejects=tmp_path / "bad.csv",
        threshold=0.5,
        chunk_size=16,
    )
    rejects = pd.read_csv(tmp_path / "bad.csv", dtype=str)
    assert rejects["row"].tolist() == ["4", "8"]
    assert rejects["reason"].tolist() == [
        "employees: 'lots' is not a number",
        "lead_id: missing value (required)",
    ]
    assert rejects["employees"].iloc[0] == "lots"
    assert (summary.rows_in, summary.rows_scored, summary.rows_rejected) == (50, 48, 2)
    assert summary.reject_reasons == {"employees: not a number": 1, "lead_id: missing value": 1}
    scores = pd.read_csv(tmp_path / "out.csv")
    assert summary.threshold == 0.5
    assert scores["decision"].tolist() == (scores["probability"] >= 0.5).astype(int).tolist()
    shares = summary.share_at_or_above_threshold
    assert shares == pytest.approx(scores["decision"].mean(), abs=1e-6)
    assert summary.probability["p50"] == pytest.approx(scores["probability"].median(), abs=2e-3)
    written = json.loads(summary.write_json(tmp_path / "summary.json").read_text())
    assert written["rows_rejected"] == 2
    assert "rows rejected    2" in summary.render()


def test_without_the_id_column_rows_are_numbered(
    tmp_path: Path, leads_file: Path, bundle_files: dict[str, Path]
) -> None:
    data = tmp_path / "no_id.csv"
    pd.read_csv(leads_file).drop(columns=["lead_id"]).head(5).to_csv(data, index=False)
    model = resolve_model(str(bundle_files["tabular"]))
    summary = score_file(data, tmp_path / "s.csv", model)
    assert summary.id_column == "row"
    assert pd.read_csv(tmp_path / "s.csv")["row"].tolist() == [1, 2, 3, 4, 5]
    summary = score_file(data, tmp_path / "t.csv", model, id_column="account_id")
    assert pd.read_csv(tmp_path / "t.csv").columns[0] == "account_id"


def test_a_header_only_file_gives_an_empty_output_and_zero_rows(
    tmp_path: Path, leads_file: Path, bundle_files: dict[str, Path]
) -> None:
    data = tmp_path / "header.csv"
    data.write_text(leads_file.read_text().splitlines()[0] + "\n")
    summary = score_file(data, tmp_path / "s.parquet", resolve_model(str(bundle_files["tabular"])))
    assert summary.rows_in == summary.rows_scored == 0
    assert summary.probability["p50"] is None
    assert pd.read_parquet(tmp_path / "s.parquet").empty


def test_bad_input_writes_nothing(
    tmp_path: Path, leads_file: Path, bundle_files: dict[str, Path]
) -> None:
    model = resolve_model(str(bundle_files["tabular"]))
    data = tmp_path / "in.csv"
    pd.read_csv(leads_file).drop(columns=["industry"]).to_csv(data, index=False)
    with pytest.raises(SchemaError, match=r"\['industry'\]"):
        score_file(data, tmp_path / "s.csv", model)
    with pytest.raises(ConfigError, match="--threshold"):
        score_file(leads_file, tmp_path / "s.csv", model, threshold=1.5)
    with pytest.raises(DataError, match="is the input file"):
        score_file(leads_file, leads_file, model)
    with pytest.raises(DataError, match="--rejects: cannot tell the format"):
        score_file(leads_file, tmp_path / "s.csv", model, rejects=tmp_path / "r.txt")
    assert [p.name for p in tmp_path.iterdir()] == ["in.csv"]


def test_score_stats_quantiles_match_numpy_to_the_bin_width() -> None:
    rng = np.random.default_rng(0)
    p = rng.beta(0.5, 4, size=20_000)
    stats = ScoreStats(threshold=0.2)
    for part in np.array_split(p, 7):
        stats.add(part)
    for q in (0.01, 0.25, 0.5, 0.9, 0.99):
        assert stats.quantile(q) == pytest.approx(np.quantile(p, q), abs=2e-4)
    summary = stats.to_dict()
    assert summary["mean"] == pytest.approx(p.mean(), abs=1e-6)
    assert stats.above == int((p >= 0.2).sum())
    assert ScoreStats(0.5).quantile(0.5) is None


@pytest.mark.parametrize("kind", ["tabular", "native"])
def test_coded_plain_and_frame_rows_score_identically(
    tmp_path: Path, leads_file: Path, bundles: dict[str, ModelBundle], kind: str
) -> None:
    frame = pd.read_csv(leads_file, dtype=str).head(60)
    frame.loc[0, "industry"] = "a level never seen in training"
    frame.loc[1, "region"] = None
    data = tmp_path / "in.csv"
    frame.to_csv(data, index=False)
    reader = open_table(data)
    validator = RowValidator(bundles[kind].schema)
    validator.check_columns(reader)
    (chunk,) = reader.chunks()
    validated = validator.validate(chunk)
    bundle = bundles[kind]

    expected = bundle.score(pd.read_csv(data))
    np.testing.assert_array_equal(bundle.score(validated.columns), expected)
    np.testing.assert_array_equal(bundle.score({**validated.columns, **validated.codes}), expected)


def test_the_progress_bar_ends_at_the_whole_file(
    tmp_path: Path,
    leads_file: Path,
    bundle_files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = resolve_model(str(bundle_files["tabular"]))
    score_file(leads_file, tmp_path / "s.csv", model, chunk_size=100, progress=True)
    err = capsys.readouterr().err
    assert "scoring: 100%" in err.splitlines()[-1]
    assert "rows=400" in err
    score_file(leads_file, tmp_path / "t.csv", model, progress=False)
    assert capsys.readouterr().err == ""


def test_a_run_failing_half_way_leaves_no_output(
    tmp_path: Path, small_leads_csv: Path, bundle_files: dict[str, Path]
) -> None:
    data = tmp_path / "in.csv"
    lines = small_leads_csv.read_bytes().splitlines(keepends=True)
    # Past the first Arrow blocks, so chunks have been scored and written when it fails.
    data.write_bytes(b"".join(lines[:2900]) + "Zürich".encode("latin-1") + b"".join(lines[2900:]))
    output = tmp_path / "s.parquet"
    output.write_text("yesterday's scores")
    with pytest.raises(DataError, match="UTF-8"):
        score_file(data, output, resolve_model(str(bundle_files["tabular"])), chunk_size=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "s.parquet"]
    assert output.read_text() == "yesterday's scores"
