"""``python -m mlsys.new`` (``ml-new``): scaffold an experiment preset or a new model.

Examples::

    ml-new experiment q4_catboost        # conf/experiment/q4_catboost.yaml
    ml-new model extra_trees             # class + conf/model/extra_trees.yaml + its test
    ml-new model extra_trees --dry-run   # print the files, write nothing
    ml-new experiment q4 --root ../other-checkout --force

A model is scaffolded into ``src/mlsys/models/contrib/<name>.py``, inside the mlsys package:
its ``_target_`` passes the config whitelist (``mlsys.*``) and trained bundles unpickle
wherever mlsys is installed (the server too), with no ``MLSYS_EXTRA_TARGETS`` to set on every
machine. The price is that the model lives in the platform's repository and is reviewed, linted
and type-checked with it; keep a model in your own package instead by following "Add a model"
in docs/ARCHITECTURE.md.

Exit codes: 0 written (or printed with ``--dry-run``), 2 bad input (one message says why).
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mlsys.errors import ConfigError
from mlsys.files import write_text

__all__ = [
    "Layout",
    "Scaffold",
    "class_name_for",
    "experiment_scaffold",
    "main",
    "model_scaffold",
    "validate_name",
]

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_CONTRIB_TARGET = "mlsys.models.contrib."


def validate_name(name: str, kind: str = "experiment") -> str:
    """Return ``name`` if it can be a config option and a Python module name; else raise.

    Raises:
        ConfigError: ``name`` is not lower-case letters, digits and underscores starting with
            a letter, or is a Python keyword.

    Example:
        >>> validate_name("q4_catboost")
        'q4_catboost'
    """
    if not _NAME.fullmatch(name) or keyword.iskeyword(name) or len(name) > 64:
        raise ConfigError(
            f"{kind} name {name!r} is not valid. Fix: use lower-case letters, digits and "
            f"underscores, starting with a letter (it becomes {kind}=<name> and a file name), "
            "e.g. q4_catboost."
        )
    return name


def class_name_for(name: str) -> str:
    """The class a model called ``name`` gets: ``extra_trees`` -> ``ExtraTreesModel``.

    Example:
        >>> class_name_for("extra_trees"), class_name_for("my_model")
        ('ExtraTreesModel', 'MyModel')
    """
    camel = "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)
    return camel if camel.endswith("Model") else f"{camel}Model"


@dataclass(frozen=True)
class Layout:
    """Where a checkout keeps configs, the package and tests.

    Attributes:
        root: The checkout.
        conf: Its config dir (``conf/``, or ``MLSYS_CONFIG_DIR`` without ``--root``).
        package: The ``mlsys`` package dir (``src/mlsys``).
        tests: The unit tests dir (``tests/unit``).
    """

    root: Path
    conf: Path
    package: Path
    tests: Path

    @classmethod
    def find(cls, root: Path | None = None) -> Layout:
        """The checkout at ``root``, or the one mlsys runs from (honouring MLSYS_CONFIG_DIR).

        Raises:
            ConfigError: There is no ``conf/train.yaml`` where the configs should be.
        """
        if root is None:
            from mlsys import config

            base, conf = config.PROJECT_ROOT, config.CONFIG_DIR
        else:
            base = root.expanduser().resolve()
            conf = base / "conf"
        if not (conf / "train.yaml").is_file():
            raise ConfigError(
                f"--root: no conf/train.yaml in '{conf.parent}'; it is not an mlsys checkout. "
                "Fix: pass --root /path/to/checkout (or run from one)."
            )
        return cls(root=base, conf=conf, package=base / "src" / "mlsys", tests=base / "tests")


@dataclass(frozen=True)
class Scaffold:
    """Files to write (path -> text) and what to tell the user afterwards."""

    files: dict[Path, str]
    next_steps: list[str]


def _template(name: str) -> str:
    return (resources.files("mlsys") / "_templates" / f"{name}.tmpl").read_text(encoding="utf-8")


def _render(template: str, values: Mapping[str, str]) -> str:
    text = _template(template)
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _defaults_of(conf: Path) -> dict[str, str]:
    """Group -> default option, from the primary config's defaults list."""
    loaded = OmegaConf.load(conf / "train.yaml")
    choices: dict[str, str] = {}
    for entry in loaded.get("defaults", []) if isinstance(loaded, DictConfig) else []:
        if isinstance(entry, DictConfig):
            for key, value in entry.items():
                group = str(key)
                if " " not in group and "/" not in group and value is not None:
                    choices[group] = str(value)
    return choices


def _options(conf: Path, group: str) -> list[str]:
    return sorted(p.stem for p in (conf / group).glob("*.yaml"))


def _defaults_block(conf: Path, defaults: Mapping[str, str]) -> str:
    lines = []
    for group, default in defaults.items():
        options = _options(conf, group)
        if len(options) < 2:
            continue
        choices = " | ".join([default, *(o for o in options if o != default)])
        entry = f"  # - override /{group}: {default}"
        lines.append(f"{entry:<40}# {choices}")
    return "\n".join(lines)


