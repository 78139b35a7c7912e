"""Deterministic synthetic B2B lead-conversion data set.

The generator simulates accounts (companies) and the leads (people) they send, draws a known
logistic ground-truth conversion probability for every lead and samples the label from it. Every
draw comes from one ``np.random.default_rng(seed)``, so the frame, the true probabilities and the
CSV written by :func:`write_leads` are a pure function of ``(n_rows, seed)``.

What makes it realistic, and therefore worth modelling:

* leads share accounts (about 0.3 accounts per lead) and an account carries an unobserved
  propensity, so splitting by ``account_id`` matters;
* conversion drifts upwards over 2024-2025, so time-based splits score lower than random ones;
* values are missing not completely at random (``seniority`` is missing more often for
  low-intent leads, firmographics more often for small companies);
* ``utm_campaign`` has about 300 Zipf-distributed levels with mostly weak effects;
* ``opportunity_amount`` is recorded by sales after a conversion and leaks the label: drop it
  before training.

Regenerate the committed file with ``python -m mlsys.data --out data/leads.csv``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["LEADS_COLUMNS", "LEADS_SEED", "generate_leads", "main", "write_leads"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

LEADS_SEED: Final[int] = 20261126
"""Seed of the committed ``data/leads.csv``."""

LEADS_COLUMNS: Final[tuple[str, ...]] = (
    "lead_id",
    "account_id",
    "created_at",
    "industry",
    "company_size_band",
    "region",
    "lead_source",
    "seniority",
    "utm_campaign",
    "employees",
    "web_visits_30d",
    "email_opens_30d",
    "pages_per_visit",
    "trial_days_active",
    "days_since_last_touch",
    "annual_revenue_musd",
    "is_free_email",
    "requested_demo",
    "opportunity_amount",
    "converted",
)
"""Column order of the frame and of the CSV; the label ``converted`` is last."""

_START: Final = np.datetime64("2024-01-01", "D")
_N_DAYS: Final = 731  # 2024-01-01 .. 2025-12-31; 2024 is a leap year
_ACCOUNTS_PER_LEAD: Final = 0.3
_N_CAMPAIGNS: Final = 300
_INTERCEPT: Final = -4.5  # tuned so that about 10 % of leads convert


@dataclass(frozen=True)
class _Levels:
    """A categorical feature: level names, sampling weights and logit effects."""

    names: tuple[str, ...]
    weights: tuple[float, ...]
    effects: tuple[float, ...]

    def draw(self, rng: np.random.Generator, size: int) -> IntArray:
        p = np.asarray(self.weights, dtype=np.float64)
        return rng.choice(len(self.names), size=size, p=p / p.sum()).astype(np.int64)

    def effect(self, codes: IntArray) -> FloatArray:
        return np.asarray(self.effects, dtype=np.float64)[codes]

    def labels(self, codes: IntArray) -> npt.NDArray[np.object_]:
        return np.asarray(self.names, dtype=object)[codes]


_INDUSTRY: Final = _Levels(
    names=(
        "software",
        "fintech",
        "healthcare",
        "retail",
        "manufacturing",
        "education",
        "logistics",
        "media",
        "government",
        "other",
    ),
    weights=(0.18, 0.10, 0.11, 0.10, 0.12, 0.07, 0.07, 0.06, 0.05, 0.14),
    effects=(0.35, 0.25, 0.05, -0.15, 0.0, -0.30, -0.05, -0.10, -0.45, -0.20),
)
# Bands are derived from employees; weights unused. Mid-market converts best (non-monotonic).
_SIZE_BAND: Final = _Levels(
    names=("1-10", "11-50", "51-200", "201-1000", "1001-5000", "5000+"),
    weights=(1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    effects=(-0.55, -0.15, 0.25, 0.40, 0.10, -0.25),
)
_SIZE_EDGES: Final = (11, 51, 201, 1001, 5001)
# "NAMER", not "NA": pandas reads a bare "NA" field as missing.
_REGION: Final = _Levels(
    names=("NAMER", "EMEA", "APAC", "LATAM"),
    weights=(0.45, 0.30, 0.15, 0.10),
    effects=(0.10, 0.0, -0.15, -0.25),
)
_SOURCE: Final = _Levels(
    names=(
        "web_form",
        "webinar",
        "paid_search",
        "organic",
        "referral",
        "event",
        "outbound",
        "partner",
    ),
    weights=(0.22, 0.10, 0.18, 0.15, 0.07, 0.08, 0.14, 0.06),
    effects=(0.0, 0.20, -0.20, 0.05, 0.70, 0.25, -0.45, 0.45),
)
# Inbound sources bring more demo requests than outbound prospecting does.
_SOURCE_DEMO_SHIFT: Final = (0.4, 0.1, 0.0, 0.2, 0.5, 0.2, -0.8, 0.3)
_SENIORITY: Final = _Levels(
    names=("ic", "manager", "director", "vp", "c_level"),
    weights=(0.35, 0.30, 0.18, 0.10, 0.07),
    effects=(-0.35, 0.0, 0.30, 0.45, 0.35),
)
_DIRECTOR: Final = 2


def _sigmoid(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


def _poisson_gamma(rng: np.random.Generator, mean: FloatArray, shape: float) -> IntArray:
    """Overdispersed counts: a negative binomial with the given mean and gamma shape."""
    rate = mean * rng.gamma(shape, 1.0 / shape, size=mean.shape)
    return rng.poisson(rate).astype(np.int64)


@dataclass(frozen=True)
class _Accounts:
    """Firmographics and unobserved propensity of every account, indexed by account number."""

    industry: IntArray
    region: IntArray
    employees: IntArray
    size_band: IntArray
    revenue_musd: FloatArray
    latent: FloatArray
    industry_missing: BoolArray
    employees_missing: BoolArray
    revenue_missing: BoolArray


def _draw_accounts(rng: np.random.Generator, n_accounts: int) -> _Accounts:
    industry = _INDUSTRY.draw(rng, n_accounts)
    region = _REGION.draw(rng, n_accounts)
    employees = np.maximum(1, np.round(rng.lognormal(np.log(150.0), 1.8, n_accounts)))
    employees = employees.astype(np.int64)
    size_band = np.digitize(employees, _SIZE_EDGES).astype(np.int64)
    revenue = np.round(employees * rng.lognormal(np.log(0.18), 0.6, n_accounts), 2)
    small = (size_band <= 1).astype(np.float64)
    return _Accounts(
        industry=industry,
        region=region,
        employees=employees,
        size_band=size_band,
        revenue_musd=revenue,
        latent=rng.normal(0.0, 0.5, n_accounts),
        # Enrichment vendors know less about small companies: missing at random given size.
        industry_missing=rng.random(n_accounts) < 0.03 + 0.03 * small,
        employees_missing=rng.random(n_accounts) < 0.065 + 0.11 * small,
        revenue_missing=rng.random(n_accounts) < 0.12 + 0.17 * small,
    )


def _assign_accounts(rng: np.random.Generator, accounts: _Accounts, n_rows: int) -> IntArray:
    """Give every account at least one lead; larger, busier accounts send more."""
    n_accounts = accounts.employees.shape[0]
    weights = rng.lognormal(0.0, 0.8, n_accounts) * accounts.employees**0.15
    extra = rng.choice(n_accounts, size=n_rows - n_accounts, p=weights / weights.sum())
    return rng.permutation(np.concatenate([np.arange(n_accounts), extra])).astype(np.int64)


def _campaigns(rng: np.random.Generator, n_rows: int) -> tuple[IntArray, FloatArray]:
    """Zipf-frequent campaigns; most effects are weak, a handful matter."""
    ranks = np.arange(1, _N_CAMPAIGNS + 1, dtype=np.float64)
    weights = ranks**-1.05
    codes = rng.choice(_N_CAMPAIGNS, size=n_rows, p=weights / weights.sum()).astype(np.int64)
    effects = rng.normal(0.0, 0.12, _N_CAMPAIGNS)
    strong = rng.choice(_N_CAMPAIGNS, size=12, replace=False)
    effects[strong] += rng.choice([-0.7, 0.7], size=12)
    return codes, effects


@dataclass(frozen=True)
class _Leads:
    """Lead-level draws before masking; ``intent`` is unobserved."""

    day: IntArray
    account: IntArray
    intent: FloatArray
    source: IntArray
    seniority: IntArray
    campaign: IntArray
    campaign_effect: FloatArray
    visits: IntArray
    opens: IntArray
    pages: FloatArray
    trial_days: IntArray
    days_since_touch: IntArray
    free_email: BoolArray
    demo: BoolArray


def _draw_leads(rng: np.random.Generator, accounts: _Accounts, n_rows: int) -> _Leads:
    volume = np.linspace(1.0, 1.6, _N_DAYS)  # lead volume grows over the two years
    day = np.sort(rng.choice(_N_DAYS, size=n_rows, p=volume / volume.sum())).astype(np.int64)
    account = _assign_accounts(rng, accounts, n_rows)
    intent = rng.normal(size=n_rows)
    source = _SOURCE.draw(rng, n_rows)
    seniority = _SENIORITY.draw(rng, n_rows)
    campaign, campaign_effects = _campaigns(rng, n_rows)
    visits = _poisson_gamma(rng, np.exp(1.5 + 0.7 * intent), shape=1.5)
    opens = _poisson_gamma(rng, np.exp(0.9 + 0.4 * intent + 0.5 * (source == 6)), shape=2.0)
    pages = np.round(1.0 + rng.gamma(2.0, 0.9 * np.exp(0.2 * intent)), 2)
    in_trial = rng.random(n_rows) < _sigmoid(-0.3 + 0.9 * intent)
    trial_days = np.where(in_trial, rng.binomial(30, _sigmoid(-0.4 + 0.6 * intent)), 0)
    touch = np.exp(rng.normal(np.log(9.0) - 0.35 * intent, 1.0))
    small = (accounts.size_band[account] <= 1).astype(np.float64)
    free_email = rng.random(n_rows) < _sigmoid(-1.6 - 0.6 * intent + 1.0 * small)
    demo_shift = np.asarray(_SOURCE_DEMO_SHIFT)[source]
    demo = rng.random(n_rows) < _sigmoid(-2.1 + 0.9 * intent + demo_shift)
    return _Leads(
        day=day,
        account=account,
        intent=intent,
        source=source,
        seniority=seniority,
        campaign=campaign,
        campaign_effect=campaign_effects[campaign],
        visits=visits,
        opens=opens,
        pages=np.where(visits > 0, pages, np.nan),
        trial_days=trial_days.astype(np.int64),
        days_since_touch=np.minimum(np.floor(touch), 365).astype(np.int64),
        free_email=free_email,
        demo=demo,
    )


def _true_logit(accounts: _Accounts, leads: _Leads) -> FloatArray:
    """The ground-truth conversion logit, documented in ``data/SCHEMA.md``."""
    acc = leads.account
    band = accounts.size_band[acc]
    senior = (leads.seniority >= _DIRECTOR).astype(np.float64)
    demo = leads.demo.astype(np.float64)
    firmographic = (
        _INDUSTRY.effect(accounts.industry[acc])
        + _SIZE_BAND.effect(band)
        + _REGION.effect(accounts.region[acc])
        + accounts.latent[acc]
    )
    # A senior contact decides alone at a small company and is a gatekeeper at a large one.
    decision = senior * np.select([band <= 1, band >= 4], [0.35, -0.30], 0.0)
    engagement = (
        1.7 * demo
        + 0.45 * demo * senior
        + 1.9 * (1.0 - np.exp(-leads.trial_days / 7.0)) * (1.0 - 0.4 * demo)
        + 0.45 * np.log1p(leads.visits)
        + 0.12 * np.log1p(leads.opens)
        + 0.2 * np.log(np.nan_to_num(leads.pages, nan=1.0))
        - 0.3 * np.log1p(leads.days_since_touch)
        - 0.9 * leads.free_email.astype(np.float64)
    )
    drift = 0.45 * leads.day / (_N_DAYS - 1)
    logit: FloatArray = (
        _INTERCEPT
        + firmographic
        + _SOURCE.effect(leads.source)
        + _SENIORITY.effect(leads.seniority)
        + decision
        + engagement
        + leads.campaign_effect
        + drift
    )
    return logit


def _opportunity_amount(
    rng: np.random.Generator, converted: BoolArray, employees: IntArray
) -> FloatArray:
    """Deal size booked by sales, mostly after a conversion: it leaks the label."""
    recorded = rng.random(converted.shape[0]) < np.where(converted, 0.95, 0.03)
    amount = rng.lognormal(np.log(12_000.0) + 0.3 * np.log(employees / 50.0), 0.6)
    return np.where(recorded, np.round(amount, 2), np.nan)


def _categorical(levels: _Levels, codes: IntArray, missing: BoolArray | None = None) -> pd.Series:
    values = levels.labels(codes)
    if missing is not None:
        values[missing] = None
    return pd.Series(values, dtype="str")


def _assemble(
    accounts: _Accounts,
    leads: _Leads,
    missing_seniority: BoolArray,
    opportunity: FloatArray,
    converted: BoolArray,
) -> pd.DataFrame:
    acc = leads.account
    n_rows = acc.shape[0]
    employees = pd.array(accounts.employees[acc], dtype="Int64")
    employees[accounts.employees_missing[acc]] = pd.NA
    revenue = np.where(accounts.revenue_missing[acc], np.nan, accounts.revenue_musd[acc])
    columns: dict[str, object] = {
        "lead_id": pd.Series([f"L{i:06d}" for i in range(1, n_rows + 1)], dtype="str"),
        "account_id": pd.Series([f"A{a + 1:05d}" for a in acc], dtype="str"),
        "created_at": pd.to_datetime(_START + leads.day.astype("timedelta64[D]")),
        "industry": _categorical(_INDUSTRY, accounts.industry[acc], accounts.industry_missing[acc]),
        "company_size_band": _categorical(_SIZE_BAND, accounts.size_band[acc]),
        "region": _categorical(_REGION, accounts.region[acc]),
        "lead_source": _categorical(_SOURCE, leads.source),
        "seniority": _categorical(_SENIORITY, leads.seniority, missing_seniority),
        "utm_campaign": pd.Series([f"cmp_{c + 1:04d}" for c in leads.campaign], dtype="str"),
        "employees": employees,
        "web_visits_30d": leads.visits,
        "email_opens_30d": leads.opens,
        "pages_per_visit": leads.pages,
        "trial_days_active": leads.trial_days,
        "days_since_last_touch": leads.days_since_touch,
        "annual_revenue_musd": revenue,
        "is_free_email": leads.free_email,
        "requested_demo": leads.demo,
        "opportunity_amount": opportunity,
        "converted": converted.astype(np.int64),
    }
    return pd.DataFrame(columns, columns=list(LEADS_COLUMNS))


def generate_leads(
    n_rows: int = 20_000, seed: int = LEADS_SEED
) -> tuple[pd.DataFrame, npt.NDArray[np.float64]]:
    """Generate the synthetic lead-conversion data set.

    Args:
        n_rows: Number of leads (rows); at least 1.
        seed: Seed of the single ``numpy`` generator every draw comes from.

    Returns:
        ``(frame, true_probability)``: the frame holds :data:`LEADS_COLUMNS` in order, with the
        label ``converted`` (0/1) last, and ``true_probability[i]`` is the ground-truth
        probability from which ``frame["converted"][i]`` was drawn.

    Raises:
        ValueError: If ``n_rows`` is smaller than 1.

    Example:
        >>> frame, p_true = generate_leads(n_rows=500, seed=7)
        >>> frame.shape, p_true.shape
        ((500, 20), (500,))
        >>> list(frame.columns[-2:])
        ['opportunity_amount', 'converted']
    """
    if n_rows < 1:
        msg = f"n_rows must be at least 1 (got: {n_rows})"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    accounts = _draw_accounts(rng, max(1, round(_ACCOUNTS_PER_LEAD * n_rows)))
    leads = _draw_leads(rng, accounts, n_rows)
    probability = _sigmoid(_true_logit(accounts, leads))
    converted = rng.random(n_rows) < probability
    # Low-intent leads leave the job-title field blank more often: missing not at random.
    missing_seniority = rng.random(n_rows) < _sigmoid(-2.8 - 0.7 * leads.intent)
    opportunity = _opportunity_amount(rng, converted, accounts.employees[leads.account])
    frame = _assemble(accounts, leads, missing_seniority, opportunity, converted)
    return frame, probability


def write_leads(path: str | Path, n_rows: int = 20_000, seed: int = LEADS_SEED) -> Path:
    """Generate the data set and write it as a byte-for-byte reproducible CSV.

    Floats are written with two decimals, booleans as ``True``/``False``, dates as
    ``YYYY-MM-DD`` and missing values as empty fields; lines end in a bare line feed (LF) and
    there is no index column.

    Args:
        path: Destination file; missing parent folders are created.
        n_rows: Number of leads (rows).
        seed: Generator seed.

    Returns:
        The path written to.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     out = write_leads(Path(tmp) / "leads.csv", n_rows=100, seed=1)
        ...     out.read_text().splitlines()[0].split(",")[:3]
        ['lead_id', 'account_id', 'created_at']
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame, _ = generate_leads(n_rows=n_rows, seed=seed)
    frame.to_csv(
        out,
        index=False,
        float_format="%.2f",
        date_format="%Y-%m-%d",
        na_rep="",
        lineterminator="\n",
        encoding="utf-8",
    )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m mlsys.data [--out] [--rows] [--seed]``.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The process exit code, 0 on success.
    """
    parser = argparse.ArgumentParser(
        prog="python -m mlsys.data",
        description="Write the synthetic B2B lead-conversion data set as CSV.",
    )
    parser.add_argument("--out", type=Path, default=Path("data/leads.csv"), help="CSV path")
    parser.add_argument("--rows", type=int, default=20_000, help="number of leads")
    parser.add_argument("--seed", type=int, default=LEADS_SEED, help="generator seed")
    args = parser.parse_args(argv)
    out = write_leads(args.out, n_rows=args.rows, seed=args.seed)
    print(f"wrote {args.rows} leads (seed {args.seed}) to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
