"""Batch scoring at scale: peak memory and rows/s of `python -m mlsys.predict` against in-memory.

One run, in a temporary directory (never the repository):

1. trains the default model (xgboost on data/leads.csv) into a temporary MLflow store, where it
   becomes the champion, or takes `--model`;
2. generates 100,000 and 2,000,000 leads with `python -m mlsys.data --rows N`;
3. per size, `--repeats` times, alternating so both see the same machine load:
   * baseline: a process that reads the whole CSV with pandas, loads the bundle and times
     `bundle.predict_proba(frame)` (rows/s of predict_proba alone, and of read + predict_proba);
   * mlsys: `python -m mlsys.predict <csv> -o scores.parquet --model <bundle>` as a process;
     rows/s is the summary's (read, validate, score, write), wall time is the whole process;
   peak RSS of each process comes from `os.wait4` (the kernel's ru_maxrss of that child);
4. checks that mlsys wrote the same probabilities as `predict_proba` and as the registered
   pyfunc model that `mlflow.pyfunc.spark_udf` runs (first size).

Targets: mlsys rows/s >= 0.8x the baseline's predict_proba rows/s; mlsys peak RSS flat in N.

    uv run python benchmarks/predict.py --write          # or: make bench-predict
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks" / "predict.md"
TARGET = 0.8

BASELINE = """
import json, sys, time
import numpy as np
import pandas as pd
from mlsys.models import ModelBundle

data, bundle_path, out = sys.argv[1:4]
started = time.perf_counter()
frame = pd.read_csv(data, low_memory=False, skipinitialspace=True)
read = time.perf_counter() - started
bundle = ModelBundle.load(bundle_path)
started = time.perf_counter()
probabilities = bundle.predict_proba(frame)
scored = time.perf_counter() - started
if out != "-":
    np.save(out, probabilities)
print(json.dumps({"rows": len(frame), "read_s": read, "predict_s": scored}))
"""


PYFUNC = """
import json, sys
import numpy as np
import pandas as pd
import mlflow.pyfunc
from mlflow.models import get_model_info

data, scores = sys.argv[1:3]
uri = "models:/conversion@champion"
signature = get_model_info(uri).signature.inputs
names = signature.input_names()
model = mlflow.pyfunc.load_model(uri)
frame = pd.read_csv(data)[names]
written = pd.read_parquet(scores)["probability"].to_numpy()
diff = float(np.abs(model.predict(frame)["probability"].to_numpy() - written).max())
longs = [c.name for c in signature.inputs if str(c.type).endswith("long")]
nulls = {}
for column in longs[:1]:
    sample = frame.head(10).astype({column: "Int64"})
    sample.loc[0, column] = pd.NA
    try:
        model.predict(sample)
        nulls[column] = "accepted"
    except Exception as exc:
        nulls[column] = type(exc).__name__
print(json.dumps({"rows": len(frame), "max_diff": diff, "long_columns": longs, "nulls": nulls}))
"""


@dataclass
class Measure:
    """One process run."""

    seconds: float
    peak_mb: float
    result: dict[str, Any]


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    """Run a helper process (training, data generation) to the end."""
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed ({done.returncode}):\n{done.stderr[-3000:]}")


def _run_measured(command: list[str]) -> Measure:
    """Run a process to the end: wall seconds, its own peak RSS (``os.wait4``), its stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed ({process.returncode}):\n{stderr[-3000:]}")
    return Measure(seconds=seconds, peak_mb=usage.ru_maxrss / 1024, result={"stdout": stdout})


def _train(tmp: Path) -> Path:
    """The default model, tracked in a temporary store: version 1, the champion."""
    run_dir = tmp / "run"
    _run([sys.executable, "-m", "mlsys.train", f"hydra.run.dir={run_dir}"], _store(tmp))
    return run_dir / "model.joblib"


def _store(tmp: Path) -> dict[str, str]:
    return {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'store' / 'mlflow.db'}"}