def _model_block(conf: Path, model: str | None) -> str:
    """Commented overrides of a few keys of the default model (they differ per model)."""
    path = conf / "model" / f"{model}.yaml"
    if model is None or not path.is_file():
        return ""
    node = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    scalars = (bool, int, float, str, type(None))
    keys = [
        (str(key), value)
        for key, value in (node.items() if isinstance(node, dict) else [])
        if str(key) not in ("_target_", "defaults", "seed") and isinstance(value, scalars)
    ]
    if not keys:
        return ""
    lines = [f"# model:            # keys of the chosen model (conf/model/{model}.yaml by default)"]
    lines += [f"#   {key}: {_yaml_scalar(value)}" for key, value in keys[:3]]
    return "\n".join(lines) + "\n"


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def experiment_scaffold(layout: Layout, name: str) -> Scaffold:
    """Render ``conf/experiment/<name>.yaml`` with the common overrides commented.

    Example:
        >>> scaffold = experiment_scaffold(Layout.find(), "q4_catboost")  # doctest: +SKIP
    """
    validate_name(name, "experiment")
    defaults = _defaults_of(layout.conf)
    text = _render(
        "experiment.yaml",
        {
            "name": name,
            "defaults": _defaults_block(layout.conf, defaults),
            "model": _model_block(layout.conf, defaults.get("model")),
        },
    )
    return Scaffold(
        files={layout.conf / "experiment" / f"{name}.yaml": text},
        next_steps=[
            f"python -m mlsys.train experiment={name}",
            f"python -m mlsys.train experiment={name} --cfg job   # the composed config",
        ],
    )


def model_scaffold(layout: Layout, name: str) -> Scaffold:
    """Render a model class, its ``conf/model/<name>.yaml`` and its test.

    Example:
        >>> scaffold = model_scaffold(Layout.find(), "extra_trees")  # doctest: +SKIP
    """
    validate_name(name, "model")
    if not (layout.package / "__init__.py").is_file():
        raise ConfigError(
            f"--root: no src/mlsys package in '{layout.root}'; a model is written into a source "
            "checkout of mlsys (an installed copy would lose it on upgrade). Fix: pass "
            "--root /path/to/checkout."
        )
    values = {"name": name, "class_name": class_name_for(name)}
    contrib, tests = layout.package / "models" / "contrib", layout.tests / "unit" / "models"
    files = {
        contrib / f"{name}.py": _render("model.py", values),
        layout.conf / "model" / f"{name}.yaml": _render("model.yaml", values),
        tests / "contrib" / f"test_{name}.py": _render("test_model.py", values),
    }
    # Package markers, only where a checkout lacks them (never overwritten).
    if not (contrib / "__init__.py").exists():
        files[contrib / "__init__.py"] = '"""Your own conversion models (``ml-new model``)."""\n'
    if not (tests / "contrib" / "__init__.py").exists():
        files[tests / "contrib" / "__init__.py"] = ""
    test_path = tests / "contrib" / f"test_{name}.py"
    return Scaffold(
        files=files,
        next_steps=[
            f"python -m pytest {_shown(test_path, layout.root)}",
            f"python -m mlsys.train model={name}",
        ],
    )


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _check_overwrite(scaffold: Scaffold, layout: Layout, force: bool) -> None:
    existing = [p for p in scaffold.files if p.exists() and p.name != "__init__.py"]
    if existing and not force:
        shown = ", ".join(_shown(p, layout.root) for p in existing)
        verb = "exists" if len(existing) == 1 else "exist"
        raise ConfigError(
            f"{shown} already {verb}. Fix: pick another name, or pass --force to overwrite."
        )
    for path in existing:
        if path.parent.name == "model" and path.suffix == ".yaml":
            loaded = OmegaConf.load(path)
            target = loaded.get("_target_") if isinstance(loaded, DictConfig) else None
            if isinstance(target, str) and not target.startswith(_CONTRIB_TARGET):
                raise ConfigError(
                    f"{_shown(path, layout.root)} configures {target}, not a scaffolded model; "
                    "--force never replaces it. Fix: pick another name."
                )


def _write(scaffold: Scaffold, layout: Layout, force: bool, dry_run: bool) -> None:
    _check_overwrite(scaffold, layout, force)
    for path, text in scaffold.files.items():
        shown = _shown(path, layout.root)
        if dry_run:
            print(f"--- would write {shown}\n{text}")
            continue
        if path.exists() and path.name == "__init__.py":
            continue
        write_text(path, text)
        print(f"created {shown}")
    print("\nnext:" if not dry_run else "then:")
    for step in scaffold.next_steps:
        print(f"  {step}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ml-new", description="Scaffold an experiment preset or a new model."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("name", help="lower-case identifier, e.g. q4_catboost")
    common.add_argument("--force", action="store_true", help="overwrite existing files")
    common.add_argument("--dry-run", action="store_true", help="print the files, write nothing")
    common.add_argument(
        "--root", type=Path, default=None, help="the checkout to write into (default: this one)"
    )
    kinds = parser.add_subparsers(dest="kind", required=True)
    kinds.add_parser(
        "experiment", parents=[common], help="conf/experiment/<name>.yaml with common overrides"
    )
    kinds.add_parser(
        "model", parents=[common], help="a model class, conf/model/<name>.yaml and a test"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``ml-new``); returns the exit code."""
    from mlsys.logs import configure_logging

    args = _parser().parse_args(argv)
    configure_logging("WARNING")
    try:
        layout = Layout.find(args.root)
        build = experiment_scaffold if args.kind == "experiment" else model_scaffold
        _write(build(layout, args.name), layout, force=args.force, dry_run=args.dry_run)
    except (ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
