"""The Litestar app with its test client: every endpoint and every error path."""

from __future__ import annotations

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

from mlsys import compose_config, train_model
from mlsys.errors import ModelError
from mlsys.models import ModelBundle
from mlsys.serving import LoadedModel, PathSource, ServeSettings, create_app
from tests.conftest import NO_TRACKING

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, small_leads_csv: Path) -> dict[str, Path]:
    """Two tabular bundles (logreg, xgboost) and one native one (hist_gb)."""
    out = {}
    for name, extra in {
        "logreg": ["model=logreg"],
        "xgboost": ["model=xgboost", "model.n_estimators=60"],
        "native": ["model=hist_gb", "model.max_iter=40"],
    }.items():
        run = tmp_path_factory.mktemp(name)
        train_model(
            compose_config([f"data.path={small_leads_csv}", *NO_TRACKING, *extra]), output_dir=run
        )
        out[name] = run / "model.joblib"
    return out


@pytest.fixture(scope="module")
def records(small_leads_csv: Path, bundles: dict[str, Path]) -> list[dict[str, Any]]:
    columns = list(ModelBundle.load(bundles["logreg"]).schema.columns)
    frame = pd.read_csv(small_leads_csv).head(50)[columns]
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in json.loads(frame.to_json(orient="records"))
    ]


def _client(path: Path, **settings: Any) -> TestClient[Any]:
    return TestClient(app=create_app(ServeSettings(model_path=str(path), **settings)))


@pytest.fixture
def client(bundles: dict[str, Path]) -> Iterator[TestClient[Any]]:
    with _client(bundles["logreg"], admin_token="s3cret", max_batch=100) as c:
        yield c


@pytest.mark.parametrize("kind", ["logreg", "xgboost", "native"])
def test_predictions_equal_the_bundle(
    kind: str, bundles: dict[str, Path], records: list[dict[str, Any]], small_leads_csv: Path
) -> None:
    bundle = ModelBundle.load(bundles[kind])
    expected = bundle.predict_proba(pd.read_csv(small_leads_csv).head(50))
    with _client(bundles[kind]) as c:
        single = c.post("/predict", json=records[0])
        batch = c.post("/predict/batch", json=records)
        info = c.get("/model/info").json()
    assert single.status_code == 200, single.text
    assert single.json()["probability"] == pytest.approx(expected[0], rel=1e-9)
    assert single.json()["decision"] == bool(expected[0] >= bundle.threshold)
    got = [p["probability"] for p in batch.json()["predictions"]]
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert info["fast_path"] is (kind != "native")
    assert batch.json()["model_version"] == info["version"]


def test_health_ready_info_metrics_schema(client: TestClient[Any], records: list[Any]) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    info = client.get("/model/info").json()
    for key in (
        "name",
        "version",
        "run_id",
        "metrics",
        "training_data_sha256",
        "feature_schema",
        "threshold",
    ):
        assert key in info
    client.post("/predict", json=records[0])
    metrics = client.get("/metrics").text
    assert 'mlsys_requests_total{route="/predict",status="200"}' in metrics
    # Metrics are labelled by route template; scanned URLs never mint series of their own.
    assert client.get("/wp-admin/setup.php").status_code == 404
    assert "wp-admin" not in client.get("/metrics").text
    assert "mlsys_request_seconds_bucket" in metrics
    assert "mlsys_batch_size_bucket" in metrics
    assert "mlsys_model_info{" in metrics
    spec = client.get("/schema/openapi.json").json()
    record = spec["components"]["schemas"]["LeadRecord"]
    assert set(record["required"]) == set(info["feature_schema"])
    assert spec["paths"]["/predict"]["post"]["requestBody"]["required"] is True
    assert client.get("/schema/swagger").status_code == 200
    assert client.get("/models").json()["versions"] == []


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (lambda r: r.update(extra=1), "extra", "unknown field"),
        (lambda r: r.pop("region"), "region", "missing required field"),
        (lambda r: r.update(employees="many"), "employees", "expected a number"),
        (lambda r: r.update(industry=3), "industry", "expected a string"),
        (lambda r: r.update(requested_demo="yes"), "requested_demo", "expected true, false"),
        (lambda r: r.update(web_visits_30d=True), "web_visits_30d", "expected a number"),
    ],
)
def test_bad_fields_get_422_naming_each_field(
    client: TestClient[Any], records: list[Any], mutate: Any, field: str, fragment: str
) -> None:
    record = dict(records[0])
    mutate(record)
    response = client.post("/predict", json=record)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert any(e["field"] == field and fragment in e["message"] for e in errors), errors


