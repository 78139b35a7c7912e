"""The Litestar app that serves the champion.

``create_app(settings)`` builds the app; a lifespan hook loads the model into ``app.state``.
Handlers take the current ``LoadedModel`` reference once per request, so a reload (an atomic
reference swap) never changes the model under a request in flight.

No input makes it answer 5xx: a body is decoded with a bound on its nesting depth, bodies that
are not small are decoded and validated in a worker thread (the event loop keeps answering
``/health``), a 422 lists at most the first 20 problems, and error bodies and ``/ready`` name
files, never their absolute paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
import numpy as np
from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components
from litestar.params import QueryParameter, RawBody
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from mlsys.errors import MlsysError
from mlsys.logs import log_context, set_process_context
from mlsys.serving._model import LoadedModel, ModelSource, PathSource, RegistrySource
from mlsys.serving._monitor import Monitor
from mlsys.serving._openapi import (
    ADMIN_SECURITY,
    BatchPrediction,
    ErrorBody,
    FieldProblem,
    Prediction,
    Readiness,
    ReloadResult,
    admin_security,
    document_model,
    errors,
)
from mlsys.serving._settings import ServeSettings
from mlsys.serving._validation import FieldError, RecordValidator, ValidationFailed

__all__ = ["MAX_JSON_DEPTH", "create_app"]

log = logging.getLogger("mlsys.serving")
access_log = logging.getLogger("mlsys.serving.access")

#: Deepest JSON accepted: a batch wraps records in a list in an object; a record is flat.
MAX_JSON_DEPTH = 8
#: Bodies up to this size (a record is about 0.5 KB) are decoded and validated on the event
#: loop; larger ones in a worker thread, where they cannot hold up /health and other requests.
INLINE_BODY_BYTES = 64 * 1024


@dataclass
class _Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    batch_size: Histogram
    model_version: Gauge

    @classmethod
    def create(cls) -> _Metrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            requests=Counter(
                "mlsys_requests_total",
                "Requests by route and status",
                ["route", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "mlsys_request_seconds",
                "Request latency",
                ["route"],
                registry=registry,
                buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            ),
            batch_size=Histogram(
                "mlsys_batch_size",
                "Records per scoring request",
                registry=registry,
                buckets=(1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000),
            ),
            model_version=Gauge(
                "mlsys_model_info",
                "The served model (value 1)",
                ["name", "version"],
                registry=registry,
            ),
        )


class _Runtime:
    """Mutable serving state: the current model (swapped atomically) and how to reload it."""

    def __init__(self, settings: ServeSettings, source: ModelSource) -> None:
        self.settings = settings
        self.source = source
        # The model and its validator in one reference, so one read gets a matching pair.
        self.serving: tuple[LoadedModel, RecordValidator] | None = None
        self.not_ready_reason = "model not loaded yet"
        self.reload_lock = asyncio.Lock()
        self.metrics = _Metrics.create()
        self.monitor = Monitor(settings, self.metrics.registry)

    @property
    def model(self) -> LoadedModel | None:
        """The served model, if any."""
        serving = self.serving
        return serving[0] if serving else None

    def swap(self, model: LoadedModel) -> None:
        self.serving = (model, RecordValidator(model.bundle.schema))
        self.not_ready_reason = ""
        self.monitor.champion_changed(model)
        self.metrics.model_version.clear()
        self.metrics.model_version.labels(model.name, model.version).set(1)
        # Every log line of the process names the served model from now on.
        set_process_context(model_name=model.name, model_version=model.version)
        log.info("Serving %s version %s from %s", model.name, model.version, model.source)

    def current(self) -> tuple[LoadedModel, RecordValidator]:
        serving = self.serving
        if serving is None:
            raise HTTPException(
                status_code=503,
                detail=f"no model is being served: {self.not_ready_reason}",
            )
        return serving

    async def reload(self, version: str | None = None) -> LoadedModel:
        async with self.reload_lock:
            model = await asyncio.to_thread(self.source.load, version)
            self.swap(model)
            return model


def _source(settings: ServeSettings) -> ModelSource:
    if settings.model_path:
        return PathSource(settings.model_path, name=settings.model_name)
    return RegistrySource(
        settings.model_name, alias=settings.model_alias, uri=settings.tracking_uri
    )


def _runtime(request: ASGIConnection[Any, Any, Any, State]) -> _Runtime:
    runtime: _Runtime = request.app.state.runtime
    return runtime


# The directories of absolute paths (`/srv/models/`, `file:///srv/`, `sqlite:////srv/`).
_DIRECTORIES = re.compile(r"""(?<![^\s'"(=\[])/(?:[^\s'"/]+/)+|(?<=:)//+(?:[^\s'"/]*/)+""")


def _public(message: str) -> str:
    """``message`` without the directories of the paths it names (a file name stays)."""
    return _DIRECTORIES.sub("", message)


def _json_value(depth: int) -> Any:
    """The type of a JSON value nested at most ``depth`` levels, for msgspec to decode."""
    kind: Any = str | int | float | bool | None
    for _ in range(depth):
        kind = str | int | float | bool | None | list[kind] | dict[str, kind]
    return kind


# msgspec recurses once per level; without a bound, 1,000 nested `[` raise RecursionError.
_DECODER = msgspec.json.Decoder(_json_value(MAX_JSON_DEPTH))


def _decode(body: bytes) -> Any:
    try:
        return _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        # Every kind of JSON value is allowed above the bound, so "Expected ..." means too deep.
        text = str(exc)
        message = f"body is not valid JSON: {text}"
        if text.startswith("Expected"):
            where = text.rpartition(" - at ")[2]
            message = (
                f"body is nested more than {MAX_JSON_DEPTH} levels deep (at {where}); "
                "a record is an object of field values"
            )
    except msgspec.DecodeError as exc:
        message = f"body is not valid JSON: {exc}"
    except UnicodeDecodeError as exc:
        message = (
            f"body is not valid JSON: a string holds bytes that are not UTF-8 ({exc.reason}). "
            "Fix: send the body encoded as UTF-8"
        )
    raise ValidationFailed([FieldError(None, "$", message)])


Columns = dict[str, np.ndarray[Any, Any]]


def _predictions(runtime: _Runtime, model: LoadedModel, columns: Columns) -> list[Prediction]:
    probabilities = model.bundle.score(columns)
    runtime.monitor.offer(model, columns, probabilities)  # drift and shadow: off this path
    decisions = (probabilities >= model.bundle.threshold).tolist()
    version = model.version
    return [
        Prediction(probability=p, decision=d, model_version=version)
        for p, d in zip(probabilities.tolist(), decisions, strict=True)
    ]


def _fields_at_least(body: bytes) -> int:
    """A lower bound of the number of object keys in a JSON body, counted without decoding."""
    # A key ends with `":`. Inside a string those two bytes occur only as `\":` (an escaped
    # quote), so leaving out every `\":` may miss a key but never counts a non-key.
    return body.count(b'":') - body.count(b'\\":')


def _check_fields(body: bytes, validator: RecordValidator, records: int) -> None:
    """413 for a body with more keys than ``records`` records could carry, before decoding it.

    Decoding holds the GIL, worker thread or not: half a million keys stall every request for
    most of a second. A valid body has one key per field; twice that (plus 1,000) leaves room
    for unknown fields, which are then reported one by one.
    """
    limit = records * 2 * len(validator.columns) + 1_000
    found = _fields_at_least(body)
    if found > limit:
        raise HTTPException(
            status_code=413,
            detail=(
                f"body has at least {found} fields, more than {records} record(s) of this "
                f"model's {len(validator.columns)} fields can carry (limit {limit}). Fix: send "
                "only the fields in the LeadRecord schema (GET /model/info lists them)"
            ),
        )


def _refused_records(runtime: _Runtime, validator: RecordValidator, body: bytes) -> list[Any]:
    """A batch body the typed decoder refused, decoded generically: 413 or 422, every problem.

    Returns the records only if they are valid after all (the typed decoder refuses a little
    more than the rules, at the edges: an envelope with other keys, the largest float).
    """
    _check_fields(body, validator, runtime.settings.max_batch)
    payload = _decode(body)
    records = payload.get("records") if isinstance(payload, dict) else payload
    if not isinstance(records, list) or not records:
        raise ValidationFailed(
            [FieldError(None, "records", "expected a non-empty list of records")]
        )
    _check_batch_size(runtime, len(records))
    return validator.validate(records)


def _check_batch_size(runtime: _Runtime, n: int) -> None:
    if n > runtime.settings.max_batch:
        raise HTTPException(
            status_code=413,
            detail=f"batch of {n} records exceeds serve.max_batch={runtime.settings.max_batch}",
        )


def _predict_one(runtime: _Runtime, body: bytes) -> Prediction:
    model, validator = runtime.current()
    columns = validator.decode_columns(body, batch=False)
    if columns is None:  # refused: say why (every problem), or score it if the rules accept it
        _check_fields(body, validator, 1)
        columns = validator.columns_of(validator.validate([_decode(body)]))
    runtime.metrics.batch_size.observe(1)
    return _predictions(runtime, model, columns)[0]


def _predict_batch(runtime: _Runtime, body: bytes) -> BatchPrediction:
    model, validator = runtime.current()
    columns = validator.decode_columns(body, batch=True)
    if columns is None:
        columns = validator.columns_of(_refused_records(runtime, validator, body))
    n = len(next(iter(columns.values())))
    _check_batch_size(runtime, n)
    runtime.metrics.batch_size.observe(n)
    return BatchPrediction(
        predictions=_predictions(runtime, model, columns), model_version=model.version
    )


@post(
    "/predict",
    summary="Score one lead",
    status_code=200,
    responses=errors(413, 422, 503),
)
async def predict(request: Request[Any, Any, State], body: RawBody) -> Prediction:
    """Calibrated conversion probability, decision at the model's threshold, model version."""
    runtime = _runtime(request)
    if len(body) > INLINE_BODY_BYTES:
        return await sync_to_thread(_predict_one, runtime, body)
    return _predict_one(runtime, body)


