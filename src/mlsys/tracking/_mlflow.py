"""Record runs in MLflow: params, metrics, artifacts, data set, and a servable MLflow model.

The default store is embedded in the project (``sqlite:///outputs/mlflow.db`` with artifacts in
``outputs/mlartifacts``); ``tracker.uri=...`` or ``MLFLOW_TRACKING_URI`` points it at a team
server (see ``infra/mlflow``) or straight at a PostgreSQL database.

Before a run does any work, :meth:`MlflowTracker.prepare` checks the store once with a short
timeout (instead of minutes of MLflow's retries at the end of the run), creates its tables and
the experiment under a lock (several runs starting on a new database would race on MLflow's
schema migration), and marks runs of killed processes that were left ``RUNNING`` as ``KILLED``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import time
import tomllib
import warnings
from collections.abc import Iterator
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from mlsys._paths import project_root
from mlsys.errors import TrackingError
from mlsys.files import process_alive
from mlsys.tracking._protocol import RunRecord

if TYPE_CHECKING:
    from mlflow import MlflowClient

# The package __init__ lists these again: its __all__ is the public API (test_public_api).
__all__ = [
    "MlflowTracker",
    "check_store",
    "default_tracking_uri",
    "mark_killed_runs",
    "pip_requirements",
    "redact_uri",
    "resolve_tracking_uri",
    "store_lock",
]

log = logging.getLogger(__name__)

#: Packages the logged MLflow model needs at scoring time, pinned from uv.lock.
_RUNTIME_PACKAGES = (
    "mlflow",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "xgboost",
    "catboost",
    "imbalanced-learn",
    "joblib",
    "pyarrow",
)
_MAX_PARAM_LENGTH = 6000
#: Seconds to wait for a tracking server's /health or a PostgreSQL connection before calling
#: the store unreachable.
CONNECT_TIMEOUT_S = 5
#: Tags naming the process that records a run, to tell a killed run from a running one.
HOST_TAG, PID_TAG = "mlsys.host", "mlsys.pid"
_SECRET = re.compile(r"(?<=://)([^:/@]+):[^@/]+@")
_POSTGRES = ("postgresql://", "postgresql+", "postgres://")


def default_tracking_uri() -> str:
    """The embedded store: a SQLite file under the project's ``outputs/``."""
    return f"sqlite:///{project_root() / 'outputs' / 'mlflow.db'}"


