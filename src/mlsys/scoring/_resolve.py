"""Turn what a user types after ``--model`` into a loaded bundle and a version label.

Accepted references, checked in this order:

* a path that exists: a bundle file (``model.joblib``) or a training run directory holding one;
* ``models:/<name>/<version>`` or ``models:/<name>@<alias>``: a registry version or alias;
* ``runs:/<run id>`` or a bare 32-character MLflow run id: that run's ``model.joblib``;
* a version number (``3``): that version of the registered model ``name``;
* an alias (``champion``, the default; ``challenger``, ``previous_champion``, ...).

Registry references go through :class:`mlsys.registry.MlflowRegistry` (or any
:class:`~mlsys.registry.ModelRegistry` passed in), the same code the champion gate and the
server use.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlsys.data import file_sha256
from mlsys.errors import BundleError, MlsysError, TrackingError
from mlsys.models import ModelBundle
from mlsys.tracking import check_store, redact_uri, resolve_tracking_uri

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from mlsys.registry import ModelRegistry

__all__ = ["ResolvedModel", "resolve_model"]

log = logging.getLogger(__name__)

_RUN_ID = re.compile(r"[0-9a-f]{32}")
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_MODELS_URI = re.compile(r"models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[^/]+))/?")
_FIX = (
    "Fix: train a tracked model (python -m mlsys.train), point --tracking-uri or "
    "MLFLOW_TRACKING_URI at your store, or pass --model <run dir or model.joblib>."
)


@dataclass(frozen=True)
class ResolvedModel:
    """A bundle ready to score, with where it came from.

    Attributes:
        bundle: The fitted model bundle.
        label: Short version label written next to every score: ``conversion/v3``,
            ``run:<run id>`` or ``<path>@sha256:<first 12 hex digits>``.
        reference: What was asked for (``champion``, ``models:/conversion/3``, a path, ...).
        source: Where the bundle was loaded from (a ``models:/`` URI, ``runs:/`` URI or path).
        run_id: The MLflow run that trained it, when known.
        id_column: The training data's row id column (from the bundle or the run's
            ``schema.json``), when known.
    """

    bundle: ModelBundle
    label: str
    reference: str
    source: str
    run_id: str | None = None
    id_column: str | None = None

    @property
    def target(self) -> str | None:
        """The label column the model was trained on."""
        value = self.bundle.metadata.get("data", {}).get("target")
        return None if value is None else str(value)

    @property
    def positive_label(self) -> str | None:
        """The label value that meant "converted" in training."""
        value = self.bundle.metadata.get("data", {}).get("positive_label")
        return None if value is None else str(value)

    def info(self) -> dict[str, Any]:
        """JSON-friendly provenance for summaries and reports."""
        meta = self.bundle.metadata
        return {
            "label": self.label,
            "reference": self.reference,
            "source": self.source,
            "run_id": self.run_id,
            "model": meta.get("model"),
            "trained_at": meta.get("trained_at"),
            "threshold": self.bundle.threshold,
            "target": self.target,
            "id_column": self.id_column,
        }


def resolve_model(
    reference: str = "champion",
    *,
    name: str = "conversion",
    tracking_uri: str | None = None,
    registry: ModelRegistry | None = None,
) -> ResolvedModel:
    """Load the model a reference names (see the module docstring for the forms).

    Args:
        reference: ``champion`` (default), another alias, a version number, ``models:/...``,
            ``runs:/...``, a run id, a ``model.joblib`` path or a run directory.
        name: Registered model name for bare versions and aliases (the training ``name``).
        tracking_uri: MLflow store; ``None`` uses ``MLFLOW_TRACKING_URI`` or the embedded one.
        registry: A registry to use instead of MLflow's (tests, notebooks).

    Raises:
        BundleError: The file is missing, not a bundle, truncated or corrupt.
        TrackingError: No such alias, version or run, or the store cannot be reached.

    Example:
        >>> model = resolve_model("outputs/2026-11-26/10-00-00-000000")  # doctest: +SKIP
        >>> model.label, model.bundle.threshold  # doctest: +SKIP
        ('outputs/2026-11-26/10-00-00-000000/model.joblib@sha256:3f9a0c1d2e4b', 0.1755)
    """
    reference = reference.strip()
    local = Path(reference).expanduser()
    if local.exists():
        return _from_path(local, reference)
    found = _MODELS_URI.fullmatch(reference)
    if found:
        return _from_registry(
            reference,
            found["name"],
            found["version"],
            found["alias"],
            tracking_uri,
            registry,
        )
    if reference.startswith("runs:/"):
        run_id = reference.removeprefix("runs:/").split("/", 1)[0]
        return _from_run(reference, run_id, tracking_uri)
    if reference.isdigit():
        return _from_registry(reference, name, reference, None, tracking_uri, registry)
    if _RUN_ID.fullmatch(reference):
        return _from_run(reference, reference, tracking_uri)
    if _ALIAS.fullmatch(reference) and not reference.endswith("joblib"):
        return _from_registry(reference, name, None, reference, tracking_uri, registry)
    raise BundleError(
        f"--model: '{reference}' is not an existing file or directory (looked at "
        f"'{local.resolve()}'), nor a registry reference. Fix: pass a model.joblib, a run "
        "directory, champion, a version number, models:/<name>/<version> or runs:/<run id>."
    )


def _from_path(path: Path, reference: str) -> ResolvedModel:
    bundle_path = path / "model.joblib" if path.is_dir() else path
    if path.is_dir() and not bundle_path.is_file():
        raise BundleError(
            f"--model: directory '{path}' holds no model.joblib. Fix: pass a training run "
            "directory (outputs/<date>/<time>) or the bundle file itself."
        )
    bundle = ModelBundle.load(bundle_path)
    id_column = _bundle_id_column(bundle) or _schema_id_column(bundle_path.parent / "schema.json")
    return ResolvedModel(
        bundle=bundle,
        label=f"{bundle_path}@sha256:{file_sha256(bundle_path)[:12]}",
        reference=reference,
        source=str(bundle_path),
        id_column=id_column,
    )


def _from_registry(
    reference: str,
    name: str,
    version: str | None,
    alias: str | None,
    tracking_uri: str | None,
    registry: ModelRegistry | None,
) -> ResolvedModel:
    from mlsys.registry import MlflowRegistry

    if registry is None:
        uri = _reachable_store(tracking_uri)
        registry = MlflowRegistry(name=name, uri=uri)
    where = _where(registry)
    try:
        if alias is not None:
            version = registry.get_alias(alias)
            if version is None:
                raise TrackingError(
                    f"--model {reference}: model '{name}' has no '{alias}' yet in {where}. "
                    "Fix: train one (the first tracked model becomes champion), promote a "
                    f"version (python -m mlsys.registry promote <version> --name {name}), or "
                    "pass --model <run dir or model.joblib>."
                )
        assert version is not None
        versions = registry.versions()
        info = next((v for v in versions if v.version == version), None)
        if info is None:
            known = [v.version for v in versions]
            raise TrackingError(
                f"--model {reference}: model '{name}' has no version {version} in {where} "
                f"(versions: {known or 'none'}). Fix: pick one of them "
                "(python -m mlsys.registry list), or check --name and --tracking-uri."
            )
        try:
            bundle = registry.load_bundle(version)
        except BundleError as exc:
            raise BundleError(f"--model {reference}: version {version} of '{name}': {exc}") from exc
    except MlsysError:
        raise
    except Exception as exc:
        raise TrackingError(
            f"--model {reference}: the model registry in {where} failed ({exc}). {_FIX}"
        ) from exc
    id_column = _bundle_id_column(bundle)
    if id_column is None and info.run_id and isinstance(registry, MlflowRegistry):
        id_column = _run_id_column(_client(registry.tracking_uri), info.run_id)
    return ResolvedModel(
        bundle=bundle,
        label=f"{name}/v{version}",
        reference=reference,
        source=f"models:/{name}/{version}",
        run_id=info.run_id,
        id_column=id_column,
    )


def _from_run(reference: str, run_id: str, tracking_uri: str | None) -> ResolvedModel:
    uri = _reachable_store(tracking_uri)
    from mlflow.exceptions import MlflowException

    from mlsys.registry import download_bundle

    client = _client(uri)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path, expected = download_bundle(client, run_id, Path(tmp))
        except MlflowException as exc:
            raise TrackingError(
                f"--model {reference}: no model.joblib for run '{run_id}' in {redact_uri(uri)} "
                f"({exc.message}). Fix: pass a run id from `python -m mlsys.registry list` "
                "or the MLflow UI, or a local run directory."
            ) from exc
        except Exception as exc:
            raise TrackingError(
                f"--model {reference}: the store {redact_uri(uri)} failed ({exc}). {_FIX}"
            ) from exc
        try:
            bundle = ModelBundle.load(path, sha256=expected)
        except BundleError as exc:
            raise BundleError(f"--model {reference}: {exc}") from exc
    return ResolvedModel(
        bundle=bundle,
        label=f"run:{run_id}",
        reference=reference,
        source=f"runs:/{run_id}/model.joblib",
        run_id=run_id,
        id_column=_bundle_id_column(bundle) or _run_id_column(client, run_id),
    )


def _bundle_id_column(bundle: ModelBundle) -> str | None:
    value = bundle.metadata.get("data", {}).get("id_column")
    return str(value) if value else None


def _schema_id_column(path: Path) -> str | None:
    """The id column a run's ``schema.json`` records (``None`` if absent or unreadable)."""
    try:
        value = json.loads(path.read_text()).get("id_column")
    except (OSError, ValueError, AttributeError):
        return None
    return str(value) if value else None


