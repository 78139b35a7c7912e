"""Component parameters: constraints declared once, on the constructor, checked by pydantic.

A component states what each parameter accepts in its own ``__init__`` signature::

    def __init__(self, max_depth: Annotated[int, Field(ge=1)] = 5, seed: Seed = 0) -> None:

:func:`check_params` validates a mapping of values against that signature (one pydantic
``TypeAdapter`` per class, built on first use) and raises :class:`ConfigError` naming the key,
the value, what it accepts and the override that fixes it. The config layer calls it for every
``_target_`` node before anything is built; components call :func:`check_instance` on
themselves where they are used (scikit-learn checks its parameters in ``fit`` the same way), so
a component built by hand in a notebook is held to the same constraints.

Validation is strict (``4.5`` or ``"4"`` is not an ``int``, ``1`` is not a ``bool``) except
where YAML is loose: an int is a valid float. Values are only checked, never converted: the
component receives exactly what the config holds.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import re
import types
import typing
from collections.abc import Collection, Mapping, Sequence
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from mlsys.errors import ConfigError

__all__ = [
    "Name",
    "Seed",
    "check_instance",
    "check_params",
    "describe",
    "invalid_value",
    "missing_value",
    "parameters",
    "unknown_key",
]

#: A random seed: numpy and scikit-learn accept 0 to 2**32 - 1.
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
#: A use-case name: the MLflow experiment and registered model, run and study names.
Name = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=100,
        description="a name of letters, digits, '_', '-' and '.' (e.g. conversion_emea)",
    ),
]

_STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True, allow_inf_nan=False)
_typed_dict: Any = TypedDict  # built from a signature at run time, which type checkers cannot see


@dataclasses.dataclass(frozen=True)
class _Signature:
    """A class's named constructor parameters, their hints and the adapter that checks them."""

    params: dict[str, inspect.Parameter]
    hints: dict[str, Any]
    accepts_kwargs: bool
    adapter: TypeAdapter[Any]


@functools.cache
def _signature(cls: type) -> _Signature:
    signature = inspect.signature(cls)
    params = {
        name: p
        for name, p in signature.parameters.items()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    # A dataclass's generated __init__ carries no resolvable annotations; its fields do.
    owner = cls if dataclasses.is_dataclass(cls) else cls.__init__  # type: ignore[misc]
    hints = get_type_hints(owner, include_extras=True)
    fields = {name: hints.get(name, Any) for name in params}
    # A TypedDict, not a model: parameter names never clash with BaseModel's attributes, and
    # only the keys a config sets are checked (a missing required one is reported apart).
    schema = _typed_dict(f"{cls.__name__}Params", fields, total=False)
    schema.__pydantic_config__ = _STRICT
    return _Signature(
        params=params,
        hints=hints,
        accepts_kwargs=any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()),
        adapter=TypeAdapter(schema),
    )


def check_params(
    cls: type,
    values: Mapping[str, Any],
    prefix: str = "",
    *,
    skip: Collection[str] = (),
    partial: bool = False,
    owner: str | None = None,
) -> None:
    """Check parameter values against ``cls``'s constructor; raise :class:`ConfigError`.

    Args:
        cls: The component class; its ``__init__`` annotations declare the constraints.
        values: Parameter name -> value, as the config holds them.
        prefix: The config key of the component (``model``), to name keys in messages.
        skip: Parameters set by other means (nested components), not reported as missing.
        partial: The config builds a partial (``_partial_: true``): required ones may be unset.
        owner: How messages name the component (default: its import path).

    Example:
        >>> from mlsys.models import XGBoostModel
        >>> check_params(XGBoostModel, {"max_depth": 4, "subsample": 0.5}, "model")
        >>> check_params(XGBoostModel, {"max_depth": 0}, "model")  # doctest: +SKIP
        ConfigError: model.max_depth: got 0 (int), expected int >= 1. Fix: model.max_depth=...
    """
    signature = _signature(cls)
    name = owner or f"{cls.__module__}.{cls.__qualname__}"
    for key in values:
        if key not in signature.params and not signature.accepts_kwargs:
            raise unknown_key(_join(prefix, key), list(signature.params), f"parameter of {name}")
    if not partial:
        for key, param in signature.params.items():
            if param.default is param.empty and key not in values and key not in skip:
                raise missing_value(cls, key, prefix, owner=name)
    known = {k: v for k, v in values.items() if k in signature.params}
    try:
        signature.adapter.validate_python(known)
    except ValidationError as exc:
        key = str(exc.errors()[0]["loc"][0])
        raise invalid_value(cls, key, known[key], prefix) from None


def check_instance(component: object, prefix: str) -> None:
    """Check a built component's own parameters (stored under their names, as scikit-learn's).

    Components call this where they are used, so that one built by hand meets the constraints
    a config would have been checked against.
    """
    cls: type = type(component)
    params = _signature(cls).params
    values = {key: getattr(component, key) for key in params if hasattr(component, key)}
    check_params(cls, values, prefix)


