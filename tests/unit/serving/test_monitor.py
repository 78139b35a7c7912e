"""The live drift window and the shadow challenger, fed off the response path."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import io
import json
import logging
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from mlsys import compose_config, train_model
from mlsys.data import FeatureSchema
from mlsys.errors import ConfigError, ModelError
from mlsys.models import ModelBundle
from mlsys.serving import LoadedModel, PathSource, ServeSettings, create_app
from mlsys.serving._monitor import Monitor
from mlsys.serving._shadow import ShadowStats, check_compatible
from tests.conftest import NO_TRACKING

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, small_leads_csv: Path) -> dict[str, Path]:
    """A champion (logreg) and a challenger (a small xgboost) on the same leads."""
    out = {}
    for name, extra in {
        "champion": ["model=logreg"],
        "challenger": ["model=xgboost", "model.n_estimators=30"],
    }.items():
        run = tmp_path_factory.mktemp(name)
        quick = ["save_predictions=false", "evaluation.report.enabled=false"]
        overrides = [f"data.path={small_leads_csv}", *NO_TRACKING, *extra, *quick]
        train_model(compose_config(overrides), output_dir=run)
        out[name] = run / "model.joblib"
    return out


@pytest.fixture(scope="module")
def frame(small_leads_csv: Path, bundles: dict[str, Path]) -> pd.DataFrame:
    columns = list(ModelBundle.load(bundles["champion"]).schema.columns)
    return pd.read_csv(small_leads_csv)[columns]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in json.loads(frame.to_json(orient="records"))
    ]


@pytest.fixture(scope="module")
def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return _records(frame.head(1_200))


def _client(bundles: dict[str, Path], **settings: Any) -> TestClient[Any]:
    settings = {"model_path": str(bundles["champion"]), **settings}
    return TestClient(app=create_app(ServeSettings(**settings)))


def _monitor(client: TestClient[Any]) -> Monitor:
    monitor: Monitor = client.app.state.runtime.monitor
    return monitor


def _samples(client: TestClient[Any]) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


@pytest.fixture
def shadowed(bundles: dict[str, Path]) -> Iterator[TestClient[Any]]:
    with _client(bundles, challenger_path=str(bundles["challenger"])) as client:
        yield client


def test_the_client_gets_the_champions_answer_and_the_shadow_is_tallied(
    shadowed: TestClient[Any], bundles: dict[str, Path], frame: pd.DataFrame, records: list[Any]
) -> None:
    champion = ModelBundle.load(bundles["champion"])
    challenger = ModelBundle.load(bundles["challenger"])
    batch = shadowed.post("/predict/batch", json=records[:200])
    one = shadowed.post("/predict", json=records[200])
    assert batch.status_code == one.status_code == 200
    got = [p["probability"] for p in batch.json()["predictions"]] + [one.json()["probability"]]
    expected = champion.predict_proba(frame.head(201))
    np.testing.assert_allclose(got, expected, rtol=1e-9)  # the champion answers

    _monitor(shadowed).flush()
    info = shadowed.get("/model/info").json()
    assert info["challenger"]["version"].startswith("file:model.joblib@")
    assert info["challenger"]["version"] != info["version"]
    assert info["challenger"]["source"] == "model.joblib"  # no directories
    shadow = challenger.predict_proba(frame.head(201))
    agree = np.mean((expected >= champion.threshold) == (shadow >= challenger.threshold))
    diff = np.mean(np.abs(expected - shadow))
    pair = {
        "champion_version": info["version"],
        "challenger_version": info["challenger"]["version"],
    }
    samples = _samples(shadowed)
    assert samples["mlsys_shadow_rows_total"] == [(pair, 201)]
    assert samples["mlsys_shadow_agreement_rate"][0][1] == pytest.approx(agree)
    assert samples["mlsys_shadow_mean_abs_diff"][0][1] == pytest.approx(diff)
    (figures,) = info["shadow"]["figures"].values()
    assert figures["agreement_rate"] == pytest.approx(agree)
    counts = {labels["role"]: value for labels, value in samples["mlsys_model_score_count"]}
    assert counts == {"champion": 201, "challenger": 201}


def test_a_challenger_that_fails_never_fails_the_request(
    shadowed: TestClient[Any], records: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    challenger = _monitor(shadowed).challenger
    assert challenger is not None

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("challenger exploded")

    monkeypatch.setattr(challenger.bundle, "score", broken)
    assert shadowed.post("/predict", json=records[0]).status_code == 200
    _monitor(shadowed).flush()
    assert _samples(shadowed)["mlsys_monitor_failures_total"] == [({}, 1.0)]


def test_a_full_queue_drops_and_counts_instead_of_waiting(
    bundles: dict[str, Path], frame: pd.DataFrame
) -> None:
    registry = CollectorRegistry()
    monitor = Monitor(ServeSettings(monitor_queue=1), registry)
    model = PathSource(bundles["champion"]).load()
    monitor.champion_changed(model)
    busy, release = threading.Event(), threading.Event()
    real = monitor._monitor

    def slow(task: Any) -> None:
        busy.set()
        release.wait(10)
        real(task)

    monitor._monitor = slow  # type: ignore[method-assign]
    monitor.start()
    columns = {str(c): frame[c].to_numpy() for c in frame}  # not the typed columns: never binned
    scores = np.full(len(frame), 0.1)
    monitor.offer(model, columns, scores)
    assert busy.wait(10)  # the thread holds the first request
    monitor.offer(model, columns, scores)  # queued
    monitor.offer(model, columns, scores)  # dropped, not waited for
    assert registry.get_sample_value("mlsys_monitor_dropped_total") == 1
    release.set()
    monitor.close()


def test_the_drift_window_exports_psi_and_a_shift_raises_it(
    bundles: dict[str, Path], frame: pd.DataFrame, records: list[Any]
) -> None:
    def psi(batch: list[Any]) -> dict[str, float]:
        with _client(bundles, drift_window=1_000) as client:
            assert client.post("/predict/batch", json=batch).status_code == 200
            _monitor(client).flush()
            info = client.get("/model/info").json()
            assert info["drift"] == {"enabled": True, "window": 1_000, "rows": len(batch)}
            samples = _samples(client)
        assert samples["mlsys_drift_window_rows"] == [({}, len(batch))]
        assert not math.isnan(samples["mlsys_score_psi"][0][1])
        return {labels["column"]: v for labels, v in samples["mlsys_feature_psi"]}

    shifted = _records(frame.head(1_200).assign(web_visits_30d=frame["web_visits_30d"] * 3 + 5))
    before, after = psi(records), psi(shifted)
    assert before["web_visits_30d"] < 0.1
    assert after["web_visits_30d"] > 1.0
    assert after["employees"] == pytest.approx(before["employees"])


def test_drift_off_or_no_profile_exports_no_psi(
    bundles: dict[str, Path], records: list[Any]
) -> None:
    with _client(bundles, drift=False) as client:
        client.post("/predict", json=records[0])
        assert client.get("/model/info").json()["drift"]["enabled"] is False
        assert "mlsys_feature_psi" not in _samples(client)


def test_the_access_log_names_the_shadow_version(
    shadowed: TestClient[Any], records: list[Any]
) -> None:
    from mlsys.logs import ConsoleHandler

    stream = io.StringIO()
    handler = ConsoleHandler(stream, fmt="json")
    serving = logging.getLogger("mlsys.serving")
    serving.addHandler(handler)
    level = serving.level
    serving.setLevel(logging.DEBUG)
    try:
        assert shadowed.post("/predict", json=records[0]).status_code == 200
        _monitor(shadowed).flush()
    finally:
        serving.removeHandler(handler)
        serving.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    challenger = _monitor(shadowed).challenger_version
    (access,) = [x for x in lines if x["logger"] == "mlsys.serving.access"]
    assert access["shadow_version"] == challenger
    (shadow,) = [x for x in lines if x["logger"] == "mlsys.serving.shadow"]
    assert shadow["shadow_version"] == challenger
    assert shadow["rows"] == 1


class _MovingAlias:
    """A registry stand-in: the alias points at one of two bundle files."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files
        self.target: str | None = "1"

    def current_version(self) -> str | None:
        return self.target

    def load(self, version: str | None = None) -> LoadedModel:
        return PathSource(self.files[version or self.target or ""]).load()


