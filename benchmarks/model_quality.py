"""Test-split quality of each model option on each data set, with default configs.

    uv run python benchmarks/model_quality.py --write            # all data sets, all models
    uv run python benchmarks/model_quality.py --data leads --models xgboost catboost

Every run goes through the same `compose_config` + `train_model` a user runs (no code specific
to a data set), into a temporary directory. With --write the table lands in
docs/benchmarks/model_quality.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _paired import add_arguments, parse, write_page

from mlsys import compose_config, train_model

DATA = ("leads", "bank_marketing", "online_shoppers")
MODELS = ("logreg", "xgboost", "catboost", "hist_gb", "random_forest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, repeats=None)
    parser.add_argument("--data", nargs="+", default=list(DATA))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    args = parse(parser)
    rows = [
        "| data | model | features | test ROC-AUC | test PR-AUC | precision@10% | lift@10% "
        "| ECE | train s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="mlsys-quality-") as name:
        smoke: list[str] = []
        if args.smoke:
            from mlsys.data import write_leads

            args.data, args.models = ["leads"], ["logreg"]
            smoke = [f"data.path={write_leads(Path(name) / 'leads.csv', n_rows=2_000)}"]
        for data in args.data:
            for model in args.models:
                cfg = compose_config(
                    [f"data={data}", f"model={model}", "tracker=none", "registry=none", *smoke]
                )
                start = time.perf_counter()
                result = train_model(cfg, output_dir=Path(name) / f"{data}-{model}")
                seconds = time.perf_counter() - start
                m = result.metrics
                features = cfg.features._target_.rsplit(".", 1)[-1]
                row = (
                    f"| {data} | {model} | {features} | {m['roc_auc']:.4f} | {m['pr_auc']:.4f} "
                    f"| {m['precision_at_10pct']:.4f} | {m['lift_at_10pct']:.2f} "
                    f"| {m['ece']:.4f} | {seconds:.1f} |"
                )
                print(row, flush=True)
                rows.append(row)
    method = (
        "Default split (stratified random 55/15/10/20, seed 42), default calibration (sigmoid), "
        "threshold by F1 on validation; metrics on the untouched test split. `train s` is the "
        "in-process wall time of the whole run (load to artifacts). Data sets: `leads` is the "
        "embedded synthetic set (its Bayes limit: data/SCHEMA.md, "
        "`benchmarks/leads_bayes_limit.py`); `bank_marketing` (duration dropped) and "
        "`online_shoppers` are the UCI sets in ../shared/datasets."
    )
    write_page(
        args,
        "model_quality.md",
        "Benchmark: model quality with default configs",
        method + "\n\n" + "\n".join(rows),
    )


if __name__ == "__main__":
    main()