def parameters(cls: type) -> list[str]:
    """The names of ``cls``'s constructor parameters, in order."""
    return list(_signature(cls).params)


def missing_value(
    cls: type, key: str, prefix: str = "", *, owner: str | None = None, why: str = ""
) -> ConfigError:
    """The error for a required parameter of ``cls`` the config leaves unset."""
    full = _join(prefix, key)
    name = owner or f"{cls.__module__}.{cls.__qualname__}"
    expected = describe(_signature(cls).hints.get(key, Any))
    because = f" ({why})" if why else ""
    return ConfigError(
        f"{full}: is required by {name} but not set{because}. "
        f"Fix: pass {full}=<{expected}> on the command line."
    )


def invalid_value(cls: type, key: str, value: Any, prefix: str = "") -> ConfigError:
    """The error for a value parameter ``key`` of ``cls`` does not accept."""
    signature = _signature(cls)
    full = _join(prefix, key)
    expected = describe(signature.hints.get(key, Any))
    param = signature.params.get(key)
    default = ""
    if param is not None and param.default is not param.empty and _printable(param.default):
        default = f" (default: {_yaml(param.default)})"
    return ConfigError(
        f"{full}: got {value!r} ({type(value).__name__}), expected {expected}. "
        f"Fix: {full}=<{expected}>{default}."
    )


def unknown_key(full: str, valid: Sequence[str], what: str, *, present: bool = True) -> ConfigError:
    """The error for a key no parameter has, with the closest valid key when there is one.

    Args:
        full: The key as the user wrote it (``model.max_dept``).
        valid: The keys that exist at that level.
        what: What kind of key it claims to be (``parameter of mlsys.models.XGBoostModel``).
        present: The key is in the config (added with ``+``), so removing it is a fix too.
    """
    parent, _, key = full.rpartition(".")
    close = difflib.get_close_matches(key, list(valid), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    fix = f"rename it to {_join(parent, close[0])}" if close else "use one of the valid keys"
    if present:
        fix = f"remove it (on the command line: ~{full}) or {fix}"
    return ConfigError(f"{full}: unknown {what}.{hint} Valid keys: {', '.join(valid)}. Fix: {fix}.")


def describe(hint: Any) -> str:
    """What a parameter accepts, in words: ``int >= 1``, ``number in (0, 1]``, ``one of a, b``.

    Example:
        >>> describe(Annotated[float, Field(gt=0, le=1)] | None)
        'number in (0, 1] or null'
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        return _annotated(args[0], args[1:])
    if origin is Literal:
        return "one of " + _choices(args)
    if origin in (typing.Union, types.UnionType):
        parts = [
            _choices(typing.get_args(a)) if typing.get_origin(a) is Literal else describe(a)
            for a in args
        ]
        return ", ".join(parts[:-1]) + " or " + parts[-1]
    if origin in (list, tuple, Sequence, Collection, dict, Mapping):
        return _container(origin, args)
    return _NAMES.get(hint) or str(getattr(hint, "__name__", hint))


_NAMES = {int: "int", float: "number", str: "text", bool: "true or false", type(None): "null"}


def _choices(values: tuple[Any, ...]) -> str:
    return ", ".join(_yaml(v) for v in values)


def _container(origin: Any, args: tuple[Any, ...]) -> str:
    if origin in (dict, Mapping):
        return f"a mapping of {describe(args[0])} to {describe(args[1])}" if args else "a mapping"
    return f"a list of {describe(args[0])}" if args else "a list"


def _annotated(base: Any, metadata: tuple[Any, ...]) -> str:
    constraints: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            if item.description:  # a declared wording wins over the derived one
                return item.description
            constraints.extend(item.metadata)
        else:
            constraints.append(item)
    # annotated-types' Ge, Gt, Le, Lt and MinLen, as Field(ge=...) declares them.
    low = next((c for c in constraints if hasattr(c, "ge") or hasattr(c, "gt")), None)
    high = next((c for c in constraints if hasattr(c, "le") or hasattr(c, "lt")), None)
    text = describe(base)
    if low is not None and high is not None:
        left = f"[{low.ge}" if hasattr(low, "ge") else f"({low.gt}"
        right = f"{high.le}]" if hasattr(high, "le") else f"{high.lt})"
        return f"{text} in {left}, {right}"
    if low is not None or high is not None:
        return f"{text} {_bound(low if low is not None else high)}"
    if any(getattr(c, "min_length", 0) for c in constraints):
        return f"non-empty {text}"
    return text


def _bound(bound: Any) -> str:
    for attribute, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if hasattr(bound, attribute):
            return f"{sign} {getattr(bound, attribute)}"
    return str(bound)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _printable(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _yaml(value: Any) -> str:
    """A value as it is written in YAML or on the command line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str) and not re.fullmatch(r"[\w.-]+", value):
        return repr(value)
    return str(value)
