"""Calibrate the drift alert thresholds on the synthetic leads: does the alert fire first?

The script trains the default model (xgboost on data/leads.csv; no tracking, no registry, no
report) and profiles what a training run profiles: the training split's features and the
validation split's calibrated scores. It then draws a fresh sample of leads from the generator
(another seed) and, one feature column at a time, damages that column with shifts of
increasing strength: numeric columns scaled, moved by a share of their interquartile range, or
emptied; boolean columns flipped or emptied; categorical columns sent to their most frequent
level, to a level never seen in training, or emptied. The labels are those the generator drew
before the damage: a shift here is a broken feed (a unit change, a join that empties a column,
a renamed level), the case where the model's ranking degrades.

For each column, shift and strength it records the column's PSI, the largest PSI of any
feature, the scores' PSI, whether the alert rules fire (``mlsys_feature_psi`` >=
``FEATURE_PSI_ALERT`` or ``mlsys_score_psi`` >= ``SCORE_PSI_ALERT``, the shipped thresholds of
``mlsys.monitoring``) and the test ROC-AUC drop on the same rows. It also measures the PSI of
unshifted samples of the live window's size (how close noise comes to the thresholds) and what
the checks cost.

    uv run python benchmarks/drift_calibration.py --write     # full run (a few minutes)
    uv run python benchmarks/drift_calibration.py --smoke --page /tmp/d.md --doc /tmp/M.md

``--write`` rewrites docs/benchmarks/drift_calibration.md and the generated block of
docs/MONITORING.md (between its ``drift-calibration`` markers); ``--page`` and ``--doc`` write
elsewhere. ``--smoke`` runs a tiny version in seconds (what the test suite runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from mlsys import build_pipeline, compose_config
from mlsys.data import coerce_features, generate_leads, write_leads
from mlsys.monitoring import (
    SCORE_COLUMN,
    DataProfile,
    DriftAccumulator,
    DriftReport,
    DriftThresholds,
    RollingDrift,
    drift_report,
)
from mlsys.monitoring._rolling import DEFAULT_WINDOW
from mlsys.split import SplitIndices

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "benchmarks" / "drift_calibration.md"
DOC = ROOT / "docs" / "MONITORING.md"
START, END = "<!-- drift-calibration:start -->", "<!-- drift-calibration:end -->"
AUC_DROP = 0.01
QUIET = ["tracker=none", "registry=none", "evaluation.report.enabled=false"]


@dataclass(frozen=True)
class Setup:
    """Sizes of one run: full (the docs) or smoke (the tests)."""

    fresh_rows: int
    strengths: dict[str, tuple[float, ...]]
    columns: tuple[str, ...] | None  # None: every feature column
    noise_repeats: int
    window: int
    timing: bool
    train_overrides: tuple[str, ...]


FRACTIONS = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.35, 0.5)
FULL = Setup(
    fresh_rows=50_000,
    strengths={"fraction": FRACTIONS, "scale": (0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0)},
    columns=None,
    noise_repeats=20,
    window=DEFAULT_WINDOW,
    timing=True,
    train_overrides=(),
)
SMOKE = Setup(
    fresh_rows=3_000,
    strengths={"fraction": (0.05, 0.5), "scale": (0.1, 2.0)},
    columns=("employees", "requested_demo", "industry"),
    noise_repeats=2,
    window=1_000,
    timing=False,
    train_overrides=("model.n_estimators=60", "model.early_stopping_rounds=10"),
)

Shift = Callable[[pd.Series, float, np.random.Generator], pd.Series]


def _pick(column: pd.Series, fraction: float, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    return rng.random(len(column)) < fraction


def _scale(column: pd.Series, s: float, rng: np.random.Generator) -> pd.Series:
    return column * (1 + s)


def _empty(column: pd.Series, s: float, rng: np.random.Generator) -> pd.Series:
    return column.mask(_pick(column, s, rng))


def _flip(column: pd.Series, s: float, rng: np.random.Generator) -> pd.Series:
    return column.mask(_pick(column, s, rng), 1.0 - column)


def _move(unit: float) -> Shift:
    def move(column: pd.Series, s: float, rng: np.random.Generator) -> pd.Series:
        return column + s * unit

    return move


def _to_level(level: str) -> Shift:
    def to_level(column: pd.Series, s: float, rng: np.random.Generator) -> pd.Series:
        return column.mask(_pick(column, s, rng), level)

    return to_level


def shifts_for(profile: DataProfile, train: pd.DataFrame) -> dict[str, dict[str, Shift]]:
    """Per column, its shifts by name; each takes (column, strength, rng)."""
    out: dict[str, dict[str, Shift]] = {}
    for name, column in profile.columns.items():
        if column.kind == "numeric":
            q1, q3 = np.nanquantile(train[name].to_numpy(dtype=float), [0.25, 0.75])
            unit = float(q3 - q1) or 1.0
            out[name] = {"scale": _scale, "move_iqr": _move(unit), "missing": _empty}
        elif column.kind == "boolean":
            out[name] = {"flip": _flip, "missing": _empty}
        else:
            top = column.levels[0]
            out[name] = {
                f"to_{top}": _to_level(top),
                "unseen": _to_level("__unseen__"),
                "missing": _empty,
            }
    return out


def strengths_of(shift: str, setup: Setup) -> tuple[float, ...]:
    return setup.strengths["scale" if shift in ("scale", "move_iqr") else "fraction"]


def train(setup: Setup, workdir: Path) -> tuple[Any, DataProfile, pd.DataFrame]:
    """The default model and the profile a training run learns; also the training features."""
    overrides = [*QUIET, "save_predictions=false", *setup.train_overrides]
    if setup is SMOKE:
        overrides.append(f"data.path={write_leads(workdir / 'leads.csv', n_rows=3000)}")
    pipeline = build_pipeline(compose_config(overrides), output_dir=workdir / "run")
    result = pipeline.run()
    dataset = pipeline.data.load()
    splits = SplitIndices.load(result.output_dir / "splits.npz")
    features = dataset.features
    train_rows = features.iloc[splits.train].reset_index(drop=True)
    validation_scores = result.bundle.predict_proba(features.iloc[splits.validation])
    profile = DataProfile.learn(train_rows, dataset.schema, scores=validation_scores)
    return result.bundle, profile, train_rows


def calibrate(setup: Setup, workdir: Path, seed: int = 7) -> dict[str, Any]:
    bundle, profile, train_rows = train(setup, workdir)
    frame, _ = generate_leads(n_rows=setup.fresh_rows, seed=seed)
    labels = frame["converted"].to_numpy()
    fresh = coerce_features(frame, bundle.schema)
    base_scores = bundle.predict_proba(fresh)
    base_auc = float(roc_auc_score(labels, base_scores))
    thresholds = DriftThresholds()
    shifts = shifts_for(profile, train_rows)
    columns = setup.columns or tuple(profile.columns)
    rows: list[dict[str, Any]] = []
    for column in columns:
        for shift, apply in shifts[column].items():
            for strength in strengths_of(shift, setup):
                rng = np.random.default_rng(zlib.crc32(f"{column}/{shift}/{strength}".encode()))
                damaged = fresh.copy()
                damaged[column] = apply(fresh[column], strength, rng)
                scores = bundle.predict_proba(damaged)
                report = drift_report(profile, damaged, scores=scores, thresholds=thresholds)
                rows.append(
                    {
                        "column": column,
                        "kind": profile.columns[column].kind,
                        "shift": shift,
                        "strength": strength,
                        "psi": report.column(column).psi or 0.0,
                        "score_psi": report.psi.get(SCORE_COLUMN) or 0.0,
                        # What the alert rules see: each PSI over its own alert threshold.
                        "ratio": max(_ratios(report).values()),
                        "alerting": [
                            a.column
                            for a in report.alerts
                            if a.check == "psi" and a.severity == "alert"
                        ],
                        "auc_drop": base_auc - float(roc_auc_score(labels, scores)),
                    }
                )
                print(_progress(rows[-1]), file=sys.stderr)
    noise = measure_noise(profile, bundle, fresh, base_scores, setup, thresholds)
    cost = measure_cost(profile, bundle, setup) if setup.timing else {}
    return {
        "base_auc": base_auc,
        "fresh_rows": setup.fresh_rows,
        "train_rows": profile.rows,
        "thresholds": thresholds,
        "rows": rows,
        "noise": noise,
        "cost": cost,
    }


def _ratios(report: DriftReport) -> dict[str, float]:
    """Each column's (and the scores') PSI divided by its alert threshold: >= 1 alerts."""
    entries = [*report.columns, *([report.score] if report.score else [])]
    return {e.column: (e.psi or 0.0) / e.psi_threshold for e in entries}


def _progress(row: dict[str, Any]) -> str:
    fired = "ALERT" if row["alerting"] else "-"
    return (
        f"{row['column']:>22} {row['shift']:>14} {row['strength']:>5} psi={row['psi']:.3f} "
        f"score_psi={row['score_psi']:.3f} auc_drop={row['auc_drop']:+.4f} {fired}"
    )


def measure_noise(
    profile: DataProfile,
    bundle: Any,
    fresh: pd.DataFrame,
    scores: np.ndarray[Any, Any],
    setup: Setup,
    thresholds: DriftThresholds,
) -> dict[str, dict[str, float]]:
    """Per sample size (min_rows, the window): per column, the largest PSI of unshifted samples
    and the alert threshold at that size (the noise floor raises it for small samples)."""
    rng = np.random.default_rng(11)
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for wanted in (thresholds.min_rows, setup.window):
        size = min(wanted, len(fresh))
        largest: dict[str, tuple[float, float]] = {}
        for _ in range(setup.noise_repeats):
            rows = rng.choice(len(fresh), size=size, replace=False)
            report = drift_report(
                profile, fresh.iloc[rows], scores=scores[rows], thresholds=thresholds
            )
            for entry in [*report.columns, *([report.score] if report.score else [])]:
                seen = largest.get(entry.column, (0.0, entry.psi_threshold))[0]
                largest[entry.column] = (max(seen, entry.psi or 0.0), entry.psi_threshold)
        out[f"{size:,} rows"] = largest
    return out


def _best_of(repeats: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def measure_cost(profile: DataProfile, bundle: Any, setup: Setup) -> dict[str, float]:
    """Seconds per call of each check, and of what it rides on (serving, batch scoring)."""
    from mlsys.scoring import Coded
    from mlsys.serving import RecordValidator

    frame, _ = generate_leads(n_rows=200_000, seed=5)
    typed = coerce_features(frame, bundle.schema)
    scores = np.clip(np.random.default_rng(0).beta(1, 8, len(typed)), 0, 1)
    schema = bundle.schema
    kinds = dict(zip(schema.columns, schema.kinds, strict=True))
    columns = {name: _as_served(typed[name], kinds[name]) for name in schema.columns}
    chunk = {name: values[:20_000] for name, values in columns.items()}
    coded = dict(chunk)
    for name in schema.categorical:
        codes, levels = pd.factorize(typed[name].iloc[:20_000], use_na_sentinel=True)
        coded[name] = Coded(
            np.where(codes < 0, len(levels), codes).astype(np.intp),
            np.array([*levels, None], dtype=object),
        )
    validator = RecordValidator(schema)
    records = [_record(typed.iloc[i], kinds) for i in range(100)]

    def serve(batch: list[dict[str, Any]]) -> Any:
        return bundle.score(validator.columns_of(validator.validate(batch)))

    one, hundred = validator.columns_of(records[:1]), validator.columns_of(records)
    drift = RollingDrift(profile)
    counter = DriftAccumulator(profile)
    return {
        "learn_200k": _best_of(3, lambda: DataProfile.learn(typed, schema, scores=scores)),
        "compare_frame_200k": _best_of(3, lambda: drift_report(profile, typed, scores=scores)),
        "add_chunk_20k": _best_of(5, lambda: counter.add(chunk, scores[:20_000])),
        "add_coded_20k": _best_of(5, lambda: counter.add(coded, scores[:20_000])),
        "score_chunk_20k": _best_of(5, lambda: bundle.score(chunk)),
        "observe_1": _best_of(2000, lambda: drift.observe(one, scores[:1])),
        "serve_1": _best_of(2000, lambda: serve(records[:1])),
        "observe_100": _best_of(300, lambda: drift.observe(hundred, scores[:100])),
        "serve_100": _best_of(300, lambda: serve(records)),
        "snapshot": _best_of(50, drift.snapshot),
        "columns": float(len(schema.columns) + 1),
    }


def _record(row: pd.Series, kinds: dict[str, str]) -> dict[str, Any]:
    """A JSON record as a client sends it: null for missing, true/false for booleans."""
    out: dict[str, Any] = {}
    for name, kind in kinds.items():
        value = row[name]
        if pd.isna(value):
            out[name] = None
        elif kind == "boolean":
            out[name] = bool(value)
        elif kind == "numeric":
            out[name] = float(value)
        else:
            out[name] = str(value)
    return out


def _as_served(column: pd.Series, kind: str) -> np.ndarray[Any, Any]:
    """A column as the server and batch scoring hold it: float64, or ``str``/``None`` objects."""
    if kind == "categorical":
        return np.array([None if pd.isna(v) else v for v in column], dtype=object)
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


# --- writing ------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:,.0f} µs"


def _strength(shift: str, strength: float) -> str:
    if shift == "scale":
        return f"x{1 + strength:g}"
    if shift == "move_iqr":
        return f"+{strength:g} IQR"
    return f"{strength * 100:g}%"


def summary_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per column and shift: the first strength that alerts and the first that costs AUC."""
    out = []
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in results["rows"]:
        grouped.setdefault((row["column"], row["shift"]), []).append(row)
    for (column, shift), rows in grouped.items():
        rows.sort(key=lambda r: r["strength"])
        alert = next((r for r in rows if r["alerting"]), None)
        costly = next((r for r in rows if r["auc_drop"] >= AUC_DROP), None)
        missed = [r for r in rows if r["auc_drop"] >= AUC_DROP and not r["alerting"]]
        out.append(
            {
                "column": column,
                "shift": shift,
                "alert": alert,
                "costly": costly,
                "missed": missed,
                "largest_drop": max(r["auc_drop"] for r in rows),
            }
        )
    return out


