"""The training pipeline: every stage in order, each fitted only on the rows it may see.

load -> split -> fit features (train) -> rebalance (train) -> fit model (train, early stop on
validation) -> calibrate (calibration split) -> choose threshold (validation) -> evaluate (test)
-> write artifacts -> track.

The pipeline knows nothing about Hydra: it takes built components, so a notebook can assemble
one by hand. :func:`mlsys.config.build_pipeline` builds one from config.
"""

from __future__ import annotations

import getpass
import logging
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from mlsys._paths import git_sha
from mlsys.calibration import Calibrator, NoCalibration
from mlsys.data import Dataset, DataSource
from mlsys.errors import DataError, MlsysError, ModelError, TrackingError
from mlsys.evaluation import Evaluator, ReportArtifacts
from mlsys.features import FeatureTransformer, Rebalancer, categorical_columns
from mlsys.files import atomic_path, writable_directory, write_text
from mlsys.files import write_json as _write_json
from mlsys.logs import bind, log_context
from mlsys.models import ConversionModel, ModelBundle
from mlsys.models._bundle import checksum_path, read_checksum
from mlsys.registry import Candidate, GateDecision, Promoter
from mlsys.split import SplitIndices, Splitter, TimeSplitter
from mlsys.tracking import NullTracker, RunRecord, Tracker, redact_uri

__all__ = ["TrainingPipeline", "TrainingResult"]

log = logging.getLogger(__name__)

_VERSIONED_PACKAGES = (
    "mlsys",
    "numpy",
    "pandas",
    "scikit-learn",
    "xgboost",
    "catboost",
    "imbalanced-learn",
    "hydra-core",
    "omegaconf",
)


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


