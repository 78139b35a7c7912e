"""Batch scoring at scale: peak memory and rows/s of `python -m mlsys.predict` against in-memory.

One run, in a temporary directory (never the repository):

1. trains the default model (xgboost on data/leads.csv) into a temporary MLflow store, where it
   becomes the champion, or takes `--model`;
2. generates 2,000,000 and 10,000,000 leads with `python -m mlsys.data --rows N`;
3. per size, `--repeats` pairs alternated with `_paired.alternate` (same machine load):
   * baseline: a process that reads the whole CSV with pandas, loads the bundle and times
     `bundle.predict_proba(frame)` (rows/s of predict_proba alone, and of read + predict_proba);
   * mlsys: `python -m mlsys.predict <csv> -o scores.parquet --model <bundle>` as a process;
     rows/s is the summary's (read, validate, score, write), wall time is the whole process;
   peak RSS of each process comes from `os.wait4` (the kernel's ru_maxrss of that child);
4. checks that mlsys wrote the same probabilities as `predict_proba` and as the registered
   pyfunc model that `mlflow.pyfunc.spark_udf` runs (first size).

Targets: mlsys rows/s >= 0.9x the baseline's predict_proba rows/s (median of the paired ratios,
every size); mlsys peak RSS flat in N (largest / smallest size <= 1.1x).

    uv run python benchmarks/predict.py --write          # or: make bench-predict
    uv run python benchmarks/predict.py --smoke          # 5,000 and 10,000 rows, one pair
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from _paired import (
    RATIO_HEADER,
    Target,
    add_arguments,
    alternate,
    paired,
    parse,
    ratio_row,
    write_page,
)

ROOT = Path(__file__).resolve().parents[1]
TARGET = Target(0.9)
FLAT = Target(1.1, at_least=False)
SMOKE_TRAIN = ["model.n_estimators=30", "evaluation.report.enabled=false"]

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
        # As docs/TROUBLESHOOTING.md advises: mlsys sets no variable itself.
        env = {"OMP_WAIT_POLICY": "PASSIVE", **os.environ}
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed ({process.returncode}):\n{stderr[-3000:]}")
    return Measure(seconds=seconds, peak_mb=usage.ru_maxrss / 1024, result={"stdout": stdout})


def _train(tmp: Path, smoke: bool) -> Path:
    """The default model, tracked in a temporary store: version 1, the champion."""
    run_dir = tmp / "run"
    extra: list[str] = []
    if smoke:
        data = tmp / "train.csv"
        _run([sys.executable, "-m", "mlsys.data", "--out", str(data), "--rows", "2000"])
        extra = [f"data.path={data}", *SMOKE_TRAIN]
    _run([sys.executable, "-m", "mlsys.train", f"hydra.run.dir={run_dir}", *extra], _store(tmp))
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
    outcomes = ", ".join(
        f"`{c}`: {'accepted' if outcome == 'accepted' else f'refused ({outcome})'}"
        for c, outcome in result["nulls"].items()
    )
    longs = ", ".join(f"`{c}`" for c in result["long_columns"]) or "none"
    return (
        f' The registered pyfunc model (`mlflow.pyfunc.load_model("models:/conversion@champion'
        f'")`, what `spark_udf` calls per batch) differs from them by at most '
        f"{result['max_diff']:.1e} on the same rows. Columns its signature types as `long`: "
        f"{longs}."
        + (f" A missing value sent in the first of them: {outcomes}." if outcomes else "")
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
        f"Versions: {_versions()}.",
        "",
        "## Method",
        "",
        "`benchmarks/predict.py` trains the default model (xgboost on `data/leads.csv`, "
        "tracked in a temporary MLflow store, where it becomes the champion) and generates "
        "the leads with `python -m mlsys.data --rows N` into a temporary directory. For each "
        f"size it alternates {args.repeats} pairs of processes on the same CSV and bundle:",
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
        "`os.wait4`). Ratios are mlsys / baseline per pair.",
        "",
        "## Results (medians over the pairs)",
        "",
        "| rows | mlsys peak MB | baseline peak MB | mlsys rows/s | baseline predict_proba rows/s "
        "| baseline read + predict_proba rows/s | mlsys wall s | baseline wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, result in results.items():
        mlsys, base = result["mlsys"], result["baseline"]
        lines.append(
            f"| {n:,} | {_median(mlsys, 'peak_mb'):,.0f} | {_median(base, 'peak_mb'):,.0f} "
            f"| {_median(mlsys, 'rows_per_s'):,.0f} | {_median(base, 'rows_per_s'):,.0f} "
            f"| {_median(base, 'read_and_predict_rows_per_s'):,.0f} "
            f"| {_median(mlsys, 'wall_s'):.1f} | {_median(base, 'wall_s'):.1f} |"
        )
    sizes = list(results)
    lines += ["", *RATIO_HEADER]
    for n, result in results.items():
        pairs = list(zip(result["baseline"], result["mlsys"], strict=True))
        lines.append(
            ratio_row(
                f"{n:,} rows: mlsys rows/s / predict_proba rows/s",
                paired(pairs, lambda b, m: m["rows_per_s"] / b["rows_per_s"]),
                TARGET,
            )
        )
        lines.append(
            ratio_row(
                f"{n:,} rows: mlsys rows/s / read + predict_proba rows/s",
                paired(pairs, lambda b, m: m["rows_per_s"] / b["read_and_predict_rows_per_s"]),
                None,
            )
        )
    if len(sizes) > 1:
        small, large = results[sizes[0]]["mlsys"], results[sizes[-1]]["mlsys"]
        lines.append(
            ratio_row(
                f"mlsys peak RSS, {sizes[-1]:,} / {sizes[0]:,} rows (pair by pair)",
                paired(
                    list(zip(small, large, strict=True)), lambda a, b: b["peak_mb"] / a["peak_mb"]
                ),
                FLAT,
            )
        )
    lines += [
        "",
        extra,
        "",
        f"## Memory follows the chunk size, not the file ({sizes[-1]:,} rows, one run each)",
        "",
        "| --chunk-size | mlsys peak MB | mlsys rows/s |",
        "|---|---|---|",
        *(
            f"| {size:,} | {r['peak_mb']:,.0f} | {r['rows_per_s']:,.0f} |"
            for size, r in sorted(sweep.items())
        ),
        "",
        "## Every pair",
        "",
        "| rows | pair | mlsys rows/s | mlsys peak MB | baseline rows/s | baseline read s "
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
    add_arguments(parser, repeats=5)
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000, 10_000_000])
    parser.add_argument("--chunk-size", type=int, default=20_000, help="mlsys.predict's default")
    parser.add_argument("--model", type=Path, default=None, help="a model.joblib to use")
    parser.add_argument(
        "--sweep",
        type=int,
        nargs="*",
        default=[5_000, 50_000, 200_000],
        help="extra chunk sizes run once on the largest file (memory follows the chunk size)",
    )
    args = parse(parser)
    if args.smoke:
        args.rows, args.repeats, args.sweep = [5_000, 10_000], 1, [5_000]
    results: dict[int, dict[str, Any]] = {}
    sweep: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="mlsys-bench-predict-") as name:
        tmp = Path(name)
        bundle = args.model or _train(tmp, args.smoke)
        agreement = ""
        for n in args.rows:
            data = tmp / f"leads_{n}.csv"
            _run([sys.executable, "-m", "mlsys.data", "--out", str(data), "--rows", str(n)])
            out = tmp / f"scores_{n}.parquet"
            first = n == args.rows[0]
            save = tmp / "baseline.npy"
            pairs = alternate(
                lambda i, d=data, f=first, s=save: _baseline(
                    d, bundle, s if f and i == 0 else None
                ),
                lambda i, d=data, o=out: _mlsys(d, bundle, o, args.chunk_size),
                args.repeats,
                label=f"{n:,} rows",
            )
            results[n] = {"baseline": [b for b, _ in pairs], "mlsys": [m for _, m in pairs]}
            if first:
                # The last mlsys run wrote ``out``: the same bundle on the same file.
                diff = _agreement(out, save)
                agreement = (
                    f"Agreement: on {n:,} rows the probabilities mlsys wrote differ from "
                    f"`predict_proba` by at most {diff:.1e}."
                )
                if args.model is None:
                    agreement += _pyfunc_note(_pyfunc(tmp, data, out))
            if n == args.rows[-1]:
                sweep = {
                    size: _mlsys(data, bundle, out, size)
                    for size in sorted(set(args.sweep))
                    if size != args.chunk_size
                }
                sweep[args.chunk_size] = {
                    "peak_mb": _median(results[n]["mlsys"], "peak_mb"),
                    "rows_per_s": _median(results[n]["mlsys"], "rows_per_s"),
                }
            data.unlink()
    text = _markdown(results, args, agreement, sweep)
    print(text)
    write_page(args, "predict.md", "Benchmark: batch scoring memory and throughput", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
