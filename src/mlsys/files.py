"""Files mlsys writes: atomically, and JSON one way everywhere.

Every artifact goes to a temporary name in its own directory and is renamed into place only
once it is complete and flushed to disk, so a run that is killed, or a disk that fills up,
never leaves a half-written ``metrics.json`` (or a 0-byte one) under the name a reader trusts:
the reader finds the previous file or none. JSON is written by :func:`write_json` alone, so the
run's ``metrics.json`` and its report's ``metrics.json`` can never disagree on how a number
looks: sorted keys, two-space indent, a final newline, and ``null`` for NaN or infinity (the
files stay strict JSON that every language reads).

Example:
    >>> from pathlib import Path
    >>> import tempfile
    >>> path = write_json(Path(tempfile.mkdtemp()) / "m.json", {"b": float("nan"), "a": 1})
    >>> print(path.read_text(), end="")
    {
      "a": 1,
      "b": null
    }
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePath
from typing import Any

__all__ = [
    "atomic_path",
    "file_sha256",
    "jsonable",
    "temporary_name",
    "to_json",
    "write_bytes",
    "write_json",
    "write_text",
]


def temporary_name(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place: ``.<name>.<pid>.tmp`` beside it.

    The process id in the name tells a later run whether the writer is still alive, so that
    temporaries of a killed process can be found and removed.
    """
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one rename.

    The caller writes the complete file to the yielded path. If the block raises (a full disk,
    a kill signal turned into an exception, a bug), the temporary file is removed and ``path``
    keeps whatever it held before.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(target)
    try:
        yield tmp
        with tmp.open("rb+") as handle:  # the bytes reach the disk before the name does
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns ``path``."""
    return write_bytes(path, text.encode("utf-8"))


def jsonable(value: Any) -> Any:
    """``value`` with NaN and infinities as ``None``, numpy scalars and arrays as Python values.

    Paths become strings; mappings get string keys.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    item = getattr(value, "item", None)  # numpy scalars (and 0-d arrays)
    if callable(item) and type(value).__module__ == "numpy":
        tolist = getattr(value, "tolist", None)
        return jsonable(tolist() if callable(tolist) else item())
    return value


def to_json(payload: Any) -> str:
    """The JSON text :func:`write_json` writes: sorted keys, indent 2, final newline."""
    return json.dumps(jsonable(payload), indent=2, sort_keys=True, allow_nan=False, default=str) + (
        "\n"
    )


def write_json(path: str | Path, payload: Any) -> Path:
    """Write ``payload`` as strict JSON (see :func:`to_json`), atomically; returns ``path``."""
    return write_text(path, to_json(payload))


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