def _verdict(entry: dict[str, Any]) -> str:
    if entry["missed"]:
        return "**MISSED**"
    if entry["costly"] is None:
        return "no drop >= 0.01" + ("; alert fires" if entry["alert"] else "")
    return (
        "alert first"
        if entry["alert"]["strength"] < entry["costly"]["strength"]
        else "alert at the same strength"
    )


def _rules(thresholds: DriftThresholds) -> str:
    return (
        "Alert: a numeric or categorical column's PSI >= "
        f"{thresholds.feature_psi_alert:g}, a boolean column's >= "
        f"{thresholds.boolean_psi_alert:g}, or the scores' >= {thresholds.score_psi_alert:g}; "
        "each raised to the noise floor of the rows at hand when that is higher."
    )


def block(results: dict[str, Any]) -> str:
    """The generated part of docs/MONITORING.md."""
    thresholds: DriftThresholds = results["thresholds"]
    summary = summary_rows(results)
    missed = [r for e in summary for r in e["missed"]]
    costly = [r for r in results["rows"] if r["auc_drop"] >= AUC_DROP]
    lines = [
        START,
        "<!-- Generated by benchmarks/drift_calibration.py --write; do not edit by hand. -->",
        "",
        "Model: the default xgboost on `data/leads.csv` "
        f"({results['train_rows']:,} training rows); fresh sample: "
        f"{results['fresh_rows']:,} generated leads, test ROC-AUC "
        f"{results['base_auc']:.4f} before any shift. {_rules(thresholds)} Strength: the share "
        "of rows changed, the factor, or the move in interquartile ranges (IQR).",
        "",
        "| column | shift | alert fires at | PSI there (column / score) | ROC-AUC drop there | "
        "drop >= 0.01 from | largest drop | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in summary:
        alert, first_costly = e["alert"], e["costly"]
        lines.append(
            f"| {e['column']} | {e['shift']} | "
            + (_strength(e["shift"], alert["strength"]) if alert else "never")
            + " | "
            + (f"{_fmt(alert['psi'])} / {_fmt(alert['score_psi'])}" if alert else "—")
            + " | "
            + (f"{alert['auc_drop']:+.4f}" if alert else "—")
            + " | "
            + (_strength(e["shift"], first_costly["strength"]) if first_costly else "—")
            + f" | {e['largest_drop']:+.4f} | {_verdict(e)} |"
        )
    lines.append("")
    if missed:
        shown = ", ".join(
            f"{r['column']} {r['shift']} {_strength(r['shift'], r['strength'])}" for r in missed
        )
        lines.append(
            f"**{len(missed)} shift(s) cost >= 0.01 of ROC-AUC without an alert**: {shown}."
        )
    else:
        lines.append(
            f"Every one of the {len(costly)} shifts that cost at least 0.01 of ROC-AUC raised the "
            f"alert (of {len(results['rows'])} shifts in all)."
        )
    if costly:
        closest = min(costly, key=lambda r: r["ratio"])
        strength = _strength(closest["shift"], closest["strength"])
        lines.append(
            f"Closest call: {closest['column']} {closest['shift']} {strength} (ROC-AUC "
            f"{-closest['auc_drop']:+.4f}), whose largest PSI was "
            f"{closest['ratio']:.2f} times its alert threshold."
        )
    noise_lines = []
    for size, largest in results["noise"].items():
        ratios = {c: psi / limit for c, (psi, limit) in largest.items()}
        worst = max(ratios, key=lambda c: ratios[c])
        noise_lines.append(
            f"at {size}, {worst} came closest: PSI {largest[worst][0]:.3f}, "
            f"{ratios[worst]:.2f} times its threshold there ({largest[worst][1]:.3g})"
        )
    lines += [
        "",
        "Unshifted samples (noise), largest over the repeats: " + "; ".join(noise_lines) + ".",
        "",
        "Every strength of every shift, the noise per column and the cost of the checks: "
        "[benchmarks/drift_calibration.md](benchmarks/drift_calibration.md).",
        END,
    ]
    return "\n".join(lines)


def page(results: dict[str, Any], setup: Setup) -> str:
    """docs/benchmarks/drift_calibration.md."""
    thresholds: DriftThresholds = results["thresholds"]
    lines = [
        "# Benchmark: drift alert calibration",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} cores, shared with other work; Python {platform.python_version()}). "
        "Re-run: `uv run python benchmarks/drift_calibration.py --write`.",
        "",
        "## Method",
        "",
        *_method(),
        "",
        f"Shipped thresholds: {_rules(thresholds)} Warnings from "
        f"{thresholds.feature_psi_warning:g}, {thresholds.boolean_psi_warning:g} and "
        f"{thresholds.score_psi_warning:g}; no threshold below the noise floor of the rows at "
        f"hand (p = {thresholds.noise_p:g}); no verdict below {thresholds.min_rows:,} rows.",
        "",
        "## Every shift",
        "",
        "| column | kind | shift | strength | column PSI | score PSI | largest PSI / threshold | "
        "alerting | ROC-AUC drop |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        lines.append(
            f"| {r['column']} | {r['kind']} | {r['shift']} | "
            f"{_strength(r['shift'], r['strength'])} | {_fmt(r['psi'])} | "
            f"{_fmt(r['score_psi'])} | {r['ratio']:.2f} | "
            f"{', '.join(r['alerting']) or '—'} | {r['auc_drop']:+.4f} |"
        )
    sizes = list(results["noise"])
    lines += [
        "",
        "## Noise: unshifted samples",
        "",
        f"Largest PSI over {setup.noise_repeats} random samples of the fresh leads, drawn without "
        "replacement and scored unchanged, and the alert threshold at that sample size (the "
        "kind's threshold, or the noise floor when that is higher).",
        "",
        "| column | " + " | ".join(f"{s}: largest PSI | threshold" for s in sizes) + " |",
        "|---|" + "---|---|" * len(sizes),
    ]
    for column in results["noise"][sizes[0]]:
        cells = " | ".join(
            f"{_fmt(results['noise'][s][column][0])} | {results['noise'][s][column][1]:.3g}"
            for s in sizes
        )
        lines.append(f"| {column} | {cells} |")
    cost = results["cost"]
    if cost:
        lines += ["", *cost_table(cost)]
    return "\n".join(lines) + "\n"


