"""Lazy package exports: a name is imported from its module on first use (PEP 562).

``import mlsys`` and ``import mlsys.evaluation`` stay cheap, so ``--cfg job`` answers fast and
a notebook pays for scikit-learn, pandas or matplotlib only when it uses them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str], public: list[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``names`` maps a name to its module.

    A name is imported once and then stored in the package, so later lookups are plain
    attribute reads.
    """
    namespace = vars(import_module(package))

    def lookup(name: str) -> Any:
        if name in names:
            value = getattr(import_module(names[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module '{package}' has no attribute {name!r}")

    def listing() -> list[str]:
        return sorted({*namespace, *public})

    return lookup, listing
