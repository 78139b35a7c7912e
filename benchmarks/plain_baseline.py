"""The baseline for the framework-overhead benchmark: the same experiment as a plain script.

It does what `python -m mlsys.train data=bank_marketing` does, written the way a scientist would
without a framework: pandas + scikit-learn + xgboost, no Hydra, no validation, no artifacts
beyond the model and metrics. Same fractions, same model settings, same calibration.

    python benchmarks/plain_baseline.py path/to/bank-additional-full.csv OUT_DIR
"""

from __future__ import annotations

import json
import sys
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


def main(csv: str, out_dir: str) -> None:
    frame = pd.read_csv(csv, sep=";")
    y = (frame.pop("y") == "yes").to_numpy(dtype=int)
    X = frame.drop(columns=["duration"])
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in categorical]

    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=42
    )
    X_rest, X_cal, y_rest, y_cal = train_test_split(
        X_rest, y_rest, test_size=0.125, stratify=y_rest, random_state=42
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.2143, stratify=y_rest, random_state=42
    )

    prep = ColumnTransformer(
        [
            (
                "num",
                Pipeline(
                    [
                        ("i", SimpleImputer(strategy="median", add_indicator=True)),
                        ("s", StandardScaler()),
                    ]
                ),
                numeric,
            ),
            (
                "cat",
                Pipeline(
                    [
                        ("i", SimpleImputer(strategy="constant", fill_value="__missing__")),
                        (
                            "o",
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
    Xt_train = prep.fit_transform(X_train)
    Xt_val, Xt_cal, Xt_test = (prep.transform(X_val), prep.transform(X_cal), prep.transform(X_test))

    model = XGBClassifier(
        n_estimators=2000,
        learning_rate=0.05,
        max_depth=5,
        subsample=0.8,
        colsample_bytree=0.8,
        early_stopping_rounds=100,
        tree_method="hist",
        eval_metric="logloss",
        random_state=42,
    )
    model.fit(Xt_train, y_train, eval_set=[(Xt_val, y_val)], verbose=False)

    def logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-7, 1 - 1e-7)
        return np.log(p / (1 - p)).reshape(-1, 1)

    platt = LogisticRegression(C=1e6).fit(logit(model.predict_proba(Xt_cal)[:, 1]), y_cal)
    p_val = platt.predict_proba(logit(model.predict_proba(Xt_val)[:, 1]))[:, 1]
    p_test = platt.predict_proba(logit(model.predict_proba(Xt_test)[:, 1]))[:, 1]
    precision, recall, thresholds = precision_recall_curve(y_val, p_val)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    threshold = float(thresholds[int(np.argmax(f1[:-1]))])

    metrics = {
        "roc_auc": roc_auc_score(y_test, p_test),
        "pr_auc": average_precision_score(y_test, p_test),
        "log_loss": log_loss(y_test, p_test),
        "brier": brier_score_loss(y_test, p_test),
        "threshold": threshold,
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump({"prep": prep, "model": model, "platt": platt}, out / "model.joblib", compress=3)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
