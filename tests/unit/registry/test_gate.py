"""The champion gate compares a candidate with the champion only on rows the champion never saw."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlsys.calibration import SigmoidCalibrator
from mlsys.data import Dataset, FrameSource, generate_leads
from mlsys.evaluation import Evaluator, ReportOptions
from mlsys.features import NoRebalance, TabularFeatures
from mlsys.models import LogisticRegressionModel
from mlsys.registry import CHAMPION, Candidate, ChampionGate, GateDecision, InMemoryRegistry
from mlsys.split import RandomSplitter, TimeSplitter
from mlsys.tracking import RunRecord
from mlsys.training import TrainingPipeline, TrainingResult

pytestmark = pytest.mark.unit

_RUN_IDS = (f"run-{i}" for i in itertools.count())


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainingResult, Dataset]:
    frame, _ = generate_leads(n_rows=1500)
    source = FrameSource(
        frame,
        target="converted",
        id_column="lead_id",
        date_columns=["created_at"],
        drop_columns=["account_id", "opportunity_amount"],
    )
    splitter = TimeSplitter(column="created_at")
    result = TrainingPipeline(
        data=source,
        splitter=splitter,
        features=TabularFeatures(),
        imbalance=NoRebalance(),
        model=LogisticRegressionModel(),
        calibrator=SigmoidCalibrator(),
        evaluator=Evaluator(report=ReportOptions(enabled=False)),
        output_dir=tmp_path_factory.mktemp("run"),
    ).run()
    return result, source.load()


def _candidate(result: TrainingResult, dataset: Dataset, **changes: Any) -> Candidate:
    """A candidate of the trained model, as if from a run of its own (a new run id)."""
    splitter = TimeSplitter(column="created_at")
    splits = splitter.split(dataset)
    trained_until, holdout_from = splitter.period(dataset, splits)
    candidate = Candidate(
        run_id=next(_RUN_IDS),
        bundle_path=result.artifacts["model"],
        bundle=result.bundle,
        holdout_features=dataset.features.iloc[splits.test].reset_index(drop=True),
        holdout_labels=dataset.target[splits.test],
        metrics=result.metrics,
        evaluator=Evaluator(),
        data_sha256=dataset.sha256,
        test_split_sha256=splits.digests()["test"],
        trained_until=trained_until,
        holdout_from=holdout_from,
    )
    return replace(candidate, **changes)


def test_time_split_period_separates_fitted_rows_from_test_rows(
    trained: tuple[TrainingResult, Dataset],
) -> None:
    _, dataset = trained
    splitter = TimeSplitter(column="created_at")

    trained_until, holdout_from = splitter.period(dataset, splitter.split(dataset))

    assert trained_until <= holdout_from


def test_another_file_with_a_newer_holdout_is_compared(
    trained: tuple[TrainingResult, Dataset],
) -> None:
    result, dataset = trained
    registry = InMemoryRegistry()
    gate = ChampionGate(registry)
    first = gate.offer(_candidate(result, dataset, trained_until="2025-01-31T00:00:00"))
    assert first.promoted

    # Refreshed data: another file, and every test row is newer than the champion's rows.
    fresh = _candidate(result, dataset, data_sha256="refreshed", holdout_from="2025-03-01")
    decision = gate.offer(fresh)

    # Compared, not refused: the champion was re-scored on the fresh rows. The same model
    # scores the same, so a tie keeps the champion.
    assert decision.reason.startswith("fresh holdout: test rows from 2025-03-01")
    assert "roc_auc gain +0.0000 below required" in decision.reason
    assert decision.champion_scores == decision.candidate_scores
    assert registry.get_alias(CHAMPION) == "1"


@pytest.mark.parametrize(
    ("champion_until", "changes", "advice"),
    [
        # Test rows overlap the champion's period.
        ("2025-01-31T00:00:00", {"holdout_from": "2025-01-15T00:00:00"}, "not after the champ"),
        # A random split proves nothing.
        ("2025-01-31T00:00:00", {"holdout_from": ""}, "Retrain on newer data with split=time"),
        # A time split against a champion that had none.
        ("", {"holdout_from": "2025-03-01"}, "but champion v1 did not"),
    ],
    ids=["overlapping-period", "no-period", "champion-without-period"],
)
def test_another_file_without_a_newer_holdout_is_refused_with_fitting_advice(
    trained: tuple[TrainingResult, Dataset],
    champion_until: str,
    changes: dict[str, str],
    advice: str,
) -> None:
    result, dataset = trained
    registry = InMemoryRegistry()
    gate = ChampionGate(registry)
    gate.offer(_candidate(result, dataset, trained_until=champion_until))

    decision = gate.offer(_candidate(result, dataset, data_sha256="refreshed", **changes))

    assert not decision.promoted
    assert decision.reason.startswith("REFUSED: holdout differs")
    assert advice in decision.reason
    assert "ml-register compare" in decision.reason
    assert registry.get_alias(CHAMPION) == "1"


def test_another_data_set_is_refused_for_its_schema_first(
    trained: tuple[TrainingResult, Dataset],
) -> None:
    """Bank marketing offered to the leads model: the advice is its own name=, not split=time."""
    result, dataset = trained
    registry = InMemoryRegistry()
    gate = ChampionGate(registry)
    gate.offer(_candidate(result, dataset))
    other = _candidate(result, dataset, data_sha256="bank", holdout_from="")
    registry.tag_version("1", {"mlsys.schema": "another schema"})

    decision = gate.offer(other)

    assert decision.reason.startswith("REFUSED: schema differs from champion v1")
    assert "name=<use case>" in decision.reason


def test_registered_versions_keep_their_period(trained: tuple[TrainingResult, Dataset]) -> None:
    result, dataset = trained
    registry = InMemoryRegistry()
    candidate = _candidate(result, dataset)

    ChampionGate(registry).offer(candidate)

    tags = registry.versions()[0].tags
    assert tags["mlsys.trained_until"] == candidate.trained_until
    assert tags["mlsys.holdout_from"] == candidate.holdout_from


def test_promoting_a_version_with_another_schema_warns(
    trained: tuple[TrainingResult, Dataset], caplog: pytest.LogCaptureFixture
) -> None:
    from mlsys.registry import promote_version

    result, dataset = trained
    registry = InMemoryRegistry()
    gate = ChampionGate(registry)
    gate.offer(_candidate(result, dataset))
    gate.offer(_candidate(result, dataset, data_sha256="bank", holdout_from=""))
    registry.tag_version("2", {"mlsys.schema": "bank marketing's columns"})

    with caplog.at_level("WARNING", logger="mlsys.registry._gate"):
        assert promote_version(registry, "2", "a person decided") == "1"

    assert registry.get_alias(CHAMPION) == "2"  # the person decides; the warning says the cost
    assert "takes other input columns than version 1" in caplog.text


# --- Guard rails, chance level, and the order of writes ---------------------------------------


def _challenge(
    gate: ChampionGate, trained: tuple[TrainingResult, Dataset], **scores: float | None
) -> GateDecision:
    """Make the trained model champion, then offer it again claiming other test ``scores``.

    The gate re-scores the champion on the holdout (the trained model's own metrics), so the
    claimed scores are what the candidate is compared with.
    """
    result, dataset = trained
    first = gate.offer(_candidate(result, dataset))
    assert first.promoted
    return gate.offer(_candidate(result, dataset, metrics={**result.metrics, **scores}))


def _base(trained: tuple[TrainingResult, Dataset], metric: str) -> float:
    return float(trained[0].metrics[metric])


@pytest.mark.parametrize(
    ("allowed", "promoted"), [(0.02, False), (0.06, True)], ids=["too-much", "within"]
)
def test_max_drop_bounds_how_much_a_guard_rail_may_worsen(
    trained: tuple[TrainingResult, Dataset], allowed: float, promoted: bool
) -> None:
    registry = InMemoryRegistry()
    gate = ChampionGate(registry, max_drop={"pr_auc": allowed})

    decision = _challenge(
        gate,
        trained,
        roc_auc=_base(trained, "roc_auc") + 0.01,
        pr_auc=_base(trained, "pr_auc") - 0.05,
    )

    assert decision.promoted is promoted
    assert registry.get_alias(CHAMPION) == ("2" if promoted else "1")
    if not promoted:
        assert decision.reason == "guard rail: pr_auc worsens by 0.0500 (> 0.02)"


def test_max_drop_of_a_lower_is_better_metric_counts_a_rise_as_worse(
    trained: tuple[TrainingResult, Dataset],
) -> None:
    gate = ChampionGate(InMemoryRegistry(), max_drop={"brier": 0.001})

    decision = _challenge(
        gate,
        trained,
        roc_auc=_base(trained, "roc_auc") + 0.01,
        brier=_base(trained, "brier") + 0.01,
    )

    assert not decision.promoted
    assert decision.reason == "guard rail: brier worsens by 0.0100 (> 0.001)"


def test_max_value_bounds_the_candidate_absolutely(
    trained: tuple[TrainingResult, Dataset],
) -> None:
    gate = ChampionGate(InMemoryRegistry(), max_value={"ece": 0.05})

    decision = _challenge(gate, trained, roc_auc=_base(trained, "roc_auc") + 0.01, ece=0.2)

    assert not decision.promoted
    assert decision.reason == "guard rail: ece 0.2000 above bound 0.05"


@pytest.mark.parametrize(("gain", "promoted"), [(0.005, False), (0.02, True)])
def test_min_improvement_is_the_gain_the_primary_metric_needs(
    trained: tuple[TrainingResult, Dataset], gain: float, promoted: bool
) -> None:
    gate = ChampionGate(InMemoryRegistry(), min_improvement=0.01)

    decision = _challenge(gate, trained, roc_auc=_base(trained, "roc_auc") + gain)

    assert decision.promoted is promoted
    verdict = ">= +0.0100" if promoted else "below required +0.0100"
    assert decision.reason == f"roc_auc gain {gain:+.4f} {verdict}"


@pytest.mark.parametrize(("change", "promoted"), [(-0.01, True), (0.01, False)])
def test_a_lower_is_better_primary_metric_wins_by_going_down(
    trained: tuple[TrainingResult, Dataset], change: float, promoted: bool
) -> None:
    registry = InMemoryRegistry()
    gate = ChampionGate(registry, primary_metric="log_loss")

    decision = _challenge(gate, trained, log_loss=_base(trained, "log_loss") + change)

    assert decision.promoted is promoted
    assert decision.reason.startswith(f"log_loss gain {-change:+.4f}")
    assert registry.get_alias(CHAMPION) == ("2" if promoted else "1")


@pytest.mark.parametrize("setting", ["max_drop", "max_value"])
def test_a_guard_rail_on_a_metric_the_run_lacks_refuses_even_the_first_model(
    trained: tuple[TrainingResult, Dataset], setting: str
) -> None:
    result, dataset = trained
    registry = InMemoryRegistry()
    gate = ChampionGate(registry, **{setting: {"pr_aucc": 0.02}})  # type: ignore[arg-type]

    decision = gate.offer(_candidate(result, dataset))

    assert not decision.promoted
    assert decision.reason.startswith(
        f"REFUSED: guard rail registry.{setting}.pr_aucc names a metric this run does not have"
    )
    assert "'pr_auc'" in decision.reason  # the fix lists the metrics there are
    assert registry.get_alias(CHAMPION) is None


def test_a_guard_rail_undefined_on_the_holdout_refuses(
    trained: tuple[TrainingResult, Dataset],
) -> None:
    gate = ChampionGate(InMemoryRegistry(), max_drop={"pr_auc": 0.02})

    decision = _challenge(gate, trained, roc_auc=_base(trained, "roc_auc") + 0.01, pr_auc=None)

    assert not decision.promoted
    assert decision.reason == "guard rail: pr_auc undefined on the holdout, so max_drop cannot hold"


@pytest.mark.parametrize("roc_auc", [0.5, 0.43, None], ids=["chance", "worse", "undefined"])
def test_a_model_no_better_than_chance_is_never_promoted_even_first(
    trained: tuple[TrainingResult, Dataset], roc_auc: float | None
) -> None:
    result, dataset = trained
    registry = InMemoryRegistry()
    candidate = _candidate(result, dataset, validation_metrics={"roc_auc": roc_auc})

    decision = ChampionGate(registry).offer(candidate)

    assert not decision.promoted
    assert decision.reason.startswith("REFUSED: validation roc_auc ")
    assert "no better than chance (registry.min_roc_auc=0.5)" in decision.reason
    assert registry.get_alias(CHAMPION) is None
    assert registry.versions()[0].tags["mlsys.gate.promoted"] == "false"


def test_min_roc_auc_can_demand_more_than_chance(trained: tuple[TrainingResult, Dataset]) -> None:
    result, dataset = trained
    candidate = _candidate(result, dataset, validation_metrics={"roc_auc": 0.6})

    assert ChampionGate(InMemoryRegistry()).offer(candidate).promoted
    assert not ChampionGate(InMemoryRegistry(), min_roc_auc=0.65).offer(candidate).promoted


class _CrashingRegistry(InMemoryRegistry):
    """Dies when the champion alias moves: what a kill at that moment leaves behind."""

    def set_alias(self, alias: str, version: str) -> None:
        if alias == CHAMPION and self.get_alias(CHAMPION) is not None:
            raise KeyboardInterrupt("killed while moving the champion alias")
        super().set_alias(alias, version)


def test_the_decision_is_recorded_before_the_champion_alias_moves(
    trained: tuple[TrainingResult, Dataset], tmp_path: Path
) -> None:
    registry = _CrashingRegistry()
    gate = ChampionGate(registry)
    result, dataset = trained
    gate.offer(_candidate(result, dataset))
    better = {**result.metrics, "roc_auc": _base(trained, "roc_auc") + 0.01}
    candidate = _candidate(result, dataset, metrics=better, decision_path=tmp_path / "gate.json")

    with pytest.raises(KeyboardInterrupt):
        gate.offer(candidate)

    assert registry.get_alias(CHAMPION) == "1"
    recorded = json.loads((tmp_path / "gate.json").read_text())
    assert recorded["promoted"] is True
    assert recorded["version"] == "2"
    tags = {v.version: v.tags for v in registry.versions()}
    assert tags["2"]["mlsys.gate.promoted"] == "true"
    assert tags["1"]["mlsys.gate.challenged_by.v2"].startswith("lost: ")


def test_a_model_trained_on_noise_is_not_promoted_as_the_first_model(tmp_path: Path) -> None:
    """End to end: a feature that says nothing, a model that scores every lead the same."""

    class Tracked:
        required = True

        def prepare(self) -> None:
            pass

        def log_run(self, record: RunRecord) -> str:
            return "run-1"

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"constant": 1.0, "converted": rng.integers(0, 2, 2000)})
    registry = InMemoryRegistry()
    result = TrainingPipeline(
        data=FrameSource(frame, target="converted"),
        splitter=RandomSplitter(seed=0),
        features=TabularFeatures(),
        imbalance=NoRebalance(),
        model=LogisticRegressionModel(),
        calibrator=SigmoidCalibrator(),
        evaluator=Evaluator(report=ReportOptions(enabled=False)),
        output_dir=tmp_path,
        tracker=Tracked(),
        registry=ChampionGate(registry),
    ).run()

    assert result.validation_metrics["roc_auc"] == 0.5
    assert result.gate is not None
    assert not result.gate.promoted
    assert "validation roc_auc 0.5000 is no better than chance" in result.gate.reason
    assert registry.get_alias(CHAMPION) is None
    assert json.loads((tmp_path / "gate.json").read_text())["promoted"] is False


def test_a_run_offered_again_is_not_registered_again(
    trained: tuple[TrainingResult, Dataset],
) -> None:
    result, dataset = trained
    registry = InMemoryRegistry()
    gate = ChampionGate(registry)
    candidate = _candidate(result, dataset)
    other = _candidate(result, dataset)  # another run of the same model: ties, so loses
    decisions = [gate.offer(candidate), gate.offer(other)]

    again = gate.offer(candidate)  # e.g. two processes of one sweep offer its best trial

    assert [v.run_id for v in registry.versions()] == [candidate.run_id, other.run_id]
    assert [d.version for d in decisions] == ["1", "2"]
    assert again.already_registered
    assert not again.promoted
    assert again.version == "1"
    assert registry.get_alias(CHAMPION) == "1"
    assert "already version 1; it is the champion" in again.reason
    assert "not registered again" in again.summary()
    assert registry.version_of_run(candidate.run_id) == "1"
    assert registry.version_of_run("never-registered") is None