COST_CHECKS = (
    ("`DataProfile.learn`, 200,000 training rows", "learn_200k", 200_000, None),
    ("`DataProfile.compare`, a 200,000-row DataFrame", "compare_frame_200k", 200_000, None),
    ("`DriftAccumulator.add`, 20,000 rows, levels as strings", "add_chunk_20k", 20_000, "chunk"),
    ("`DriftAccumulator.add`, 20,000 rows, levels coded", "add_coded_20k", 20_000, "chunk"),
    ("`RollingDrift.observe`, a 1-record request", "observe_1", 1, "serve_1"),
    ("`RollingDrift.observe`, a 100-record request", "observe_100", 100, "serve_100"),
    ("`RollingDrift.snapshot` (at scrape time)", "snapshot", 0, None),
)


def cost_table(cost: dict[str, float]) -> list[str]:
    """The cost of each check, and its share of what it rides on."""
    against = {
        "chunk": ("scoring the chunk", cost["score_chunk_20k"]),
        "serve_1": ("validating and scoring it", cost["serve_1"]),
        "serve_100": ("validating and scoring it", cost["serve_100"]),
    }
    lines = [
        "## Cost",
        "",
        "Best of several runs in one process; the columns are the 15 features plus the scores. "
        "A check's share is against what it rides on, measured alongside: scoring the same "
        "chunk with the compiled scorer (batch scoring holds its levels coded, "
        "`mlsys.scoring.Coded`), or validating and scoring the same records in-process as the "
        "server does (`RecordValidator`, the compiled scorer; without HTTP, which costs more).",
        "",
        "| check | time | per row and column | against | its time | share |",
        "|---|---|---|---|---|---|",
    ]
    per = cost["columns"]
    for label, key, rows, base in COST_CHECKS:
        seconds = cost[key]
        each = f"{seconds / rows / per * 1e9:,.0f} ns" if rows else ""
        what, other = against[base] if base else ("", 0.0)
        share = f"{seconds / other:.0%}" if base else ""
        duration = _duration(other) if base else ""
        lines.append(f"| {label} | {_duration(seconds)} | {each} | {what} | {duration} | {share} |")
    return lines


