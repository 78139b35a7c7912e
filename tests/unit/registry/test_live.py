"""``ml-register compare --metrics-url``: a server's shadow figures read back from /metrics."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from mlsys.errors import TrackingError
from mlsys.registry.__main__ import _render
from mlsys.registry._live import read_live_figures
from mlsys.serving._shadow import ShadowCollector, ShadowStats

pytestmark = pytest.mark.unit


def _model(version: str, threshold: float) -> Any:
    return SimpleNamespace(version=version, bundle=SimpleNamespace(threshold=threshold))


def test_the_shadow_figures_are_read_back_and_printed_under_the_comparison(
    tmp_path: Path,
) -> None:
    stats = ShadowStats()
    champion = np.array([0.05, 0.12, 0.3, 0.6, 0.9])
    challenger = np.array([0.07, 0.25, 0.35, 0.4, 0.95])
    stats.observe("champion", "3", champion)
    stats.compare(_model("3", 0.2), champion, _model("4", 0.5), challenger)
    registry = CollectorRegistry()
    registry.register(ShadowCollector(stats))
    page = tmp_path / "metrics"
    page.write_bytes(generate_latest(registry))

    live = read_live_figures(page.as_uri())

    (pair,) = live["pairs"]
    assert pair["rows"] == 5
    # Decisions: champion at 0.2 (0,0,1,1,1), challenger at 0.5 (0,0,0,0,1): 3 of 5 agree.
    assert pair["agreement_rate"] == pytest.approx(0.6)
    assert pair["mean_abs_diff"] == pytest.approx(np.mean(np.abs(champion - challenger)))
    by_role = {s["role"]: s for s in live["scores"]}
    assert by_role["champion"]["count"] == 5
    assert by_role["champion"]["mean"] == pytest.approx(champion.mean())
    assert by_role["champion"]["p50_at_most"] == pytest.approx(0.3)
    output = {"data": "h.csv", "rows": 10, "versions": {"3": {"roc_auc": 0.8}}, "live": live}
    text = _render("compare", output)
    assert "champion 3 vs challenger 4: 5 rows, agreement 60.0% at the decision thresholds" in text
    rows = {line.split()[0] + line.split()[1]: line.split()[2:] for line in text.splitlines()[-2:]}
    assert rows == {
        "champion3": ["5", "0.3940", "0.05", "0.30", "0.90"],
        "challenger4": ["5", "0.4040", "0.10", "0.35", "0.95"],
    }


def test_an_unreachable_metrics_url_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(TrackingError, match=r"--metrics-url .*Fix: give the /metrics address"):
        read_live_figures((tmp_path / "missing").as_uri())
