"""Config: schema, validation, safe instantiation, and composition outside the CLI.

Only the entry points and this module see ``DictConfig``; components receive plain values.

Validation happens before anything is built:

* the primary config has a structured schema (:class:`TrainConfig`), so a wrong type for a
  top-level key or an unknown key fails in Hydra with the key's name;
* every ``_target_`` node is checked against the target's own typed ``__init__`` signature
  (the class *is* the schema): an unknown parameter, a value of the wrong type or a value
  outside a ``Literal`` fails with the key, the value and the valid choices;
* ``_target_`` must live under an allowed module prefix (:data:`ALLOWED_TARGETS`); Hydra's
  execution whitelist enforces the same list, so a config can never run arbitrary code.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import inspect
import logging
import os
import socket
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_type_hints

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf

from mlsys._paths import project_root
from mlsys.errors import ConfigError

if TYPE_CHECKING:
    from mlsys.pipeline import TrainingPipeline, TrainingResult

__all__ = [
    "ALLOWED_TARGETS",
    "CONFIG_DIR",
    "PROJECT_ROOT",
    "TrainConfig",
    "build_pipeline",
    "compose_config",
    "instantiate_component",
    "register_configs",
    "train_model",
    "validate_targets",
]

log = logging.getLogger(__name__)


def _allowed_targets() -> tuple[str, ...]:
    # The environment is trusted (set by whoever deploys mlsys); config files are not.
    extra = os.environ.get("MLSYS_EXTRA_TARGETS", "")
    return ("mlsys.*", *(p.strip() for p in extra.split(",") if p.strip()))


#: Module prefixes a config's ``_target_`` may name (Hydra's ``execution_whitelist`` syntax):
#: ``mlsys.*`` plus the comma-separated prefixes in ``MLSYS_EXTRA_TARGETS`` (e.g. ``acme_ml.*``)
#: for estimators kept in your own package.
ALLOWED_TARGETS: tuple[str, ...] = _allowed_targets()
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


PROJECT_ROOT: Path = project_root()
CONFIG_DIR: Path = Path(os.environ.get("MLSYS_CONFIG_DIR", PROJECT_ROOT / "conf")).resolve()


@dataclass
class TrainConfig:
    """Schema of ``conf/train.yaml``: top-level keys and their types.

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
    seed: int = 42
    name: str = "conversion"
    verbose: bool = False
    save_predictions: bool = True
    leakage_auc_warning: float = 0.95
    tags: dict[str, str] = field(default_factory=dict)
    objectives: list[str] = field(default_factory=list)


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
    with initialize_config_dir(config_dir=str(directory)):
        return compose(config_name=config_name, overrides=list(overrides))


def _check_top_level(cfg: DictConfig) -> None:
    """Refuse top-level keys the schema does not know (``+sed=1`` is added, then ignored)."""
    known = [f.name for f in dataclasses.fields(TrainConfig)]
    unknown = [str(key) for key in cfg if key not in known and key != "hydra"]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"{key}: unknown top-level key (added with +{key}=...?).{hint} Known keys: "
            f"{', '.join(known)}. Fix: remove it, or set a known key (tags.<name>=... for "
            "free-form labels)."
        )


def validate_targets(cfg: DictConfig | ListConfig, path: str = "") -> None:
    """Check every ``_target_`` node against its class signature; raise :class:`ConfigError`."""
    if isinstance(cfg, ListConfig):
        for i, item in enumerate(cfg):
            if isinstance(item, (DictConfig, ListConfig)):
                validate_targets(item, f"{path}[{i}]")
        return
    if "_target_" in cfg:
        _validate_node(cfg, path)
    for key in cfg:
        value = cfg._get_node(key)
        if isinstance(value, (DictConfig, ListConfig)):
            validate_targets(value, f"{path}.{key!s}" if path else str(key))


def _allowed(target: str) -> bool:
    return any(
        target.startswith(pattern[:-1]) if pattern.endswith(".*") else target == pattern
        for pattern in ALLOWED_TARGETS
    )