def _method() -> list[str]:
    """The module docstring's method paragraphs, as markdown."""
    paragraphs = (__doc__ or "").split("\n\n")[1:3]
    return "\n\n".join(" ".join(p.split()) for p in paragraphs).replace("``", "`").split("\n")


BLOCK = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)


def check_doc(doc: Path) -> str | None:
    """Why ``doc`` cannot take the generated block, or None when it can."""
    if not doc.is_file():
        return f"{doc} does not exist"
    if not BLOCK.search(doc.read_text()):
        return f"{doc} has no '{START}' ... '{END}' block to rewrite"
    return None


def write_block(doc: Path, text: str) -> None:
    doc.write_text(BLOCK.sub(lambda _: text, doc.read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="a tiny run, in seconds")
    parser.add_argument(
        "--write", action="store_true", help=f"rewrite {PAGE.name} and the block of {DOC.name}"
    )
    parser.add_argument("--page", type=Path, help="write the full page here")
    parser.add_argument("--doc", type=Path, help="rewrite the generated block of this file")
    args = parser.parse_args(argv)
    setup = SMOKE if args.smoke else FULL
    page_path = args.page or (PAGE if args.write else None)
    doc_path = args.doc or (DOC if args.write else None)
    problem = check_doc(doc_path) if doc_path else None
    if problem:
        print(f"error: {problem}. Fix: add the markers where the table goes.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="drift-calibration-") as workdir:
        results = calibrate(setup, Path(workdir))
    text = block(results)
    print(text)
    if page_path:
        page_path.write_text(page(results, setup))
    if doc_path:
        write_block(doc_path, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