def test_the_challenger_follows_its_alias(bundles: dict[str, Path]) -> None:
    source = _MovingAlias({"1": bundles["challenger"], "2": bundles["champion"]})
    settings = ServeSettings(challenger_alias="challenger", poll_interval_s=0.01)
    monitor = Monitor(settings, CollectorRegistry(), source=source)
    monitor.champion_changed(PathSource(bundles["champion"]).load())
    first = monitor.load_challenger()
    assert first is not None

    async def follow() -> None:
        poller = asyncio.create_task(monitor.poll())
        try:
            source.target = "2"
            while monitor.challenger_version == first.version:
                await asyncio.sleep(0.01)
            source.target = None
            while monitor.challenger is not None:
                await asyncio.sleep(0.01)
        finally:
            poller.cancel()

    asyncio.run(asyncio.wait_for(follow(), timeout=30))
    assert "alias 'challenger' was removed" in monitor.challenger_problem


def test_a_challenger_needing_other_columns_is_refused(bundles: dict[str, Path]) -> None:
    champion = PathSource(bundles["champion"]).load()
    challenger = PathSource(bundles["challenger"]).load()
    check_compatible(champion, challenger)
    other = copy.copy(challenger.bundle)
    schema = other.schema
    other.schema = FeatureSchema(("visits_90d", *schema.columns[1:]), schema.kinds)
    with pytest.raises(ModelError, match=r"cannot shadow .*needs column.*visits_90d \("):
        check_compatible(champion, dataclasses.replace(challenger, bundle=other))


def test_monitor_settings_are_range_checked() -> None:
    with pytest.raises(ConfigError, match=r"drift_window: got 10 .*\[1000, 1000000\]"):
        ServeSettings(drift_window=10)
    with pytest.raises(ConfigError, match="monitor_queue"):
        ServeSettings(monitor_queue=0)
    with pytest.raises(ConfigError, match="at most one challenger"):
        ServeSettings(challenger_alias="challenger", challenger_version="3")


def test_shadow_stats_reset_forgets_every_series() -> None:
    stats = ShadowStats()
    stats.observe("champion", "1", np.array([0.1, 0.9]))
    stats.reset()
    assert stats.figures() == {}


def test_monitor_settings_come_from_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLSYS_SERVE_DRIFT", "false")
    monkeypatch.setenv("MLSYS_SERVE_DRIFT_WINDOW", "20000")
    monkeypatch.setenv("MLSYS_SERVE_CHALLENGER_ALIAS", "challenger")
    settings = ServeSettings.from_env()
    assert (settings.drift, settings.drift_window) == (False, 20_000)
    assert settings.challenger == "challenger"
