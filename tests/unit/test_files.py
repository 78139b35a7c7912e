"""The one atomic writer: complete files or none, clear errors, no stale temporaries."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlsys.errors import OutputError
from mlsys.files import (
    remove_stale_temporaries,
    temporary_name,
    writable_directory,
    write_json,
    write_text,
)

pytestmark = pytest.mark.unit


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    code = "import os; print(os.getpid())"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(done.stdout)


def test_a_full_disk_keeps_the_previous_file_and_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = write_json(tmp_path / "metadata.json", {"run": 1})

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError) as raised:
        write_json(target, {"run": 2})

    assert str(raised.value) == (
        f"cannot write '{target}': No space left on device. "
        "Fix: free space on that disk, or write to another one."
    )
    assert json.loads(target.read_text()) == {"run": 1}  # never truncated, never 0 bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metadata.json"]


def test_a_file_in_the_way_of_the_directory_is_an_output_error(tmp_path: Path) -> None:
    blocker = write_text(tmp_path / "outputs", "not a directory")

    with pytest.raises(OutputError, match=r"hydra\.run\.dir: cannot write .*Not a directory"):
        writable_directory(blocker / "run", "hydra.run.dir")
    with pytest.raises(OutputError, match="a file stands where a directory is needed"):
        write_text(blocker / "run" / "metrics.json", "{}")


def test_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "scores.csv"
    stale = target.with_name(f".scores.csv.{_dead_pid()}.tmp")
    live = temporary_name(target)  # this process: still writing
    other = tmp_path / f".other.csv.{_dead_pid()}.tmp"  # another file's temporary
    for path in (stale, live, other):
        path.write_text("partial")

    assert remove_stale_temporaries(target) == [stale]

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_writing_a_file_removes_its_stale_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    stale = target.with_name(f".metrics.json.{_dead_pid()}.tmp")
    stale.write_text("{")

    write_json(target, {})

    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_nan_and_infinities_are_null_and_numpy_values_plain(tmp_path: Path) -> None:
    import numpy as np

    payload = {"nan": float("nan"), "inf": np.float64("inf"), "ninf": -np.inf, "n": np.int64(3)}
    text = write_json(tmp_path / "m.json", {**payload, "a": np.array([1.5, np.nan])}).read_text()
    assert json.loads(text) == {"nan": None, "inf": None, "ninf": None, "n": 3, "a": [1.5, None]}
    assert text.endswith("}\n")
    assert "NaN" not in text
    assert "Infinity" not in text


def test_the_run_and_its_report_write_metrics_json_with_the_one_writer(
    leads_overrides: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ``metrics.json`` go through :func:`mlsys.files.to_json`, so NaN is ``null`` in both."""
    from mlsys import compose_config, files, train_model
    from mlsys.evaluation import _evaluator

    written: list[str] = []
    encode, metrics = files.to_json, _evaluator.binary_metrics

    def spy(payload: object) -> str:
        written.append(encode(payload))
        return written[-1]

    def with_an_undefined_metric(*args: object, **kwargs: object) -> dict[str, object]:
        return {**metrics(*args, **kwargs), "undefined_probe": float("nan")}  # type: ignore[arg-type]

    monkeypatch.setattr(files, "to_json", spy)
    monkeypatch.setattr(_evaluator, "binary_metrics", with_an_undefined_metric)
    train_model(compose_config([*leads_overrides, "model=logreg"]), output_dir=tmp_path)
    for path in (tmp_path / "metrics.json", tmp_path / "report" / "metrics.json"):
        text = path.read_text()
        assert text in written, f"{path} was not written by mlsys.files.write_json"
        assert json.loads(text)["undefined_probe"] is None