@dataclass
class _Timer:
    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("Stage <%s>", name)
        start = time.perf_counter()
        try:
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
        finally:
            self.stages[name] = round(time.perf_counter() - start, 4)


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
        timer = _Timer()
        untracked = self._start()

        with timer.stage("load"):
            dataset = self.data.load()
            self._check_report_settings(dataset)
        with timer.stage("split"):
            splits = self.splitter.split(dataset)
            log.info("Split sizes: %s", splits.sizes())
        parts = {name: _rows(dataset, idx) for name, idx in splits.items()}
        warnings = [*dataset.warnings, *self._check_leakage(*parts["train"])]

        with timer.stage("features"):
            self.features.fit(parts["train"][0], parts["train"][1])
            # The model's training and early-stopping rows; every split is scored below.
            transformed = {n: self.features.transform(parts[n][0]) for n in ("train", "validation")}
        with timer.stage("imbalance"):
            balanced = self.imbalance.rebalance(transformed["train"], parts["train"][1])
        with timer.stage("fit"):
            self.model.fit(
                balanced.X,
                balanced.y,
                sample_weight=balanced.sample_weight,
                eval_set=(transformed["validation"], parts["validation"][1]),
            )
        # Scored the way the bundle scores in production; the threshold is chosen below.
        unfinished = ModelBundle(
            self.features, self.model, self.calibrator, threshold=0.5, schema=dataset.schema
        )
        raw = {
            name: unfinished.score(X, calibrated=False)
            for name, (X, _) in parts.items()
            if name != "train"
        }
        with timer.stage("calibrate"):
            self._fit_calibrator(raw["calibration"], parts["calibration"][1])
            calibrated = {name: self.calibrator.transform(s) for name, s in raw.items()}
        with timer.stage("evaluate"):
            threshold = self.evaluator.threshold.choose(
                parts["validation"][1], calibrated["validation"]
            )
            validation = self.evaluator.evaluate(
                parts["validation"][1], calibrated["validation"], threshold
            )
            test = self.evaluator.evaluate(parts["test"][1], calibrated["test"], threshold)
        objective = self.evaluator.objective(validation.metrics)

        bundle = replace(
            unfinished,
            threshold=threshold,
            metadata=self._bundle_metadata(dataset, test.metrics, started),
        )
        with timer.stage("save"):
            artifacts = self._write_artifacts(
                dataset,
                splits,
                bundle,
                test.metrics,
                validation.metrics,
                test.classification_report,
                calibrated["test"],
            )
        report = self._report_stage(dataset, splits, bundle, calibrated["test"], timer, artifacts)
        metadata = {**self._metadata(dataset, splits, timer.stages, started), "warnings": warnings}
        # Written before tracking so the tracked artifacts hold it too (replay by run id).
        artifacts["metadata"] = _write_json(
            self.output_dir / "metadata.json", {**metadata, "stage_seconds": dict(timer.stages)}
        )
        run_id = None
        if untracked is None:
            run_id, untracked = self._track(
                dataset,
                bundle,
                {**test.metrics, **_interval_metrics(report)},
                validation.metrics,
                metadata,
                timer,
                parts["test"][0],
            )
        bind(mlflow_run_id=run_id)
        metadata["tracking_run_id"] = run_id
        gate = None
        if run_id is not None and self.registry is not None:
            # On disk before the gate: an offer that fails can be retried from the run dir.
            _write_json(
                self.output_dir / "metadata.json", {**metadata, "stage_seconds": timer.stages}
            )
            with timer.stage("registry"):
                gate, untracked = self._offer(
                    run_id,
                    bundle,
                    parts["test"],
                    (test.metrics, validation.metrics),
                    dataset,
                    splits,
                )
                bind(model_version=gate.version if gate else None)
            if gate is not None:
                artifacts["gate"] = self.output_dir / "gate.json"  # written by the gate
        metadata["stage_seconds"] = timer.stages
        metadata["untracked"] = untracked
        _write_json(self.output_dir / "metadata.json", metadata)
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

    def _start(self) -> str | None:
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
        untracked = None
        try:
            self.tracker.prepare()
        except Exception as exc:
            untracked = self._tracking_failed(exc, "checking the tracking store", trained=False)
        writable_directory(self.output_dir)
        return untracked

    def _tracking_failed(self, exc: Exception, doing: str, *, trained: bool) -> str:
        """Raise when tracking is required; else log loudly and return what the CLI says last.

        ``trained``: the run directory is complete (the failure came after the work).
        """
        uri = getattr(self.tracker, "tracking_uri", None)
        where = f" {redact_uri(uri)}" if isinstance(uri, str) else ""
        if self.tracker.required:
            kept = f"The run directory {self.output_dir} is complete. " if trained else ""
            off = (
                f"{kept}To train without the store: tracker.required=false (the run says it is "
                "not tracked) or tracker=none registry=none."
            )
            if isinstance(exc, MlsysError):
                raise type(exc)(f"{exc} {off}") from exc
            raise TrackingError(
                f"tracker: {doing}{where} failed ({type(exc).__name__}: {exc}). Fix: check the "
                f"store{where}. {off}"
            ) from exc
        untracked = (
            f"this run is NOT tracked: {doing}{where} failed ({exc}). tracker.required=false "
            f"made tracking optional; the run directory {self.output_dir} is its only record."
        )
        log.error("TRACKING FAILED: %s", untracked)
        return untracked

    def _offer(
        self,
        run_id: str,
        bundle: ModelBundle,
        holdout: tuple[pd.DataFrame, np.ndarray[Any, Any]],
        metrics: tuple[dict[str, Any], dict[str, Any]],
        dataset: Dataset,
        splits: SplitIndices,
    ) -> tuple[GateDecision | None, str | None]:
        """The gate's decision, or why the run was not offered (with optional tracking)."""
        assert self.registry is not None
        # A time split records its period, so that a model trained later on refreshed data can
        # be compared with this one on test rows this one never saw.
        period = (
            self.splitter.period(dataset, splits)
            if isinstance(self.splitter, TimeSplitter)
            else ("", "")
        )
        candidate = Candidate(
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
        try:
            return self.registry.offer(candidate), None
        except Exception as exc:
            if self.tracker.required or isinstance(exc, MlsysError):
                raise
            untracked = (
                f"this run is tracked ({run_id}) but NOT offered to the champion gate ({exc}). "
                f"Offer it later: python -m mlsys.registry offer {self.output_dir}"
            )
            log.error("REGISTRY FAILED: %s", untracked)
            return None, untracked

    def _check_report_settings(self, dataset: Dataset) -> None:
        """Fail before training, not after it, on a segment column the data lacks."""
        options = self.evaluator.report
        if options.enabled and options.segment_column is not None:
            dataset.column(options.segment_column, purpose="evaluation.report.segment_column")

    def _report_stage(
        self,
        dataset: Dataset,
        splits: SplitIndices,
        bundle: ModelBundle,
        probabilities: np.ndarray[Any, Any],
        timer: _Timer,
        artifacts: dict[str, Path],
    ) -> ReportArtifacts | None:
        """Write the evaluation report of the test split, if enabled; add it to ``artifacts``."""
        if not self.evaluator.report.enabled:
            return None
        with timer.stage("report"):
            report = self._write_report(dataset, splits, bundle, probabilities)
        if report is not None:
            artifacts["report"] = report.html
        return report

    def _write_report(
        self,
        dataset: Dataset,
        splits: SplitIndices,
        bundle: ModelBundle,
        probabilities: np.ndarray[Any, Any],
    ) -> ReportArtifacts | None:
        """The evaluation report of the test split, in ``<run dir>/report/``.

        A failure is logged loudly and the run goes on: the model, metrics and predictions
        are already on disk, and ``python -m mlsys.evaluate`` can write the report again.
        """
        from mlsys.evaluation import write_evaluation_report

        rows = splits.test
        try:
            return write_evaluation_report(
                dataset.target[rows],
                probabilities,
                bundle.threshold,
                self.output_dir / "report",
                frame=dataset.frame.iloc[rows].reset_index(drop=True),
                bundle=bundle,
                metadata={
                    "name": self.name,
                    "evaluated_on": f"test split of {dataset.name} ({len(rows):,} rows)",
                    "run_dir": str(self.output_dir),
                    "git_sha": git_sha(),
                },
                evaluator=self.evaluator,
            )
        except MlsysError:
            raise
        except Exception:
            log.exception(
                "REPORT FAILED: the run's model and metrics are complete in %s; write the report "
                "again with python -m mlsys.evaluate, or set evaluation.report.enabled=false.",
                self.output_dir,
            )
            return None

    def _fit_calibrator(self, scores: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> None:
        if len(scores) == 0 and not isinstance(self.calibrator, NoCalibration):
            raise DataError(
                "calibration: the calibration split is empty (split.calibration=0) but a "
                "calibrator is configured. Fix: set split.calibration>0 or calibration=none."
            )
        self.calibrator.fit(scores, y)

    def _check_leakage(self, X: pd.DataFrame, y: np.ndarray[Any, Any]) -> list[str]:
        """Warn about any feature that alone nearly separates the classes on training rows."""
        warnings = []
        categorical = set(categorical_columns(X))
        positives = np.asarray(y) == 1
        for name in X.columns:
            column = X[name]
            if name in categorical:
                auc = _level_auc(column, positives)
            else:
                numbers = column.to_numpy(dtype=np.float64)
                missing = np.isnan(numbers)
                floor = np.nanmin(numbers) - 1 if (~missing).any() else 0.0
                auc = _rank_auc(positives, np.where(missing, floor, numbers))
            auc = max(auc, 1 - auc)
            if auc >= self.leakage_auc_warning:
                warnings.append(
                    f"LEAKAGE? Feature '{name}' alone separates converters on the training split "
                    f"with ROC-AUC {auc:.3f}. If it is recorded after the outcome, add it to "
                    "data.drop_columns."
                )
                log.warning("%s", warnings[-1])
        return warnings

    def _write_artifacts(
        self,
        dataset: Dataset,
        splits: SplitIndices,
        bundle: ModelBundle,
        metrics: dict[str, Any],
        validation_metrics: dict[str, Any],
        report: str,
        test_probabilities: np.ndarray[Any, Any],
    ) -> dict[str, Path]:
        out = self.output_dir
        artifacts = {
            "model": bundle.save(out / "model.joblib"),
            "model_sha256": out / "model.joblib.sha256",
            "metrics": _write_json(out / "metrics.json", metrics),
            "validation_metrics": _write_json(out / "validation_metrics.json", validation_metrics),
            "splits": splits.save(out / "splits.npz"),
            "schema": _write_json(
                out / "schema.json",
                {
                    "features": dataset.schema.to_dict(),
                    "target": dataset.target_name,
                    "positive_label": dataset.positive_label,
                    "id_column": dataset.id_column,
                },
            ),
        }
        artifacts["classification_report"] = write_text(out / "classification_report.txt", report)
        from omegaconf import OmegaConf

        if self.config:
            artifacts["config"] = write_text(
                out / "config.yaml", OmegaConf.to_yaml(OmegaConf.create(self.config))
            )
        artifacts["overrides"] = write_text(
            out / "overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(list(self.overrides)))
        )
        if self.save_predictions:
            artifacts["test_predictions"] = self._write_predictions(
                dataset, splits.test, test_probabilities, bundle.threshold
            )
        return artifacts

    def _write_predictions(
        self,
        dataset: Dataset,
        rows: np.ndarray[Any, Any],
        probabilities: np.ndarray[Any, Any],
        threshold: float,
    ) -> Path:
        frame = pd.DataFrame({"row": rows})
        if dataset.id_column:
            frame[dataset.id_column] = dataset.frame[dataset.id_column].to_numpy()[rows]
        frame["converted"] = dataset.target[rows]
        frame["probability"] = probabilities
        frame["decision"] = (probabilities >= threshold).astype(np.int64)
        path = self.output_dir / "test_predictions.csv"
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n")
        return path

    def _bundle_metadata(
        self, dataset: Dataset, metrics: dict[str, Any], started: datetime
    ) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": type(self.model).__name__,
            "trained_at": started.isoformat(timespec="seconds"),
            "data": dataset.summary(),
            "metrics": {k: v for k, v in metrics.items() if isinstance(v, float)},
            "mlsys_version": _version("mlsys"),
            "seed": self.seed,
        }

    def _metadata(
        self,
        dataset: Dataset,
        splits: SplitIndices,
        stages: dict[str, float],
        started: datetime,
    ) -> dict[str, Any]:
        return {
            "name": self.name,
            "started_at": started.isoformat(timespec="seconds"),
            "wall_seconds": round(sum(stages.values()), 3),
            "seed": self.seed,
            "git_sha": git_sha(),
            "data": dataset.summary(),
            "splits": {"sizes": splits.sizes(), "sha256": splits.digests()},
            "python": platform.python_version(),
            "packages": {name: _version(name) for name in _VERSIONED_PACKAGES},
            "overrides": list(self.overrides),
            "user": _user(),
        }

    def _track(
        self,
        dataset: Dataset,
        bundle: ModelBundle,
        metrics: dict[str, Any],
        validation_metrics: dict[str, Any],
        metadata: dict[str, Any],
        timer: _Timer,
        test_rows: pd.DataFrame,
    ) -> tuple[str | None, str | None]:
        numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
        numeric.update(
            {f"val_{k}": float(v) for k, v in validation_metrics.items() if isinstance(v, float)}
        )
        record = RunRecord(
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
            timings=dict(timer.stages),
            dataset={"name": dataset.name, "source": dataset.source, "sha256": dataset.sha256},
            input_example=dataset.raw_rows(test_rows.head(5)),
        )
        with timer.stage("track"):
            try:
                return self.tracker.log_run(record), None
            except Exception as exc:
                return None, self._tracking_failed(
                    exc, "recording the run in the tracking store", trained=True
                )


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


def _rank_auc(y: np.ndarray[Any, Any], score: np.ndarray[Any, Any]) -> float:
    """ROC-AUC with ties counted half (the Mann-Whitney statistic), from one sort of the scores.

    About 10x cheaper than scikit-learn's validated ``roc_auc_score``, with the same value.
    """
    values, inverse = np.unique(score, return_inverse=True)
    return _tied_auc(np.bincount(inverse, weights=y == 1, minlength=len(values)), inverse)


def _level_auc(column: pd.Series, positives: np.ndarray[Any, Any]) -> float:
    """ROC-AUC of a categorical column scored by each level's positive rate (missing is a level).

    The exact value the rank formula gives on the target-mean-encoded column, computed on the
    levels instead of the rows: an id-like or outcome-like column scores near 1.0.
    """
    codes, _ = pd.factorize(column, use_na_sentinel=False)
    rows = np.bincount(codes)
    hits = np.bincount(codes, weights=positives, minlength=len(rows))
    rates, level_of_rate = np.unique(hits / rows, return_inverse=True)
    return _tied_auc(
        np.bincount(level_of_rate, weights=hits, minlength=len(rates)),
        level_of_rate,
        np.bincount(level_of_rate, weights=rows, minlength=len(rates)),
    )


def _tied_auc(
    positives: np.ndarray[Any, Any],
    group: np.ndarray[Any, Any],
    counts: np.ndarray[Any, Any] | None = None,
) -> float:
    """AUC from positives per distinct score (ascending); ``counts`` default to group sizes."""
    totals = np.bincount(group, minlength=len(positives)) if counts is None else counts
    negatives = totals - positives
    n_pos, n_neg = float(positives.sum()), float(negatives.sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    below = np.cumsum(negatives) - negatives
    return float((positives * (below + 0.5 * negatives)).sum() / (n_pos * n_neg))


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


def _version(package: str) -> str | None:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
