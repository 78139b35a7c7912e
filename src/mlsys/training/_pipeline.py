"""The training pipeline: every stage in order, each fitted only on the rows it may see.

load -> split -> leakage screen (train) -> fit features (train) -> rebalance (train) -> fit
model (train, early stop on validation) -> calibrate (calibration split) -> choose threshold
(validation) -> evaluate (test) -> profile (train features, validation scores) -> write
artifacts -> track -> offer to the champion gate.

The pipeline orchestrates; the run directory is written by :mod:`._artifacts`, provenance comes
from :mod:`._provenance`, what a failing store means is :mod:`._policy`'s call, and the leakage
screen is :func:`mlsys.features.leakage_warnings`. It knows nothing about Hydra: it takes built
components, so a notebook can assemble one by hand. :func:`mlsys.config.build_pipeline` builds
one from config.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from mlsys.calibration import Calibrator, NoCalibration
from mlsys.data import Dataset, DataSource, FeatureSchema
from mlsys.errors import DataError, MlsysError, ModelError
from mlsys.evaluation import Evaluator, ReportArtifacts
from mlsys.features import FeatureTransformer, Rebalancer, leakage_warnings
from mlsys.files import writable_directory
from mlsys.logs import bind, log_context
from mlsys.models import ConversionModel, ModelBundle, checksum_path, read_checksum
from mlsys.monitoring import DataProfile
from mlsys.registry import Candidate, GateDecision, Promoter
from mlsys.split import SplitIndices, Splitter, TimeSplitter
from mlsys.timing import Stopwatch
from mlsys.tracking import NullTracker, RunRecord, Tracker
from mlsys.training._artifacts import RunWriter
from mlsys.training._policy import TrackingPolicy
from mlsys.training._provenance import bundle_metadata, run_metadata

__all__ = ["TrainingPipeline", "TrainingResult"]

log = logging.getLogger("mlsys.training")


@dataclass(frozen=True)
class TrainingResult:
    """What one training run produced.

    Attributes:
        metrics: Test-split metrics (the untouched holdout).
        validation_metrics: Validation-split metrics (what sweeps optimise).
        objective: The validation objective returned to a sweep.
        threshold: Decision threshold chosen on validation data.
        report: Classification report on the test split at ``threshold``.
        artifacts: Artifact name to path, all inside ``output_dir``.
        metadata: Provenance: git sha, data digest, versions, seed, stage timings.
        output_dir: The run directory.
        bundle: The fitted, calibrated model bundle.
        run_id: The tracker's id for the run, if it keeps one.
        gate: The champion gate's decision, when a registry is configured.
        warnings: What the run warned about that a person should read: the data set's
            warnings (unlabelled rows, repeated ids, ...), then any feature that looks leaky.
        untracked: Why the run was not tracked, or not offered to the registry, when tracking
            is optional (``tracker.required=false``); ``None`` when nothing was lost.
    """

    metrics: dict[str, Any]
    validation_metrics: dict[str, Any]
    objective: float
    threshold: float
    report: str
    artifacts: dict[str, Path]
    metadata: dict[str, Any]
    output_dir: Path
    bundle: ModelBundle
    run_id: str | None = None
    gate: GateDecision | None = None
    warnings: list[str] = field(default_factory=list)
    untracked: str | None = None


#: The config group to name when a stage fails inside a library.
_STAGE_GROUPS = {
    "load": "data",
    "split": "split",
    "features": "features",
    "imbalance": "imbalance",
    "fit": "model",
    "calibrate": "calibration",
    "evaluate": "evaluation",
    "report": "evaluation.report",
}


@contextmanager
def _stage(watch: Stopwatch, name: str) -> Iterator[None]:
    """Log and time one stage; a library's error becomes a :class:`ModelError` naming the group."""
    log.info("Stage <%s>", name)
    try:
        with watch(name):
            yield
    except MlsysError:
        raise
    except Exception as exc:
        # A library rejected a setting (xgboost, imbalanced-learn, scikit-learn, ...).
        group = _STAGE_GROUPS.get(name, name)
        raise ModelError(
            f"{group}: the {name} stage failed: {type(exc).__name__}: {exc}. "
            f"Fix: check the {group}.* settings (python -m mlsys.train --cfg job shows them)."
        ) from exc