def _validate_node(node: DictConfig, path: str) -> None:
    target = node["_target_"]
    where = f"{path}._target_" if path else "_target_"
    if not isinstance(target, str) or not _allowed(target):
        raise ConfigError(
            f"{where}: '{target}' is not allowed; configs may only build targets under "
            f"{list(ALLOWED_TARGETS)}. Fix: if it is your own trusted package, export "
            "MLSYS_EXTRA_TARGETS='your_package.*' (see docs/ARCHITECTURE.md, 'Add a model')."
        )
    factory = _import_target(target, where)
    if not inspect.isclass(factory):
        raise ConfigError(
            f"{where}: '{target}' is not a class; configs may only build components (classes), "
            "never call functions. Fix: name a component class."
        )
    signature = inspect.signature(factory)
    params = signature.parameters
    accepts_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    try:
        hints = get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)
    except (NameError, TypeError):
        hints = {}
    for raw_key in node:
        key = str(raw_key)
        if key in _SPECIAL_KEYS:
            continue
        full = f"{path}.{key}" if path else key
        if key not in params and not accepts_kwargs:
            valid = [p for p in params if p != "self"]
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"{full}: unknown parameter of {target}.{hint} Valid keys: {valid}. "
                f"Fix: remove or rename it (on the command line: ~{full})."
            )
        if OmegaConf.is_missing(node, key):
            raise ConfigError(
                f"{full}: is required but not set (??? in conf/). Fix: pass {full}=<value> on "
                "the command line."
            )
        child = node._get_node(key)
        if key not in hints or (isinstance(child, DictConfig) and "_target_" in child):
            continue
        value = (
            OmegaConf.to_container(child)
            if isinstance(child, (DictConfig, ListConfig))
            else (node[key])
        )
        if not _matches(value, hints[key]):
            expected = _type_name(hints[key])
            raise ConfigError(
                f"{full}: got {value!r} ({type(value).__name__}), expected {expected}. "
                f"Fix: {full}=<{_fix_hint(hints[key], expected)}>."
            )


_SCALARS: dict[Any, Any] = {
    bool: lambda v: isinstance(v, bool),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),  # YAML-lenient
    str: lambda v: isinstance(v, str),
    None: lambda v: v is None,
    type(None): lambda v: v is None,
}


def _matches(value: Any, hint: Any) -> bool:
    """Whether a config value fits a constructor's type hint (the simple types configs use).

    Anything the checker does not understand (``Any``, a class, a protocol) is accepted and
    left to the constructor.
    """
    if hint in _SCALARS:
        return bool(_SCALARS[hint](value))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return value in args
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if origin in (list, tuple, collections.abc.Sequence):
        inner = [a for a in args if a is not Ellipsis]
        return isinstance(value, (list, tuple)) and (
            len(inner) != 1 or all(_matches(v, inner[0]) for v in value)
        )
    if origin in (dict, collections.abc.Mapping):
        return isinstance(value, dict) and (
            len(args) != 2 or all(_matches(v, args[1]) for v in value.values())
        )
    return True


def _fix_hint(hint: Any, expected: str) -> str:
    choices = typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else ()
    return "one of " + ", ".join(map(str, choices)) if choices else expected


def _type_name(hint: Any) -> str:
    text = str(hint).replace("typing.", "")
    return getattr(hint, "__name__", text) if isinstance(hint, type) else text


def _import_target(target: str, where: str) -> Any:
    from hydra.utils import get_object

    try:
        return get_object(target)
    except Exception as exc:
        raise ConfigError(
            f"{where}: cannot import '{target}' ({exc}). Fix: check the module path and class name."
        ) from None


def instantiate_component(node: DictConfig, key: str) -> Any:
    """Build one `_target_` node under the execution whitelist, mapping failures to ConfigError."""
    from hydra.utils import execution_whitelist, instantiate

    try:
        with execution_whitelist(list(ALLOWED_TARGETS)):
            return instantiate(node, _convert_="all")
    except ConfigError:
        raise
    except Exception as exc:
        cause = exc.__cause__ or exc
        if isinstance(cause, ConfigError):
            raise cause from None
        raise ConfigError(f"{key}: could not build {node.get('_target_')}: {cause}") from exc


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
    from mlsys.pipeline import TrainingPipeline

    _check_top_level(cfg)
    validate_targets(cfg)
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
