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
import errno
import glob
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePath
from typing import Any

from mlsys.errors import OutputError

__all__ = [
    "atomic_path",
    "file_sha256",
    "jsonable",
    "output_error",
    "process_alive",
    "remove_stale_temporaries",
    "temporary_name",
    "to_json",
    "writable_directory",
    "write_bytes",
    "write_json",
    "write_text",
]

#: What to do about a write that failed, by the reason the operating system gave.
_FIXES = {
    errno.ENOSPC: "free space on that disk, or write to another one",
    errno.EDQUOT: "free space within your disk quota, or write elsewhere",
    errno.EROFS: "that file system is read-only; write elsewhere",
    errno.EACCES: "make it writable for this user, or write elsewhere",
    errno.EPERM: "make it writable for this user, or write elsewhere",
    errno.ENOTDIR: "a file stands where a directory is needed; move it or write elsewhere",
    errno.EEXIST: "a file stands where a directory is needed; move it or write elsewhere",
    errno.EISDIR: "a directory stands where the file goes; move it or write elsewhere",
}


def temporary_name(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place: ``.<name>.<pid>.tmp`` beside it.

    The process id in the name tells a later run whether the writer is still alive, so that
    temporaries of a killed process can be found and removed.
    """
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (one of another user's counts)."""
    if pid <= 0:  # os.kill(0 or -1, 0) would probe process groups, not a process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove the temporaries of ``path`` (see :func:`temporary_name`) whose writer is gone.

    A process killed while writing leaves its ``.<name>.<pid>.tmp`` behind; the next writer of
    the same file removes it. Temporaries of live processes (a concurrent writer) are kept.
    Returns the removed files.
    """
    target = Path(path)
    prefix, suffix = f".{target.name}.", ".tmp"
    removed = []
    for found in target.parent.glob(f"{glob.escape(prefix)}*{suffix}"):
        pid = found.name[len(prefix) : -len(suffix)]
        if pid.isdigit() and not process_alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                found.unlink()
                removed.append(found)
    return removed


def output_error(path: str | Path, exc: OSError, setting: str | None = None) -> OutputError:
    """An :class:`~mlsys.errors.OutputError` that names ``path``, the reason and the fix.

    Args:
        path: The file or directory that could not be written.
        exc: What the operating system said.
        setting: The option that chose ``path`` (``hydra.run.dir``, ``--output``), if any.
    """
    reason = exc.strerror or str(exc)
    fix = _FIXES.get(exc.errno or 0, "check the path and the disk, or write elsewhere")
    where = f"{setting}: " if setting else ""
    also = f" ({setting}=...)" if setting else ""
    return OutputError(f"{where}cannot write '{path}': {reason}. Fix: {fix}{also}.")


def writable_directory(path: str | Path, setting: str | None = None) -> Path:
    """Create the directory ``path`` if needed and check that files can be written in it.

    Raises:
        OutputError: A file is in the way, the place is read-only, or the disk is full.
    """
    target = Path(path)
    try:
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target) as probe:
            probe.write(b"\0")
            probe.flush()
    except OSError as exc:
        raise output_error(target, exc, setting) from exc
    return target


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one rename.

    The caller writes the complete file to the yielded path. If the block raises (a full disk,
    a kill signal turned into an exception, a bug), the temporary file is removed and ``path``
    keeps whatever it held before. A failed write (``OSError``) is raised as an
    :class:`~mlsys.errors.OutputError` that names the file and the fix.
    """
    target = Path(path)
    tmp = temporary_name(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        yield tmp
        with tmp.open("rb+") as handle:  # the bytes reach the disk before the name does
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OutputError:
        raise
    except OSError as exc:
        raise output_error(target, exc) from exc
    finally:
        with contextlib.suppress(OSError):
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