def _pyfunc(tmp: Path, data: Path, scores: Path) -> dict[str, Any]:
    """What `mlflow.pyfunc.spark_udf` would run per batch: the registered pyfunc model."""
    done = subprocess.run(
        [sys.executable, "-c", PYFUNC, str(data), str(scores)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=_store(tmp),
    )
    if done.returncode != 0:
        raise RuntimeError(f"pyfunc check failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _baseline(data: Path, bundle: Path, save: Path | None) -> dict[str, float]:
    measure = _run_measured(
        [sys.executable, "-c", BASELINE, str(data), str(bundle), str(save) if save else "-"]
    )
    result = json.loads(measure.result["stdout"].strip().splitlines()[-1])
    rows = result["rows"]
    return {
        "peak_mb": measure.peak_mb,
        "wall_s": measure.seconds,
        "predict_s": result["predict_s"],
        "read_s": result["read_s"],
        "rows_per_s": rows / result["predict_s"],
        "read_and_predict_rows_per_s": rows / (result["predict_s"] + result["read_s"]),
    }


def _mlsys(data: Path, bundle: Path, out: Path, chunk_size: int) -> dict[str, float]:
    summary = out.with_suffix(".summary.json")
    measure = _run_measured(
        [
            sys.executable,
            "-m",
            "mlsys.predict",
            str(data),
            "-o",
            str(out),
            "--model",
            str(bundle),
            "--chunk-size",
            str(chunk_size),
            "--summary-json",
            str(summary),
            "--no-progress",
        ]
    )
    result = json.loads(summary.read_text())
    return {
        "peak_mb": measure.peak_mb,
        "wall_s": measure.seconds,
        "score_s": result["seconds"],
        "rows_per_s": result["rows_per_second"],
        "rows_scored": result["rows_scored"],
    }


def _agreement(out: Path, saved: Path) -> float:
    import numpy as np
    import pandas as pd

    written = pd.read_parquet(out, columns=["probability"])["probability"].to_numpy()
    return float(np.abs(written - np.load(saved)).max())


def _pyfunc_note(result: dict[str, Any]) -> str:
    nulls = ", ".join(f"`{c}`: {outcome}" for c, outcome in result["nulls"].items())
    return (
        f' The registered pyfunc model (`mlflow.pyfunc.load_model("models:/conversion@champion'
        f'")`, what `spark_udf` calls per batch) differs from them by at most '
        f"{result['max_diff']:.1e} on the same rows. Its signature types "
        f"{', '.join(f'`{c}`' for c in result['long_columns'])} as `long`; a missing value in "
        f"one of them ({nulls}) fails MLflow's schema enforcement (see docs/SCORING.md)."
    )


def _versions() -> str:
    names = ("pandas", "pyarrow", "numpy", "xgboost", "scikit-learn")
    return ", ".join(f"{n} {metadata.version(n)}" for n in names)


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in rows))


