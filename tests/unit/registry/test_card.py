"""Every registered version gets a model card, with the run's real figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlsys import build_pipeline, compose_config
from mlsys._rebuild import run_component
from mlsys._rundir import RunDir
from mlsys.registry import ChampionGate, InMemoryRegistry, offer_run
from mlsys.tracking import RunRecord
from tests.conftest import FAST_MODEL_OVERRIDES

pytestmark = pytest.mark.unit


class _Tracked:
    """A tracker that records nothing and hands out a fixed run id."""

    required = False

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def prepare(self) -> None:
        pass

    def log_run(self, record: RunRecord) -> str:
        return self.run_id


def _train(overrides: list[str], out: Path, run_id: str, gate: ChampionGate | None) -> Path:
    pipeline = build_pipeline(compose_config(overrides), output_dir=out)
    pipeline.tracker = _Tracked(run_id)
    pipeline.registry = gate
    pipeline.run()
    return out


@pytest.fixture
def overrides(leads_overrides: list[str]) -> list[str]:
    return [
        *leads_overrides,
        *FAST_MODEL_OVERRIDES["logreg"],
        "evaluation.report.segment_column=region",
        "evaluation.report.importance=true",
    ]


def test_a_registered_version_has_a_card_with_the_runs_figures(
    overrides: list[str], tmp_path: Path
) -> None:
    registry = InMemoryRegistry(name="leads")
    run = _train(overrides, tmp_path / "run", "run-1", ChampionGate(registry))

    card = (run / "model_card.md").read_text()
    assert registry.model_card("1") == card
    metadata = json.loads((run / "metadata.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    intervals = json.loads((run / "report" / "metrics.json").read_text())["confidence_intervals"]
    assert card.startswith("# Model card: leads, version 1")
    assert f"`{metadata['data']['sha256']}`" in card
    assert f"| rows | {metadata['data']['rows']:,} |" in card
    created = metadata["dates"]["created_at"]
    assert f"{created[0]} to {created[1]}" in card
    assert f"| roc_auc | {metrics['roc_auc']:.4f} | {intervals['roc_auc']['low']:.4f} to" in card
    assert "## Training profile" in card
    assert "| employees | numeric |" in card
    assert "## Segments" in card
    assert "| region |" in card
    assert "## Top features" in card
    assert "leads are called" in card  # the threshold in leads per 100
    assert "Promoted to champion" in card
    assert "no champion to compare with" in card
    assert "`opportunity_amount`" in card  # the leaky column the config drops


def test_a_run_offered_after_the_fact_gets_its_card_too(
    overrides: list[str], tmp_path: Path
) -> None:
    """The sweep's path: ``offer_run`` on a finished run directory."""
    registry = InMemoryRegistry(name="leads")
    _train(overrides, tmp_path / "first", "run-1", ChampionGate(registry))
    run = _train([*overrides, "seed=7"], tmp_path / "second", "run-2", None)
    assert not (run / "model_card.md").exists()  # not registered yet

    rundir = RunDir.open(run, purpose="offer")
    decision = offer_run(
        rundir,
        promoter=ChampionGate(registry),
        data=run_component(rundir, "data"),
        splitter=run_component(rundir, "split"),
        evaluator=run_component(rundir, "evaluation"),
    )

    assert decision is not None
    assert decision.version == "2"
    card = (run / "model_card.md").read_text()
    assert registry.model_card("2") == card
    assert "version 1" in card  # the champion it was compared with
    assert registry.model_card("1") != card
