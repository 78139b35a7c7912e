"""A finished run's directory, read back: its config, metadata, metrics, splits and data.

Replaying a run, offering it to the champion gate after the fact, and measuring its scoring
latency in a sweep all start from the directory a training run wrote. :class:`RunDir` reads it
once, with one set of checks and error messages: the files a run writes are there, and the data
file still has the sha256 the run recorded (anything else could not reproduce the run, and
would compare a model on rows it may have trained on).

Example:
    >>> run = RunDir.open("outputs/2026-11-26/10-00-00-000000", purpose="replay")  # doctest: +SKIP
    >>> dataset = run.load_data(CsvSource(path=run.config.data.path))  # doctest: +SKIP
    >>> test_rows = dataset.frame.iloc[run.splits().test]  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlsys.errors import DataError

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from mlsys.data import Dataset, DataSource
    from mlsys.split import SplitIndices

__all__ = ["RUN_FILES", "RunDir"]

#: What every finished training run writes, and what reading one back needs.
RUN_FILES = ("config.yaml", "metadata.json", "metrics.json")


@dataclass(frozen=True)
class RunDir:
    """A training run's directory, checked and read; ``purpose`` prefixes every error."""

    path: Path
    config: DictConfig
    metadata: dict[str, Any]
    purpose: str = "run"

    @classmethod
    def open(cls, path: str | Path, *, purpose: str = "run") -> RunDir:
        """Read ``config.yaml`` and ``metadata.json`` of a run directory.

        Raises:
            DataError: ``path`` is not a directory, lacks a file every run writes, or its
                config is not a mapping.
        """
        from omegaconf import DictConfig, OmegaConf

        where = Path(path)
        if not where.is_dir():
            raise DataError(
                f"{purpose}: '{where}' is not a directory. Fix: pass the run directory a "
                "training run printed (Artifacts: outputs/<date>/<time>)."
            )
        missing = [name for name in RUN_FILES if not (where / name).is_file()]
        if missing:
            raise DataError(
                f"{purpose}: '{where}' lacks {', '.join(missing)}; it is not the directory of a "
                "finished mlsys run. Fix: pass the folder a training run printed as Artifacts."
            )
        config = OmegaConf.load(where / "config.yaml")
        if not isinstance(config, DictConfig):
            raise DataError(f"{purpose}: '{where}/config.yaml' is not a mapping.")
        metadata = json.loads((where / "metadata.json").read_text())
        return cls(where, config, metadata, purpose)

    @property
    def metrics_bytes(self) -> bytes:
        """``metrics.json`` exactly as written (replays compare bytes)."""
        return (self.path / "metrics.json").read_bytes()

    @property
    def metrics(self) -> dict[str, Any]:
        """The run's test metrics."""
        metrics: dict[str, Any] = json.loads(self.metrics_bytes)
        return metrics

    @property
    def validation_metrics(self) -> dict[str, Any]:
        """The run's validation metrics (empty for a run that did not write them)."""
        path = self.path / "validation_metrics.json"
        metrics: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
        return metrics

    @property
    def data_sha256(self) -> str:
        """The sha256 of the data file the run trained on."""
        return str(self.metadata["data"]["sha256"])

    def check_data(self) -> None:
        """Fail unless the run's data file exists and still has the recorded sha256.

        Hashes the file without parsing it, for callers that re-read it their own way.
        """
        from mlsys.data import file_sha256

        path = Path(str(self.config.data.path))
        if not path.is_file():
            raise DataError(
                f"{self.purpose}: the run's data file '{path}' no longer exists. Fix: restore "
                "it (or train a new run on the data you have)."
            )
        self._same_data(file_sha256(path), path)

    def load_data(self, source: DataSource) -> Dataset:
        """The run's data set, read by ``source``; checked against the run's sha256.

        ``source`` is the run's own data component (built from ``config.data`` by the caller:
        a run directory reads files, it does not build components).
        """
        dataset = source.load()
        self._same_data(dataset.sha256, Path(str(self.config.data.get("path", dataset.name))))
        return dataset

    def splits(self) -> SplitIndices:
        """The run's split indices (``splits.npz``)."""
        from mlsys.split import SplitIndices

        path = self.path / "splits.npz"
        if not path.is_file():
            raise DataError(
                f"{self.purpose}: '{self.path}' has no splits.npz. Fix: pass the directory of a "
                "finished training run."
            )
        return SplitIndices.load(path)

    def _same_data(self, actual: str, path: Path) -> None:
        expected = self.data_sha256
        if actual != expected:
            raise DataError(
                f"{self.purpose}: data changed since the run: '{path}' has sha256 "
                f"{actual[:12]}..., the run used {expected[:12]}.... Refusing to use different "
                "data. Fix: restore the original file (or train a new run on the new data)."
            )
