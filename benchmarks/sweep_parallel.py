"""Sweep benchmarks: parallel speed-up on one machine, and what a 30-trial sweep buys.

    uv run python benchmarks/sweep_parallel.py --write                  # both, the whole page
    uv run python benchmarks/sweep_parallel.py speedup --search xgboost
    uv run python benchmarks/sweep_parallel.py --smoke                  # 2 trials, seconds

`speedup` runs the same 8-trial sweep (per `--search` preset, default xgboost and catboost) on
bank marketing as 1 worker (basic launcher; the model may use both cores: its thread count is
set back to all cores) and as 2 workers (`hydra/launcher=joblib`, 2 trials in flight, each
trial single-threaded as the preset sets it), alternated `--repeats` times (default 3) with
`_paired.alternate`, each sweep in a fresh tracking store. The ratio is 1-worker wall time /
2-worker wall time per pair; target >= 1.6x on the median.

`quality` runs a 30-trial xgboost sweep on bank marketing and compares the best trial's
validation PR-AUC with the default config's, and reports the swept champion's test ROC-AUC and
PR-AUC. With --write the page docs/benchmarks/sweeps.md is rewritten whole.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _paired import (
    RATIO_HEADER,
    Target,
    add_arguments,
    alternate,
    paired,
    parse,
    ratio_row,
    write_page,
)

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT.parent / "shared" / "datasets" / "bank_marketing" / "bank-additional-full.csv"
TARGET = Target(1.6)
# What lets one trial use every core again: each preset pins its model to one thread.
ALL_CORES = {
    "xgboost": "model.n_jobs=null",
    "catboost": "model.thread_count=-1",
    "random_forest": "model.n_jobs=null",
}
TWO_WORKERS = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.n_jobs=2")


@dataclass(frozen=True)
class Setup:
    """Where the sweeps run: the data overrides and the sizes."""

    data: tuple[str, ...]
    trials: int
    quality_trials: int
    extra: tuple[str, ...] = ()
    quality_launcher: tuple[str, ...] = TWO_WORKERS


@dataclass(frozen=True)
class Sweep:
    """One finished sweep."""

    seconds: float
    directory: Path

    def __str__(self) -> str:
        return f"{self.seconds:.1f} s"


def _sweep(tmp: Path, name: str, setup: Setup, search: str, trials: int, *extra: str) -> Sweep:
    sweep_dir = tmp / name
    cmd = [
        sys.executable,
        "-m",
        "mlsys.train",
        "-m",
        f"hparams_search={search}",
        *setup.data,
        f"hydra.sweeper.n_trials={trials}",
        f"hydra.sweep.dir={sweep_dir}",
        f"tracker.uri=sqlite:///{sweep_dir / 'mlflow.db'}",
        f"name={name}",
        *setup.extra,
        *extra,
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return Sweep(elapsed, sweep_dir)


def speedup(setup: Setup, search: str, repeats: int) -> str:
    """1 worker (all cores per trial) against 2 workers (one core per trial), alternated."""
    one_worker = [ALL_CORES[search]] if search in ALL_CORES else []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        pairs = alternate(
            lambda i: _sweep(
                tmp, f"w1_{i}", setup, search, setup.trials, "registry=none", *one_worker
            ),
            lambda i: _sweep(
                tmp, f"w2_{i}", setup, search, setup.trials, "registry=none", *TWO_WORKERS
            ),
            repeats,
            label=f"{search} speed-up",
        )
    ratio = paired(pairs, lambda one, two: one.seconds / two.seconds)
    threads = f"`{one_worker[0]}`" if one_worker else "the preset's own thread count"
    return "\n".join(
        [
            f"## Parallel speed-up ({setup.trials} {search} trials)",
            "",
            f"1 worker: basic launcher, the model on all cores ({threads}); 2 workers: "
            "`hydra/launcher=joblib` with 2 trials in flight, each trial on one thread (the "
            f"preset's setting). {repeats} alternated pairs, each sweep in a fresh store.",
            "",
            "| pair | 1 worker wall s | 2 workers wall s |",
            "|---|---|---|",
            *(f"| {i + 1} | {a.seconds:.1f} | {b.seconds:.1f} |" for i, (a, b) in enumerate(pairs)),
            "",
            *RATIO_HEADER,
            ratio_row("speed-up: 1-worker wall / 2-worker wall", ratio, TARGET),
        ]
    )


def quality(setup: Setup) -> str:
    """What a sweep of ``setup.quality_trials`` xgboost trials buys over the default config."""
    from mlsys import compose_config, train_model

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        default = train_model(
            compose_config([*setup.data, *setup.extra, "tracker=none", "registry=none"]),
            output_dir=tmp / "default",
        )
        sweep = _sweep(
            tmp,
            "q",
            setup,
            "xgboost",
            setup.quality_trials,
            "registry=none",
            *setup.quality_launcher,
        )
        summary = json.loads((sweep.directory / "sweep_summary.json").read_text())
        best_dir = Path(summary["best_run_dir"])
        test = json.loads((best_dir / "metrics.json").read_text())
        val = json.loads((best_dir / "validation_metrics.json").read_text())
    d_val, d_test = default.validation_metrics, default.metrics
    return "\n".join(
        [
            f"## A {setup.quality_trials}-trial xgboost sweep",
            "",
            f"{summary['n_complete']} trials completed in {sweep.seconds:.0f} s "
            f"({'2 workers' if setup.quality_launcher else '1 worker'}). "
            "Selection is on validation PR-AUC only; test metrics are read once, for the "
            "chosen trial.",
            "",
            "| config | validation PR-AUC | test ROC-AUC | test PR-AUC |",
            "|---|---|---|---|",
            f"| default `model=xgboost` | {d_val['pr_auc']:.4f} | {d_test['roc_auc']:.4f} | "
            f"{d_test['pr_auc']:.4f} |",
            f"| best of sweep (trial {summary['best_trial']}) | {val['pr_auc']:.4f} | "
            f"{test['roc_auc']:.4f} | {test['pr_auc']:.4f} |",
            "",
            f"Best parameters: `{json.dumps(summary['best_params'])}`",
            "",
            f"Parameter importances (fANOVA): `{json.dumps(summary['param_importances'])}`",
        ]
    )


def _smoke_setup(tmp: Path) -> Setup:
    from mlsys.data import write_leads

    data = write_leads(tmp / "leads.csv", n_rows=2_000)
    return Setup(
        data=(f"data.path={data}",),
        trials=2,
        quality_trials=1,
        extra=("model.n_estimators=30", "evaluation.report.enabled=false"),
        quality_launcher=(),  # the speed-up pair already ran the joblib launcher
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, repeats=3)
    parser.add_argument("what", nargs="*", help="speedup, quality (default: both)")
    parser.add_argument("--trials", type=int, default=8, help="trials per speed-up sweep")
    parser.add_argument("--quality-trials", type=int, default=30)
    parser.add_argument(
        "--search", nargs="+", default=["xgboost", "catboost"], help="speed-up presets"
    )
    args = parse(parser)
    args.what = args.what or ["speedup", "quality"]
    if unknown := set(args.what) - {"speedup", "quality"}:
        parser.error(f"unknown benchmark {sorted(unknown)}: choose speedup and/or quality")
    with tempfile.TemporaryDirectory(prefix="mlsys-sweep-bench-") as name:
        if args.smoke:
            setup, args.search, args.repeats = _smoke_setup(Path(name)), ["xgboost"], 1
        else:
            setup = Setup(
                ("data=bank_marketing", f"data.path={BANK}"), args.trials, args.quality_trials
            )
        sections = [speedup(setup, s, args.repeats) for s in args.search if "speedup" in args.what]
        if "quality" in args.what:
            sections.append(quality(setup))
    data = "a 2,000-row sample of the leads (smoke)" if args.smoke else "bank marketing"
    text = f"Data: {data}.\n\n" + "\n\n".join(sections)
    print(text)
    write_page(args, "sweeps.md", "Benchmark: sweeps", text)


if __name__ == "__main__":
    main()
