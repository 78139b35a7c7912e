"""Serving throughput and latency: mlsys against a bare Litestar ceiling and `mlflow models serve`.

One run trains the default model (xgboost on data/leads.csv) into a temporary MLflow store,
logs the same data as an sklearn `Pipeline` the usual way (`mlflow.sklearn.log_model`), then,
`--repeats` rounds (default 5, the order reversed every other round, `_paired.rounds`), starts
each server as one uvicorn worker on 127.0.0.1, measures it and stops it:

* mlsys:  `python -m mlsys.serve` serving the registry alias `conversion@champion`
* bare:   the ceiling: a Litestar app written by this script that decodes the same JSON lead
  records with msgspec and calls the bundle's own scoring entry (one `ModelBundle` method,
  `BARE_SCORE` below), nothing else: no validation, metrics or access log
* mlflow: `mlflow models serve -m models:/conversion@champion` (the mlsys pyfunc model)
* sklearn: `mlflow models serve` of an sklearn Pipeline logged with `mlflow.sklearn.log_model`
  (`predict_proba`): what a user deploys without mlsys
* mlsys-wN / bare-wN for each `--workers` N > 1 (mlsys.serve `workers=N`; noted when refused)

Per round it records cold start (process start to the first 200 on a health endpoint) and
drives each server with `wrk -t2 -c8 --latency` (or, without wrk on PATH, this script's
asyncio keep-alive load generator with 8 connections) for one record and for a batch of
`--batch` records, after a warm-up. Before load (first round) mlsys, bare and the pyfunc must
return the same probabilities as `bundle.predict_proba` in this process.

Targets, on the median of the per-round ratios: mlsys req/s >= 0.85x bare for 1 and for 1,000
records; mlsys p99 <= 2x bare p99; mlsys cold start <= bare + 1 s.

    uv run python benchmarks/serving.py --write
    uv run python benchmarks/serving.py --smoke          # tiny model, 1 round, 1-s loads
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _paired import (
    RATIO_HEADER,
    Paired,
    Target,
    add_arguments,
    paired,
    parse,
    ratio_row,
    rounds,
    write_page,
)

from mlsys.models import ModelBundle

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "leads.csv"
HOST = "127.0.0.1"
TOLERANCE = 1e-6
SKLEARN_MODEL = "conversion_sklearn"
XGB_TYPE = "xgboost.sklearn.XGBClassifier"
# The bundle's one public scoring entry the ceiling calls; switch here when it changes.
BARE_SCORE = "score"

BARE_APP = """
# Bare ceiling: Litestar + msgspec decoding lead records + the bundle's scoring entry on the
# records' columns (float arrays, NaN for null; object arrays for categorical fields).

from __future__ import annotations

import os
from typing import Any

import msgspec
import numpy as np
from litestar import Litestar, get, post
from litestar.params import RawBody

from mlsys.models import ModelBundle

_one = msgspec.json.Decoder(dict[str, Any])
_many = msgspec.json.Decoder(list[dict[str, Any]])
_bundle = ModelBundle.load(os.environ["BARE_BUNDLE"])
_kinds = dict(zip(_bundle.schema.columns, _bundle.schema.kinds, strict=True))
_score_entry = getattr(_bundle, os.environ["BARE_SCORE"])
_threshold = _bundle.threshold


def _score(records: list[dict[str, Any]]) -> Any:
    columns = {
        c: np.array([r[c] for r in records], dtype=object if k == "categorical" else float)
        for c, k in _kinds.items()
    }
    return _score_entry(columns)


@post("/predict", status_code=200, sync_to_thread=False)
def predict(body: RawBody) -> dict[str, Any]:
    p = float(_score([_one.decode(body)])[0])
    return {"probability": p, "decision": p >= _threshold}