# Always in a worker thread: a 10,000-row batch must not stall /health and single records.
@post(
    "/predict/batch",
    summary="Score a batch of leads",
    status_code=200,
    responses=errors(413, 422, 503),
)
async def predict_batch(request: Request[Any, Any, State], body: RawBody) -> BatchPrediction:
    """Scores for a JSON list of records (or ``{"records": [...]}``), in request order."""
    return await sync_to_thread(_predict_batch, _runtime(request), body)


@get("/health", summary="Liveness", sync_to_thread=False)
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get(
    "/ready",
    summary="Readiness",
    sync_to_thread=False,
    responses={
        503: ResponseSpec(
            data_container=Readiness,
            generate_examples=False,
            description="Not ready: no model, or it failed to load or its probe (the reason).",
        )
    },
)
def ready(request: Request[Any, Any, State]) -> Response[Readiness]:
    """Ready when a model is loaded and its probe predictions are probabilities."""
    runtime = _runtime(request)
    model = runtime.model
    if model is None:
        reason = _public(runtime.not_ready_reason)
        return Response(Readiness(ready=False, reason=reason), status_code=503)
    return Response(Readiness(ready=True, model_version=model.version))


@get(
    "/model/info",
    summary="The served model",
    sync_to_thread=False,
    responses=errors(503),
)
def model_info(request: Request[Any, Any, State]) -> dict[str, Any]:
    """Name, version, alias, run id, bundle sha256, metrics, schema, threshold; the challenger."""
    runtime = _runtime(request)
    model, _ = runtime.current()
    info = model.info() | runtime.monitor.info()
    info["source"] = _public(info["source"])  # a file's name, not where it lives
    if info["challenger"] is not None:
        info["challenger"]["source"] = _public(info["challenger"]["source"])
    if info["shadow"]["problem"]:
        info["shadow"]["problem"] = _public(info["shadow"]["problem"])
    if info["shadow"]["configured"]:
        info["shadow"]["configured"] = _public(info["shadow"]["configured"])
    return info


