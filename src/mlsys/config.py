"""Config: schema, validation, safe instantiation, and composition outside the CLI.

Only the entry points and this module see ``DictConfig``; components receive plain values.

Validation happens before anything is built, against constraints each class declares once on
its own constructor (``max_depth: Annotated[int, Field(ge=1)] = 5``; see :mod:`mlsys._params`):

* the primary config has a structured schema (:class:`TrainConfig`), so an unknown top-level
  key or a value of the wrong type fails in Hydra, and its declared ranges (``seed >= 0``, a
  registrable ``name``) are checked before the build;
* every ``_target_`` node is checked against the target's typed ``__init__`` (the class *is*
  the schema) with pydantic: an unknown parameter, a wrong type or a value outside its range
  fails with the key, the value, what it accepts and the override that fixes it;
* ``_target_`` must live under an allowed module prefix (:data:`ALLOWED_TARGETS`); Hydra's
  execution whitelist enforces the same list, so a config can never run arbitrary code;
* Hydra's and OmegaConf's own errors (an override that does not parse, a key or an option that
  does not exist) become the same kind of :class:`ConfigError` (:func:`config_error`).
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from hydra.core.config_store import ConfigStore
from hydra.errors import (
    CompactHydraException,
    MissingConfigException,
    OverrideParseException,
)
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf import errors as oc_errors
from pydantic import Field

from mlsys._instantiate import ALLOWED_TARGETS, instantiate_component
from mlsys._params import (
    Name,
    Seed,
    check_params,
    invalid_value,
    missing_value,
    parameters,
    unknown_key,
)
from mlsys._paths import project_root
from mlsys.errors import ConfigError

if TYPE_CHECKING:
    from mlsys.training import TrainingPipeline, TrainingResult

__all__ = [
    "ALLOWED_TARGETS",
    "CONFIG_DIR",
    "PROJECT_ROOT",
    "TrainConfig",
    "build_pipeline",
    "compose_config",
    "config_error",
    "instantiate_component",
    "register_configs",
    "train_model",
    "validate_config",
    "validate_targets",
]

log = logging.getLogger(__name__)


#: Config groups built into pipeline components, in pipeline order.
COMPONENT_GROUPS = (
    "data",
    "split",
    "features",
    "imbalance",
    "model",
    "calibration",
    "evaluation",
    "tracker",
    "registry",
)
_SPECIAL_KEYS = frozenset({"_target_", "_partial_", "_recursive_", "_convert_", "_args_"})
_OVERRIDE_GRAMMAR = "https://hydra.cc/docs/advanced/override_grammar/basic/"


PROJECT_ROOT: Path = project_root()
CONFIG_DIR: Path = Path(os.environ.get("MLSYS_CONFIG_DIR", PROJECT_ROOT / "conf")).resolve()


@dataclass
class TrainConfig:
    """Schema of ``conf/train.yaml``: top-level keys, their types and ranges.

    Group nodes (``data``, ``model``, ...) are validated against their ``_target_`` class by
    :func:`validate_targets`.
    """

    data: Any = MISSING
    split: Any = MISSING
    features: Any = MISSING
    imbalance: Any = MISSING
    model: Any = MISSING
    calibration: Any = MISSING
    evaluation: Any = MISSING
    tracker: Any = MISSING
    registry: Any = MISSING
    seed: Seed = 42
    name: Name = "conversion"
    verbose: bool = False
    save_predictions: bool = True
    leakage_auc_warning: Annotated[float, Field(gt=0.5, le=1)] = 0.95
    tags: dict[str, str] = field(default_factory=dict)
    objectives: list[Annotated[str, Field(min_length=1)]] = field(default_factory=list)


def register_configs() -> None:
    """Register the schema and resolvers (idempotent; called on import)."""
    ConfigStore.instance().store(name="train_schema", node=TrainConfig)
    if not OmegaConf.has_resolver("project_root"):
        OmegaConf.register_resolver("project_root", _project_root_resolver)
    if not OmegaConf.has_resolver("host_pid"):
        # Cached like Hydra's ${now:}: a sweep's job configs (joblib workers too) get the
        # value the sweep process resolved, not their own pid.
        OmegaConf.register_resolver("host_pid", _host_pid_resolver, use_cache=True)


def _project_root_resolver() -> str:
    """``${project_root:}``: the checkout holding ``conf/``, so paths work from any cwd."""
    return str(PROJECT_ROOT)


def _host_pid_resolver() -> str:
    """``${host_pid:}``: ``<host>-<pid>``, so directories of processes started together differ."""
    return f"{socket.gethostname()}-{os.getpid()}"


register_configs()


def compose_config(
    overrides: Sequence[str] = (), config_name: str = "train", config_dir: Path | None = None
) -> DictConfig:
    """Compose ``conf/`` exactly as the CLI does, for notebooks and scripts.

    Example:
        >>> cfg = compose_config(["model=logreg", "calibration=isotonic"])
        >>> cfg.model._target_
        'mlsys.models.LogisticRegressionModel'
    """
    from hydra import compose, initialize_config_dir

    directory = (config_dir or CONFIG_DIR).resolve()
    if not directory.is_dir():
        raise ConfigError(
            f"config dir '{directory}' not found. Fix: run from the mlsys checkout or set "
            "MLSYS_CONFIG_DIR=/path/to/conf."
        )
    if any(str(o).startswith(("hparams_search=", "hydra/sweeper=")) for o in overrides):
        from mlsys.sweep import register

        register()
    try:
        with initialize_config_dir(config_dir=str(directory)):
            return compose(config_name=config_name, overrides=list(overrides))
    except (CompactHydraException, oc_errors.OmegaConfBaseException) as exc:
        raise config_error(exc) from exc


def validate_config(cfg: DictConfig) -> None:
    """Check a composed training config before anything is built; raise :class:`ConfigError`.

    Top-level keys against :class:`TrainConfig`, then every ``_target_`` node against its
    class (:func:`validate_targets`). :func:`build_pipeline` calls it first.

    Example:
        >>> validate_config(compose_config(["model.max_depth=0"]))  # doctest: +SKIP
        ConfigError: model.max_depth: got 0 (int), expected int >= 1. Fix: model.max_depth=...
    """
    try:
        _validate_top_level(cfg)
        _validate_tree(cfg, "")
    except oc_errors.OmegaConfBaseException as exc:
        raise config_error(exc) from exc


def _validate_top_level(cfg: DictConfig) -> None:
    known = [f.name for f in dataclasses.fields(TrainConfig)]
    for raw_key in cfg:
        key = str(raw_key)
        if key not in known and key != "hydra":
            # Added with `+key=...`: Hydra accepts it, mlsys would ignore it.
            raise unknown_key(key, known, "top-level key (labels go in +tags.<name>=...)")
    for group in COMPONENT_GROUPS:
        if group not in cfg or OmegaConf.is_missing(cfg, group):
            raise _no_option(group, "none chosen")
        node = cfg._get_node(group)
        if not isinstance(node, DictConfig) or "_target_" not in node:
            raise _no_option(group, "no _target_")
    values = {key: _plain(cfg, key) for key in known if key in cfg and key not in COMPONENT_GROUPS}
    check_params(TrainConfig, values, skip=COMPONENT_GROUPS, owner="the training config")


def _no_option(group: str, got: str) -> ConfigError:
    return ConfigError(
        f"{group}: a component is required ({got}; removed with ~{group}?). "
        f"Fix: {group}=<one of {', '.join(_options(group))}>."
    )


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def validate_targets(cfg: DictConfig | ListConfig, path: str = "") -> None:
    """Check every ``_target_`` node against its class signature; raise :class:`ConfigError`."""
    try:
        _validate_tree(cfg, path)
    except oc_errors.OmegaConfBaseException as exc:
        raise config_error(exc) from exc


def _validate_tree(cfg: DictConfig | ListConfig, path: str) -> None:
    if isinstance(cfg, ListConfig):
        for i, item in enumerate(cfg):
            if isinstance(item, (DictConfig, ListConfig)):
                _validate_tree(item, f"{path}[{i}]")
        return
    if "_target_" in cfg:
        _validate_node(cfg, path)
    for key in cfg:
        value = cfg._get_node(key)
        if isinstance(value, (DictConfig, ListConfig)):
            _validate_tree(value, f"{path}.{key!s}" if path else str(key))


def _allowed(target: str) -> bool:
    return any(
        target.startswith(pattern[:-1]) if pattern.endswith(".*") else target == pattern
        for pattern in ALLOWED_TARGETS
    )


def _validate_node(node: DictConfig, path: str) -> None:
    target = node["_target_"]
    factory = _target_class(target, f"{path}._target_" if path else "_target_")
    values: dict[str, Any] = {}
    nested: set[str] = set()
    for raw_key in node:
        key = str(raw_key)
        if key in _SPECIAL_KEYS:
            continue
        if OmegaConf.is_missing(node, key):
            raise missing_value(factory, key, path, owner=target, why="??? in conf/")
        child = node._get_node(key)
        if isinstance(child, DictConfig) and "_target_" in child:
            nested.add(key)  # a component of its own, validated against its own class
            continue
        values[key] = _plain(node, key)
    check_params(
        factory, values, path, skip=nested, partial=node.get("_partial_") is True, owner=target
    )


def _plain(node: DictConfig, key: str) -> Any:
    """A node's value as the component will receive it (interpolations resolved)."""
    child = node._get_node(key)
    if isinstance(child, (DictConfig, ListConfig)):
        return OmegaConf.to_container(child, resolve=True)
    return node[key]


