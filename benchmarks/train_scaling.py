"""Training at scale: `python -m mlsys.train` against a plain script as the leads grow.

Per size (``--rows``, default 20k, 200k, 1M, 5M), in a temporary directory:

1. generates the synthetic leads with `python -m mlsys.data --rows N`;
2. runs, alternately (`_paired.alternate`) and each as a fresh process:
   * plain: `python benchmarks/plain_baseline.py leads.csv OUT` (pandas + scikit-learn +
     xgboost doing the same work, no tracking, no report);
   * mlsys: `python -m mlsys.train data.path=leads.csv`, the full default run: tracking to a
     temporary MLflow store (`MLFLOW_TRACKING_URI=sqlite:///<tmp>/mlflow.db`, the default
     embedded store moved out of the repository), the registry with its champion gate, the
     evaluation report;
3. records each process's wall time and its own peak RSS (`os.wait4`), and the stage seconds
   mlsys writes to the run's metadata.json.

One unmeasured run of each comes first (``--warmup``, default on outside ``--smoke``): it
creates the store and the first champion, so every measured mlsys run pays what a user's
second and later runs pay (the champion re-scored on the candidate's test split).

Targets (median of the paired ratios mlsys / plain): 200k rows <= 1.15x; 1M and 5M <= 1.05x,
peak RSS <= the script's.

    uv run python benchmarks/train_scaling.py --write
    uv run python benchmarks/train_scaling.py --smoke        # 3,000 rows, one pair
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _paired import (
    RATIO_HEADER,
    Paired,
    Process,
    Target,
    add_arguments,
    alternate,
    paired,
    parse,
    ratio_row,
    run_process,
    write_page,
)

ROOT = Path(__file__).resolve().parents[1]
PLAIN = ROOT / "benchmarks" / "plain_baseline.py"
SIZES = [20_000, 200_000, 1_000_000, 5_000_000]
WALL_TARGETS = {200_000: Target(1.15, at_least=False)}
BIG = Target(1.05, at_least=False)
RSS = Target(1.0, at_least=False)


@dataclass(frozen=True)
class Run:
    """One mlsys run: the process and its stage seconds."""

    process: Process
    stages: dict[str, float]

    def __str__(self) -> str:
        return str(self.process)


def _wall_target(rows: int) -> Target | None:
    return WALL_TARGETS.get(rows, BIG if rows >= 1_000_000 else None)


def _plain(data: Path, out: Path) -> Process:
    return run_process([sys.executable, str(PLAIN), str(data), str(out)])


def _mlsys(data: Path, run_dir: Path, env: dict[str, str]) -> Run:
    process = run_process(
        [sys.executable, "-m", "mlsys.train", f"data.path={data}", f"hydra.run.dir={run_dir}"],
        env=env,
    )
    metadata = json.loads((run_dir / "metadata.json").read_text())
    stages = {k: float(v) for k, v in metadata.get("stage_seconds", {}).items()}
    return Run(process, stages)


def measure(rows: int, tmp: Path, repeats: int, warmup: bool) -> list[tuple[Process, Run]]:
    """Alternated pairs (plain, mlsys) on ``rows`` generated leads."""
    data = tmp / f"leads_{rows}.csv"
    run_process([sys.executable, "-m", "mlsys.data", "--out", str(data), "--rows", str(rows)])
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / f'store_{rows}' / 'mlflow.db'}"}
    (tmp / f"store_{rows}").mkdir()
    if warmup:
        _plain(data, tmp / "warm_plain")
        _mlsys(data, tmp / "warm_mlsys", env)
    pairs = alternate(
        lambda i: _plain(data, tmp / f"plain_{rows}_{i}"),
        lambda i: _mlsys(data, tmp / f"mlsys_{rows}_{i}", env),
        repeats,
        label=f"{rows:,} rows",
    )
    data.unlink()
    return pairs


def _stage_line(runs: list[Run]) -> str:
    names = sorted({name for run in runs for name in run.stages})
    return ", ".join(
        f"{name} {statistics.median(r.stages.get(name, 0.0) for r in runs):.2f}" for name in names
    )


def body(results: dict[int, list[tuple[Process, Run]]], repeats: int, warmup: bool) -> str:
    """The page's method and results, every figure from ``results``."""
    lines = [
        "## Method",
        "",
        f"Per size, {repeats} alternated pairs of fresh processes on the same generated CSV"
        f"{' after one unmeasured run of each' if warmup else ''}:",
        "",
        "- **plain**: `benchmarks/plain_baseline.py` (pandas + scikit-learn + xgboost, the same "
        "split, features, model, calibration, threshold and test metrics; no tracking, no "
        "report);",
        "- **mlsys**: `python -m mlsys.train data.path=<csv>`, every default: MLflow tracking to "
        "a temporary SQLite store, the registry's champion gate, the evaluation report.",
        "",
        "Wall time is the whole process (imports included); peak RSS is the process's own "
        "(`ru_maxrss` from `os.wait4`). Ratios are mlsys / plain per pair; the verdict is met "
        "only when the median clears the target.",
        "",
        "## Results",
        "",
        "| rows | plain wall s (median) | mlsys wall s (median) | plain peak MB | mlsys peak MB |",
        "|---|---|---|---|---|",
    ]
    for rows, pairs in results.items():
        plain = [p for p, _ in pairs]
        runs = [m.process for _, m in pairs]
        lines.append(
            f"| {rows:,} | {statistics.median(p.seconds for p in plain):.2f} "
            f"| {statistics.median(m.seconds for m in runs):.2f} "
            f"| {statistics.median(p.peak_mb for p in plain):,.0f} "
            f"| {statistics.median(m.peak_mb for m in runs):,.0f} |"
        )
    lines += ["", *RATIO_HEADER]
    for rows, pairs in results.items():
        wall: Paired = paired(pairs, lambda p, m: m.process.seconds / p.seconds)
        rss: Paired = paired(pairs, lambda p, m: m.process.peak_mb / p.peak_mb)
        lines.append(ratio_row(f"{rows:,} rows: wall mlsys / plain", wall, _wall_target(rows)))
        lines.append(
            ratio_row(
                f"{rows:,} rows: peak RSS mlsys / plain", rss, RSS if rows >= 1_000_000 else None
            )
        )
    lines += ["", "Median stage seconds inside the mlsys runs (metadata.json):", ""]
    lines += [
        f"- {rows:,} rows: {_stage_line([m for _, m in pairs])}" for rows, pairs in results.items()
    ]
    lines += ["", "## Every pair", "", "| rows | pair | plain | mlsys |", "|---|---|---|---|"]
    for rows, pairs in results.items():
        lines += [f"| {rows:,} | {i + 1} | {p} | {m} |" for i, (p, m) in enumerate(pairs)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, repeats=5)
    parser.add_argument("--rows", type=int, nargs="+", default=SIZES)
    parser.add_argument(
        "--warmup",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="one unmeasured run of each first (default: on, off with --smoke)",
    )
    args = parse(parser)
    if args.smoke:
        args.rows, args.repeats = [3_000], 1
    warmup = (not args.smoke) if args.warmup is None else args.warmup
    results: dict[int, list[tuple[Process, Run]]] = {}
    with tempfile.TemporaryDirectory(prefix="mlsys-train-scaling-") as name:
        for rows in args.rows:
            results[rows] = measure(rows, Path(name), args.repeats, warmup)
    text = body(results, args.repeats, warmup)
    print(text)
    write_page(args, "train_scaling.md", "Benchmark: training at scale", text)


if __name__ == "__main__":
    main()
