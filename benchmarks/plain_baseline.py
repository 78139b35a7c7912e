"""The plain script that `train_scaling.py` compares `python -m mlsys.train` against.

It does the work of the default `python -m mlsys.train` run on the synthetic leads, written the
way a scientist would without a framework: pandas + scikit-learn + xgboost, no Hydra, no
validation, no tracking, no report. Same columns, same split fractions (stratified, test 20 %,
validation 15 %, calibration 10 % of all rows), same features (median imputation with missing
indicators and scaling; one-hot with rare levels pooled), same XGBoost settings with early
stopping on validation, Platt calibration on the calibration split, F1 threshold on validation,
test metrics, the model and the test predictions saved.

    python benchmarks/plain_baseline.py leads.csv OUT_DIR
    python benchmarks/plain_baseline.py --smoke        # 3,000 rows of data/leads.csv, seconds
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from xgboost import XGBClassifier

ROOT = Path(__file__).resolve().parents[1]
NOT_FEATURES = ["lead_id", "account_id", "created_at", "opportunity_amount", "converted"]
SEED = 42


def preprocessor(numeric: list[str], categorical: list[str]) -> ColumnTransformer:
    """Median imputation + indicators + scaling; constant imputation + pooled one-hot."""
    return ColumnTransformer(
        [
            (
                "num",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            ),
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="constant", fill_value="__missing__")),
                        (
                            "onehot",
                            OneHotEncoder(
                                handle_unknown="infrequent_if_exist",
                                min_frequency=20,
                                max_categories=30,
                                sparse_output=False,
                            ),
                        ),
                    ]
                ),
                categorical,
            ),
        ]
    )


def split(x: pd.DataFrame, y: np.ndarray) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """Stratified train / validation / calibration / test: 55 / 15 / 10 / 20 % of all rows."""
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=SEED
    )
    x_rest, x_cal, y_rest, y_cal = train_test_split(
        x_rest, y_rest, test_size=0.1 / 0.8, stratify=y_rest, random_state=SEED
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=0.15 / 0.7, stratify=y_rest, random_state=SEED
    )
    return {
        "train": (x_train, y_train),
        "validation": (x_val, y_val),
        "calibration": (x_cal, y_cal),
        "test": (x_test, y_test),
    }


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p)).reshape(-1, 1)


def main(csv: Path, out: Path, n_estimators: int = 2000, nrows: int | None = None) -> None:
    frame = pd.read_csv(csv, nrows=nrows)
    y = frame["converted"].to_numpy(dtype=int)
    x = frame.drop(columns=NOT_FEATURES)
    categorical = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
    numeric = [c for c in x.columns if c not in categorical]
    x[numeric] = x[numeric].astype(float)
    parts = split(x, y)

    prep = preprocessor(numeric, categorical)
    x_train = prep.fit_transform(parts["train"][0])
    matrices = {name: prep.transform(part[0]) for name, part in parts.items() if name != "train"}
    model = XGBClassifier(
        n_estimators=n_estimators,
        learning_rate=0.05,
        max_depth=5,
        min_child_weight=1.0,
        subsample=0.8,
        colsample_bytree=0.8,
        early_stopping_rounds=100,
        tree_method="hist",
        eval_metric="logloss",
        random_state=SEED,
    )
    model.fit(
        x_train,
        parts["train"][1],
        eval_set=[(matrices["validation"], parts["validation"][1])],
        verbose=False,
    )

    def raw(name: str) -> np.ndarray:
        return _logit(model.predict_proba(matrices[name])[:, 1])

    platt = LogisticRegression(C=1e6).fit(raw("calibration"), parts["calibration"][1])
    p_val = platt.predict_proba(raw("validation"))[:, 1]
    p_test = platt.predict_proba(raw("test"))[:, 1]
    precision, recall, thresholds = precision_recall_curve(parts["validation"][1], p_val)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    threshold = float(thresholds[int(np.argmax(f1[:-1]))])

    y_test = parts["test"][1]
    metrics = {
        "roc_auc": roc_auc_score(y_test, p_test),
        "pr_auc": average_precision_score(y_test, p_test),
        "log_loss": log_loss(y_test, p_test),
        "brier": brier_score_loss(y_test, p_test),
        "threshold": threshold,
    }
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump({"prep": prep, "model": model, "platt": platt}, out / "model.joblib", compress=3)
    pd.DataFrame({"probability": p_test, "converted": y_test}).to_csv(
        out / "test_predictions.csv", index=False
    )
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, nargs="?", default=ROOT / "data" / "leads.csv")
    parser.add_argument("out", type=Path, nargs="?", default=None)
    parser.add_argument("--smoke", action="store_true", help="3,000 rows, 60 trees, a tmp dir")
    args = parser.parse_args()
    if args.smoke:
        with tempfile.TemporaryDirectory(prefix="mlsys-plain-smoke-") as tmp:
            main(args.csv, Path(tmp), n_estimators=60, nrows=3000)
    elif args.out is None:
        parser.error("OUT_DIR is required (or --smoke)")
    else:
        main(args.csv, args.out)
