"""The Litestar app that serves the champion.

``create_app(settings)`` builds the app; a lifespan hook loads the model into ``app.state``.
Handlers take the current ``LoadedModel`` reference once per request, so a reload (an atomic
reference swap) never changes the model under a request in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import (
    OpenAPIMediaType,
    Reference,
    RequestBody,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromQuery, RawBody
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from mlsys.errors import MlsysError
from mlsys.logs import log_context, set_process_context
from mlsys.serving._model import LoadedModel, ModelSource, PathSource, RegistrySource
from mlsys.serving._settings import ServeSettings
from mlsys.serving._validation import FieldError, RecordValidator, ValidationFailed

__all__ = ["create_app"]

log = logging.getLogger("mlsys.serving")
access_log = logging.getLogger("mlsys.serving.access")


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
        self.model: LoadedModel | None = None
        self.validator: RecordValidator | None = None
        self.not_ready_reason = "model not loaded yet"
        self.reload_lock = asyncio.Lock()
        self.metrics = _Metrics.create()

    def swap(self, model: LoadedModel) -> None:
        validator = RecordValidator(model.bundle.schema)
        # One assignment each; handlers read `model` and `validator` together via `current()`.
        self.model, self.validator = model, validator
        self.not_ready_reason = ""
        self.metrics.model_version.clear()
        self.metrics.model_version.labels(model.name, model.version).set(1)
        # Every log line of the process names the served model from now on.
        set_process_context(model_name=model.name, model_version=model.version)
        log.info("Serving %s version %s (fast path: %s)", model.name, model.version, model.fast)

    def current(self) -> tuple[LoadedModel, RecordValidator]:
        model, validator = self.model, self.validator
        if model is None or validator is None:
            raise HTTPException(
                status_code=503,
                detail=f"no model is being served: {self.not_ready_reason}",
            )
        return model, validator

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


def _runtime(request: Request[Any, Any, State]) -> _Runtime:
    runtime: _Runtime = request.app.state.runtime
    return runtime


def _decode(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise ValidationFailed([FieldError(None, "$", f"body is not valid JSON: {exc}")]) from exc


def _score(
    model: LoadedModel, validator: RecordValidator, records: list[Any]
) -> list[dict[str, Any]]:
    validator.validate(records)
    probabilities = model.score(validator.columns_of(records))
    decisions = probabilities >= model.bundle.threshold
    return [
        {"probability": float(p), "decision": bool(d), "model_version": model.version}
        for p, d in zip(probabilities, decisions, strict=True)
    ]


@post(
    "/predict",
    summary="Score one lead",
    status_code=200,
    sync_to_thread=False,
)
def predict(request: Request[Any, Any, State], body: RawBody) -> dict[str, Any]:
    """Calibrated conversion probability, decision at the model's threshold, model version."""
    model, validator = _runtime(request).current()
    payload = _decode(body)
    _runtime(request).metrics.batch_size.observe(1)
    return _score(model, validator, [payload])[0]


# In a worker thread: a 10,000-row batch must not stall /health and single-record requests.
@post("/predict/batch", summary="Score a batch of leads", status_code=200, sync_to_thread=True)
def predict_batch(request: Request[Any, Any, State], body: RawBody) -> dict[str, Any]:
    """Scores for a JSON list of records (or ``{"records": [...]}``), in request order."""
    runtime = _runtime(request)
    model, validator = runtime.current()
    payload = _decode(body)
    records = payload.get("records") if isinstance(payload, dict) else payload
    if not isinstance(records, list) or not records:
        raise ValidationFailed(
            [FieldError(None, "records", "expected a non-empty list of records")]
        )
    if len(records) > runtime.settings.max_batch:
        raise HTTPException(
            status_code=413,
            detail=(
                f"batch of {len(records)} records exceeds "
                f"serve.max_batch={runtime.settings.max_batch}"
            ),
        )
    runtime.metrics.batch_size.observe(len(records))
    return {"predictions": _score(model, validator, records), "model_version": model.version}


@get("/health", summary="Liveness", sync_to_thread=False)
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/ready", summary="Readiness", sync_to_thread=False)
def ready(request: Request[Any, Any, State]) -> Response[dict[str, Any]]:
    """Ready when a model is loaded and answers a probe prediction."""
    runtime = _runtime(request)
    if runtime.model is None:
        return Response({"ready": False, "reason": runtime.not_ready_reason}, status_code=503)
    return Response({"ready": True, "model_version": runtime.model.version})