def resolve_tracking_uri(uri: str | None) -> str:
    """Config value, else ``MLFLOW_TRACKING_URI``, else the embedded store."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def pip_requirements(lock: Path | None = None) -> list[str]:
    """Pinned requirements for the logged model, read from uv.lock (installed versions if absent).

    Passing them explicitly saves MLflow ~7 s of requirement inference per run.
    """
    versions: dict[str, str] = {}
    lock_path = lock or project_root() / "uv.lock"
    if lock_path.is_file():
        packages = tomllib.loads(lock_path.read_text()).get("package", [])
        versions = {p["name"]: p["version"] for p in packages if "version" in p}
    out = []
    for name in _RUNTIME_PACKAGES:
        version = versions.get(name)
        if version is None:
            try:
                version = importlib_metadata.version(name)
            except importlib_metadata.PackageNotFoundError:
                continue
        out.append(f"{name}=={version}")
    return out


def redact_uri(uri: str) -> str:
    """The URI without a password (``postgresql://user:***@host/db``)."""
    return _SECRET.sub(r"\1:***@", uri)


def check_store(uri: str, setting: str = "tracker.uri") -> None:
    """Fail in seconds, not minutes of retries, when the store at ``uri`` cannot be reached.

    An MLflow server must answer ``/health``; a PostgreSQL store must accept a connection, each
    within :data:`CONNECT_TIMEOUT_S` seconds. A SQLite store is a local file: nothing to reach.

    Args:
        uri: A resolved tracking URI.
        setting: The option that chose ``uri``, named in the error (``tracker.uri``,
            ``--tracking-uri``).

    Raises:
        TrackingError: The store is down or refuses the connection; the message names the URI
            and the fix.
    """
    shown = redact_uri(uri)
    elsewhere = f"or point {setting} / MLFLOW_TRACKING_URI at a store that runs"
    if uri.startswith(("http://", "https://")):
        import urllib.error
        import urllib.request

        health = f"{uri.rstrip('/')}/health"
        try:
            with urllib.request.urlopen(health, timeout=CONNECT_TIMEOUT_S) as response:
                status = response.status
        except (urllib.error.URLError, OSError) as exc:
            raise TrackingError(
                f"{setting}: MLflow server {shown} is unreachable ({_reason(exc)}). Fix: start "
                f"it (make mlflow-server), {elsewhere}."
            ) from exc
        if status != 200:
            raise TrackingError(
                f"{setting}: MLflow server {shown} answered {status} on /health. Fix: check the "
                f"server's log, {elsewhere}."
            )
    elif uri.startswith(_POSTGRES):
        import psycopg

        try:
            psycopg.connect(_libpq_dsn(uri), connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.Error as exc:
            raise TrackingError(
                f"{setting}: cannot connect to the PostgreSQL store {shown} ({_reason(exc)}). "
                "Fix: start PostgreSQL and check the host, port, database and user in the URI, "
                f"{elsewhere}."
            ) from exc


def _reason(exc: BaseException) -> str:
    """The first line of what went wrong (psycopg adds hints on further lines)."""
    text = str(getattr(exc, "reason", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _libpq_dsn(uri: str) -> str:
    """A SQLAlchemy PostgreSQL URL (``postgresql+psycopg://``) as libpq accepts it."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", uri)


def store_lock(uri: str) -> contextlib.AbstractContextManager[None]:
    """Serialise creating an MLflow database store: its tables, and then the experiment.

    MLflow migrates an empty database on first use; two processes doing it at once collide on
    ``alembic_version`` (PostgreSQL) or on a half-made file (SQLite). The lock is a file lock
    beside a SQLite store and a PostgreSQL advisory lock on the store's own database; a server
    creates its tables itself when it starts, so other URIs need none.
    """
    if not uri.startswith(("sqlite:///", *_POSTGRES)):
        return contextlib.nullcontext()
    from mlsys._locks import registry_lock

    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return registry_lock(
        uri,
        "mlflow-store-init",
        what=f"creating the MLflow store {redact_uri(uri)}",
        setting="the store lock's timeout",
        uri_setting="tracker.uri / MLFLOW_TRACKING_URI",
    )


def mark_killed_runs(client: MlflowClient, experiment_id: str) -> list[str]:
    """Mark ``KILLED`` the runs still ``RUNNING`` whose recording process is gone.

    A run records the host and process id that log it (tags ``mlsys.host``, ``mlsys.pid``); a
    process killed while logging leaves its run ``RUNNING`` for ever. Only runs of this host
    whose process no longer exists are marked; runs of other hosts, and of other tools, are
    left alone. Returns the ids of the runs marked.
    """
    host = socket.gethostname()
    running = client.search_runs(
        [experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000
    )
    marked = []
    for run in running:
        tags = run.data.tags
        pid = tags.get(PID_TAG, "")
        if tags.get(HOST_TAG) != host or not pid.isdigit() or process_alive(int(pid)):
            continue
        client.set_tag(
            run.info.run_id,
            "mlsys.killed",
            f"process {pid} on {host} ended while recording this run; marked KILLED by "
            f"process {os.getpid()}",
        )
        client.set_terminated(run.info.run_id, status="KILLED")
        log.warning(
            "Run %s was left RUNNING by process %s, which is gone: marked KILLED",
            run.info.run_id,
            pid,
        )
        marked.append(run.info.run_id)
    return marked


def config_hash(params: dict[str, Any]) -> str:
    """sha256 of the resolved config (flattened, sorted): equal hashes mean equal configs."""
    canonical = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class MlflowTracker:
    """Logs each run to MLflow, and the model as an MLflow pyfunc model.

    Args:
        uri: Tracking URI; ``None`` uses ``MLFLOW_TRACKING_URI`` or the embedded SQLite store.
        experiment: MLflow experiment name (one per use case).
        artifact_location: Where a new experiment stores artifacts; ``None`` puts them in
            ``outputs/mlartifacts`` for the embedded store and leaves servers to decide.
        required: Fail the run (exit 2) when it cannot be tracked; ``False`` makes tracking
            optional: the run goes on untracked and ends with a warning that says so.
        log_model: Also log the bundle as an MLflow model (signature, input example, pinned
            requirements) so ``mlflow models serve`` and ``mlflow.pyfunc`` can load it.
    """

    def __init__(
        self,
        uri: str | None = None,
        experiment: Annotated[str, Field(min_length=1)] = "conversion",
        artifact_location: str | None = None,
        required: bool = True,
        log_model: bool = True,
    ) -> None:
        self.uri = uri
        self.experiment = experiment
        self.artifact_location = artifact_location
        self.required = required
        self.log_model = log_model

    @property
    def tracking_uri(self) -> str:
        """The URI runs are logged to."""
        return resolve_tracking_uri(self.uri)

    def prepare(self) -> str:
        """Check the store, create its tables and the experiment; return the experiment id.

        Runs before training (fail in seconds, before any work) and again before logging. Also
        marks runs of this experiment left ``RUNNING`` by killed processes as ``KILLED``.

        Raises:
            TrackingError: The store is unreachable (the message names the URI and the fix).
        """
        from mlflow import MlflowClient

        uri = self.tracking_uri
        check_store(uri)
        with store_lock(uri):
            # The first access (the client opens the store at once) creates the tables of both
            # stores MLflow keeps in a database.
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            client.search_registered_models(max_results=1)
            experiment_id = self._experiment_id(client, uri)
        mark_killed_runs(client, experiment_id)
        return experiment_id

    def log_run(self, record: RunRecord) -> str | None:
        """Log params, metrics, tags, artifacts, data set and model; return the run id.

        A failure at any step ends the run ``FAILED`` in MLflow and raises here.
        """
        import mlflow
        from mlflow import MlflowClient

        uri = self.tracking_uri
        experiment_id = self.prepare()
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(tracking_uri=uri)
        # Created by the client, not by fluent start_run: that would resolve MLflow's context
        # tags, and its git lookup cost more than the rest of the run's bookkeeping. The source
        # tags it would set come from what the run already knows (its git sha and user).
        source = _source_tags(record.tags)
        created = client.create_run(
            experiment_id,
            run_name=record.run_name,
            tags={
                **source,
                **record.tags,
                "config_hash": config_hash(record.params),
                HOST_TAG: socket.gethostname(),
                PID_TAG: str(os.getpid()),
            },
        )
        run_id: str = created.info.run_id
        # Resuming the run makes it the active one for log_artifacts and log_model; leaving the
        # block ends it, FINISHED, or FAILED when anything below raised.
        with mlflow.start_run(run_id=run_id):
            self._log_values(client, run_id, record)
            self._log_dataset(record)
            mlflow.log_artifacts(str(record.output_dir))
            if (record.output_dir / "report" / "report.html").is_file():
                # The evaluation report is one self-contained page among the artifacts.
                mlflow.set_tag("mlsys.report", "report/report.html")
            if self.log_model:
                # Created here for the same reason as the run: log_model would resolve the
                # context tags again.
                model = client.create_logged_model(
                    experiment_id,
                    name="model",
                    source_run_id=run_id,
                    tags=source,
                    params={k: str(v)[:_MAX_PARAM_LENGTH] for k, v in record.params.items()},
                )
                with _quiet_model_logging():
                    self._log_model(record, model.model_id)
        log.info("Tracked run %s in %s (experiment '%s')", run_id, uri, self.experiment)
        return run_id

    @staticmethod
    def _log_values(client: MlflowClient, run_id: str, record: RunRecord) -> None:
        """Params and metrics, a batch each (MLflow takes at most 100 params per batch).

        Synchronously: MLflow's asynchronous logging made this slower on the embedded store,
        as its queue's shutdown waits on a polling worker (docs/DESIGN_DECISIONS.md).
        """
        from mlflow.entities import Metric, Param

        params = [
            Param(key, str(value)[:_MAX_PARAM_LENGTH])
            for key, value in sorted(record.params.items())
        ]
        now = int(time.time() * 1000)
        values = {**record.metrics, **{f"seconds_{k}": v for k, v in record.timings.items()}}
        client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in values.items()])
        for start in range(0, len(params), 100):
            client.log_batch(run_id, params=params[start : start + 100])

    def _experiment_id(self, client: MlflowClient, uri: str) -> str:
        found = client.get_experiment_by_name(self.experiment)
        if found is not None:
            return str(found.experiment_id)
        location = self.artifact_location
        if location is None and uri.startswith("sqlite:///"):
            store = Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts"
            location = store.as_uri()
        try:
            return str(client.create_experiment(self.experiment, artifact_location=location))
        except Exception:
            # Another process created it between our lookup and create (on a server store,
            # which no lock of ours covers).
            again = client.get_experiment_by_name(self.experiment)
            if again is None:
                raise
            return str(again.experiment_id)

    @staticmethod
    def _log_dataset(record: RunRecord) -> None:
        import mlflow
        from mlflow.data.dataset_source_registry import get_dataset_source_from_json
        from mlflow.data.meta_dataset import MetaDataset
        from mlflow.exceptions import MlflowException

        info = record.dataset
        if not info:
            return
        # MLflow generates its local-file source class at run time; build it from JSON.
        location = str(info.get("source", ""))
        source = get_dataset_source_from_json(json.dumps({"uri": location}), "local")
        dataset = MetaDataset(  # type: ignore[abstract]
            source=source, name=str(info.get("name")), digest=str(info.get("sha256", ""))[:36]
        )
        # Two runs logging the same new data set at once race on MLflow's unique key
        # (experiment, name, digest); the loser's retry finds the row and links to it.
        for attempt in range(3):
            try:
                mlflow.log_input(dataset, context="training")
                return
            except MlflowException as exc:
                if attempt == 2 or "dataset" not in str(exc).lower():
                    raise
                time.sleep(0.2 * (attempt + 1))

    @staticmethod
    def _log_model(record: RunRecord, model_id: str) -> None:
        import mlflow.pyfunc
        from mlflow.models import ModelSignature, infer_signature
        from mlflow.types.schema import ColSpec, Schema

        from mlsys.models import ModelBundle
        from mlsys.tracking._pyfunc import BundlePyfuncModel

        bundle = (
            record.bundle if record.bundle is not None else ModelBundle.load(record.bundle_path)
        )
        example = record.input_example
        signature = None
        if example is not None:
            with warnings.catch_warnings():
                # MLflow hints that integer columns cannot hold missing values: handled below.
                warnings.simplefilter("ignore", UserWarning)
                inferred = infer_signature(example, BundlePyfuncModel.score(bundle, example))
            # Five example rows cannot tell which columns may be missing: the model imputes
            # every feature, so none is required.
            optional = Schema(
                [
                    ColSpec(type=_input_type(c.type), name=c.name, required=False)
                    for c in inferred.inputs.inputs
                ]
            )
            signature = ModelSignature(inputs=optional, outputs=inferred.outputs)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=BundlePyfuncModel(),
            artifacts=_model_artifacts(record.bundle_path),
            code_paths=[str(Path(__file__).resolve().parents[1])],
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            model_id=model_id,
        )
        # MLflow 3 stores models as "logged models" outside the run's artifact tree; the
        # registry needs their URI and id to create versions that `mlflow models serve` can load.
        mlflow.set_tags({"mlsys.model_uri": info.model_uri, "mlsys.model_id": str(info.model_id)})


def _source_tags(tags: dict[str, str]) -> dict[str, str]:
    """MLflow's own source tags (user, entry point, git commit), from what the run recorded."""
    import sys

    from mlflow.entities import SourceType
    from mlflow.utils.mlflow_tags import (
        MLFLOW_GIT_COMMIT,
        MLFLOW_SOURCE_NAME,
        MLFLOW_SOURCE_TYPE,
        MLFLOW_USER,
    )

    out = {
        MLFLOW_SOURCE_NAME: sys.argv[0] if sys.argv and sys.argv[0] else "mlsys",
        MLFLOW_SOURCE_TYPE: SourceType.to_string(SourceType.LOCAL),
    }
    if tags.get("user") not in (None, "", "None"):
        out[MLFLOW_USER] = tags["user"]
    if tags.get("git_sha") not in (None, "", "None"):
        out[MLFLOW_GIT_COMMIT] = tags["git_sha"]
    return out


def _model_artifacts(bundle: Path) -> dict[str, str]:
    """The pyfunc model's files: the bundle, its checksum and training profile when there."""
    from mlsys.models import checksum_path

    files = {"bundle": str(bundle)}
    if checksum_path(bundle).is_file():
        files["bundle_sha256"] = str(checksum_path(bundle))
    profile = bundle.with_name("profile.json")  # the run writes it beside the bundle
    if profile.is_file():
        files["profile"] = str(profile)
    return files


def _input_type(inferred: Any) -> Any:
    """The signature type of an input column: integer and boolean columns accept anything.

    A lead may lack any value, and MLflow's schema enforcement refuses a missing value in a
    ``long`` or ``boolean`` column (pandas turns it into a float or an object) before the model
    sees it; declaring ``double`` instead would refuse the plain integers of a complete file.
    The bundle checks and coerces every column itself (the same rules as mlsys's own API), so
    these columns are declared ``Any``; strings, doubles and datetimes keep their types.
    """
    from mlflow.types.schema import AnyType, DataType

    loose = {DataType.long, DataType.integer, DataType.boolean}
    return AnyType() if inferred in loose else inferred  # type: ignore[no-untyped-call]


#: MLflow's messages while logging the pyfunc model that say nothing about this run: the
#: generic caution about CloudPickle (the model is mlsys's own class, and its bundle is checked
#: against a checksum), and a pip version it cannot resolve (requirements come from uv.lock).
_NOISE = ("serialized using CloudPickle", "Failed to resolve installed pip version")


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in _NOISE)


@contextlib.contextmanager
def _quiet_model_logging() -> Iterator[None]:
    """Log the model without MLflow's two noisy warnings above.

    Its progress bars are the user's to switch off (``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false``,
    docs/TROUBLESHOOTING.md): MLflow reads only that variable, and mlsys sets none.
    """
    loggers = [logging.getLogger(name) for name in ("mlflow.pyfunc", "mlflow.utils.environment")]
    noise = _DropNoise()
    for logger in loggers:
        logger.addFilter(noise)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(noise)
