"""Compose the real conf/ and build every option of every group; config validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsys.config import (
    CONFIG_DIR,
    build_pipeline,
    compose_config,
    instantiate_component,
    validate_targets,
)
from mlsys.errors import ConfigError

pytestmark = pytest.mark.unit

GROUPS = ("data", "split", "features", "imbalance", "model", "calibration", "evaluation", "tracker")


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


ALL_OPTIONS = [(group, option) for group in GROUPS for option in _options(group)]


def test_every_group_has_options() -> None:
    for group in GROUPS:
        assert _options(group), f"conf/{group}/ has no options"


@pytest.mark.parametrize(("group", "option"), ALL_OPTIONS, ids=[f"{g}={o}" for g, o in ALL_OPTIONS])
def test_every_option_composes_validates_and_instantiates(
    group: str, option: str, tmp_path: Path
) -> None:
    overrides = [f"{group}={option}"]
    if (group, option) == ("data", "csv"):
        overrides += [f"data.path={tmp_path / 'x.csv'}", "data.target=y"]
    cfg = compose_config(overrides)
    validate_targets(cfg)
    component = instantiate_component(cfg[group], group)
    assert type(component).__name__ in cfg[group]["_target_"]


def test_model_presets_pick_native_features_but_cli_wins() -> None:
    assert compose_config(["model=catboost"]).features._target_.endswith("NativeFeatures")
    assert compose_config(["model=hist_gb"]).features._target_.endswith("NativeFeatures")
    cfg = compose_config(["model=catboost", "features=tabular"])
    assert cfg.features._target_.endswith("TabularFeatures")


def test_seed_flows_into_components() -> None:
    cfg = compose_config(["seed=7"])
    assert cfg.split.seed == 7
    assert cfg.model.seed == 7


def test_build_pipeline_wires_components(tmp_path: Path) -> None:
    pipeline = build_pipeline(compose_config(["model=logreg"]), output_dir=tmp_path)
    assert type(pipeline.model).__name__ == "LogisticRegressionModel"
    assert pipeline.output_dir == tmp_path
    assert pipeline.config["model"]["_target_"] == "mlsys.models.LogisticRegressionModel"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["model.n_estimators=abc"], "model.n_estimators: got 'abc'"),
        (["+model.n_estimatorz=10"], "model.n_estimatorz: unknown parameter"),
        (["evaluation.threshold.objective=recall"], "evaluation.threshold.objective"),
        (["model._target_=os.system"], "model._target_: 'os.system' is not allowed"),
        (["model._target_=mlsys.models.NoSuchModel"], "cannot import 'mlsys.models.NoSuchModel'"),
        (["model._target_=mlsys.models.ModelBundle.load"], "is not a class"),
        (["split.test=high"], "split.test: got 'high'"),
    ],
)
def test_bad_component_config_names_the_key(overrides: list[str], expected: str) -> None:
    cfg = compose_config(overrides)
    with pytest.raises(ConfigError, match="Fix") as info:
        validate_targets(cfg)
    assert expected in str(info.value)


def test_unknown_key_suggests_the_close_match() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'max_depth'"):
        validate_targets(compose_config(["+model.max_dept=3"]))


def test_wrong_type_of_top_level_key_fails_at_compose() -> None:
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="seed"):
        compose_config(["seed=abc"])


def test_unknown_top_level_key_fails_at_compose() -> None:
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="sede"):
        compose_config(["sede=1"])


def test_an_added_unknown_top_level_key_fails_before_training(tmp_path: Path) -> None:
    """`+sede=1` passes Hydra (the + adds keys) but would be ignored: the build refuses it."""
    cfg = compose_config(["+sede=1"])
    with pytest.raises(ConfigError, match=r"sede: unknown top-level key .*Did you mean 'seed'"):
        build_pipeline(cfg, output_dir=tmp_path)
    build_pipeline(compose_config(["+tags.team=growth"]), output_dir=tmp_path)  # tags are free


def test_compose_config_missing_dir_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MLSYS_CONFIG_DIR"):
        compose_config(config_dir=tmp_path / "nope")


@pytest.mark.parametrize(
    ("value", "hint", "ok"),
    [
        (3, int, True),
        (True, int, False),
        (3, float, True),
        ("3", float, False),
        (None, "int | None", True),
        ("a", "int | None", False),
        ("f1", "Literal['f1', 'cost']", True),
        ("x", "Literal['f1', 'cost']", False),
        ([1, 2], "Sequence[str]", False),
        (["a"], "Sequence[str]", True),
        ((0.1, 0.2), "tuple[float, ...]", True),
        ({"a": 1.0}, "dict[str, float]", True),
        ({"a": "x"}, "dict[str, float]", False),
        (object(), "Any", True),
    ],
)
def test_type_matching(value: object, hint: object, ok: bool) -> None:
    from collections.abc import Sequence  # noqa: F401 - used by eval below
    from typing import Any, Literal  # noqa: F401

    from mlsys.config import _matches

    resolved = eval(hint, {**globals(), **locals()}) if isinstance(hint, str) else hint
    assert _matches(value, resolved) is ok