@get("/model/info", summary="The served model", sync_to_thread=False)
def model_info(request: Request[Any, Any, State]) -> dict[str, Any]:
    """Name, version, alias, run id, metrics, training data hash, schema, threshold."""
    model, _ = _runtime(request).current()
    return model.info()


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


def _authorise(request: Request[Any, Any, State]) -> None:
    token = _runtime(request).settings.admin_token
    if not token:
        raise HTTPException(
            status_code=403,
            detail="admin endpoints are disabled: set MLSYS_ADMIN_TOKEN (or serve.admin_token)",
        )
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise HTTPException(status_code=401, detail="missing or wrong bearer token")


@post("/model/reload", summary="Reload the model (admin)", status_code=200)
async def reload_model(
    request: Request[Any, Any, State], version: FromQuery[str | None] = None
) -> dict[str, Any]:
    """Load what the alias points at now, or ``?version=N``; on failure the old model stays."""
    _authorise(request)
    runtime = _runtime(request)
    previous = runtime.model.version if runtime.model else None
    try:
        model = await runtime.reload(version)
    except MlsysError as exc:
        raise HTTPException(
            status_code=409,
            detail=f"reload rejected, still serving {previous}: {exc}",
        ) from exc
    return {"reloaded": True, "previous_version": previous, "model_version": model.version}


@get("/metrics", summary="Prometheus metrics", media_type=MediaType.TEXT, sync_to_thread=False)
def metrics(request: Request[Any, Any, State]) -> Response[bytes]:
    """Request counts, latency and batch-size histograms, the served version."""
    return Response(
        generate_latest(_runtime(request).metrics.registry),
        media_type="text/plain; version=0.0.4",
    )


def _error_body(
    status: int, detail: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"status_code": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return body


def _on_validation(_: Request[Any, Any, State], exc: ValidationFailed) -> Response[dict[str, Any]]:
    return Response(
        _error_body(422, "invalid request", [e.to_dict() for e in exc.errors]), status_code=422
    )


def _on_http(_: Request[Any, Any, State], exc: HTTPException) -> Response[dict[str, Any]]:
    return Response(_error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code)


def _on_mlsys(_: Request[Any, Any, State], exc: MlsysError) -> Response[dict[str, Any]]:
    return Response(_error_body(422, str(exc)), status_code=422)


def _on_unexpected(_: Request[Any, Any, State], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unexpected error", exc_info=exc)
    return Response(_error_body(500, "internal error"), status_code=500)


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
                    _log_access(scope.get("method"), path, status["code"], elapsed, version)

    return middleware


def _log_access(
    method: str | None, path: str, status: int, elapsed: float, version: str | None
) -> None:
    # Fixed fields (model_version null before a model loads) so log queries can rely on them.
    fields = {
        "method": method,
        "path": path,
        "status": status,
        "latency_ms": round(elapsed * 1000, 3),
        "model_version": version,
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
        poller = asyncio.create_task(_poll(runtime)) if settings.poll_interval_s > 0 else None
        try:
            yield
        finally:
            if poller is not None:
                poller.cancel()
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
        spec = app.openapi_schema
        types = {
            "numeric": OpenAPIType.NUMBER,
            "boolean": OpenAPIType.BOOLEAN,
            "categorical": OpenAPIType.STRING,
        }
        schema = model.bundle.schema
        record = Schema(
            type=OpenAPIType.OBJECT,
            description="One lead: every feature of the served model (null if unknown).",
            properties={
                column: Schema(one_of=[Schema(type=types[kind]), Schema(type=OpenAPIType.NULL)])
                for column, kind in zip(schema.columns, schema.kinds, strict=True)
            },
            required=list(schema.columns),
            additional_properties=False,
        )
        spec.components.schemas = {**(spec.components.schemas or {}), "LeadRecord": record}
        ref = Reference(ref="#/components/schemas/LeadRecord")
        bodies: dict[str, Reference | Schema] = {
            "/predict": ref,
            "/predict/batch": Schema(
                type=OpenAPIType.ARRAY, items=ref, max_items=runtime.settings.max_batch
            ),
        }
        for path, body in bodies.items():
            item = spec.paths.get(path) if spec.paths else None
            if item is not None and item.post is not None:
                item.post.request_body = RequestBody(
                    required=True, content={"application/json": OpenAPIMediaType(schema=body)}
                )

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
