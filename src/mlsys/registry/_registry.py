"""Model registries: where versions live and which one the ``champion`` alias points at.

``MlflowRegistry`` uses the MLflow Model Registry with aliases (not stages);
``InMemoryRegistry`` is the same contract in a dict, for tests and notebooks.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol, runtime_checkable

from pydantic import Field

from mlsys._locks import DEFAULT_TIMEOUT_S, registry_lock
from mlsys._params import Name
from mlsys.errors import ConfigError, TrackingError
from mlsys.models import ModelBundle, checksum_path

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "PREVIOUS_CHAMPION",
    "InMemoryRegistry",
    "MlflowRegistry",
    "ModelRegistry",
    "VersionInfo",
]

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous_champion"
CARD_FILE = "model_card.md"
"""A registered version's model card: in its run directory and among its run's artifacts."""


@dataclass(frozen=True)
class VersionInfo:
    """One registered model version."""

    version: str
    run_id: str | None
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class ModelRegistry(Protocol):
    """Versions of one registered model, with movable aliases."""

    name: str

    def register(self, run_id: str, bundle_path: Path, tags: dict[str, str]) -> str:
        """Add a version for a tracked run; return its version id."""
        ...

    def versions(self) -> list[VersionInfo]:
        """Every version, oldest first."""
        ...

    def version_of_run(self, run_id: str) -> str | None:
        """The (oldest) version registered from a tracked run, or ``None``."""
        ...

    def get_alias(self, alias: str) -> str | None:
        """The version an alias points at, or ``None``."""
        ...

    def set_alias(self, alias: str, version: str) -> None:
        """Point an alias at a version (one atomic write)."""
        ...

    def tag_version(self, version: str, tags: dict[str, str]) -> None:
        """Add tags to a version."""
        ...

    def load_bundle(self, version: str) -> ModelBundle:
        """The model bundle of a version."""
        ...

    def attach_card(self, version: str, card: str) -> None:
        """Attach a version's model card (markdown)."""
        ...

    def model_card(self, version: str) -> str | None:
        """A version's model card, or ``None`` when it has none."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """Exclusive lock for read-decide-write sequences, across processes where possible."""
        ...


class InMemoryRegistry:
    """The registry contract in memory (one process)."""

    def __init__(self, name: str = "conversion") -> None:
        self.name = name
        self._versions: dict[str, VersionInfo] = {}
        self._bundles: dict[str, Path] = {}
        self._aliases: dict[str, str] = {}
        self._cards: dict[str, str] = {}
        self._lock = threading.RLock()

    def register(self, run_id: str, bundle_path: Path, tags: dict[str, str]) -> str:
        """Add a version."""
        with self._lock:
            version = str(len(self._versions) + 1)
            self._versions[version] = VersionInfo(version, run_id, (), dict(tags))
            self._bundles[version] = Path(bundle_path)
            return version

    def versions(self) -> list[VersionInfo]:
        """Every version with its current aliases."""
        with self._lock:
            return [
                VersionInfo(
                    v.version,
                    v.run_id,
                    tuple(sorted(a for a, target in self._aliases.items() if target == v.version)),
                    dict(v.tags),
                )
                for v in self._versions.values()
            ]

    def version_of_run(self, run_id: str) -> str | None:
        """The first version registered from ``run_id``."""
        with self._lock:
            return next((v for v, info in self._versions.items() if info.run_id == run_id), None)

    def get_alias(self, alias: str) -> str | None:
        """The version an alias points at."""
        return self._aliases.get(alias)

    def set_alias(self, alias: str, version: str) -> None:
        """Point an alias at a version."""
        if version not in self._versions:
            raise TrackingError(f"registry: version {version} of '{self.name}' does not exist")
        self._aliases[alias] = version

    def tag_version(self, version: str, tags: dict[str, str]) -> None:
        """Add tags to a version."""
        self._versions[version].tags.update(tags)

    def load_bundle(self, version: str) -> ModelBundle:
        """Load the version's bundle file."""
        return ModelBundle.load(self._bundles[version])

    def attach_card(self, version: str, card: str) -> None:
        """Keep the version's card."""
        self._cards[version] = card

    def model_card(self, version: str) -> str | None:
        """The version's card."""
        return self._cards.get(version)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """A re-entrant in-process lock."""
        with self._lock:
            yield


