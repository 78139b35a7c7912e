"""Serving throughput and latency: mlsys against `mlflow models serve` and a bare Litestar ceiling.

One run trains the default model (xgboost on data/leads.csv) into a temporary MLflow store,
then starts, one after another and each with 1 uvicorn worker on 127.0.0.1:

* mlsys:  `python -m mlsys.serve` serving the registry alias `conversion@champion`
* mlflow: `mlflow models serve -m models:/conversion@champion --env-manager local --workers 1`
* bare:   a Litestar app written by this script that decodes `{"x": [floats]}` (rows already
  transformed by the bundle's feature transformer) with msgspec and calls the fitted booster
  plus the bundle's calibrator: the ceiling for this stack

It records cold start (process start to the first 200 on a health endpoint), checks that all
three return the same probability for the same lead, then drives each server with
`wrk -t2 -c8 --latency` for one record and for a batch of 1,000 records (after a warm-up).
Targets: mlsys single >= 15x MLflow, mlsys single >= 0.8x bare, mlsys batch >= 3x MLflow.

    uv run python benchmarks/serving.py --write
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsys.data import coerce_features
from mlsys.models import ModelBundle

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "leads.csv"
DOC = ROOT / "docs" / "benchmarks" / "serving.md"
HOST = "127.0.0.1"
TOLERANCE = 1e-6
TARGETS = {"single_vs_mlflow": 15.0, "single_vs_bare": 0.8, "batch_vs_mlflow": 3.0}

BARE_APP = '''
"""Bare ceiling: Litestar + msgspec + the fitted booster and calibrator, nothing else."""

from __future__ import annotations

import os
from typing import Any

import msgspec
import numpy as np
from litestar import Litestar, get, post
from litestar.params import RawBody

from mlsys.models import ModelBundle


class One(msgspec.Struct):
    x: list[float]


class Many(msgspec.Struct):
    x: list[list[float]]


_one = msgspec.json.Decoder(One)
_many = msgspec.json.Decoder(Many)
_bundle = ModelBundle.load(os.environ["BARE_BUNDLE"])
_estimator = _bundle.model.model_
_calibrate = _bundle.calibrator.transform
_threshold = _bundle.threshold

if type(_estimator).__module__.startswith("xgboost"):
    _booster = _estimator.get_booster().copy()
    _booster.feature_names = None
    _booster.feature_types = None
    _best = getattr(_estimator, "best_iteration", None)
    _rounds = (0, _best + 1) if _best is not None else (0, 0)

    def _raw(matrix: Any) -> Any:
        return _booster.inplace_predict(matrix, iteration_range=_rounds)

else:

    def _raw(matrix: Any) -> Any:
        return _estimator.predict_proba(matrix)[:, 1]


def _score(matrix: Any) -> Any:
    return _calibrate(np.asarray(_raw(matrix), dtype=np.float64))


@post("/predict", status_code=200, sync_to_thread=False)
def predict(body: RawBody) -> dict[str, Any]:
    row = np.asarray(_one.decode(body).x, dtype=np.float64).reshape(1, -1)
    p = float(_score(row)[0])
    return {"probability": p, "decision": p >= _threshold}


@post("/predict/batch", status_code=200, sync_to_thread=False)
def predict_batch(body: RawBody) -> dict[str, Any]:
    p = _score(np.asarray(_many.decode(body).x, dtype=np.float64))
    return {"probability": p.tolist(), "decision": (p >= _threshold).tolist()}


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[predict, predict_batch, health], debug=False)
'''

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
    matrix: np.ndarray[Any, np.dtype[np.float64]]
    reference: np.ndarray[Any, np.dtype[np.float64]]  # bundle.predict_proba in this process

    def body(self, server: str, n: int) -> bytes:
        rows = self.records[:n]
        if server == "mlsys":
            payload: Any = rows[0] if n == 1 else rows
        elif server == "mlflow":
            data = [[r[c] for c in self.columns] for r in rows]
            payload = {"dataframe_split": {"columns": self.columns, "data": data}}
        else:
            payload = {"x": self.matrix[0].tolist() if n == 1 else self.matrix[:n].tolist()}
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
class WrkResult:
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
    cold_start_s: float
    single: WrkResult
    batch: WrkResult
    probability: float = float("nan")
    batch_max_diff: float = float("nan")
    notes: list[str] = field(default_factory=list)


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
    if bundle_path is not None:
        env["BARE_BUNDLE"] = str(bundle_path)
    return env


def _train(tmp: Path) -> Path:
    run_dir = tmp / "run"
    cmd = [sys.executable, "-m", "mlsys.train", f"hydra.run.dir={run_dir}"]
    print(f"training: {' '.join(cmd)}", flush=True)
    done = subprocess.run(
        cmd, cwd=ROOT, env=_child_env(tmp), capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or "PROMOTED to champion" not in done.stdout + done.stderr:
        raise SystemExit(f"training failed or did not promote a champion:\n{done.stderr[-3000:]}")
    return run_dir / "model.joblib"


def _json_value(kind: str, value: Any) -> Any:
    if pd.isna(value):
        return None
    if kind == "boolean":
        return bool(value)
    if kind == "categorical":
        return str(value)
    return int(value) if isinstance(value, (int, np.integer)) else float(value)


def _payloads(bundle: ModelBundle, n: int) -> Payloads:
    columns = list(bundle.schema.columns)
    frame = pd.read_csv(DATA, nrows=n)[columns]
    kinds = dict(zip(columns, bundle.schema.kinds, strict=True))
    records = [
        {c: _json_value(kinds[c], v) for c, v in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]
    matrix = np.asarray(
        bundle.features.transform(coerce_features(frame, bundle.schema)), dtype=np.float64
    )
    return Payloads(columns, records, matrix, bundle.predict_proba(frame))


def _servers(tmp: Path) -> list[Server]:
    py = sys.executable
    (tmp / "bare_app.py").write_text(BARE_APP)
    return [
        Server(
            name="mlsys",
            description="`python -m mlsys.serve` (registry alias `conversion@champion`)",
            command=lambda port: [
                py,
                "-m",
                "mlsys.serve",
                f"port={port}",
                f"host={HOST}",
                f"hydra.run.dir={tmp / 'serve'}",
            ],
            health="/ready",
            single_path="/predict",
            batch_path="/predict/batch",
            single_probability=lambda r: float(r["probability"]),
            batch_probabilities=lambda r: [float(p["probability"]) for p in r["predictions"]],
        ),
        Server(
            name="mlflow",
            description="`mlflow models serve -m models:/conversion@champion --env-manager local`",
            command=lambda port: [
                str(Path(py).parent / "mlflow"),
                "models",
                "serve",
                "-m",
                "models:/conversion@champion",
                "--env-manager",
                "local",
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            health="/ping",
            single_path="/invocations",
            batch_path="/invocations",
            single_probability=lambda r: float(r["predictions"][0]["probability"]),
            batch_probabilities=lambda r: [float(p["probability"]) for p in r["predictions"]],
        ),
        Server(
            name="bare",
            description="bare Litestar + msgspec + booster (rows pre-transformed), this script",
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
                "1",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            health="/health",
            single_path="/predict",
            batch_path="/predict/batch",
            single_probability=lambda r: float(r["probability"]),
            batch_probabilities=lambda r: [float(p) for p in r["probability"]],
        ),
    ]


def _get_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


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
            print(f"{server.name}: ready on :{port} in {running.cold_start_s:.2f} s", flush=True)
            return running
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    _stop(running)
    tail = log.read_text(errors="replace")[-3000:]
    raise SystemExit(f"{server.name} did not become ready (see {log}):\n{tail}")


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


def _agreement(running: list[Running], payloads: Payloads, batch: int) -> dict[str, Measurement]:
    """Probability of the first lead from each server, and the worst batch difference."""
    reference = payloads.reference
    print(f"reference (bundle.predict_proba in-process), lead 0: {reference[0]:.10f}")
    out: dict[str, Measurement] = {}
    for r in running:
        s = r.server
        single = s.single_probability(_post(r.url(s.single_path), payloads.body(s.name, 1)))
        probs = s.batch_probabilities(_post(r.url(s.batch_path), payloads.body(s.name, batch)))
        worst = float(np.max(np.abs(np.asarray(probs) - reference[:batch])))
        nan = WrkResult(0, 1.0, float("nan"), float("nan"), 0)
        m = Measurement(r.cold_start_s, nan, nan, single, worst)
        if abs(single - reference[0]) > TOLERANCE or worst > TOLERANCE:
            m.notes.append(f"{s.name} DIFFERS from the bundle by more than {TOLERANCE:g}")
        print(
            f"{s.name:>6}: lead 0 probability {single:.10f} "
            f"(|diff| {abs(single - reference[0]):.2e}); "
            f"batch of {batch} max |diff| {worst:.2e}",
            flush=True,
        )
        out[s.name] = m
    return out


def _wrk(url: str, body: bytes, tmp: Path, duration_s: int, tag: str) -> WrkResult:
    body_path = tmp / f"{tag}.json"
    body_path.write_bytes(body)
    script = tmp / f"{tag}.lua"
    script.write_text(WRK_SCRIPT.format(path=json.dumps(str(body_path))))
    cmd = ["wrk", "-t2", "-c8", f"-d{duration_s}s", "--latency", "--timeout", "30s"]
    done = subprocess.run(
        [*cmd, "-s", str(script), url], capture_output=True, text=True, check=False
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed on {url}:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    return WrkResult(
        requests=int(raw["requests"]),
        duration_s=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1e3,
        p99_ms=raw["p99_us"] / 1e3,
        errors=int(raw["errors"]),
    )


def _bench(r: Running, payloads: Payloads, m: Measurement, args: argparse.Namespace) -> None:
    s = r.server
    for kind, path, n in (("single", s.single_path, 1), ("batch", s.batch_path, args.batch)):
        body = payloads.body(s.name, n)
        tag = f"{s.name}_{kind}"
        _wrk(r.url(path), body, args.tmp, args.warmup, tag)
        result = _wrk(r.url(path), body, args.tmp, args.duration, tag)
        if result.errors:
            m.notes.append(f"{s.name} {kind}: {result.errors} wrk errors (non-2xx or socket)")
        setattr(m, kind, result)
        print(
            f"{s.name:>6} {kind:>6}: {result.rps:9.1f} req/s  p50 {result.p50_ms:8.2f} ms  "
            f"p99 {result.p99_ms:8.2f} ms  errors {result.errors}",
            flush=True,
        )


def _verdict(value: float, target: float) -> str:
    return "**met**" if value >= target else "**not met**"


def _report(results: dict[str, Measurement], servers: list[Server], batch: int) -> str:
    rows = [
        "| server | cold start s | single req/s | single p50 ms | single p99 ms | "
        f"batch-{batch} req/s | batch rows/s | batch p50 ms | batch p99 ms | lead 0 probability |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in servers:
        m = results[s.name]
        rows.append(
            f"| {s.name} | {m.cold_start_s:.2f} | {m.single.rps:,.0f} | {m.single.p50_ms:.2f} | "
            f"{m.single.p99_ms:.2f} | {m.batch.rps:,.1f} | {m.batch.rps * batch:,.0f} | "
            f"{m.batch.p50_ms:.1f} | {m.batch.p99_ms:.1f} | {m.probability:.8f} |"
        )
    ml, mf, bare = results["mlsys"], results["mlflow"], results["bare"]
    ratios = {
        "single_vs_mlflow": ml.single.rps / mf.single.rps,
        "single_vs_bare": ml.single.rps / bare.single.rps,
        "batch_vs_mlflow": ml.batch.rps / mf.batch.rps,
    }
    labels = {
        "single_vs_mlflow": "mlsys single-record req/s / MLflow single-record req/s",
        "single_vs_bare": "mlsys single-record req/s / bare ceiling single-record req/s",
        "batch_vs_mlflow": f"mlsys batch-{batch} req/s / MLflow batch-{batch} req/s",
    }
    rows += ["", "| ratio | value | target | verdict |", "|---|---|---|---|"]
    rows += [
        f"| {labels[k]} | {v:.2f}x | >= {TARGETS[k]:g}x | {_verdict(v, TARGETS[k])} |"
        for k, v in ratios.items()
    ]
    rows += ["", "Agreement with `bundle.predict_proba` in-process (tolerance 1e-6):", ""]
    for s in servers:
        m = results[s.name]
        same = "same" if not any("DIFFERS" in n for n in m.notes) else "DIFFERENT"
        rows.append(
            f"- {s.name}: max |diff| over the {batch}-record batch {m.batch_max_diff:.1e} ({same})"
        )
    notes = [n for s in servers for n in results[s.name].notes]
    if notes:
        rows += ["", "Notes:", "", *(f"- {n}" for n in notes)]
    return "\n".join(rows)


def _versions() -> str:
    names = ("litestar", "uvicorn", "msgspec", "mlflow", "xgboost", "numpy", "pandas")
    return ", ".join(f"{n} {metadata.version(n)}" for n in names)


def _header(
    args: argparse.Namespace, servers: list[Server], bundle: ModelBundle, width: int
) -> str:
    described = "\n".join(f"- **{s.name}**: {s.description}" for s in servers)
    return (
        "# Benchmark: serving throughput and latency\n\n"
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}; {_versions()}).\n\n"
        "## Method\n\n"
        "One run of `benchmarks/serving.py` trains the default model "
        f"(`{bundle.metadata.get('model', type(bundle.model).__name__)}` on `data/leads.csv`, "
        f"`{type(bundle.calibrator).__name__}`, {width} model inputs) into a "
        "temporary MLflow store, which promotes it to "
        "`conversion@champion`; all three servers serve that same model, each as one uvicorn "
        "worker on 127.0.0.1, started one after another:\n\n"
        f"{described}\n\n"
        "The bare ceiling receives rows already passed through the bundle's feature transformer "
        '(`{"x": [floats]}`, or a list of rows), decodes them with msgspec into numpy, calls '
        "`XGBClassifier.get_booster().inplace_predict` and the bundle's calibrator: it skips "
        "validation, feature building, metrics and access logs, and returns bare lists.\n\n"
        "Cold start is the wall time from process start to the first HTTP 200 on the server's "
        "readiness endpoint (mlsys `/ready`, MLflow `/ping`, bare `/health`), polled every 20 ms. "
        "Before load, each server must return the same calibrated probability as "
        "`bundle.predict_proba` for lead 0 of `data/leads.csv` and for the first "
        f"{args.batch} leads (mlsys: JSON records; MLflow: `dataframe_split`). Load is "
        f"`wrk -t2 -c8 -d{args.duration}s --latency` with a Lua script posting one fixed JSON "
        f"body: one record, then a batch of {args.batch} records (the first {args.batch} "
        f"leads), each after a {args.warmup} s warm-up run on the same endpoint. Servers are "
        "measured one at a time (the others idle); wrk shares the 2 cores with the server. "
        "Servers run with their default logging: mlsys writes one JSON access-log line per "
        "request, MLflow's uvicorn its access log, bare none.\n\n"
        "Re-run: `uv run python benchmarks/serving.py --write` "
        "(`--duration` seconds per wrk run, default 10).\n\n"
        "## Results\n\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--batch", type=int, default=1000, help="records per batch request")
    parser.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(ROOT)}")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found on PATH (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="mlsys-serving-bench-") as tmp_name:
        args.tmp = tmp = Path(tmp_name)
        bundle_path = _train(tmp)
        bundle = ModelBundle.load(bundle_path)
        payloads = _payloads(bundle, args.batch)
        servers = _servers(tmp)
        running: list[Running] = []
        try:
            for server in servers:
                running.append(_launch(server, tmp, bundle_path))
            results = _agreement(running, payloads, args.batch)
            for r in running:
                _bench(r, payloads, results[r.server.name], args)
        finally:
            for r in running:
                _stop(r)
    report = _report(results, servers, args.batch)
    print()
    print(report)
    if args.write:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(_header(args, servers, bundle, payloads.matrix.shape[1]) + report + "\n")
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