def _markdown(
    results: dict[int, dict[str, Any]],
    args: argparse.Namespace,
    extra: str,
    sweep: dict[int, dict[str, Any]],
) -> str:
    lines = [
        "# Benchmark: batch scoring memory and throughput",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} cores, shared with other work; Python {platform.python_version()}; "
        f"{_versions()}).",
        "",
        "## Method",
        "",
        "`benchmarks/predict.py` trains the default model (xgboost on `data/leads.csv`, "
        "tracked in a temporary MLflow store, where it becomes the champion) and generates "
        "the leads with `python -m mlsys.data --rows N` into a temporary directory. For each "
        "size it alternates, "
        f"{args.repeats} times, two processes on the same CSV and bundle:",
        "",
        "- **baseline**: `pandas.read_csv` of the whole file, then "
        "`bundle.predict_proba(frame)` on it in memory; rows/s counts `predict_proba` only "
        "(reading is reported separately);",
        f"- **mlsys**: `python -m mlsys.predict <csv> -o scores.parquet --model <bundle> "
        f"--chunk-size {args.chunk_size}`; rows/s is its summary's (reading, validating, "
        "scoring, writing; not interpreter start-up or model loading), wall is the whole "
        "process.",
        "",
        "Peak memory is each process's own peak resident set size (`ru_maxrss` from "
        "`os.wait4`). Medians over the repeats; ratios are mlsys / baseline. The machine is "
        "shared with other work, whose load moves a run's ratios by 10-20 % (more for mlsys, "
        "see below); the tables are one run.",
        "",
        "Re-run: `make bench-predict` (= `uv run python benchmarks/predict.py --write`; "
        "`--rows`, `--repeats`, `--chunk-size`, `--model` to change the setup).",
        "",
        "## Results",
        "",
        "| rows | mlsys peak MB | baseline peak MB | mlsys rows/s | baseline predict_proba rows/s "
        "| ratio | baseline read + predict_proba rows/s | ratio | mlsys wall s | baseline wall s "
        "|",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, result in results.items():
        mlsys, base = result["mlsys"], result["baseline"]
        lines.append(
            f"| {n:,} | {_median(mlsys, 'peak_mb'):,.0f} | {_median(base, 'peak_mb'):,.0f} "
            f"| {_median(mlsys, 'rows_per_s'):,.0f} | {_median(base, 'rows_per_s'):,.0f} "
            f"| **{result['ratio']:.2f}x** "
            f"| {_median(base, 'read_and_predict_rows_per_s'):,.0f} "
            f"| {result['ratio_with_read']:.2f}x | {_median(mlsys, 'wall_s'):.1f} "
            f"| {_median(base, 'wall_s'):.1f} |"
        )
    sizes = list(results)
    small, large = results[sizes[0]], results[sizes[-1]]
    growth = _median(large["mlsys"], "peak_mb") / _median(small["mlsys"], "peak_mb")
    base_growth = _median(large["baseline"], "peak_mb") / _median(small["baseline"], "peak_mb")
    worst = min(r["ratio"] for r in results.values())
    lines += [
        "",
        "| check | value | target | verdict |",
        "|---|---|---|---|",
        f"| mlsys peak RSS, {sizes[-1]:,} rows / {sizes[0]:,} rows | {growth:.2f}x "
        f"(baseline {base_growth:.1f}x) | flat (~1x) | "
        f"**{'met' if growth < 1.3 else 'missed'}** |",
        f"| mlsys rows/s / baseline predict_proba rows/s (lowest size) | {worst:.2f}x "
        f"| >= {TARGET}x | **{'met' if worst >= TARGET else 'missed'}** |",
        "",
        extra,
        "",
        "Wall times are whole processes: interpreter start-up, imports and model loading "
        "included, and for the baseline reading the CSV into pandas.",
        "",
        "## Why it is this fast, and when it is not",
        "",
        "- While one chunk is written, a thread reads, validates and scores the next; "
        "Arrow, numpy and xgboost release the GIL, so both cores "
        "work. The CLI sets `OMP_WAIT_POLICY=PASSIVE` (unless set): spinning OpenMP threads "
        "otherwise took the reader's core (30-50 % fewer rows/s measured without it).",
        "- Chunks go through `ModelBundle.score` (the server's path too), with each category "
        "level mapped once per chunk instead of once per row.",
        "- 20,000-row chunks: a chunk's feature matrix stays in cache; 50,000 and 200,000 are "
        "no faster and hold more memory (table below), 5,000 pays per-chunk overhead.",
        "- The first and the last chunk cannot overlap with anything, which costs small files "
        "most. mlsys keeps both cores busy where the baseline's feature step uses one, so "
        "other load on the machine costs mlsys more: with other jobs on both cores the "
        "100,000-row ratio measured 0.6x.",
        "",
        f"## Memory follows the chunk size, not the file ({args.rows[-1]:,} rows)",
        "",
        "| --chunk-size | mlsys peak MB | mlsys rows/s |",
        "|---|---|---|",
        *(
            f"| {size:,} | {r['peak_mb']:,.0f} | {r['rows_per_s']:,.0f} |"
            for size, r in sorted(sweep.items())
        ),
        "",
        "## Every run",
        "",
        "| rows | repeat | mlsys rows/s | mlsys peak MB | baseline rows/s | baseline read s "
        "| baseline peak MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, result in results.items():
        for i, (m, b) in enumerate(zip(result["mlsys"], result["baseline"], strict=True)):
            lines.append(
                f"| {n:,} | {i + 1} | {m['rows_per_s']:,.0f} | {m['peak_mb']:,.0f} "
                f"| {b['rows_per_s']:,.0f} | {b['read_s']:.1f} | {b['peak_mb']:,.0f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 2_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=20_000, help="mlsys.predict's default")
    parser.add_argument("--model", type=Path, default=None, help="a model.joblib to use")
    parser.add_argument(
        "--sweep",
        type=int,
        nargs="*",
        default=[5_000, 50_000, 200_000],
        help="extra chunk sizes run once on the largest file (memory follows the chunk size)",
    )
    parser.add_argument("--write", action="store_true", help=f"rewrite {DOC.relative_to(ROOT)}")
    args = parser.parse_args()
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="mlsys-bench-predict-") as name:
        tmp = Path(name)
        bundle = args.model or _train(tmp)
        agreement = ""
        for n in args.rows:
            data = tmp / f"leads_{n}.csv"
            _run([sys.executable, "-m", "mlsys.data", "--out", str(data), "--rows", str(n)])
            out = tmp / f"scores_{n}.parquet"
            runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "mlsys": []}
            for i in range(args.repeats):
                save = tmp / "baseline.npy" if i == 0 and n == args.rows[0] else None
                runs["baseline"].append(_baseline(data, bundle, save))
                runs["mlsys"].append(_mlsys(data, bundle, out, args.chunk_size))
                print(n, i, runs["baseline"][-1], runs["mlsys"][-1], flush=True)
                if save is not None:
                    diff = _agreement(out, save)
                    agreement = (
                        f"Agreement: on {n:,} rows the probabilities mlsys wrote differ from "
                        f"`predict_proba` by at most {diff:.1e}."
                    )
                    if args.model is None:
                        agreement += _pyfunc_note(_pyfunc(tmp, data, out))
            ratio = _median(runs["mlsys"], "rows_per_s") / _median(runs["baseline"], "rows_per_s")
            with_read = _median(runs["mlsys"], "rows_per_s") / _median(
                runs["baseline"], "read_and_predict_rows_per_s"
            )
            results[n] = {**runs, "ratio": ratio, "ratio_with_read": with_read}
            if n == args.rows[-1]:
                sweep = {
                    size: _mlsys(data, bundle, out, size)
                    for size in sorted({*args.sweep, args.chunk_size})
                    if size != args.chunk_size
                }
                sweep[args.chunk_size] = {
                    "peak_mb": _median(runs["mlsys"], "peak_mb"),
                    "rows_per_s": _median(runs["mlsys"], "rows_per_s"),
                }
            data.unlink()
    text = _markdown(results, args, agreement, sweep)
    print(text)
    if args.write:
        DOC.write_text(text)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
