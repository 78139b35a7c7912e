"""Tests of the synthetic lead-conversion generator."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from pandas.api import types as ptypes
from sklearn.metrics import roc_auc_score

from mlsys.data._synthetic import (
    LEADS_COLUMNS,
    LEADS_SEED,
    generate_leads,
    main,
    write_leads,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
COMMITTED_CSV = REPO_ROOT / "data" / "leads.csv"

CATEGORICAL = (
    "industry",
    "company_size_band",
    "region",
    "lead_source",
    "seniority",
    "utm_campaign",
)
INTEGER = ("web_visits_30d", "email_opens_30d", "trial_days_active", "days_since_last_touch")
FLOAT = ("pages_per_visit", "annual_revenue_musd", "opportunity_amount")
BOOLEAN = ("is_free_email", "requested_demo")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def full() -> tuple[pd.DataFrame, npt.NDArray[np.float64]]:
    """The committed data set in memory: the one full-size generation of this module."""
    return generate_leads()


@pytest.fixture(scope="module")
def small() -> tuple[pd.DataFrame, npt.NDArray[np.float64]]:
    return generate_leads(n_rows=600, seed=11)


@pytest.mark.unit
def test_same_seed_gives_identical_frames() -> None:
    frame_a, p_a = generate_leads(n_rows=400, seed=5)
    frame_b, p_b = generate_leads(n_rows=400, seed=5)

    pd.testing.assert_frame_equal(frame_a, frame_b)
    np.testing.assert_array_equal(p_a, p_b)


@pytest.mark.unit
def test_different_seed_gives_different_frames() -> None:
    frame_a, p_a = generate_leads(n_rows=400, seed=5)
    frame_b, p_b = generate_leads(n_rows=400, seed=6)

    assert not frame_a.equals(frame_b)
    assert not np.array_equal(p_a, p_b)


@pytest.mark.unit
def test_columns_in_order_with_label_last(
    small: tuple[pd.DataFrame, npt.NDArray[np.float64]],
) -> None:
    frame, probability = small

    assert tuple(frame.columns) == LEADS_COLUMNS
    assert LEADS_COLUMNS[-1] == "converted"
    assert frame.shape == (600, len(LEADS_COLUMNS))
    assert probability.shape == (600,)
    assert np.all((probability > 0.0) & (probability < 1.0))


@pytest.mark.unit
def test_dtypes(small: tuple[pd.DataFrame, npt.NDArray[np.float64]]) -> None:
    frame, _ = small

    for name in ("lead_id", "account_id", *CATEGORICAL):
        assert ptypes.is_string_dtype(frame[name]), name
    assert ptypes.is_datetime64_any_dtype(frame["created_at"])
    assert ptypes.is_integer_dtype(frame["employees"])
    for name in INTEGER:
        assert ptypes.is_integer_dtype(frame[name]), name
    for name in FLOAT:
        assert ptypes.is_float_dtype(frame[name]), name
    for name in BOOLEAN:
        assert ptypes.is_bool_dtype(frame[name]), name
    assert ptypes.is_integer_dtype(frame["converted"])
    assert set(frame["converted"].unique()) <= {0, 1}


@pytest.mark.unit
def test_identifiers_and_dates(small: tuple[pd.DataFrame, npt.NDArray[np.float64]]) -> None:
    frame, _ = small

    assert frame["lead_id"].is_unique
    assert frame["lead_id"].str.fullmatch(r"L\d{6}").all()
    assert frame["account_id"].str.fullmatch(r"A\d{5}").all()
    assert frame["account_id"].nunique() < len(frame)
    assert frame["created_at"].min() >= pd.Timestamp("2024-01-01")
    assert frame["created_at"].max() <= pd.Timestamp("2025-12-31")


@pytest.mark.unit
def test_rejects_empty_data_set() -> None:
    with pytest.raises(ValueError, match="n_rows"):
        generate_leads(n_rows=0)


@pytest.mark.unit
def test_positive_rate_and_accounts(full: tuple[pd.DataFrame, npt.NDArray[np.float64]]) -> None:
    frame, probability = full

    assert len(frame) == 20_000
    assert 0.08 <= frame["converted"].mean() <= 0.12
    assert abs(probability.mean() - frame["converted"].mean()) < 0.01
    assert 5_000 <= frame["account_id"].nunique() <= 7_000


@pytest.mark.unit
def test_bayes_auc_is_high_but_not_perfect(
    full: tuple[pd.DataFrame, npt.NDArray[np.float64]],
) -> None:
    frame, probability = full

    assert 0.82 <= roc_auc_score(frame["converted"], probability) <= 0.90


@pytest.mark.unit
def test_conversion_drifts_upwards(full: tuple[pd.DataFrame, npt.NDArray[np.float64]]) -> None:
    frame, probability = full
    year = frame["created_at"].dt.year.to_numpy()

    assert probability[year == 2025].mean() > probability[year == 2024].mean()


@pytest.mark.unit
def test_missing_values(full: tuple[pd.DataFrame, npt.NDArray[np.float64]]) -> None:
    frame, _ = full
    rates = frame.isna().mean()

    assert 0.02 <= rates["industry"] <= 0.06
    assert 0.04 <= rates["seniority"] <= 0.10
    assert 0.06 <= rates["employees"] <= 0.12
    assert 0.11 <= rates["annual_revenue_musd"] <= 0.19
    no_visits = frame["web_visits_30d"] == 0
    assert no_visits.any()
    assert frame["pages_per_visit"].isna().equals(no_visits)
    complete = ["lead_id", "account_id", "created_at", "region", "lead_source", "utm_campaign"]
    assert not frame[[*complete, *BOOLEAN, *INTEGER, "converted"]].isna().any().any()


@pytest.mark.unit
def test_employees_match_size_band(full: tuple[pd.DataFrame, npt.NDArray[np.float64]]) -> None:
    frame, _ = full
    known = frame.dropna(subset=["employees"])
    bounds = {
        "1-10": (1, 10),
        "11-50": (11, 50),
        "51-200": (51, 200),
        "201-1000": (201, 1000),
        "1001-5000": (1001, 5000),
        "5000+": (5001, np.inf),
    }

    assert set(frame["company_size_band"].unique()) == set(bounds)
    for band, (low, high) in bounds.items():
        employees = known.loc[known["company_size_band"] == band, "employees"]
        assert employees.between(low, high).all(), band


@pytest.mark.unit
def test_utm_campaign_has_high_cardinality(
    full: tuple[pd.DataFrame, npt.NDArray[np.float64]],
) -> None:
    frame, _ = full
    counts = frame["utm_campaign"].value_counts()

    assert counts.size >= 250
    assert counts.iloc[0] > 20 * counts.iloc[-1]  # Zipf-like: a long tail of rare campaigns


@pytest.mark.unit
def test_opportunity_amount_leaks_the_label(
    full: tuple[pd.DataFrame, npt.NDArray[np.float64]],
) -> None:
    frame, _ = full
    recorded = frame["opportunity_amount"].notna()
    converted = frame["converted"] == 1

    assert recorded[converted].mean() > 0.9
    assert recorded[~converted].mean() < 0.05
    assert roc_auc_score(frame["converted"], recorded) > 0.9


@pytest.mark.unit
def test_csv_round_trips_through_pandas(tmp_path: Path) -> None:
    frame, _ = generate_leads(n_rows=300, seed=2)
    out = write_leads(tmp_path / "nested" / "leads.csv", n_rows=300, seed=2)

    text = out.read_bytes().decode("utf-8")
    assert "\r" not in text
    assert text.splitlines()[0] == ",".join(LEADS_COLUMNS)
    loaded = pd.read_csv(out)
    assert len(loaded) == 300
    # No level may be read back as missing (a bare "NA" region would be).
    for name in CATEGORICAL:
        assert loaded[name].isna().equals(frame[name].isna()), name
    assert ptypes.is_bool_dtype(loaded["is_free_email"])
    np.testing.assert_allclose(
        loaded["opportunity_amount"], frame["opportunity_amount"], equal_nan=True
    )


@pytest.mark.unit
def test_write_leads_reproduces_committed_csv(tmp_path: Path) -> None:
    out = write_leads(tmp_path / "leads.csv", seed=LEADS_SEED)

    assert COMMITTED_CSV.is_file(), "regenerate with: python -m mlsys.data._synthetic"
    assert _sha256(out) == _sha256(COMMITTED_CSV)


@pytest.mark.unit
def test_main_writes_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli" / "leads.csv"

    code = main(["--out", str(out), "--rows", "50", "--seed", "3"])

    assert code == 0
    assert out.is_file()
    assert len(out.read_text().splitlines()) == 51
    assert _sha256(out) == _sha256(write_leads(tmp_path / "api.csv", n_rows=50, seed=3))
    assert str(out) in capsys.readouterr().out
