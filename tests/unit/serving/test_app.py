"""The Litestar app with its test client: every endpoint and every error path."""

from __future__ import annotations

import io
import json
import logging
import math
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
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
    assert "fast_path" not in info  # one scoring path: nothing to report
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


@pytest.mark.parametrize("sign", [1, -1])
def test_validator_bounds_numbers_exactly_as_the_openapi_document(
    client: TestClient[Any], records: list[Any], sign: int
) -> None:
    """An integer just beyond the documented bound is refused, though it rounds to a float."""
    spec = client.get("/schema/openapi.json").json()
    employees = spec["components"]["schemas"]["LeadRecord"]["properties"]["employees"]
    bound = employees["oneOf"][0]["maximum"]
    assert bound == sys.float_info.max
    edge = int(Decimal(repr(bound)))  # the bound as the document's decimal, read exactly
    assert float(edge + 1) == bound  # a float parser could not tell the two apart
    for value, status in ((edge, 200), (edge + 1, 422), (bound, 200)):
        body = json.dumps(dict(records[0], employees=None)).replace(
            '"employees": null', f'"employees": {sign * value!r}'
        )
        response = _post(client, "/predict", body.encode())
        assert response.status_code == status, (value, response.text)


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


def _post(client: TestClient[Any], path: str, body: bytes) -> Any:
    return client.post(path, content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_invalid_utf8_in_a_string_gets_422(
    client: TestClient[Any], records: list[Any], path: str
) -> None:
    record = json.dumps(dict(records[0], industry="PLACEHOLDER")).encode()
    body = record.replace(b"PLACEHOLDER", b"saas\xff\xfe")
    response = _post(client, path, body if path == "/predict" else b"[" + body + b"]")
    assert response.status_code == 422, response.text
    assert "not UTF-8" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"a":' * 1000 + b"1" + b"}" * 1000,
        b'[{"employees":' + b"[" * 100 + b"]" * 100 + b"}]",
    ],
    ids=["arrays", "objects", "inside-a-record"],
)
def test_deeply_nested_json_gets_422(client: TestClient[Any], path: str, body: bytes) -> None:
    from mlsys.serving import MAX_JSON_DEPTH

    response = _post(client, path, body)
    assert response.status_code == 422, response.text
    message = response.json()["errors"][0]["message"]
    assert f"nested more than {MAX_JSON_DEPTH} levels deep" in message


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_a_422_lists_the_first_20_problems_and_counts_them_all(
    client: TestClient[Any], records: list[Any], path: str
) -> None:
    from mlsys.serving import MAX_REPORTED_ERRORS

    many = dict(records[0], **{f"unknown_{i}": 1 for i in range(1_000)})
    many.pop("region")
    body = many if path == "/predict" else [many, many]
    response = client.post(path, json=body)
    assert response.status_code == 422
    answer = response.json()
    per_record = 1_000 + 1  # the unknown keys and the missing region
    total = per_record * (1 if path == "/predict" else 2)
    assert answer["error_count"] == total
    assert len(answer["errors"]) == MAX_REPORTED_ERRORS == 20
    assert answer["detail"] == f"invalid request: {total} problems, the first 20 listed"
    assert answer["errors"][0]["field"] == "unknown_0"
    assert len(response.content) < 5_000


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_a_flood_of_fields_is_refused_with_413_before_it_is_decoded(
    client: TestClient[Any], records: list[Any], path: str
) -> None:
    """500,000 unknown keys: no valid request has that many, and decoding them stalls."""
    flood = dict(records[0], **{f"k{i}": 1 for i in range(500_000)})
    response = client.post(path, json=flood if path == "/predict" else [flood])
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert detail.startswith("body has at least 500015 fields")
    assert "send only the fields in the LeadRecord schema" in detail


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_a_large_body_is_validated_off_the_event_loop(
    bundles: dict[str, Path],
    records: list[Any],
    path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a large invalid body is being validated, /health still answers."""
    from mlsys.serving import RecordValidator

    entered, release = threading.Event(), threading.Event()
    validate = RecordValidator.validate

    def parked(self: RecordValidator, batch: list[Any]) -> list[dict[str, Any]]:
        if "padding" in batch[0]:  # the large body: hold its validation until /health answered
            entered.set()
            release.wait(timeout=20)
        return validate(self, batch)

    monkeypatch.setattr(RecordValidator, "validate", parked)
    large = dict(records[0], padding="x" * 200_000)  # an unknown field, in a 200 KB body
    order: list[tuple[str, int]] = []
    with _client(bundles["logreg"]) as c:

        def post_large() -> None:
            response = c.post(path, json=large if path == "/predict" else [large])
            order.append(("large", response.status_code))

        sender = threading.Thread(target=post_large)
        sender.start()
        assert entered.wait(timeout=60)
        # On the event loop, the parked validation would hold this answer until it times out.
        order.append(("health", c.get("/health").status_code))
        release.set()
        sender.join()
    assert order == [("health", 200), ("large", 422)]


class NanCalibrator:
    """A calibrator gone wrong: every probability is NaN (module level, so it pickles)."""

    def fit(self, scores: Any, y: Any) -> NanCalibrator:
        return self

    def transform(self, scores: Any) -> Any:
        return np.full(len(scores), np.nan)


def _nan_bundle(good: Path, into: Path) -> Path:
    bundle = ModelBundle.load(good)
    bundle.calibrator = NanCalibrator()
    return bundle.save(into)


def test_a_bundle_whose_calibrator_returns_nan_is_never_served(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    with _client(_nan_bundle(bundles["logreg"], tmp_path / "nan.joblib")) as c:
        ready = c.get("/ready")
        assert ready.status_code == 503
        assert "calibrated probabilities are not probabilities" in ready.json()["reason"]
        assert c.post("/predict", json={}).status_code == 503


def test_a_reload_to_a_nan_calibrator_is_rejected_and_the_old_model_serves(
    bundles: dict[str, Path], records: list[Any], tmp_path: Path
) -> None:
    served = tmp_path / "model.joblib"
    ModelBundle.load(bundles["logreg"]).save(served)
    with _client(served, admin_token="t") as c:
        before = c.post("/predict", json=records[0]).json()
        _nan_bundle(bundles["logreg"], served)
        rejected = c.post("/model/reload", headers={"Authorization": "Bearer t"})
        assert rejected.status_code == 409
        assert "calibrated probabilities are not probabilities" in rejected.json()["detail"]
        assert c.post("/predict", json=records[0]).json() == before
        assert c.get("/ready").json() == {"ready": True, "model_version": before["model_version"]}


def test_a_file_bundle_is_versioned_by_its_sha256(
    bundles: dict[str, Path], records: list[Any], tmp_path: Path
) -> None:
    from mlsys.files import file_sha256

    served = tmp_path / "model.joblib"
    ModelBundle.load(bundles["logreg"]).save(served)
    first = file_sha256(served)
    with _client(served, admin_token="t") as c:
        info = c.get("/model/info").json()
        assert info["bundle_sha256"] == first
        assert info["version"] == f"file:model.joblib@{first[:12]}"
        assert c.post("/predict", json=records[0]).json()["model_version"] == info["version"]
        ModelBundle.load(bundles["xgboost"]).save(served)  # another model at the same path
        reloaded = c.post("/model/reload", headers={"Authorization": "Bearer t"}).json()
        second = file_sha256(served)
        assert reloaded["previous_version"] == info["version"]
        assert reloaded["model_version"] == f"file:model.joblib@{second[:12]}" != info["version"]


def test_no_answer_reveals_an_absolute_path(bundles: dict[str, Path], tmp_path: Path) -> None:
    hidden = tmp_path / "secret-dir"
    hidden.mkdir()
    with _client(hidden / "missing.joblib") as c:
        ready = c.get("/ready").json()
        scored = c.post("/predict", json={}).json()
    assert "missing.joblib" in ready["reason"]
    assert "not found" in ready["reason"]
    served = hidden / "model.joblib"
    ModelBundle.load(bundles["logreg"]).save(served)
    with _client(served, admin_token="t") as c:
        info = c.get("/model/info").json()
        served.unlink()
        rejected = c.post("/model/reload", headers={"Authorization": "Bearer t"}).json()
    assert info["source"] == "model.joblib"
    assert "model.joblib" in rejected["detail"]
    assert "not found" in rejected["detail"]
    for answer in (ready, scored, info, rejected):
        assert "secret-dir" not in json.dumps(answer), answer


@pytest.mark.parametrize(
    "query",
    ["version=1&version=2", "version=", "version=abc", "version=-1", "verison=2"],
)
def test_reload_refuses_a_bad_version_query_with_400(client: TestClient[Any], query: str) -> None:
    version = client.get("/model/info").json()["version"]
    response = client.post(f"/model/reload?{query}", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 400, response.text
    assert "version" in response.text
    assert client.get("/model/info").json()["version"] == version
    # The token is checked first: a stranger learns nothing about the query.
    assert client.post(f"/model/reload?{query}").status_code == 401


@pytest.mark.parametrize("token", ["null", "NULL", "none", "~", "", "  "])
def test_an_admin_token_that_spells_null_disables_admin(
    bundles: dict[str, Path], monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    import mlsys.serve  # noqa: F401 - registers the serve_schema that conf/serve.yaml extends
    from mlsys.config import CONFIG_DIR

    monkeypatch.setenv("MLSYS_ADMIN_TOKEN", token)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose(config_name="serve", overrides=[f"model_path={bundles['logreg']}"])
    settings = ServeSettings(**OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    assert settings.admin_token is None
    assert ServeSettings().admin_token is None  # the MLSYS_ADMIN_TOKEN default of the dataclass
    with TestClient(app=create_app(settings)) as c:
        response = c.post("/model/reload", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_the_openapi_document_describes_every_answer(client: TestClient[Any]) -> None:
    spec = client.get("/schema/openapi.json").json()
    paths = spec["paths"]
    error = {"$ref": "#/components/schemas/ErrorBody"}
    for path, statuses in {
        "/predict": ["200", "413", "422", "503"],
        "/predict/batch": ["200", "413", "422", "503"],
        "/model/reload": ["200", "400", "401", "403", "409"],
    }.items():
        responses = paths[path]["post"]["responses"]
        assert sorted(responses) == statuses, path
        for status in statuses[1:]:
            assert responses[status]["content"]["application/json"]["schema"] == error
    batch = paths["/predict/batch"]["post"]["requestBody"]["content"]["application/json"]
    listed, wrapped = batch["schema"]["oneOf"]
    assert listed["minItems"] == 1
    assert listed["maxItems"] == 100
    assert wrapped["required"] == ["records"]
    assert wrapped["properties"]["records"] == listed
    assert paths["/model/reload"]["post"]["security"] == [{"admin_token": []}]
    assert spec["components"]["securitySchemes"]["admin_token"]["scheme"] == "bearer"
    assert set(spec["components"]["schemas"]["ErrorBody"]["required"]) == {
        "status_code",
        "detail",
    }
