"""A real server with drift and a shadow challenger under concurrent load (docs/MONITORING.md)."""

from __future__ import annotations

import json
import math
import os
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlsys import compose_config, train_model
from tests.conftest import NO_TRACKING
from tests.integration.server_process import call, serve

pytestmark = pytest.mark.integration

BATCH = 25


def _train(csv: Path, extra: list[str], run: Path) -> Path:
    quick = ["save_predictions=false", "evaluation.report.enabled=false"]
    train_model(compose_config([f"data.path={csv}", *NO_TRACKING, *extra, *quick]), output_dir=run)
    return run / "model.joblib"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in json.loads(frame.to_json(orient="records"))
    ]


def _metrics(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def _wait_for_rows(url: str, rows: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    """/metrics once the background monitor has caught up with ``rows`` shadowed rows."""
    deadline = time.monotonic() + 30
    while True:
        samples = _metrics(url)
        done = sum(v for _, v in samples.get("mlsys_shadow_rows_total", []))
        if done >= rows or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def test_a_shadow_challenger_and_live_drift_under_concurrent_load(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    champion = _train(small_leads_csv, ["model=logreg"], tmp_path / "champion")
    challenger = _train(
        small_leads_csv, ["model=xgboost", "model.n_estimators=30"], tmp_path / "challenger"
    )
    frame = pd.read_csv(small_leads_csv)
    log = tmp_path / "serve.log"
    overrides = [
        f"model_path={champion}",
        f"challenger_path={challenger}",
        "drift_window=1000",
        f"hydra.run.dir={tmp_path / 'serve'}",
    ]
    with serve(overrides, dict(os.environ), log) as url:
        info = call(f"{url}/model/info")[1]
        columns = list(info["feature_schema"])
        records = _records(frame[columns].head(1_200))
        batches = [records[i : i + BATCH] for i in range(0, len(records), BATCH)]
        singles = records[:64]

        def post(body: Any) -> int:
            path = "/predict/batch" if isinstance(body, list) else "/predict"
            return call(f"{url}{path}", body)[0]

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(post, [*batches, *singles]))
        assert statuses.count(200) == len(statuses), sorted(set(statuses))  # 0 failed

        samples = _wait_for_rows(url, len(records) + len(singles))
        assert samples["mlsys_monitor_dropped_total"] == [({}, 0.0)]
        ((pair, shadowed),) = samples["mlsys_shadow_rows_total"]
        assert shadowed == len(records) + len(singles)
        assert pair == {
            "champion_version": info["version"],
            "challenger_version": info["challenger"]["version"],
        }
        ((_, agreement),) = samples["mlsys_shadow_agreement_rate"]
        ((_, mean_diff),) = samples["mlsys_shadow_mean_abs_diff"]
        assert 0.5 < agreement <= 1.0
        assert 0.0 < mean_diff < 0.5
        roles = {labels["role"] for labels, _ in samples["mlsys_model_score_count"]}
        assert roles == {"champion", "challenger"}
        before = {labels["column"]: v for labels, v in samples["mlsys_feature_psi"]}
        assert set(before) == set(columns)
        assert not any(math.isnan(v) for v in before.values())  # the window holds 1,000 rows
        info = call(f"{url}/model/info")[1]
        assert info["challenger"]["version"].startswith("file:model.joblib@")
        assert info["drift"]["enabled"] is True

        # A feed that starts sending web visits in another unit: its PSI rises past the alert.
        shifted = (
            frame[columns].iloc[1_200:2_400].assign(web_visits_30d=frame["web_visits_30d"] * 3 + 5)
        )
        for i in range(0, len(shifted), 200):
            assert call(f"{url}/predict/batch", _records(shifted.iloc[i : i + 200]))[0] == 200
        samples = _wait_for_rows(url, len(records) + len(singles) + len(shifted))
        after = {labels["column"]: v for labels, v in samples["mlsys_feature_psi"]}
        limits = {labels["column"]: v for labels, v in samples["mlsys_feature_psi_threshold"]}
        assert before["web_visits_30d"] < limits["web_visits_30d"] <= after["web_visits_30d"]

    access = [
        json.loads(line[line.index("{") : line.rindex("}") + 1])
        for line in log.read_text().splitlines()
        if "mlsys.serving.access" in line
    ]
    scored = [x for x in access if x["path"].startswith("/predict")]
    assert scored
    assert {x["shadow_version"] for x in scored} == {info["challenger"]["version"]}
