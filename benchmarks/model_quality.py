"""Test-split quality of each model option on each data set, with default configs.

    uv run python benchmarks/model_quality.py --write            # all data sets, all models
    uv run python benchmarks/model_quality.py --data leads --models xgboost catboost

Every run goes through the same `compose_config` + `train_model` a user runs (no code specific
to a data set), into a temporary directory. With --write the table lands in
docs/benchmarks/model_quality.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from mlsys import compose_config, train_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ("leads", "bank_marketing", "online_shoppers")
MODELS = ("logreg", "xgboost", "catboost", "hist_gb", "random_forest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=list(DATA))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rows = [
        "| data | model | features | test ROC-AUC | test PR-AUC | precision@10% | lift@10% "
        "| ECE | train s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for data in args.data:
        for model in args.models:
            cfg = compose_config(
                [f"data={data}", f"model={model}", "tracker=none", "registry=none"]
            )
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                result = train_model(cfg, output_dir=Path(tmp))
                seconds = time.perf_counter() - start
            m = result.metrics
            features = cfg.features._target_.rsplit(".", 1)[-1]
            row = (
                f"| {data} | {model} | {features} | {m['roc_auc']:.4f} | {m['pr_auc']:.4f} "
                f"| {m['precision_at_10pct']:.4f} | {m['lift_at_10pct']:.2f} | {m['ece']:.4f} "
                f"| {seconds:.1f} |"
            )
            print(row, flush=True)
            rows.append(row)
    table = "\n".join(rows)
    if args.write:
        target = ROOT / "docs" / "benchmarks" / "model_quality.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            "# Benchmark: model quality with default configs\n\n"
            f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores, Python "
            f"{platform.python_version()}. Default split (stratified random 55/15/10/20, seed 42), "
            "default calibration (sigmoid), threshold by F1 on validation; metrics on the "
            "untouched test split. `train s` is the in-process wall time of the whole run "
            "(load to artifacts). Data sets: `leads` is the embedded synthetic set (Bayes limit "
            "test ROC-AUC 0.8516, see data/SCHEMA.md); `bank_marketing` (duration dropped) and "
            "`online_shoppers` are the UCI sets in ../shared/datasets.\n\n"
            "Re-run: `uv run python benchmarks/model_quality.py --write`.\n\n" + table + "\n"
        )
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
