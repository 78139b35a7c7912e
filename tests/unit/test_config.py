"""Compose the real conf/ and build every option of every group; config validation errors."""

from __future__ import annotations

import inspect
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
        (["model.n_estimators=abc"], "model.n_estimators: got 'abc' (str), expected int >= 1"),
        (["+model.n_estimatorz=10"], "model.n_estimatorz: unknown parameter"),
        (["evaluation.threshold.objective=recall"], "expected one of f1, cost, precision"),
        (["model._target_=os.system"], "model._target_: 'os.system' is not allowed"),
        (["model._target_=mlsys.models.NoSuchModel"], "cannot import 'mlsys.models.NoSuchModel'"),
        (["model._target_=mlsys.models.ModelBundle.load"], "is not a class"),
        (["split.test=high"], "split.test: got 'high'"),
        (["data=csv"], "data.path: is required by mlsys.data.CsvSource but not set"),
    ],
)
def test_bad_component_config_names_the_key(overrides: list[str], expected: str) -> None:
    cfg = compose_config(overrides)
    with pytest.raises(ConfigError, match="Fix") as info:
        validate_targets(cfg)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)  # the CLI prints it as one `error:` line


#: One value outside its declared range per component (and per kind of constraint), as a
#: user would pass it: (overrides, the message the build refuses them with).
CONSTRAINT_VIOLATIONS = [
    (["model.n_estimators=0"], "model.n_estimators: got 0 (int), expected int >= 1"),
    (["model.max_depth=0"], "model.max_depth: got 0 (int), expected int >= 1"),
    (["model.max_depth=4.5"], "model.max_depth: got 4.5 (float), expected int >= 1"),
    (["model.max_depth=true"], "model.max_depth: got True (bool), expected int >= 1"),
    (["model.subsample=1.5"], "model.subsample: got 1.5 (float), expected number in (0, 1]"),
    (["model.learning_rate=0"], "model.learning_rate: got 0 (int), expected number in (0, 1]"),
    (["model.learning_rate=inf"], "model.learning_rate: got inf"),
    (["model.n_jobs=0"], "model.n_jobs: got 0 (int), expected int >= 1, -1 or null"),
    (
        ["model.early_stopping_rounds=0"],
        "model.early_stopping_rounds: got 0 (int), expected int >= 1 or null",
    ),
    (["model=catboost", "model.depth=17"], "model.depth: got 17 (int), expected int in [1, 16]"),
    (
        ["model=catboost", "model.auto_class_weights=balanced"],
        "model.auto_class_weights: got 'balanced' (str), expected Balanced, SqrtBalanced or null",
    ),
    (["model=hist_gb", "model.max_leaf_nodes=1"], "model.max_leaf_nodes: got 1 (int)"),
    (
        ["model=hist_gb", "model.max_features=0"],
        "model.max_features: got 0 (int), expected number in (0, 1]",
    ),
    (["model=logreg", "model.C=0"], "model.C: got 0 (int), expected number > 0"),
    (
        ["model=logreg", "model.class_weight=auto"],
        "model.class_weight: got 'auto' (str), expected balanced or null",
    ),
    (["model=random_forest", "model.max_features=1.5"], "model.max_features: got 1.5"),
    (["model=random_forest", "model.min_samples_leaf=0"], "model.min_samples_leaf: got 0"),
    (
        ["features.min_frequency=1.5"],
        "features.min_frequency: got 1.5 (float), expected int >= 1 or number in (0, 1)",
    ),
    (["features.max_categories=0"], "features.max_categories: got 0 (int), expected int >= 1"),
    (
        ["features=native", "features.max_categories=2"],
        "features.max_categories: got 2 (int), expected int >= 3",
    ),
    (
        ["imbalance=class_weight", "imbalance.positive_weight=0"],
        "imbalance.positive_weight: got 0 (int), expected number > 0 or null",
    ),
    (
        ["imbalance=smote", "imbalance.sampling_strategy=1.5"],
        "imbalance.sampling_strategy: got 1.5 (float), expected number in (0, 1]",
    ),
    (["imbalance=smotenc", "imbalance.k_neighbors=0"], "imbalance.k_neighbors: got 0 (int)"),
    (
        ["imbalance=undersample", "imbalance.sampling_strategy=0"],
        "imbalance.sampling_strategy: got 0 (int)",
    ),
    (["split.validation=0"], "split.validation: got 0 (int), expected number in (0, 1)"),
    (["split.calibration=-0.1"], "split.calibration: got -0.1 (float), expected number in [0, 1)"),
    (["split=time", "split.column=''"], "split.column: got '' (str), expected non-empty text"),
    (["split=group", "split.test=1"], "split.test: got 1 (int), expected number in (0, 1)"),
    (["data.sep=''"], "data.sep: got '' (str), expected a separator"),
    (["data.target=''"], "data.target: got '' (str), expected non-empty text"),
    (["data.drop_columns=duration"], "data.drop_columns: got 'duration' (str), expected a list"),
    (["evaluation.lift_fraction=0"], "evaluation.lift_fraction: got 0 (int)"),
    (["evaluation.top_fractions=[0.1,2]"], "evaluation.top_fractions: got [0.1, 2] (list)"),
    (["evaluation.calibration_bins=0"], "evaluation.calibration_bins: got 0 (int)"),
    (
        ["evaluation.threshold.target_precision=0"],
        "evaluation.threshold.target_precision: got 0 (int), expected number in (0, 1]",
    ),
    (["evaluation.threshold.cost_fn=-1"], "evaluation.threshold.cost_fn: got -1 (int)"),
    (["evaluation.report.dpi=5"], "evaluation.report.dpi: got 5 (int), expected int >= 20"),
    (
        ["evaluation.report.confidence=1"],
        "evaluation.report.confidence: got 1 (int), expected number in (0, 1)",
    ),
    (["tracker.experiment=''"], "tracker.experiment: got '' (str), expected non-empty text"),
    (["registry.min_improvement=-0.1"], "registry.min_improvement: got -0.1 (float)"),
    (["registry.max_drop.pr_auc=-1"], "registry.max_drop: got {'pr_auc': -1} (dict)"),
    (["registry.registry.lock_timeout_s=0"], "registry.registry.lock_timeout_s: got 0 (int)"),
    (["registry.registry.name=a:b"], "registry.registry.name: got 'a:b' (str)"),
    (["seed=-1"], "seed: got -1 (int), expected int in [0, 4294967295]"),
    (["name=a/b"], "name: got 'a/b' (str), expected a name of letters, digits"),
    (["name=''"], "name: got '' (str)"),
    (
        ["leakage_auc_warning=0.5"],
        "leakage_auc_warning: got 0.5 (float), expected number in (0.5, 1]",
    ),
    (["objectives=['']"], "objectives: got [''] (list)"),
]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    CONSTRAINT_VIOLATIONS,
    ids=[" ".join(o) for o, _ in CONSTRAINT_VIOLATIONS],
)
def test_values_outside_declared_constraints_are_refused_before_the_build(
    overrides: list[str], expected: str, tmp_path: Path
) -> None:
    key = expected.split(":", maxsplit=1)[0]
    with pytest.raises(ConfigError, match="Fix") as info:
        build_pipeline(compose_config(overrides), output_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(expected)
    assert f"Fix: {key}=<" in message
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # refused before anything ran


def test_values_on_the_edge_of_their_constraints_are_accepted(tmp_path: Path) -> None:
    edges = [
        "model.n_estimators=1",
        "model.subsample=1",  # an int is a valid float, as in YAML
        "model.n_jobs=-1",
        "features.min_frequency=0.05",
        "split.calibration=0",
        "calibration=none",
        "seed=0",
        "name=lead-conversion_v2.1",
        "leakage_auc_warning=1",
    ]
    build_pipeline(compose_config(edges), output_dir=tmp_path)


def test_unknown_key_suggests_the_close_match() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'max_depth'"):
        validate_targets(compose_config(["+model.max_dept=3"]))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["seed=abc"], "seed: got 'abc' (str), expected int in [0, 4294967295]. Fix: seed=<"),
        (["tags=5"], "tags: got 5 (int), expected a mapping of text to text"),
        (["sede=1"], "sede: unknown top-level key. Did you mean 'seed'?"),
        (["model.max_dpth=3"], "model.max_dpth: unknown parameter of mlsys.models.XGBoostModel."),
        (["model=xgb"], "model: no option 'xgb'. Did you mean 'xgboost'? Fix: model=<one of"),
        (["model.max_depth=["], "model.max_depth: cannot parse the override 'model.max_depth=['"),
        (["registry.max_drop.log_loss=0.1"], "registry.max_drop.log_loss: no such key"),
    ],
)
def test_errors_hydra_finds_while_composing_are_config_errors(
    overrides: list[str], expected: str
) -> None:
    with pytest.raises(ConfigError, match="Fix: ") as info:
        compose_config(overrides)
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_a_removed_component_is_named_with_its_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^model: a component is required .*Fix: model=<one of"):
        build_pipeline(compose_config(["~model"]), output_dir=tmp_path)


