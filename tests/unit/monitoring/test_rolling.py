"""The server's live window: bounded, exact over its rows, thread-safe, numpy only."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlsys.data import Dataset, FeatureSchema
from mlsys.errors import SchemaError
from mlsys.monitoring import DataProfile, DriftThresholds, RollingDrift, drift_report

pytestmark = pytest.mark.unit

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def _request_columns(frame: pd.DataFrame, schema: FeatureSchema) -> dict[str, Any]:
    """Columns as the server's RecordValidator builds them for a request."""
    out: dict[str, Any] = {}
    for name, kind in zip(schema.columns, schema.kinds, strict=True):
        values = frame[name].tolist()
        if kind == "categorical":
            out[name] = np.array([None if pd.isna(v) else v for v in values], dtype=object)
        else:
            out[name] = np.array([np.nan if pd.isna(v) else float(v) for v in values])
    return out


def _requests(leads: Dataset, size: int) -> list[dict[str, Any]]:
    frame = leads.features
    return [
        _request_columns(frame.iloc[i : i + size], leads.schema) for i in range(0, len(frame), size)
    ]


def test_the_window_keeps_the_last_rows_only(
    profile: DataProfile, leads: Dataset, scores: FloatArray
) -> None:
    thresholds = DriftThresholds(min_rows=1)
    drift = RollingDrift(profile, window=500, blocks=5, thresholds=thresholds)
    for start, request in zip(range(0, 1500, 50), _requests(leads, 50), strict=True):
        drift.observe(request, scores[start : start + 50])
        assert drift.rows <= 500
    # Blocks of 100 rows; after 1,500 rows the ring holds the 4 full blocks before the empty
    # current one: rows 1,100 to 1,499.
    assert drift.rows == 400
    expected = drift_report(
        profile, leads.features.iloc[1100:], scores=scores[1100:], thresholds=thresholds
    )
    assert drift.snapshot() == expected


def test_a_single_record_request_is_counted(profile: DataProfile, leads: Dataset) -> None:
    drift = RollingDrift(profile, window=100, blocks=10)
    (first, *_) = _requests(leads, 1)
    drift.observe(first)
    report = drift.snapshot()
    assert report.rows == 1
    assert report.score is None
    assert {c.severity for c in report.columns} == {"too_few_rows"}


def test_concurrent_requests_lose_no_row(
    profile: DataProfile, leads: Dataset, scores: FloatArray
) -> None:
    drift = RollingDrift(profile, window=1_000_000, thresholds=DriftThresholds(min_rows=1))
    requests = _requests(leads, 3)
    barrier = threading.Barrier(4)

    def worker(part: int) -> None:
        barrier.wait()
        for i in range(part, len(requests), 4):
            drift.observe(requests[i], scores[3 * i : 3 * i + 3])

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert drift.rows == len(leads)
    expected = drift_report(
        profile, leads.features, scores=scores, thresholds=DriftThresholds(min_rows=1)
    )
    assert drift.snapshot() == expected


def test_bad_settings_and_bad_requests_are_refused(profile: DataProfile) -> None:
    with pytest.raises(ValueError, match="window >= blocks >= 1"):
        RollingDrift(profile, window=5, blocks=10)
    with pytest.raises(SchemaError, match=r"column\(s\) \['industry', 'company_size_band',"):
        RollingDrift(profile).observe({"employees": np.array([1.0])})


def test_observe_and_snapshot_need_no_pandas(profile: DataProfile, leads: Dataset) -> None:
    """The server's path, in a process where importing pandas fails."""
    request = {
        name: [None if pd.isna(v) else v for v in leads.features[name].iloc[:20]]
        for name in leads.schema.columns
    }
    script = f"""
import sys
sys.modules["pandas"] = None  # any import of pandas now raises ImportError
import json
import numpy as np
from mlsys.monitoring import DataProfile, RollingDrift

profile = DataProfile.from_dict(json.loads({json.dumps(json.dumps(profile.to_dict()))}))
request = json.loads({json.dumps(json.dumps(request))})
kinds = {json.dumps(dict(zip(leads.schema.columns, leads.schema.kinds, strict=True)))}
columns = {{
    name: np.array(values, dtype=object if kinds[name] == "categorical" else np.float64)
    for name, values in request.items()
}}
drift = RollingDrift(profile, window=1000)
drift.observe(columns, np.full(20, 0.1))
print(drift.snapshot().rows)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "20"
