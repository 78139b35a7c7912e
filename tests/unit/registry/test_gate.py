"""The champion gate compares a candidate with the champion only on rows the champion never saw."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from mlsys.calibration import SigmoidCalibrator
from mlsys.data import Dataset, FrameSource, generate_leads
from mlsys.evaluation import Evaluator, ReportOptions
from mlsys.features import NoRebalance, TabularFeatures
from mlsys.models import LogisticRegressionModel
from mlsys.pipeline import TrainingPipeline, TrainingResult
from mlsys.registry import CHAMPION, Candidate, ChampionGate, InMemoryRegistry
from mlsys.split import TimeSplitter

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


def _candidate(result: TrainingResult, dataset: Dataset, **changes: str) -> Candidate:
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