class TrainingPipeline:
    """Runs the stages of one experiment and writes its artifacts.

    Args:
        data: Source of the labelled rows.
        splitter: Assigns rows to train / validation / calibration / test.
        features: Feature transformer, fitted on the training split.
        imbalance: Rebalancer applied to the transformed training split only.
        model: The estimator.
        calibrator: Calibrator fitted on the calibration split.
        evaluator: Threshold policy and metrics.
        output_dir: Where artifacts are written (Hydra's run dir from the CLI).
        tracker: Where the finished run is recorded.
        registry: Offers the tracked model to the champion gate (needs a tracker run id).
        tags: Extra tags for the tracker (e.g. a sweep id).
        seed: The run's seed, recorded in metadata (components take it from config).
        name: Experiment name, used for the run name.
        config: The resolved config, written as ``config.yaml`` and tracked as params.
        overrides: The command-line overrides, written as ``overrides.yaml``.
        leakage_auc_warning: Warn when one feature alone separates the classes on the training
            split with at least this ROC-AUC (a sign it leaks the outcome).
        save_predictions: Write the test split's predictions as ``test_predictions.csv``.
    """

    def __init__(
        self,
        data: DataSource,
        splitter: Splitter,
        features: FeatureTransformer,
        imbalance: Rebalancer,
        model: ConversionModel,
        calibrator: Calibrator,
        evaluator: Evaluator,
        output_dir: Path,
        tracker: Tracker | None = None,
        registry: Promoter | None = None,
        tags: dict[str, str] | None = None,
        seed: int = 0,
        name: str = "conversion",
        config: dict[str, Any] | None = None,
        overrides: list[str] | None = None,
        leakage_auc_warning: float = 0.95,
        save_predictions: bool = True,
    ) -> None:
        self.data = data
        self.splitter = splitter
        self.features = features
        self.imbalance = imbalance
        self.model = model
        self.calibrator = calibrator
        self.evaluator = evaluator
        self.output_dir = Path(output_dir)
        self.tracker: Tracker = tracker or NullTracker()
        self.registry = registry
        self.tags = dict(tags or {})
        self.seed = seed
        self.name = name
        self.config = config or {}
        self.overrides = overrides or []
        self.leakage_auc_warning = leakage_auc_warning
        self.save_predictions = save_predictions

    def run(self) -> TrainingResult:
        """Run every stage; returns the result after artifacts are written and tracked."""
        with log_context(run_id=str(self.output_dir)):  # on every log line of the run
            return self._run()

    def _run(self) -> TrainingResult:
        started = datetime.now(UTC)
        watch = Stopwatch()
        policy = TrackingPolicy(self.tracker, self.output_dir)
        writer = RunWriter(
            self.output_dir,
            config=self.config,
            overrides=self.overrides,
            save_predictions=self.save_predictions,
        )
        untracked = self._start(policy)

        with _stage(watch, "load"):
            dataset = self.data.load()
            self._check_report_settings(dataset)
        with _stage(watch, "split"):
            splits = self.splitter.split(dataset)
            log.info("Split sizes: %s", splits.sizes())
        parts = {name: _rows(dataset, idx) for name, idx in splits.items()}
        warnings = [*dataset.warnings, *self._leakage(watch, *parts["train"])]

        calibrated = self._fit(watch, parts, dataset.schema)
        with _stage(watch, "evaluate"):
            threshold = self.evaluator.threshold.choose(
                parts["validation"][1], calibrated["validation"]
            )
            validation = self.evaluator.evaluate(
                parts["validation"][1], calibrated["validation"], threshold
            )
            test = self.evaluator.evaluate(parts["test"][1], calibrated["test"], threshold)
        objective = self.evaluator.objective(validation.metrics)
        profile = _learn_profile(watch, dataset, parts["train"][0], calibrated["validation"])

        bundle = ModelBundle(
            features=self.features,
            model=self.model,
            calibrator=self.calibrator,
            threshold=threshold,
            schema=dataset.schema,
            metadata=bundle_metadata(
                name=self.name,
                model=type(self.model).__name__,
                seed=self.seed,
                dataset=dataset,
                metrics=test.metrics,
                started=started,
            ),
            profile=profile,
        )
        with _stage(watch, "save"):
            artifacts = writer.write(
                dataset,
                splits,
                bundle,
                test.metrics,
                validation.metrics,
                test.classification_report,
                calibrated["test"],
            )
        report = None
        if self.evaluator.report.enabled:
            with _stage(watch, "report"):
                report = writer.report(
                    dataset,
                    splits,
                    bundle,
                    calibrated["test"],
                    name=self.name,
                    evaluator=self.evaluator,
                )
            if report is not None:
                artifacts["report"] = report.html
        metadata = {
            **run_metadata(
                name=self.name,
                seed=self.seed,
                dataset=dataset,
                splits=splits,
                stages=watch.seconds,
                started=started,
                overrides=self.overrides,
            ),
            "warnings": warnings,
        }
        # Written before tracking so the tracked artifacts hold it too (replay by run id).
        artifacts["metadata"] = writer.metadata({**metadata, "stage_seconds": dict(watch.seconds)})
        run_id = None
        if untracked is None:
            record = self._record(
                dataset,
                {**test.metrics, **_interval_metrics(report)},
                validation.metrics,
                metadata,
                watch,
                parts["test"][0],
                bundle,
            )
            with _stage(watch, "track"):
                run_id, untracked = policy.record(record)
        bind(mlflow_run_id=run_id)
        metadata["tracking_run_id"] = run_id
        gate = None
        if run_id is not None and self.registry is not None:
            # On disk before the gate: an offer that fails can be retried from the run dir.
            writer.metadata({**metadata, "stage_seconds": watch.seconds})
            with _stage(watch, "registry"):
                candidate = self._candidate(
                    run_id,
                    bundle,
                    parts["test"],
                    (test.metrics, validation.metrics),
                    dataset,
                    splits,
                )
                gate, untracked = policy.offer(self.registry, candidate)
                bind(model_version=gate.version if gate else None)
            if gate is not None:
                artifacts["gate"] = self.output_dir / "gate.json"  # written by the gate
        metadata["stage_seconds"] = watch.seconds
        metadata["untracked"] = untracked
        writer.metadata(metadata)
        return TrainingResult(
            metrics=test.metrics,
            validation_metrics=validation.metrics,
            objective=objective,
            threshold=threshold,
            report=test.classification_report,
            artifacts=artifacts,
            metadata=metadata,
            output_dir=self.output_dir,
            bundle=bundle,
            run_id=run_id,
            gate=gate,
            warnings=warnings,
            untracked=untracked,
        )

    def _fit(
        self,
        watch: Stopwatch,
        parts: dict[str, tuple[pd.DataFrame, np.ndarray[Any, Any]]],
        schema: FeatureSchema,
    ) -> dict[str, np.ndarray[Any, Any]]:
        """Fit features, rebalancing, model and calibrator; calibrated held-out scores."""
        with _stage(watch, "features"):
            self.features.fit(parts["train"][0], parts["train"][1])
            # The model's training and early-stopping rows; the other splits are scored below.
            transformed = {n: self.features.transform(parts[n][0]) for n in ("train", "validation")}
        with _stage(watch, "imbalance"):
            balanced = self.imbalance.rebalance(transformed["train"], parts["train"][1])
        with _stage(watch, "fit"):
            self.model.fit(
                balanced.X,
                balanced.y,
                sample_weight=balanced.sample_weight,
                eval_set=(transformed["validation"], parts["validation"][1]),
            )
        # Scored the way the bundle scores in production (ModelBundle.score, the one path).
        unfinished = ModelBundle(
            self.features, self.model, self.calibrator, threshold=0.5, schema=schema
        )
        raw = {
            name: unfinished.score(X, calibrated=False)
            for name, (X, _) in parts.items()
            if name != "train"
        }
        with _stage(watch, "calibrate"):
            self._fit_calibrator(raw["calibration"], parts["calibration"][1])
            calibrated = {name: self.calibrator.transform(s) for name, s in raw.items()}
        return calibrated

    def _start(self, policy: TrackingPolicy) -> str | None:
        """Checks before any work; returns why the run goes untracked, if it does.

        A tracking store that is down fails the run in seconds (tracking required) instead of
        after training; a run directory that cannot be written fails it too.

        Raises:
            TrackingError: The store cannot record runs and tracking is required.
            OutputError: The run directory cannot be written.
        """
        # Fresh, unfitted copies: a second run() never refits the bundle of an earlier result.
        self.features = clone(self.features)
        self.model = clone(self.model)
        self.calibrator = clone(self.calibrator)
        untracked = policy.prepare()
        writable_directory(self.output_dir)
        return untracked

    def _candidate(
        self,
        run_id: str,
        bundle: ModelBundle,
        holdout: tuple[pd.DataFrame, np.ndarray[Any, Any]],
        metrics: tuple[dict[str, Any], dict[str, Any]],
        dataset: Dataset,
        splits: SplitIndices,
    ) -> Candidate:
        """What the champion gate compares: the bundle, its test rows and metrics."""
        # A time split records its period, so that a model trained later on refreshed data can
        # be compared with this one on test rows this one never saw.
        period = (
            self.splitter.period(dataset, splits)
            if isinstance(self.splitter, TimeSplitter)
            else ("", "")
        )
        return Candidate(
            run_id=run_id,
            bundle_path=self.output_dir / "model.joblib",
            bundle=bundle,
            holdout_features=holdout[0],
            holdout_labels=holdout[1],
            metrics=metrics[0],
            validation_metrics=metrics[1],
            evaluator=self.evaluator,
            data_sha256=dataset.sha256,
            test_split_sha256=splits.digests()["test"],
            trained_until=period[0],
            holdout_from=period[1],
            decision_path=self.output_dir / "gate.json",
        )

    def _leakage(self, watch: Stopwatch, X: pd.DataFrame, y: np.ndarray[Any, Any]) -> list[str]:
        """The leakage screen of the training rows (a seeded sample of a large split)."""
        with _stage(watch, "leakage"):
            return leakage_warnings(X, y, min_auc=self.leakage_auc_warning, seed=self.seed)

    def _check_report_settings(self, dataset: Dataset) -> None:
        """Fail before training, not after it, on a segment column the data lacks."""
        options = self.evaluator.report
        if options.enabled and options.segment_column is not None:
            dataset.column(options.segment_column, purpose="evaluation.report.segment_column")

    def _fit_calibrator(self, scores: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> None:
        if len(scores) == 0 and not isinstance(self.calibrator, NoCalibration):
            raise DataError(
                "calibration: the calibration split is empty (split.calibration=0) but a "
                "calibrator is configured. Fix: set split.calibration>0 or calibration=none."
            )
        self.calibrator.fit(scores, y)

    def _record(
        self,
        dataset: Dataset,
        metrics: dict[str, Any],
        validation_metrics: dict[str, Any],
        metadata: dict[str, Any],
        watch: Stopwatch,
        test_rows: pd.DataFrame,
        bundle: ModelBundle,
    ) -> RunRecord:
        """What the tracker records: params, metrics, tags, artifacts and an input example."""
        numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
        numeric.update(
            {f"val_{k}": float(v) for k, v in validation_metrics.items() if isinstance(v, float)}
        )
        return RunRecord(
            run_name=f"{self.name}-{type(self.model).__name__}",
            params=_flatten(self.config),
            metrics=numeric,
            tags={
                "git_sha": str(metadata.get("git_sha")),
                "data_sha256": dataset.sha256,
                # What loaders check model.joblib against: a tag, apart from the artifacts.
                "mlsys.bundle_sha256": read_checksum(
                    checksum_path(self.output_dir / "model.joblib")
                ),
                "user": str(metadata.get("user")),
                **self.tags,
            },
            output_dir=self.output_dir,
            bundle_path=self.output_dir / "model.joblib",
            timings=dict(watch.seconds),
            dataset={"name": dataset.name, "source": dataset.source, "sha256": dataset.sha256},
            input_example=dataset.raw_rows(test_rows.head(5)),
            bundle=bundle,
        )


def _learn_profile(
    watch: Stopwatch, dataset: Dataset, train: pd.DataFrame, scores: np.ndarray[Any, Any]
) -> DataProfile:
    """The model's data expectations, learned in milliseconds.

    The raw training features (before any transform), and the calibrated scores of rows the
    model was not fitted on (validation).
    """
    with _stage(watch, "profile"):
        return DataProfile.learn(train, dataset.schema, scores=scores)


def _interval_metrics(report: ReportArtifacts | None) -> dict[str, float]:
    """Bootstrap bounds as tracked metrics: ``roc_auc_ci_low``, ``roc_auc_ci_high``, ..."""
    if report is None:
        return {}
    out = {}
    for name, interval in report.intervals.items():
        if interval.low is not None and interval.high is not None:
            out[f"{name}_ci_low"] = interval.low
            out[f"{name}_ci_high"] = interval.high
    return out


def _rows(dataset: Dataset, idx: np.ndarray[Any, Any]) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    return dataset.features.iloc[idx].reset_index(drop=True), dataset.target[idx]


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