@get("/models", summary="Registered versions")
async def models(request: Request[Any, Any, State]) -> dict[str, Any]:
    """Versions of the registered model with aliases and metrics (registry serving only)."""
    source = _runtime(request).source
    if not isinstance(source, RegistrySource):
        return {"name": getattr(source, "name", None), "versions": [], "note": "serving a file"}
    versions = await asyncio.to_thread(source.registry.versions)
    return {
        "name": source.name,
        "versions": [
            {
                "version": v.version,
                "aliases": list(v.aliases),
                "run_id": v.run_id,
                "metrics": {
                    k.removeprefix("metric."): float(x)
                    for k, x in v.tags.items()
                    if k.startswith("metric.")
                },
            }
            for v in versions
        ],
    }


def _admin(connection: ASGIConnection[Any, Any, Any, State], _: BaseRouteHandler) -> None:
    """Guard: a bearer token equal to the configured one (checked before the request is read)."""
    token = _runtime(connection).settings.admin_token
    if not token:
        raise PermissionDeniedException(
            detail="admin endpoints are disabled: set MLSYS_ADMIN_TOKEN (or serve.admin_token)",
        )
    given = connection.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise NotAuthorizedException(
            detail="missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


_VERSION = r"^[1-9][0-9]{0,17}$"


@post(
    "/model/reload",
    summary="Reload the model (admin)",
    status_code=200,
    guards=[_admin],
    security=[{ADMIN_SECURITY: []}],
    responses=errors(400, 401, 403, 409),
)
async def reload_model(
    request: Request[Any, Any, State],
    version: Annotated[
        str | None,
        QueryParameter(
            pattern=_VERSION,
            description="A registered version number; omitted: what the alias points at now.",
        ),
    ] = None,
) -> ReloadResult:
    """Load what the alias points at now, or ``?version=N``; on failure the old model stays."""
    unknown = sorted(set(request.query_params) - {"version"})
    if unknown:  # `?verison=3` must not reload whatever the alias points at
        raise ValidationException(
            detail=f"unknown query parameter(s) {unknown}; the only one is version"
        )
    given = request.query_params.getall("version", [])
    if len(given) > 1:
        raise ValidationException(
            detail=f"version is given {len(given)} times; give one (?version=N) or none"
        )
    runtime = _runtime(request)
    previous = runtime.model.version if runtime.model else None
    try:
        model = await runtime.reload(version)
    except (MlsysError, OSError) as exc:
        log.warning("Reload rejected, still serving %s: %s", previous, exc)
        raise HTTPException(
            status_code=409,
            detail=f"reload rejected, still serving {previous}: {exc}",
        ) from exc
    return ReloadResult(reloaded=True, previous_version=previous, model_version=model.version)


@get("/metrics", summary="Prometheus metrics", media_type=MediaType.TEXT, sync_to_thread=False)
def metrics(request: Request[Any, Any, State]) -> Response[bytes]:
    """Request counts, latency and batch-size histograms, the served version."""
    return Response(
        generate_latest(_runtime(request).metrics.registry),
        media_type="text/plain; version=0.0.4",
    )


def _error(
    status: int,
    detail: str,
    problems: list[FieldProblem] | None = None,
    count: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ErrorBody]:
    body = ErrorBody(status_code=status, detail=_public(detail), errors=problems, error_count=count)
    return Response(body, status_code=status, headers=headers)


def _on_validation(_: Request[Any, Any, State], exc: ValidationFailed) -> Response[ErrorBody]:
    problems = [
        FieldProblem(field=e.field, message=_public(e.message), record=e.record) for e in exc.errors
    ]
    detail = "invalid request"
    if exc.total > len(problems):
        detail = f"invalid request: {exc.total} problems, the first {len(problems)} listed"
    return _error(422, detail, problems, exc.total)


def _on_http(_: Request[Any, Any, State], exc: HTTPException) -> Response[ErrorBody]:
    problems = None
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        # Litestar's parameter checks: name the parameter and what it must look like.
        problems = [
            FieldProblem(field=str(e.get("key", "$")), message=str(e.get("message", "")))
            for e in exc.extra
            if isinstance(e, dict)
        ]
    return _error(exc.status_code, str(exc.detail), problems, headers=exc.headers)


def _on_mlsys(_: Request[Any, Any, State], exc: MlsysError) -> Response[ErrorBody]:
    return _error(422, str(exc))


def _on_unexpected(_: Request[Any, Any, State], exc: Exception) -> Response[ErrorBody]:
    log.exception("unexpected error", exc_info=exc)
    return _error(500, "internal error")


def _access_log_middleware(app: Any, access_log_enabled: bool = True) -> Any:
    """Metrics for every request; one access-log line: method, path, status, latency, model.

    The request's log lines (its access line included) carry the version of the model that was
    served when it arrived, even if a reload swaps the model meanwhile.
    """

    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}
        runtime: _Runtime | None = getattr(scope["app"].state, "runtime", None)
        version = runtime.model.version if runtime and runtime.model else None
        shadow = runtime.monitor.challenger_version if runtime else None

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        with log_context(model_version=version):
            try:
                await app(scope, receive, send_wrapper)
            finally:
                elapsed = time.perf_counter() - start
                # The route template, not the raw path, so that a route with path parameters
                # keeps one Prometheus series. (Unmatched URLs never reach route middleware.)
                route = scope.get("path_template") or scope.get("path", "")
                if runtime is not None:
                    runtime.metrics.requests.labels(route, str(status["code"])).inc()
                    runtime.metrics.latency.labels(route).observe(elapsed)
                if access_log_enabled and access_log.isEnabledFor(logging.INFO):
                    path = scope.get("path", "")
                    _log_access(scope.get("method"), path, status["code"], elapsed, version, shadow)

    return middleware


