"""--model resolution: paths, run directories, registry references, and clear failures."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import pytest

from mlsys.errors import BundleError, TrackingError
from mlsys.registry import InMemoryRegistry
from mlsys.scoring import resolve_model

pytestmark = pytest.mark.unit


def test_a_bundle_file_is_labelled_with_its_path_and_digest(bundle_files: dict[str, Path]) -> None:
    model = resolve_model(str(bundle_files["tabular"]))
    assert model.label.startswith(f"{bundle_files['tabular']}@sha256:")
    assert len(model.label.rsplit(":", 1)[1]) == 12
    assert model.id_column == "lead_id"  # recorded in the bundle's metadata
    assert model.target == "converted"
    assert model.positive_label == "1"
    assert model.info()["threshold"] == 0.3


def test_a_run_directory_loads_its_bundle_and_schema_json(bundle_files: dict[str, Path]) -> None:
    model = resolve_model(str(bundle_files["native"].parent))
    assert model.source == str(bundle_files["native"])
    assert model.id_column == "lead_id"  # from schema.json beside the bundle


def test_a_directory_without_a_bundle_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"holds no model\.joblib"):
        resolve_model(str(tmp_path))


@pytest.mark.parametrize(
    "content",
    [b"not a pickle at all", pickle.dumps({"hello": "world"}), b"\x80\x04\x95"],
    ids=["garbage", "foreign-pickle", "truncated"],
)
def test_corrupt_or_foreign_files_are_bundle_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.joblib"
    path.write_bytes(content)
    with pytest.raises(BundleError, match=str(path)):
        resolve_model(str(path))


def test_a_truncated_real_bundle_is_a_bundle_error(
    tmp_path: Path, bundle_files: dict[str, Path]
) -> None:
    data = bundle_files["tabular"].read_bytes()
    path = tmp_path / "model.joblib"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="corrupt or not a joblib file"):
        resolve_model(str(path))
    path.write_bytes(gzip.compress(b"x"))
    with pytest.raises(BundleError):
        resolve_model(str(path))


def test_a_missing_path_is_named_with_the_accepted_forms(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"'outputs/nope/model.joblib' is not an existing file"):
        resolve_model("outputs/nope/model.joblib")


@pytest.fixture
def registry(bundle_files: dict[str, Path]) -> InMemoryRegistry:
    registry = InMemoryRegistry("leads")
    registry.register("run-a", bundle_files["tabular"], {})
    registry.register("run-b", bundle_files["native"], {})
    return registry


@pytest.mark.parametrize(
    ("reference", "label"),
    [("2", "leads/v2"), ("models:/leads/1", "leads/v1"), ("champion", "leads/v2")],
)
def test_registry_references_resolve_to_a_version_label(
    registry: InMemoryRegistry, reference: str, label: str
) -> None:
    registry.set_alias("champion", "2")
    model = resolve_model(reference, name="leads", registry=registry)
    assert model.label == label
    assert model.run_id == ("run-b" if label == "leads/v2" else "run-a")
    assert model.source == f"models:/{label.replace('/v', '/')}"


def test_no_champion_yet_names_the_ways_to_get_one(registry: InMemoryRegistry) -> None:
    with pytest.raises(TrackingError, match=r"has no 'champion' yet.*promote"):
        resolve_model("champion", name="leads", registry=registry)


def test_an_unknown_version_lists_the_versions(registry: InMemoryRegistry) -> None:
    with pytest.raises(TrackingError, match=r"has no version 7 .*\(versions: \['1', '2'\]\)"):
        resolve_model("7", name="leads", registry=registry)


def test_a_missing_store_is_reported_without_creating_it(tmp_path: Path) -> None:
    store = tmp_path / "nowhere" / "mlflow.db"
    with pytest.raises(TrackingError, match=r"no MLflow store at .*mlflow\.db"):
        resolve_model("champion", tracking_uri=f"sqlite:///{store}")
    with pytest.raises(TrackingError, match="no MLflow store"):
        resolve_model("runs:/0123456789abcdef0123456789abcdef", tracking_uri=f"sqlite:///{store}")
    assert not store.parent.exists()


def test_an_unreachable_server_fails_fast_with_the_fix() -> None:
    with pytest.raises(TrackingError, match=r"MLflow server http://127\.0\.0\.1:9 is unreachable"):
        resolve_model("champion", tracking_uri="http://127.0.0.1:9")


def test_the_password_of_a_store_uri_is_not_printed() -> None:
    from mlsys.tracking import redact_uri

    assert (
        redact_uri("postgresql://me:s3cret@db:5432/mlflow") == "postgresql://me:***@db:5432/mlflow"
    )