class MlflowRegistry:
    """The MLflow Model Registry, one registered model per use case, aliases not stages.

    Args:
        name: Registered model name (one per use case, e.g. ``lead_conversion``).
        uri: Tracking/registry URI; ``None`` follows the tracker's resolution.
        lock_uri: Where the promotion lock lives when ``uri`` is an HTTP server: a PostgreSQL
            DSN (advisory lock, works across machines) or a file path (one machine). For SQLite
            and PostgreSQL URIs the store itself provides the lock.
        lock_timeout_s: How long a promotion waits for another one to finish before it fails
            with an error naming the lock (a holder that dies releases it at once).
    """

    def __init__(
        self,
        name: Name = "conversion",
        uri: str | None = None,
        lock_uri: str | None = None,
        lock_timeout_s: Annotated[float, Field(gt=0)] = DEFAULT_TIMEOUT_S,
    ):
        if not 0 < lock_timeout_s < math.inf:
            raise ConfigError(
                f"registry.registry.lock_timeout_s (ml-register: --lock-timeout): got "
                f"{lock_timeout_s}, expected seconds > 0. "
                "Fix: registry.registry.lock_timeout_s=600."
            )
        self.name = name
        self.uri = uri
        self.lock_uri = lock_uri
        self.lock_timeout_s = lock_timeout_s

    @property
    def tracking_uri(self) -> str:
        """Resolved URI."""
        from mlsys.tracking import resolve_tracking_uri

        return resolve_tracking_uri(self.uri)

    def _client(self) -> MlflowClient:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def register(self, run_id: str, bundle_path: Path, tags: dict[str, str]) -> str:
        """Create the registered model if needed, then a version from the run's MLflow model."""
        import mlflow
        from mlflow.exceptions import MlflowException

        client = self._client()
        # MLflow resolves a `models:/m-...` source through the *global* tracking URI.
        mlflow.set_tracking_uri(self.tracking_uri)
        try:
            client.create_registered_model(self.name)
        except MlflowException as exc:
            if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code):
                raise
        run = client.get_run(run_id)
        # The logged MLflow model when there is one (servable with `mlflow models serve`), else
        # the bundle file among the run's artifacts.
        source = run.data.tags.get("mlsys.model_uri", f"{run.info.artifact_uri}/model.joblib")
        model_id = run.data.tags.get("mlsys.model_id")
        version = client.create_model_version(
            self.name, source, run_id=run_id, tags=tags, model_id=model_id
        )
        return str(version.version)

    def versions(self) -> list[VersionInfo]:
        """Every version, oldest first, with aliases and tags."""
        from mlflow.exceptions import MlflowException

        client = self._client()
        try:
            aliases = dict(client.get_registered_model(self.name).aliases or {})
        except MlflowException:
            return []
        # search_model_versions does not fill in aliases; the registered model has them.
        by_version: dict[str, list[str]] = {}
        for alias, version in aliases.items():
            by_version.setdefault(str(version), []).append(alias)
        found = client.search_model_versions(f"name = '{self.name}'")
        return sorted(
            (
                VersionInfo(
                    str(v.version),
                    v.run_id,
                    tuple(sorted(by_version.get(str(v.version), []))),
                    dict(v.tags or {}),
                )
                for v in found
            ),
            key=lambda v: int(v.version),
        )

    def version_of_run(self, run_id: str) -> str | None:
        """The oldest version registered from ``run_id``, or ``None`` (also with no model yet)."""
        found = self._client().search_model_versions(
            f"name = '{self.name}' AND run_id = '{run_id}'"
        )
        return min((str(v.version) for v in found), key=int, default=None)

    def get_alias(self, alias: str) -> str | None:
        """The version an alias points at, or ``None`` if unset (or no model yet)."""
        from mlflow.exceptions import MlflowException

        client = self._client()
        try:
            return str(client.get_model_version_by_alias(self.name, alias).version)
        except MlflowException as exc:
            if exc.error_code in (
                "RESOURCE_DOES_NOT_EXIST",
                "INVALID_PARAMETER_VALUE",
                "NOT_FOUND",
            ):
                return None
            raise

    def set_alias(self, alias: str, version: str) -> None:
        """Point the alias at the version (a single registry write)."""
        client = self._client()
        client.set_registered_model_alias(self.name, alias, version)

    def tag_version(self, version: str, tags: dict[str, str]) -> None:
        """Add tags to a version and to the run that produced it."""
        client = self._client()
        run_id = client.get_model_version(self.name, version).run_id
        for key, value in tags.items():
            client.set_model_version_tag(self.name, version, key, value)
            if run_id:
                client.set_tag(run_id, key, value)

    def load_bundle(self, version: str) -> ModelBundle:
        """Download the version's run artifact ``model.joblib`` and load it."""
        client = self._client()
        run_id = client.get_model_version(self.name, version).run_id
        if run_id is None:
            raise TrackingError(f"registry: version {version} of '{self.name}' has no run")
        with tempfile.TemporaryDirectory() as tmp:
            return ModelBundle.load(*download_bundle(client, run_id, Path(tmp)))

    def attach_card(self, version: str, card: str) -> None:
        """Log the card as the run's ``model_card.md``; the version's description points to it.

        MLflow shows a version's description as markdown, but caps its length, so it holds a
        pointer and the card stays one artifact of the run (``ml-register show`` reads it).
        """
        client = self._client()
        run_id = client.get_model_version(self.name, version).run_id
        if run_id is None:
            raise TrackingError(f"registry: version {version} of '{self.name}' has no run")
        client.log_text(run_id, card, CARD_FILE)
        pointer = f"runs:/{run_id}/{CARD_FILE}"
        client.set_model_version_tag(self.name, version, "mlsys.model_card", pointer)
        client.update_model_version(
            self.name,
            version,
            description=(
                f"Model card: `{pointer}` (the run's artifact `{CARD_FILE}`); print it with "
                f"`ml-register --name {self.name} show {version}`.\n\n{card.splitlines()[0]}"
            ),
        )

    def model_card(self, version: str) -> str | None:
        """Download the version's card from its run, or ``None`` when it has none."""
        from mlflow.exceptions import MlflowException

        client = self._client()
        run_id = client.get_model_version(self.name, version).run_id
        if run_id is None:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = client.download_artifacts(run_id, CARD_FILE, tmp)
            except (MlflowException, OSError):
                return None
            return Path(path).read_text()

    def lock(self) -> AbstractContextManager[None]:
        """Cross-process lock keyed by the registered model name."""
        return registry_lock(
            self.lock_uri or self.tracking_uri,
            self.name,
            self.lock_timeout_s,
            setting="registry.registry.lock_timeout_s (ml-register: --lock-timeout)",
        )


def download_bundle(client: MlflowClient, run_id: str, into: Path) -> tuple[Path, str | None]:
    """Download a run's ``model.joblib`` into ``into``; return it and the digest to check.

    The digest is the run's ``mlsys.bundle_sha256`` tag, recorded when the run was tracked and
    kept apart from the artifacts. Runs from before the tag bring their ``.sha256`` file
    instead, which :meth:`ModelBundle.load` finds beside the bundle; older runs have neither.
    """
    from mlflow.exceptions import MlflowException

    path = Path(client.download_artifacts(run_id, "model.joblib", str(into)))
    expected = client.get_run(run_id).data.tags.get("mlsys.bundle_sha256")
    if expected is None:
        with contextlib.suppress(MlflowException, OSError):
            client.download_artifacts(run_id, checksum_path(path).name, str(into))
    return path, expected
