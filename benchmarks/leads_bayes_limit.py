"""The best ROC-AUC any model can reach on data/leads.csv's default test split.

The generator knows each lead's true conversion probability. Ranking by it is the Bayes-optimal
ranking, so its ROC-AUC on the test split (the default split=random with seed 42) is the ceiling
for every model; data/SCHEMA.md quotes it so model quality reads as a fraction of the limit.

    uv run python benchmarks/leads_bayes_limit.py
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from mlsys import compose_config
from mlsys.config import instantiate_component
from mlsys.data import generate_leads


def bayes_limit(overrides: list[str] | None = None) -> dict[str, float]:
    """ROC-AUC and PR-AUC of the true probability on each split of the composed config."""
    cfg = compose_config(overrides or [])
    dataset = instantiate_component(cfg.data, "data").load()
    splits = instantiate_component(cfg.split, "split").split(dataset)
    frame, truth = generate_leads()
    if not np.array_equal(frame["converted"].to_numpy(), dataset.target):
        raise SystemExit("data/leads.csv differs from the generator's output: run `make data`")
    out: dict[str, float] = {}
    for name, idx in splits.items():
        out[f"{name}_roc_auc"] = round(float(roc_auc_score(dataset.target[idx], truth[idx])), 4)
        out[f"{name}_pr_auc"] = round(
            float(average_precision_score(dataset.target[idx], truth[idx])), 4
        )
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="the same computation (it takes seconds already)"
    )
    parser.parse_args()
    print(json.dumps(bayes_limit(), indent=2))
