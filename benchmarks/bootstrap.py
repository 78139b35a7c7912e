"""Bootstrap intervals of the evaluation report: vectorised resamples against a scikit-learn loop.

Times (CPU seconds, median of ``--repeats``) ``bootstrap_intervals`` with 1,000 resamples of
10,000 scored rows, as the report computes them on a test split, and the same resamples as a
Python loop of ``roc_auc_score`` + ``average_precision_score`` calls (measured on 50 resamples,
scaled to 1,000). Target: under 2 s for the 1,000 resamples, where the loop takes 10 s or more.
This was a unit test's assertion once; a timing belongs here, where a slow machine makes a slow
figure instead of a failed test.

    uv run python benchmarks/bootstrap.py --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm

from mlsys.evaluation import bootstrap_intervals

ROWS, RESAMPLES, LOOPED = 10_000, 1000, 50


def _scored(n: int, seed: int = 2, rate: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(np.int64)
    return y, np.clip(rng.normal(0.3 + 0.3 * y, 0.2), 0, 1)


def _cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def _loop(y: np.ndarray, p: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    for _ in range(LOOPED):
        rows = rng.integers(0, len(y), len(y))
        skm.roc_auc_score(y[rows], p[rows])
        skm.average_precision_score(y[rows], p[rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="20 resamples, one repeat")
    args = parser.parse_args()
    if args.smoke:
        args.repeats = 1
    resamples = 20 if args.smoke else RESAMPLES
    y, p = _scored(ROWS)
    bootstrap_intervals(y[:100], p[:100], resamples=10)  # imports and first-call costs
    vectorised = [
        _cpu(lambda: bootstrap_intervals(y, p, resamples=resamples, seed=0))
        for _ in range(args.repeats)
    ]
    looped = [_cpu(lambda: _loop(y, p)) * resamples / LOOPED for _ in range(args.repeats)]
    print(f"{resamples} resamples of {ROWS:,} rows, CPU seconds (median of {args.repeats}):")
    print(
        f"  bootstrap_intervals   {statistics.median(vectorised):7.2f}  "
        f"target < 2 (for {RESAMPLES})"
    )
    print(f"  scikit-learn loop     {statistics.median(looped):7.2f}  (scaled from {LOOPED})")


if __name__ == "__main__":
    main()
