"""``ml-new``: names, rendering, overwrite rules, and that what it writes is valid."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlsys import config
from mlsys.config import compose_config, instantiate_component, validate_targets
from mlsys.errors import ConfigError
from mlsys.new import Layout, class_name_for, main, validate_name
from tests.conftest import NO_TRACKING, REPO_ROOT

pytestmark = pytest.mark.unit

# A commented YAML line of a template: an override or a `key:` (prose starts otherwise).
_COMMENTED_YAML = re.compile(r"^(\s*)# (- override /|[a-z_]+:|\s+[a-z_]+:)")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A checkout with a copy of the real conf/ (what --root points at)."""
    shutil.copytree(REPO_ROOT / "conf", tmp_path / "conf")
    return tmp_path


@pytest.fixture
def source_project(project: Path) -> Path:
    """The same with an (empty) src/mlsys package, where models are scaffolded."""
    (project / "src" / "mlsys").mkdir(parents=True)
    (project / "src" / "mlsys" / "__init__.py").write_text("")
    return project


@pytest.fixture
def contrib_modules() -> Iterator[None]:
    yield
    for name in [m for m in sys.modules if m.startswith("mlsys.models.contrib.")]:
        del sys.modules[name]


@pytest.mark.parametrize("name", ["q4", "extra_trees", "m2_v3"])
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "Q4", "4cast", "my-model", "a b", "class", "x" * 65])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="lower-case letters, digits and underscores"):
        validate_name(name)


def test_class_names() -> None:
    assert class_name_for("extra_trees") == "ExtraTreesModel"
    assert class_name_for("my_model") == "MyModel"
    assert class_name_for("gbm_v2") == "GbmV2Model"


def test_experiment_composes_as_written_and_with_every_line_uncommented(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["experiment", "q4_try", "--root", str(project)]) == 0
    out = capsys.readouterr().out
    assert "created conf/experiment/q4_try.yaml" in out
    assert "python -m mlsys.train experiment=q4_try" in out
    path = project / "conf" / "experiment" / "q4_try.yaml"
    text = path.read_text()
    assert text.startswith("# @package _global_\n")
    plain = compose_config(["experiment=q4_try"], config_dir=project / "conf")
    assert plain.model._target_ == "mlsys.models.XGBoostModel"  # all commented: the defaults
    uncommented = "\n".join(_COMMENTED_YAML.sub(r"\1\2", line) for line in text.splitlines())
    assert uncommented.count("override /") >= 6
    path.write_text(uncommented)
    # tracker/registry=none only to skip importing MLflow; every other group is checked.
    cfg = compose_config(["experiment=q4_try", *NO_TRACKING], config_dir=project / "conf")
    validate_targets(cfg)  # every commented key is a real parameter of its default option
    assert cfg.name == "q4_try"
    assert cfg.evaluation.threshold.objective == "f1"


def test_existing_files_need_force(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["experiment", "again", "--root", str(project)]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "conf/experiment/again.yaml already exists" in err
    assert "--force" in err
    assert main([*args, "--force"]) == 0


def test_force_never_replaces_a_built_in_model(
    source_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["model", "xgboost", "--root", str(source_project), "--force"]) == 2
    assert "not a scaffolded model" in capsys.readouterr().err
    kept = (source_project / "conf" / "model" / "xgboost.yaml").read_text()
    assert "mlsys.models.XGBoostModel" in kept


def test_dry_run_prints_and_writes_nothing(
    source_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["model", "dry", "--root", str(source_project), "--dry-run"]) == 0
    out = capsys.readouterr().out
    for shown in (
        "src/mlsys/models/contrib/dry.py",
        "conf/model/dry.yaml",
        "tests/unit/models/contrib/test_dry.py",
    ):
        assert f"--- would write {shown}" in out
        assert not (source_project / shown).exists()
    assert "class DryModel(_Base):" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["model", "Bad-Name"], "model name 'Bad-Name' is not valid"),
        (["experiment", "ok", "--root", "/nonexistent/checkout"], "not an mlsys checkout"),
        (["model", "ok", "--root", "{project}"], "no src/mlsys package"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], message: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.format(project=project) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message in err
    assert err.count("\n") == 1


def test_without_root_it_writes_where_mlsys_reads_configs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "PROJECT_ROOT", project)
    monkeypatch.setattr(config, "CONFIG_DIR", project / "conf")  # what MLSYS_CONFIG_DIR sets
    assert Layout.find().conf == project / "conf"
    assert main(["experiment", "here"]) == 0
    assert (project / "conf" / "experiment" / "here.yaml").is_file()


def test_generated_model_files_pass_the_linters(source_project: Path) -> None:
    shutil.copy(REPO_ROOT / "pyproject.toml", source_project)  # the source_project's ruff settings
    assert main(["model", "lint_me", "--root", str(source_project)]) == 0
    files = [
        "src/mlsys/models/contrib/lint_me.py",
        "tests/unit/models/contrib/test_lint_me.py",
    ]
    # This tmp checkout holds only the new module, so tell isort that mlsys is first-party.
    first_party = ["--config", "lint.isort.known-first-party = ['mlsys', 'tests']"]
    for command in (["check", *first_party], ["format", "--check"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", *files],
            cwd=source_project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.usefixtures("contrib_modules")
def test_generated_model_validates_and_fits(source_project: Path) -> None:
    assert main(["model", "tiny_trees", "--root", str(source_project)]) == 0
    module_path = source_project / "src" / "mlsys" / "models" / "contrib" / "tiny_trees.py"
    spec = importlib.util.spec_from_file_location("mlsys.models.contrib.tiny_trees", module_path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    overrides = ["model=tiny_trees", "model.n_estimators=20"]
    cfg = compose_config(overrides, config_dir=source_project / "conf")
    validate_targets(cfg)
    model = instantiate_component(cfg.model, "model")
    assert type(model).__name__ == "TinyTreesModel"
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    y = (X["a"] > 0.5).to_numpy().astype(np.int64)
    assert model.fit(X, y).predict_proba(X).shape == (200, 2)