def test_a_broken_interpolation_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^seed: Interpolation key 'oops' not found\. Fix"):
        build_pipeline(compose_config(["seed=${oops}"]), output_dir=tmp_path)


def test_an_added_unknown_top_level_key_fails_before_training(tmp_path: Path) -> None:
    """`+sede=1` passes Hydra (the + adds keys) but would be ignored: the build refuses it."""
    cfg = compose_config(["+sede=1"])
    with pytest.raises(ConfigError, match=r"sede: unknown top-level key .*Did you mean 'seed'"):
        build_pipeline(cfg, output_dir=tmp_path)
    build_pipeline(compose_config(["+tags.team=growth"]), output_dir=tmp_path)  # tags are free


def test_compose_config_missing_dir_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MLSYS_CONFIG_DIR"):
        compose_config(config_dir=tmp_path / "nope")


SKLEARN_GROUPS = ("features", "model", "calibration")
SKLEARN_OPTIONS = [(group, option) for group in SKLEARN_GROUPS for option in _options(group)]


@pytest.mark.parametrize(
    ("group", "option"), SKLEARN_OPTIONS, ids=[f"{g}={o}" for g, o in SKLEARN_OPTIONS]
)
def test_every_estimator_clones_with_its_annotated_parameters(group: str, option: str) -> None:
    from sklearn.base import clone

    component = instantiate_component(compose_config([f"{group}={option}"])[group], group)
    copy = clone(component)
    assert type(copy) is type(component)
    assert copy.get_params() == component.get_params()
    assert (
        copy.get_params(deep=False).keys() == inspect.signature(type(component)).parameters.keys()
    )


def test_a_component_built_by_hand_is_held_to_the_same_constraints() -> None:
    import pandas as pd

    from mlsys.features import TabularFeatures
    from mlsys.models import XGBoostModel

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    with pytest.raises(ConfigError, match=r"^model\.max_depth: got 0 \(int\), expected int >= 1"):
        XGBoostModel(max_depth=0).fit(frame, [0, 1, 0, 1])
    with pytest.raises(ConfigError, match=r"^features\.max_categories: got 0 \(int\)"):
        TabularFeatures(max_categories=0).fit(frame)
