"""Sweep benchmarks: parallel speed-up on one machine, and what a 30-trial sweep buys.

    uv run python benchmarks/sweep_parallel.py speedup --trials 8 --write
    uv run python benchmarks/sweep_parallel.py quality --trials 30 --write

`speedup` runs the same 8-trial xgboost sweep on bank marketing twice, side by side in one
session: 1 worker (basic launcher) and 2 workers (`hydra/launcher=joblib`, 2 trials in flight),
each trial single-threaded, and reports wall times and the ratio.

`quality` runs a 30-trial xgboost sweep on bank marketing and compares the best trial's
validation PR-AUC with the default config's, and reports the swept champion's test ROC-AUC and
PR-AUC. Results land in docs/benchmarks/sweeps.md with --write.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT.parent / "shared" / "datasets" / "bank_marketing" / "bank-additional-full.csv"
DOC = ROOT / "docs" / "benchmarks" / "sweeps.md"
SEARCH = {"value": "xgboost"}  # the hparams_search preset, set from --search


def _sweep(tmp: Path, name: str, trials: int, *extra: str) -> tuple[float, Path]:
    sweep_dir = tmp / name
    cmd = [
        sys.executable,
        "-m",
        "mlsys.train",
        "-m",
        f"hparams_search={SEARCH['value']}",
        "data=bank_marketing",
        f"data.path={BANK}",
        f"hydra.sweeper.n_trials={trials}",
        f"hydra.sweep.dir={sweep_dir}",
        f"tracker.uri=sqlite:///{tmp / name / 'mlflow.db'}",
        f"name={name}",
        *extra,
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return elapsed, sweep_dir


def speedup(trials: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        one, _ = _sweep(Path(tmp), "w1", trials, "registry=none")
        two, _ = _sweep(
            Path(tmp),
            "w2",
            trials,
            "registry=none",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "hydra.sweeper.n_jobs=2",
        )
    return (
        f"## Parallel speed-up ({trials} {SEARCH['value']} trials on bank marketing)\n\n"
        "| launcher | workers | wall s |\n|---|---|---|\n"
        f"| basic | 1 | {one:.1f} |\n| joblib | 2 | {two:.1f} |\n\n"
        f"**Speed-up 2 workers / 1 worker: {one / two:.2f}x** (target >= 1.6x). Each trial runs "
        "single-threaded, so the two workers use the two cores; mlsys keeps two trials in flight "
        "(no batch barrier). The serial part: the sweep process itself (sampler, storage, "
        "summary) and the workers' start-up (each imports the stack once).\n"
    )


def quality(trials: int) -> str:
    from mlsys import compose_config, train_model

    with tempfile.TemporaryDirectory() as tmp:
        default = train_model(
            compose_config(
                ["data=bank_marketing", f"data.path={BANK}", "tracker=none", "registry=none"]
            ),
            output_dir=Path(tmp) / "default",
        )
        seconds, sweep_dir = _sweep(
            Path(tmp),
            "q",
            trials,
            "registry=none",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "hydra.sweeper.n_jobs=2",
        )
        summary = json.loads((sweep_dir / "sweep_summary.json").read_text())
        best_dir = Path(summary["best_run_dir"])
        test = json.loads((best_dir / "metrics.json").read_text())
        val = json.loads((best_dir / "validation_metrics.json").read_text())
    d_val, d_test = default.validation_metrics, default.metrics
    return (
        f"## A {trials}-trial {SEARCH['value']} sweep on bank marketing\n\n"
        f"{summary['n_complete']} trials completed in {seconds:.0f} s (2 workers). Selection is "
        "on validation PR-AUC only; test metrics are read once, for the chosen trial.\n\n"
        "| config | validation PR-AUC | test ROC-AUC | test PR-AUC |\n|---|---|---|---|\n"
        f"| default `model={SEARCH['value']}` | {d_val['pr_auc']:.4f} | {d_test['roc_auc']:.4f} | "
        f"{d_test['pr_auc']:.4f} |\n"
        f"| best of sweep (trial {summary['best_trial']}) | {val['pr_auc']:.4f} | "
        f"{test['roc_auc']:.4f} | {test['pr_auc']:.4f} |\n\n"
        f"Best parameters: `{json.dumps(summary['best_params'])}`\n\n"
        f"Parameter importances (fANOVA): `{json.dumps(summary['param_importances'])}`\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["speedup", "quality"])
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--search", default="xgboost", help="hparams_search preset")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    SEARCH["value"] = args.search
    section = speedup(args.trials or 8) if args.what == "speedup" else quality(args.trials or 30)
    print(section)
    if args.write:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        existing = (
            DOC.read_text()
            if DOC.exists()
            else (
                "# Benchmark: sweeps\n\nRe-run: `uv run python benchmarks/sweep_parallel.py "
                "speedup --write` and `... quality --write`.\n"
            )
        )
        title = section.splitlines()[0]
        parts = [p for p in existing.split("\n## ") if p and not ("## " + p).startswith(title)]
        header = parts[0] if parts and parts[0].startswith("# ") else existing.split("\n## ")[0]
        rest = [p for p in parts if not p.startswith("# ")]
        stamp = (
            f"\n_Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores, "
            f"Python {platform.python_version()}._\n"
        )
        body = "\n".join(["\n## " + p.strip() + "\n" for p in rest])
        DOC.write_text(header.rstrip() + "\n" + body + "\n" + section + stamp)
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