def test_every_bad_field_of_every_record_is_reported(
    client: TestClient[Any], records: list[Any]
) -> None:
    bad = [dict(records[0], employees="x"), records[1], dict(records[2], region=None, foo=1)]
    response = client.post("/predict/batch", json=bad)
    assert response.status_code == 422
    found = {(e["record"], e["field"]) for e in response.json()["errors"]}
    assert found == {(0, "employees"), (2, "foo")}


def test_non_finite_numbers_and_malformed_json_are_rejected(
    client: TestClient[Any], records: list[Any]
) -> None:
    body = json.dumps(dict(records[0], employees=1.0)).replace("1.0", "1e999")
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "out of range" in response.text
    huge = json.dumps(dict(records[0], employees=1)).replace(
        '"employees": 1', '"employees": ' + "9" * 400
    )
    response = client.post("/predict", content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    nan = json.dumps(dict(records[0], employees=1.0)).replace("1.0", "NaN")
    response = client.post("/predict", content=nan, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert client.post("/predict", content=b"{nope").status_code == 422
    assert client.post("/predict", json=[1, 2]).status_code == 422
    assert client.post("/predict/batch", json={"records": []}).status_code == 422


def test_unseen_categories_are_scored(client: TestClient[Any], records: list[Any]) -> None:
    response = client.post("/predict", json=dict(records[0], industry="quantum-farming"))
    assert response.status_code == 200
    assert 0.0 <= response.json()["probability"] <= 1.0


def test_limits_give_413(bundles: dict[str, Path], records: list[Any]) -> None:
    with _client(bundles["logreg"], max_batch=10, max_body_bytes=20_000) as c:
        assert c.post("/predict/batch", json=records[:11]).status_code == 413
        big = c.post("/predict/batch", json=records * 20)
        assert big.status_code == 413


def test_admin_reload_needs_a_token(client: TestClient[Any], bundles: dict[str, Path]) -> None:
    assert client.post("/model/reload").status_code == 401
    bad = client.post("/model/reload", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    ok = client.post("/model/reload", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert ok.json()["reloaded"] is True
    with _client(bundles["logreg"]) as open_client:  # no token configured: disabled, not open
        assert open_client.post("/model/reload").status_code == 403


def test_no_model_yet_starts_unready_and_answers_503(tmp_path: Path) -> None:
    with _client(tmp_path / "missing.joblib") as c:
        assert c.get("/health").status_code == 200
        ready = c.get("/ready")
        assert ready.status_code == 503
        assert "not found" in ready.json()["reason"]
        response = c.post("/predict", json={})
        assert response.status_code == 503
        assert "no model is being served" in response.json()["detail"]


class _FlakySource:
    """Serves bundle A, then on reload fails (broken file) or serves bundle B."""

    def __init__(self, first: Path, second: Path) -> None:
        self.paths = [first, second]
        self.mode = "first"

    def load(self, version: str | None = None) -> LoadedModel:
        if self.mode == "broken":
            raise ModelError("model failed its probe prediction: broken on purpose")
        path = self.paths[0] if self.mode == "first" else self.paths[1]
        return PathSource(path).load()

    def current_version(self) -> str | None:
        return None


def test_a_failed_reload_keeps_the_old_model(bundles: dict[str, Path], records: list[Any]) -> None:
    source = _FlakySource(bundles["logreg"], bundles["xgboost"])
    app = create_app(ServeSettings(admin_token="t"), source=source)
    with TestClient(app=app) as c:
        before = c.post("/predict", json=records[0]).json()["probability"]
        source.mode = "broken"
        rejected = c.post("/model/reload", headers={"Authorization": "Bearer t"})
        assert rejected.status_code == 409
        assert "still serving" in rejected.json()["detail"]
        assert c.post("/predict", json=records[0]).json()["probability"] == before


def test_reload_under_concurrent_load_fails_no_request(
    bundles: dict[str, Path], records: list[Any]
) -> None:
    source = _FlakySource(bundles["logreg"], bundles["xgboost"])
    app = create_app(ServeSettings(admin_token="t"), source=source)
    statuses: list[int] = []
    stop = threading.Event()
    with TestClient(app=app) as c:

        def hammer() -> None:
            while not stop.is_set():
                statuses.append(c.post("/predict/batch", json=records[:20]).status_code)

        workers = [threading.Thread(target=hammer) for _ in range(4)]
        for w in workers:
            w.start()
        for mode in ("second", "first", "second"):
            source.mode = mode
            assert c.post("/model/reload", headers={"Authorization": "Bearer t"}).status_code == 200
        stop.set()
        for w in workers:
            w.join()
    assert len(statuses) > 20
    assert set(statuses) == {200}


def test_validator_rejects_non_finite_numbers(bundles: dict[str, Path]) -> None:
    from mlsys.serving import RecordValidator

    validator = RecordValidator(ModelBundle.load(bundles["logreg"]).schema)
    record = dict.fromkeys(validator.columns)
    record["employees"] = float("inf")
    errors = validator.errors(record, 0)
    assert [(e.field, e.message) for e in errors] == [
        ("employees", "not a finite number; send a number, or null if unknown")
    ]


def test_no_request_gets_a_5xx(client: TestClient[Any], records: list[Any]) -> None:
    """Property test: arbitrary JSON bodies, and records with arbitrary field values."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    values = st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=5,
    )
    fields = st.sampled_from([*records[0].keys(), "bogus"])
    mutated = st.dictionaries(fields, values, max_size=6).map(lambda m: {**records[0], **m})

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        body=values | mutated | st.lists(mutated, max_size=4),
        path=st.sampled_from(["/predict", "/predict/batch"]),
    )
    def check(body: Any, path: str) -> None:
        response = client.post(
            path,
            content=json.dumps(body, allow_nan=True),
            headers={"content-type": "application/json"},
        )
        assert response.status_code < 500, (path, body, response.text)

    check()


def test_access_log_lines_name_the_served_model(
    bundles: dict[str, Path], records: list[Any]
) -> None:
    from mlsys.logs import ConsoleHandler

    stream = io.StringIO()
    handler = ConsoleHandler(stream, fmt="json")
    serving = logging.getLogger("mlsys.serving")
    serving.addHandler(handler)
    level = serving.level
    serving.setLevel(logging.INFO)  # the app follows the process's logging setup
    try:
        with _client(bundles["logreg"]) as c:
            version = c.get("/model/info").json()["version"]
            assert c.post("/predict", json=records[0]).status_code == 200
            assert c.post("/predict", json={"nope": 1}).status_code == 422
    finally:
        serving.removeHandler(handler)
        serving.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [x for x in lines if x["logger"] == "mlsys.serving.access"]
    assert [(x["method"], x["path"], x["status"]) for x in access] == [
        ("GET", "/model/info", 200),
        ("POST", "/predict", 200),
        ("POST", "/predict", 422),
    ]
    assert all(x["model_version"] == version and x["latency_ms"] >= 0 for x in access)
    assert all(x["model_version"] == version for x in lines)  # "Serving ..." line included