def _run_id_column(client: MlflowClient, run_id: str) -> str | None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, "schema.json", tmp)
        except Exception:  # an optional artifact: a run without it simply has no id column
            log.info("Run %s has no schema.json; output rows are numbered instead", run_id)
            return None
        return _schema_id_column(Path(path))


def _client(uri: str) -> MlflowClient:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _where(registry: ModelRegistry) -> str:
    uri = getattr(registry, "tracking_uri", None)
    return f"store {redact_uri(uri)}" if uri else f"registry {type(registry).__name__}"


def _reachable_store(tracking_uri: str | None) -> str:
    """The resolved store URI; fail fast (without creating anything) when it is not there.

    MLflow would create an empty SQLite store on first use and retry an unreachable server
    for minutes; neither helps someone who wants to score with an existing model.
    """
    uri = resolve_tracking_uri(tracking_uri)
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        if not database.is_file():
            raise TrackingError(
                f"--model: there is no MLflow store at '{database}' (tracking URI {uri}), so "
                f"no registered model or run to load. {_FIX}"
            )
        return uri
    try:
        check_store(uri, "--tracking-uri")
    except TrackingError as exc:
        local = "Or score with a local model: --model <run dir or model.joblib>."
        raise TrackingError(f"{exc} {local}") from exc
    if not uri.startswith(("http://", "https://")):
        # A database store (PostgreSQL, MySQL): one cheap query tells "down" from "empty",
        # which MlflowRegistry.versions() cannot (it reads any failure as "no versions").
        try:
            _client(uri).search_registered_models(max_results=1)
        except Exception as exc:
            raise TrackingError(
                f"--model: cannot reach the MLflow store {redact_uri(uri)} ({exc}). {_FIX}"
            ) from exc
    return uri