def _log_access(
    method: str | None,
    path: str,
    status: int,
    elapsed: float,
    version: str | None,
    shadow: str | None = None,
) -> None:
    # Fixed fields (model_version null before a model loads) so log queries can rely on them.
    fields = {
        "method": method,
        "path": path,
        "status": status,
        "latency_ms": round(elapsed * 1000, 3),
        "model_version": version,
        "shadow_version": shadow,  # the challenger scoring this request off the response path
    }
    access_log.info("%s %s %d %.1f ms", method, path, status, elapsed * 1000, extra=fields)


def create_app(
    settings: ServeSettings | None = None, source: ModelSource | None = None
) -> Litestar:
    """Build the serving app.

    Example:
        >>> app = create_app(ServeSettings(model_path="outputs/.../model.joblib"))  # doctest: +SKIP
    """
    settings = settings or ServeSettings()
    runtime = _Runtime(settings, source or _source(settings))

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            await runtime.reload()
        except Exception as exc:
            runtime.not_ready_reason = str(exc)
            log.warning("Starting without a model: %s", exc)
        await asyncio.to_thread(runtime.monitor.load_challenger)
        runtime.monitor.start()
        pollers = []
        if settings.poll_interval_s > 0:
            pollers = [
                asyncio.create_task(_poll(runtime)),
                asyncio.create_task(runtime.monitor.poll()),
            ]
        try:
            yield
        finally:
            for poller in pollers:
                poller.cancel()
            await asyncio.to_thread(runtime.monitor.close)
            set_process_context(model_name=None, model_version=None)

    app = Litestar(
        route_handlers=[
            predict,
            predict_batch,
            health,
            ready,
            model_info,
            models,
            reload_model,
            metrics,
        ],
        lifespan=[lifespan],
        state=State({"runtime": runtime}),
        request_max_body_size=settings.max_body_bytes,
        exception_handlers={
            ValidationFailed: _on_validation,
            HTTPException: _on_http,
            MlsysError: _on_mlsys,
            Exception: _on_unexpected,
        },
        middleware=[
            functools.partial(_access_log_middleware, access_log_enabled=settings.access_log)
        ],
        openapi_config=OpenAPIConfig(
            title="mlsys conversion scoring",
            version="1",
            path="/schema",
            components=Components(security_schemes=admin_security()),
            render_plugins=[SwaggerRenderPlugin(), ScalarRenderPlugin(path="/scalar")],
        ),
        debug=False,
        # Litestar would replace the root logger's handlers with its own format; the entry
        # point (mlsys.serve, serving/asgi.py) sets up mlsys.logs instead.
        logging_config=None,
    )
    _document_on_swap(app, runtime)
    return app


def _document_on_swap(app: Litestar, runtime: _Runtime) -> None:
    """Put the served model's input schema into the OpenAPI document whenever a model loads."""
    original = runtime.swap

    def swap(model: LoadedModel) -> None:
        original(model)
        document_model(app.openapi_schema, model.bundle.schema, runtime.settings.max_batch)

    runtime.swap = swap  # type: ignore[method-assign]


async def _poll(runtime: _Runtime) -> None:
    """Reload when the registry alias moves (``serve.poll_interval_s`` > 0).

    Compares with the alias target seen at the previous poll, not with the served version, so a
    version pinned by ``POST /model/reload?version=N`` stays until the alias itself moves.
    """
    seen = runtime.model.version if runtime.model and runtime.model.alias else None
    while True:
        await asyncio.sleep(runtime.settings.poll_interval_s)
        try:
            target = await asyncio.to_thread(runtime.source.current_version)
            if target is not None and target != seen:
                log.info("Alias moved to version %s: reloading", target)
                await runtime.reload()
                seen = target
        except Exception as exc:
            log.error("Registry poll failed (still serving the current model): %s", exc)