def _target_class(target: object, where: str) -> type:
    if not isinstance(target, str) or not _allowed(target):
        raise ConfigError(
            f"{where}: '{target}' is not allowed; configs may only build targets under "
            f"{list(ALLOWED_TARGETS)}. Fix: if it is your own trusted package, export "
            "MLSYS_EXTRA_TARGETS='your_package.*' (see docs/ARCHITECTURE.md, 'Add a model')."
        )
    factory = _import_target(target, where)
    if not isinstance(factory, type):
        raise ConfigError(
            f"{where}: '{target}' is not a class; configs may only build components (classes), "
            "never call functions. Fix: name a component class."
        )
    return factory


def config_error(exc: BaseException) -> ConfigError:
    """The :class:`ConfigError` a Hydra or OmegaConf config error means.

    Hydra refuses an override that does not parse, an option or a key that does not exist and,
    through the structured schema, a value of the wrong type; OmegaConf refuses a missing value
    or a broken interpolation. Each becomes one message that names the key, the value when
    there is one, and the fix, in the words mlsys's own validation uses.
    """
    if isinstance(exc, ConfigError):
        return exc
    if isinstance(exc, OverrideParseException):
        key = exc.override.partition("=")[0].lstrip("+~") or exc.override
        return ConfigError(
            f"{key}: cannot parse the override {exc.override!r}. Fix: write key=value (a list "
            "as [a,b]); quote a value with special characters for the shell and for Hydra, "
            f"e.g. \"data.sep=';'\" (grammar: {_OVERRIDE_GRAMMAR})."
        )
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file:
        group, _, option = exc.missing_cfg_file.rpartition("/")
        if group and exc.options:
            close = difflib.get_close_matches(option, list(exc.options), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            return ConfigError(
                f"{group}: no option '{option}'.{hint} "
                f"Fix: {group}=<one of {', '.join(exc.options)}>."
            )
        return ConfigError(
            f"{exc.missing_cfg_file}: no such config ({_first_line(exc)}). Fix: name an "
            "existing option (--help lists them)."
        )
    cause = exc if isinstance(exc, oc_errors.OmegaConfBaseException) else exc.__cause__
    if isinstance(cause, oc_errors.OmegaConfBaseException):
        return _omegaconf_error(cause)
    return ConfigError(
        f"overrides: {_first_line(exc)}. Fix: check the overrides (--cfg job prints the "
        "composed config)."
    )


def _omegaconf_error(exc: oc_errors.OmegaConfBaseException) -> ConfigError:
    full = str(getattr(exc, "full_key", "") or getattr(exc, "key", "") or "config")
    key = str(getattr(exc, "key", "") or full.rpartition(".")[2])
    prefix = full[: -len(key)].rstrip(".") if full.endswith(key) else ""
    if isinstance(exc, oc_errors.ConfigKeyError | oc_errors.ConfigAttributeError):
        return _no_such_key(exc, full, prefix)
    owner = getattr(exc, "object_type", None)
    if isinstance(exc, oc_errors.ValidationError) and key in _field_names(owner):
        assert isinstance(owner, type)
        return invalid_value(owner, key, getattr(exc, "value", None), prefix)
    if isinstance(exc, oc_errors.MissingMandatoryValue):
        return ConfigError(f"{full}: is required but not set. Fix: pass {full}=<value>.")
    if isinstance(exc, oc_errors.InterpolationResolutionError):
        return ConfigError(
            f"{full}: {_first_line(exc)}. Fix: correct the ${{...}} interpolation "
            "(--cfg job --resolve shows what it resolves to)."
        )
    return ConfigError(f"{full}: {_first_line(exc)}. Fix: correct the value of {full}.")


def _no_such_key(exc: oc_errors.OmegaConfBaseException, full: str, prefix: str) -> ConfigError:
    """A key Hydra cannot set because the (struct) config has no such key."""
    parent = getattr(exc, "parent_node", None)
    if isinstance(parent, DictConfig) and isinstance(parent.get("_target_"), str):
        target = parent["_target_"]
        params = parameters(_target_class(target, f"{prefix}._target_"))
        return unknown_key(full, params, f"parameter of {target}", present=False)
    fields = _field_names(getattr(exc, "object_type", None))
    if fields and "." not in full:
        return unknown_key(full, fields, "top-level key", present=False)
    return ConfigError(
        f"{full}: no such key in the config. Fix: check its spelling (--cfg job prints the "
        f"composed config), or add a new key with +{full}=<value>."
    )


def _field_names(schema: object) -> list[str]:
    """The keys of a structured-config schema (TrainConfig, ServeSettings); [] for others."""
    if isinstance(schema, type) and dataclasses.is_dataclass(schema):
        return [f.name for f in dataclasses.fields(schema)]
    return []


def _first_line(exc: BaseException) -> str:
    """The first line of a message: Hydra and OmegaConf append context on the next ones."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")


def _import_target(target: str, where: str) -> Any:
    from hydra.utils import get_object

    try:
        return get_object(target)
    except Exception as exc:
        reason = " ".join(str(exc).split())  # one line: the CLI prints it as the error line
        raise ConfigError(
            f"{where}: cannot import '{target}' ({reason}). Fix: check the module path and "
            "class name."
        ) from None


def default_output_dir() -> Path:
    """A fresh run dir under ``outputs/`` for runs outside the Hydra CLI."""
    stamp = datetime.now().strftime("%Y-%m-%d/%H-%M-%S-%f")
    return PROJECT_ROOT / "outputs" / "compose" / stamp


def build_pipeline(
    cfg: DictConfig,
    output_dir: Path | None = None,
    overrides: Sequence[str] = (),
    tags: dict[str, str] | None = None,
) -> TrainingPipeline:
    """Validate ``cfg`` and build every component into a :class:`TrainingPipeline`.

    Example:
        >>> cfg = compose_config(["model=logreg"])
        >>> pipeline = build_pipeline(cfg, output_dir=Path("/tmp/run"))  # doctest: +SKIP
        >>> result = pipeline.run()  # doctest: +SKIP
    """
    from mlsys.training import TrainingPipeline

    validate_config(cfg)
    resolved = dict(to_mapping(cfg))
    components: dict[str, Any] = {}
    for key in COMPONENT_GROUPS:
        node = cfg[key]
        log.info("Instantiating %s <%s>", key, node.get("_target_"))
        components[key] = instantiate_component(node, key)
    return TrainingPipeline(
        data=components["data"],
        splitter=components["split"],
        features=components["features"],
        imbalance=components["imbalance"],
        model=components["model"],
        calibrator=components["calibration"],
        evaluator=components["evaluation"],
        tracker=components["tracker"],
        registry=components["registry"],
        tags={**{str(k): str(v) for k, v in cfg.tags.items()}, **(tags or {})},
        output_dir=output_dir or default_output_dir(),
        seed=int(cfg.seed),
        name=str(cfg.name),
        config=resolved,
        overrides=list(overrides),
        leakage_auc_warning=float(cfg.leakage_auc_warning),
        save_predictions=bool(cfg.save_predictions),
    )


def train_model(cfg: DictConfig, output_dir: Path | None = None) -> TrainingResult:
    """Build the pipeline from ``cfg`` and run it.

    Example:
        >>> result = train_model(compose_config(["model=logreg"]))  # doctest: +SKIP
        >>> result.metrics["roc_auc"]  # doctest: +SKIP
    """
    return build_pipeline(cfg, output_dir).run()


def to_mapping(value: Any) -> Mapping[str, Any]:
    """Plain dict of a config node (resolved)."""
    container = (
        OmegaConf.to_container(value, resolve=True, throw_on_missing=True)
        if isinstance(value, DictConfig)
        else value
    )
    if not isinstance(container, Mapping):
        raise ConfigError(f"expected a mapping, got {type(container).__name__}")
    return {str(k): v for k, v in container.items()}
