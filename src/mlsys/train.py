"""``python -m mlsys.train``: train one conversion model from config.

Examples::

    python -m mlsys.train
    python -m mlsys.train model=catboost split=time calibration=isotonic
    python -m mlsys.train data=csv data.path=my_leads.csv data.target=won
    python -m mlsys.train --cfg job          # print the composed config and exit
    python -m mlsys.train -m hparams_search=xgboost

Exit codes: 0 success, 2 bad input (overrides, config or data: one ``error:`` line names the
key and the fix) or a run that could not be tracked (the tracking store is down or failed: the
line names the URI and the fix; the run directory is complete all the same), 1 anything else.
With ``tracker.required=false`` an untracked run exits 0 and its last line is a ``warning:``
that says it was NOT tracked. ``--verbose`` or ``HYDRA_FULL_ERROR=1`` also prints the traceback
above the ``error:`` line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mlsys import _cli
from mlsys._instantiate import ALLOWED_TARGETS
from mlsys.config import CONFIG_DIR
from mlsys.errors import MlsysError, OutputError
from mlsys.files import writable_directory

if TYPE_CHECKING:
    from mlsys.training import TrainingResult

__all__ = ["RunDirCheck", "cli", "main", "summary_table", "train"]

log = logging.getLogger("mlsys.train")


def summary_table(result: TrainingResult) -> str:
    """A short, aligned table of the headline test metrics."""
    from mlsys.evaluation import HEADLINE_METRICS

    lines = [f"{'metric':<20}{'test':>10}{'validation':>12}"]
    for key in HEADLINE_METRICS:
        test, val = result.metrics.get(key), result.validation_metrics.get(key)
        lines.append(f"{key:<20}{_fmt(test):>10}{_fmt(val):>12}")
    lines.append(f"{'threshold':<20}{result.threshold:>10.4f}")
    return "\n".join(lines)


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "n/a"


class RunDirCheck(Callback):
    """Create the run directory before Hydra does, and refuse one that cannot be written.

    Hydra creates ``hydra.run.dir`` and opens the run's log file in it before the task starts,
    so a file in the way, a read-only place or a full disk would end in Hydra's traceback.
    Registered in conf/train.yaml (``hydra.callbacks``).
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Print one ``error:`` line and exit 2 when the run directory cannot be written."""
        try:
            writable_directory(Path(str(config.hydra.run.dir)), "hydra.run.dir")
        except OutputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)


def _in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def train(
    cfg: DictConfig,
    output_dir: Path | None = None,
    *,
    overrides: Sequence[str] = (),
    tags: dict[str, str] | None = None,
    offer: bool = True,
) -> TrainingResult:
    """Train one model from a composed config: validate, build every component, run.

    The work under :func:`main`, without Hydra's runtime: callable from a notebook or a test.

    Args:
        cfg: A composed training config (:func:`mlsys.config.compose_config`).
        output_dir: The run directory (default: a fresh one under ``outputs/compose/``).
        overrides: The command-line overrides, recorded in ``overrides.yaml``.
        tags: Extra tracker tags (a sweep's id).
        offer: Offer the tracked model to the champion gate (sweeps offer only their best).

    Example:
        >>> result = train(compose_config(["model=logreg"]))  # doctest: +SKIP
        >>> result.metrics["roc_auc"]  # doctest: +SKIP
    """
    from mlsys.config import build_pipeline

    pipeline = build_pipeline(cfg, output_dir=output_dir, overrides=overrides, tags=tags)
    if not offer:
        pipeline.registry = None
    return pipeline.run()


@hydra.main(
    config_path=str(CONFIG_DIR),
    config_name="train",
    execution_whitelist=list(ALLOWED_TARGETS),
)
def main(cfg: DictConfig) -> float | list[float]:
    """Train one model; return the validation objective(s) a sweep optimises."""
    multirun = _in_multirun()
    try:
        return _run(cfg, multirun=multirun)
    except (MlsysError, OmegaConfBaseException) as exc:
        if multirun:
            raise  # the sweeper records the trial as failed
        log.error("%s", _cli.bad_input(exc))
        verbose = OmegaConf.select(cfg, "verbose", throw_on_resolution_failure=False)
        sys.exit(_cli.fail(exc, verbose=verbose is True))


def _run(cfg: DictConfig, *, multirun: bool) -> float | list[float]:
    """:func:`train` in Hydra's run directory; print the summary; return the objective(s)."""
    from hydra.core.hydra_config import HydraConfig

    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    tags = {"sweep_id": str(Path(hydra_cfg.sweep.dir).resolve())} if multirun else {}
    # Trials are tracked but not registered: the sweep offers only its best trial (chosen on
    # validation) to the champion gate when it ends.
    result = train(
        cfg,
        output_dir,
        overrides=list(hydra_cfg.overrides.task),
        tags=tags,
        offer=not multirun,
    )
    print(f"\n{summary_table(result)}\n\nArtifacts: {output_dir}")
    for warning in result.warnings:  # said during the run, among the log lines; said again here
        print(f"warning: {warning}")
    if result.run_id:
        print(f"MLflow run: {result.run_id}")
    if result.gate is not None:
        print(result.gate.summary())
    if result.untracked:  # last, where nobody misses it
        print(f"warning: {result.untracked}")
    if cfg.objectives:
        return _objectives(list(cfg.objectives), result)
    return result.objective


def _objectives(names: list[str], result: TrainingResult) -> list[float]:
    """Several validation objectives for multi-objective sweeps.

    ``latency_ms_per_1k`` is measured here (median of 5 scorings of 1,000 rows), not stored in
    the run's metrics, so metrics stay byte-identical across runs.
    """
    values = []
    for name in names:
        if name == "latency_ms_per_1k":
            values.append(_latency_ms_per_1k(result))
        elif isinstance(result.validation_metrics.get(name), float):
            values.append(float(result.validation_metrics[name]))
        else:
            known = sorted(k for k, v in result.validation_metrics.items() if isinstance(v, float))
            raise MlsysError(
                f"objectives: '{name}' is not a validation metric. "
                f"Fix: use latency_ms_per_1k or one of {known}."
            )
    return values


def _latency_ms_per_1k(result: TrainingResult) -> float:
    import statistics
    import time

    import pandas as pd

    from mlsys._rebuild import run_component
    from mlsys._rundir import RunDir

    run = RunDir.open(result.output_dir, purpose="objectives: latency_ms_per_1k")
    dataset = run.load_data(run_component(run, "data"))
    validation = run.splits().validation
    rows = dataset.frame.iloc[validation]
    rows = pd.concat([rows] * (1000 // max(len(rows), 1) + 1)).head(1000)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        result.bundle.predict_proba(rows)
        timings.append((time.perf_counter() - start) * 1000)
    return float(statistics.median(timings))


def _wants_sweep(argv: list[str]) -> bool:
    return any(
        a in ("-m", "--multirun", "hydra.mode=MULTIRUN")
        or a.lstrip("+").startswith(("hparams_search=", "hydra/sweeper="))
        for a in argv
    )


def cli() -> None:
    """Console entry point (``ml-train``); accepts ``--verbose`` besides Hydra's own flags."""
    verbose = "--verbose" in sys.argv
    if verbose:
        # Hydra does not know the flag; the config key of the same name reaches the job.
        sys.argv = [*(a for a in sys.argv if a != "--verbose"), "verbose=true"]
    if _wants_sweep(sys.argv[1:]):
        from mlsys.sweep import register

        register()
    _cli.run(main, verbose=verbose)


if __name__ == "__main__":
    cli()