@post("/predict/batch", status_code=200, sync_to_thread=False)
def predict_batch(body: RawBody) -> dict[str, Any]:
    p = _score(_many.decode(body))
    return {"probability": p.tolist(), "decision": (p >= _threshold).tolist()}


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[predict, predict_batch, health], debug=False)
"""

WRK_SCRIPT = """
local f = assert(io.open({path}, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests": %.0f, "duration_us": %.0f, "p50_us": %.0f, "p99_us": %.0f, ' ..
    '"errors": %.0f}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True)
class Payloads:
    """Request bodies for one record and for the batch, per server."""

    columns: list[str]
    records: list[dict[str, Any]]
    reference: np.ndarray[Any, np.dtype[np.float64]]  # bundle.predict_proba in this process

    def body(self, server: str, n: int) -> bytes:
        rows = self.records[:n]
        if server.startswith(("mlflow", "sklearn")):
            data = [[r[c] for c in self.columns] for r in rows]
            payload: Any = {"dataframe_split": {"columns": self.columns, "data": data}}
        else:  # mlsys and the bare ceiling decode the same raw lead records
            payload = rows[0] if n == 1 else rows
        return json.dumps(payload).encode()


@dataclass(frozen=True)
class Server:
    """How to start one server and read probabilities off its answers."""

    name: str
    description: str
    command: Callable[[int], list[str]]
    health: str
    single_path: str
    batch_path: str
    single_probability: Callable[[Any], float]
    batch_probabilities: Callable[[Any], list[float]]
    same_model: bool = True  # serves the bundle itself: must agree with predict_proba


@dataclass
class Running:
    server: Server
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    cold_start_s: float = float("nan")

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"


@dataclass(frozen=True)
class Load:
    """One load run against one endpoint."""

    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s


@dataclass
class Measurement:
    """One round of one server."""

    cold_start_s: float
    single: Load
    batch: Load
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"cold {self.cold_start_s:.2f} s, single {self.single.rps:,.0f} req/s "
            f"p99 {self.single.p99_ms:.1f} ms, batch {self.batch.rps:,.1f} req/s "
            f"p99 {self.batch.p99_ms:.1f} ms"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _child_env(tmp: Path, bundle_path: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    # `mlflow models serve` execs `uvicorn` from PATH: put this interpreter's scripts first.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    env["BARE_SCORE"] = BARE_SCORE
    if bundle_path is not None:
        env["BARE_BUNDLE"] = str(bundle_path)
    return env


def _train(tmp: Path, data: Path, extra: list[str]) -> Path:
    run_dir = tmp / "run"
    cmd = [
        sys.executable,
        "-m",
        "mlsys.train",
        f"data.path={data}",
        f"hydra.run.dir={run_dir}",
        *extra,
    ]
    print(f"training: {' '.join(cmd)}", flush=True)
    done = subprocess.run(
        cmd, cwd=ROOT, env=_child_env(tmp), capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or "PROMOTED to champion" not in done.stdout + done.stderr:
        raise SystemExit(f"training failed or did not promote a champion:\n{done.stderr[-3000:]}")
    return run_dir / "model.joblib"


def _log_sklearn(tmp: Path, data: Path, n_estimators: int) -> None:
    """The same leads as an sklearn Pipeline, logged and registered the usual MLflow way."""
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from plain_baseline import NOT_FEATURES, preprocessor, split
    from sklearn.pipeline import Pipeline
    from xgboost import XGBClassifier

    frame = pd.read_csv(data)
    y = frame["converted"].to_numpy(dtype=int)
    x = frame.drop(columns=NOT_FEATURES)
    categorical = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
    numeric = [c for c in x.columns if c not in categorical]
    x[numeric] = x[numeric].astype(float)  # a missing value is NaN in every numeric column
    parts = split(x, y)
    prep = preprocessor(numeric, categorical).fit(parts["train"][0])
    model = XGBClassifier(
        n_estimators=n_estimators,
        learning_rate=0.05,
        max_depth=5,
        subsample=0.8,
        colsample_bytree=0.8,
        early_stopping_rounds=100,
        random_state=42,
    ).fit(
        prep.transform(parts["train"][0]),
        parts["train"][1],
        eval_set=[(prep.transform(parts["validation"][0]), parts["validation"][1])],
        verbose=False,
    )
    pipeline = Pipeline([("prep", prep), ("model", model)])
    mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
    # Artifacts in the temporary directory too: MLflow's default is ./mlruns of the cwd.
    client = MlflowClient()
    if client.get_experiment_by_name("sklearn-pipeline") is None:
        client.create_experiment("sklearn-pipeline", artifact_location=(tmp / "mlruns").as_uri())
    mlflow.set_experiment("sklearn-pipeline")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            input_example=x.head(5),
            pyfunc_predict_fn="predict_proba",
            # MLflow's default skops format refuses types it does not know until told.
            skops_trusted_types=["numpy.dtype", "xgboost.core.Booster", XGB_TYPE],
            registered_model_name=SKLEARN_MODEL,
        )
    MlflowClient().set_registered_model_alias(
        SKLEARN_MODEL, "champion", str(info.registered_model_version)
    )


def _json_value(kind: str, value: Any) -> Any:
    if pd.isna(value):
        return None
    if kind == "boolean":
        return bool(value)
    if kind == "categorical":
        return str(value)
    return int(value) if isinstance(value, (int, np.integer)) else float(value)


def _payloads(bundle: ModelBundle, data: Path, n: int) -> Payloads:
    columns = list(bundle.schema.columns)
    frame = pd.read_csv(data, nrows=n)[columns]
    kinds = dict(zip(columns, bundle.schema.kinds, strict=True))
    records = [
        {c: _json_value(kinds[c], v) for c, v in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]
    return Payloads(columns, records, bundle.predict_proba(frame))


def _mlflow_server(name: str, uri: str, description: str, same_model: bool) -> Server:
    def command(port: int) -> list[str]:
        mlflow = str(Path(sys.executable).parent / "mlflow")
        return [
            mlflow,
            "models",
            "serve",
            "-m",
            uri,
            "--env-manager",
            "local",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "1",
        ]

    def probabilities(r: Any) -> list[float]:
        predictions = r["predictions"]
        if predictions and isinstance(predictions[0], dict):
            return [float(p["probability"]) for p in predictions]
        return [float(p[-1]) for p in predictions]  # predict_proba: [p0, p1] per row

    return Server(
        name=name,
        description=description,
        command=command,
        health="/ping",
        single_path="/invocations",
        batch_path="/invocations",
        single_probability=lambda r: probabilities(r)[0],
        batch_probabilities=probabilities,
        same_model=same_model,
    )


def _servers(tmp: Path, workers: list[int]) -> list[Server]:
    py = sys.executable
    (tmp / "bare_app.py").write_text(BARE_APP)

    def mlsys(n: int) -> Server:
        return Server(
            name="mlsys" if n == 1 else f"mlsys-w{n}",
            description=f"`python -m mlsys.serve workers={n}` (registry alias "
            "`conversion@champion`)",
            command=lambda port: [
                py,
                "-m",
                "mlsys.serve",
                f"port={port}",
                f"host={HOST}",
                f"workers={n}",
                f"hydra.run.dir={tmp / 'serve'}",
            ],
            health="/ready",
            single_path="/predict",
            batch_path="/predict/batch",
            single_probability=lambda r: float(r["probability"]),
            batch_probabilities=lambda r: [float(p["probability"]) for p in r["predictions"]],
        )

    def bare(n: int) -> Server:
        return Server(
            name="bare" if n == 1 else f"bare-w{n}",
            description=f"bare Litestar + msgspec + `ModelBundle.{BARE_SCORE}` on the same "
            f"JSON records, {n} uvicorn worker(s), this script",
            command=lambda port: [
                py,
                "-m",
                "uvicorn",
                "bare_app:app",
                "--app-dir",
                str(tmp),
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                str(n),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            health="/health",
            single_path="/predict",
            batch_path="/predict/batch",
            single_probability=lambda r: float(r["probability"]),
            batch_probabilities=lambda r: [float(p) for p in r["probability"]],
        )

    servers = [
        mlsys(1),
        bare(1),
        _mlflow_server(
            "mlflow",
            "models:/conversion@champion",
            "`mlflow models serve -m models:/conversion@champion --env-manager local` "
            "(the mlsys pyfunc model)",
            same_model=True,
        ),
        _mlflow_server(
            "sklearn",
            f"models:/{SKLEARN_MODEL}@champion",
            "`mlflow models serve` of an sklearn Pipeline (same preprocessing and XGBoost "
            "settings, uncalibrated) logged with `mlflow.sklearn.log_model`, `predict_proba`",
            same_model=False,
        ),
    ]
    for n in workers:
        if n > 1:
            servers += [mlsys(n), bare(n)]
    return servers


def _get_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class RefusedError(Exception):
    """A server exited before it became ready."""


def _launch(server: Server, tmp: Path, bundle_path: Path, timeout_s: float = 180) -> Running:
    port = _free_port()
    log = tmp / f"{server.name}.log"
    with log.open("wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(
            server.command(port),
            cwd=ROOT,
            env=_child_env(tmp, bundle_path),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Running(server, proc, port, log)
    while time.perf_counter() - start < timeout_s:
        if _get_ok(running.url(server.health)):
            running.cold_start_s = time.perf_counter() - start
            return running
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    _stop(running)
    tail = log.read_text(errors="replace").strip().splitlines()
    raise RefusedError(f"{server.name} did not become ready: {tail[-1] if tail else '(no output)'}")


def _stop(running: Running) -> None:
    proc = running.proc
    if proc.poll() is not None:
        return
    # mlflow models serve runs uvicorn as a child: signal the whole session's process group.
    for sig, wait_s in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _post(url: str, body: bytes) -> Any:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"POST {url} answered {exc.code}: {exc.read()[:2000]!r}") from exc


def _agreement(r: Running, payloads: Payloads, batch: int) -> str:
    """One line: how far the server's probabilities are from ``bundle.predict_proba``."""
    s = r.server
    single = s.single_probability(_post(r.url(s.single_path), payloads.body(s.name, 1)))
    probs = np.asarray(
        s.batch_probabilities(_post(r.url(s.batch_path), payloads.body(s.name, batch)))
    )
    if len(probs) != batch or not np.all((probs >= 0) & (probs <= 1)):
        raise SystemExit(f"{s.name} returned {len(probs)} values, not {batch} probabilities")
    if not s.same_model:
        return f"- {s.name}: its own model; {batch} probabilities in [0, 1] (not compared)"
    worst = float(
        max(abs(single - payloads.reference[0]), *np.abs(probs - payloads.reference[:batch]))
    )
    same = "same" if worst <= TOLERANCE else f"DIFFERENT (tolerance {TOLERANCE:g})"
    return f"- {s.name}: max |diff| over lead 0 and the {batch}-record batch {worst:.1e} ({same})"


def _wrk(url: str, body: bytes, tmp: Path, duration_s: float, tag: str) -> Load:
    body_path = tmp / f"{tag}.json"
    body_path.write_bytes(body)
    script = tmp / f"{tag}.lua"
    script.write_text(WRK_SCRIPT.format(path=json.dumps(str(body_path))))
    seconds = max(1, round(duration_s))
    cmd = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "--timeout", "30s"]
    done = subprocess.run(
        [*cmd, "-s", str(script), url], capture_output=True, text=True, check=False
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed on {url}:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    return Load(
        requests=int(raw["requests"]),
        duration_s=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1e3,
        p99_ms=raw["p99_us"] / 1e3,
        errors=int(raw["errors"]),
    )


async def _connection(
    port: int, request: bytes, until: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.perf_counter() < until:
            sent = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = next(
                int(x.split(":", 1)[1]) for x in lines if x.lower().startswith("content-length:")
            )
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - sent)
            if not lines[0].split()[1].startswith("2"):
                errors.append(1)
    finally:
        writer.close()


def _pyload(url: str, body: bytes, duration_s: float, connections: int = 8) -> Load:
    """wrk's job without wrk: keep-alive connections posting ``body`` for ``duration_s``."""
    parsed = urllib.request.urlparse(url)
    request = (
        f"POST {parsed.path} HTTP/1.1\r\nHost: {parsed.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors: list[int] = []

    async def drive() -> float:
        started = time.perf_counter()
        until = started + duration_s
        await asyncio.gather(
            *(
                _connection(parsed.port or 80, request, until, latencies, errors)
                for _ in range(connections)
            )
        )
        return time.perf_counter() - started

    elapsed = asyncio.run(drive())
    ms = np.asarray(latencies) * 1e3
    return Load(
        requests=len(latencies),
        duration_s=elapsed,
        p50_ms=float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        p99_ms=float(np.percentile(ms, 99)) if len(ms) else float("nan"),
        errors=len(errors),
    )


def _load(r: Running, payloads: Payloads, args: argparse.Namespace, tag: str) -> Measurement:
    s = r.server
    m = Measurement(r.cold_start_s, Load(0, 1, 0, 0, 0), Load(0, 1, 0, 0, 0))
    for kind, path, n in (("single", s.single_path, 1), ("batch", s.batch_path, args.batch)):
        body = payloads.body(s.name, n)
        url = r.url(path)
        if args.load == "wrk":
            _wrk(url, body, args.tmp, args.warmup, f"{tag}_{kind}")
            result = _wrk(url, body, args.tmp, args.duration, f"{tag}_{kind}")
        else:
            _pyload(url, body, args.warmup)
            result = _pyload(url, body, args.duration)
        if result.errors:
            m.notes.append(f"{s.name} {kind}: {result.errors} errors (non-2xx or socket)")
        setattr(m, kind, result)
    return m


def _round(
    server: Server,
    payloads: Payloads,
    args: argparse.Namespace,
    bundle_path: Path,
    state: dict[str, Any],
) -> Callable[[int], Measurement | None]:
    def run(i: int) -> Measurement | None:
        if server.name in state["refused"]:
            return None
        try:
            running = _launch(server, args.tmp, bundle_path)
        except RefusedError as exc:
            state["refused"][server.name] = str(exc)
            return None
        try:
            if i == 0:
                state["agreement"].append(_agreement(running, payloads, args.batch))
            return _load(running, payloads, args, f"{server.name}_{i}")
        finally:
            _stop(running)

    return run


def _versions() -> str:
    names = ("litestar", "uvicorn", "msgspec", "mlflow", "xgboost", "scikit-learn", "pandas")
    return ", ".join(f"{n} {metadata.version(n)}" for n in names)


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


TARGETS = {
    "single": Target(0.85),
    "batch": Target(0.85),
    "p99": Target(2.0, at_least=False),
    "cold": Target(1.0, at_least=False, unit=" s"),
}


def _ratios(results: dict[str, list[Measurement]], a: str, b: str) -> dict[str, Paired]:
    pairs = list(zip(results[a], results[b], strict=True))
    return {
        "single": paired(pairs, lambda x, y: x.single.rps / y.single.rps),
        "batch": paired(pairs, lambda x, y: x.batch.rps / y.batch.rps),
        "p99": paired(pairs, lambda x, y: x.single.p99_ms / y.single.p99_ms),
        "p99_batch": paired(pairs, lambda x, y: x.batch.p99_ms / y.batch.p99_ms),
        "cold": paired(pairs, lambda x, y: x.cold_start_s - y.cold_start_s),
    }


def _report(
    results: dict[str, list[Measurement]],
    servers: list[Server],
    args: argparse.Namespace,
    state: dict[str, Any],
) -> str:
    batch = args.batch
    load = (
        "`wrk -t2 -c8 --latency`"
        if args.load == "wrk"
        else "this script's asyncio load generator (8 keep-alive connections; wrk not on PATH)"
    )
    lines = [
        f"Versions: {_versions()}.",
        "",
        "## Method",
        "",
        "Every server serves a model trained by this run on the same leads, one at a time on "
        f"127.0.0.1, {args.repeats} rounds (the order reversed every other round), each round "
        "a fresh process:",
        "",
        *(f"- **{s.name}**: {s.description}" for s in servers),
        "",
        "Cold start: process start to the first HTTP 200 on the server's readiness endpoint, "
        f"polled every 20 ms. Load: {load}, {args.duration:g} s per run after a "
        f"{args.warmup:g} s warm-up, one record and then a batch of {batch} records (the first "
        f"{batch} leads as JSON records; MLflow: `dataframe_split`). The load generator shares "
        "the cores with the server. Ratios are per round, mlsys / other; cold start is a "
        "difference in seconds.",
        "",
        "## Results (medians over the rounds)",
        "",
        "| server | cold start s | 1-record req/s | p50 ms | p99 ms | "
        f"{batch}-record req/s | rows/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    measured = {k: v for k, v in results.items() if v}
    for name, ms in measured.items():
        med = {
            "cold": _median([m.cold_start_s for m in ms]),
            "s_rps": _median([m.single.rps for m in ms]),
            "s50": _median([m.single.p50_ms for m in ms]),
            "s99": _median([m.single.p99_ms for m in ms]),
            "b_rps": _median([m.batch.rps for m in ms]),
            "b50": _median([m.batch.p50_ms for m in ms]),
            "b99": _median([m.batch.p99_ms for m in ms]),
        }
        lines.append(
            f"| {name} | {med['cold']:.2f} | {med['s_rps']:,.0f} | {med['s50']:.2f} "
            f"| {med['s99']:.2f} | {med['b_rps']:,.1f} | {med['b_rps'] * batch:,.0f} "
            f"| {med['b50']:.1f} | {med['b99']:.1f} |"
        )
    lines += ["", *RATIO_HEADER]
    r = _ratios(measured, "mlsys", "bare")
    lines += [
        ratio_row("mlsys / bare: 1-record req/s", r["single"], TARGETS["single"]),
        ratio_row(f"mlsys / bare: {batch}-record req/s", r["batch"], TARGETS["batch"]),
        ratio_row("mlsys / bare: 1-record p99", r["p99"], TARGETS["p99"]),
        ratio_row(f"mlsys / bare: {batch}-record p99", r["p99_batch"], TARGETS["p99"]),
        ratio_row("mlsys - bare: cold start", r["cold"], TARGETS["cold"], unit=" s"),
    ]
    for other in ("mlflow", "sklearn"):
        if other in measured:
            o = _ratios(measured, "mlsys", other)
            lines += [
                ratio_row(f"mlsys / {other}: 1-record req/s", o["single"], None),
                ratio_row(f"mlsys / {other}: {batch}-record req/s", o["batch"], None),
                ratio_row(f"mlsys - {other}: cold start", o["cold"], None, unit=" s"),
            ]
    for name in measured:
        if name.startswith(("mlsys-w", "bare-w")):
            base = name.split("-w")[0]
            w = _ratios(measured, name, base)
            lines += [
                ratio_row(f"{name} / {base}: 1-record req/s", w["single"], None),
                ratio_row(f"{name} / {base}: {batch}-record req/s", w["batch"], None),
            ]
    lines += ["", "Agreement with `bundle.predict_proba` in-process (first round):", ""]
    lines += state["agreement"]
    notes = [n for ms in measured.values() for m in ms for n in m.notes]
    notes += [f"{name} not measured: {why}" for name, why in state["refused"].items()]
    if notes:
        lines += ["", "Notes:", "", *(f"- {n}" for n in notes)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, repeats=5)
    parser.add_argument("--duration", type=float, default=10, help="seconds per load run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--batch", type=int, default=1000, help="records per batch request")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="uvicorn workers to compare"
    )
    parser.add_argument(
        "--servers",
        nargs="+",
        choices=["mlsys", "bare", "mlflow", "sklearn"],
        default=["mlsys", "bare", "mlflow", "sklearn"],
        help="servers to measure (mlsys and bare always; the others are optional)",
    )
    parser.add_argument(
        "--load",
        choices=["wrk", "python"],
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator (default: wrk when on PATH)",
    )
    args = parse(parser)
    if args.smoke:
        args.repeats, args.duration, args.warmup, args.batch = 1, 1.0, 0.3, 50
    with tempfile.TemporaryDirectory(prefix="mlsys-serving-bench-") as tmp_name:
        args.tmp = tmp = Path(tmp_name)
        data, train_extra, trees = DATA, [], 2000
        if args.smoke:
            from mlsys.data import write_leads

            data = write_leads(tmp / "leads.csv", n_rows=2_000)
            train_extra = ["model.n_estimators=30", "evaluation.report.enabled=false"]
            trees = 30
        bundle_path = _train(tmp, data, train_extra)
        if "sklearn" in args.servers:
            _log_sklearn(tmp, data, trees)
        payloads = _payloads(ModelBundle.load(bundle_path), data, args.batch)
        wanted = {"mlsys", "bare", *args.servers}
        servers = [s for s in _servers(tmp, args.workers) if s.name.split("-w")[0] in wanted]
        state: dict[str, Any] = {"agreement": [], "refused": {}}
        results = rounds(
            {s.name: _round(s, payloads, args, bundle_path, state) for s in servers},
            args.repeats,
        )
    for name in state["refused"]:
        results[name] = []
    text = _report(
        {k: [m for m in v if m is not None] for k, v in results.items()}, servers, args, state
    )
    print(text)
    write_page(args, "serving.md", "Benchmark: serving throughput and latency", text)


if __name__ == "__main__":
    main()
