"""A run directory that cannot be written: one ``error:`` line, exit 2, never a torn file.

The read-only and full-disk cases mount a small tmpfs in a private mount namespace of the
training process (``unshare``, as root; skipped where that is not allowed), so the disk really
is read-only or full and nothing outside the process sees the mount.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FAST_REPORT, NO_TRACKING, REPO_ROOT

pytestmark = pytest.mark.integration

_MOUNT = 'mount -t tmpfs -o "$1" tmpfs "$2" && shift 2 && "$@"'
#: Run inside the namespace after training, while the tmpfs is still there: the run
#: directory's files and their bytes, as one JSON line.
_LIST = (
    "import json, pathlib, sys; print(json.dumps({p.name: p.read_text(errors='replace') "
    "for p in pathlib.Path(sys.argv[1]).iterdir() if p.is_file()}))"
)


def _train(csv: Path, run_dir: Path, *prefix: str) -> subprocess.CompletedProcess[str]:
    args = [f"data.path={csv}", "model=logreg", *NO_TRACKING, *FAST_REPORT]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "mlsys.train", *args, f"hydra.run.dir={run_dir}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _on_tmpfs(options: str, mountpoint: Path, then: str = "") -> list[str]:
    """A command prefix: run the command with a new tmpfs at ``mountpoint``, then ``then``.

    The exit code is the command's.
    """
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare to mount a tmpfs in a private namespace")
    mountpoint.mkdir()
    script = f"{_MOUNT}; code=$?; {then or 'true'}; exit $code"
    return [unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh", options,
            str(mountpoint)]  # fmt: skip


def _assert_one_error(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr
    for text in expected:
        assert text in errors[0]
    assert "Traceback" not in done.stderr
    assert "Logging error" not in done.stderr


def test_a_file_where_the_run_directory_goes(small_leads_csv: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "outputs"
    blocker.write_text("a file, not a directory")

    done = _train(small_leads_csv, blocker / "run")

    _assert_one_error(done, "hydra.run.dir", f"'{blocker / 'run'}'", "Not a directory")


def test_a_read_only_run_directory(small_leads_csv: Path, tmp_path: Path) -> None:
    mountpoint = tmp_path / "ro"
    done = _train(small_leads_csv, mountpoint / "run", *_on_tmpfs("ro", mountpoint))

    _assert_one_error(done, "hydra.run.dir", "Read-only file system", "write elsewhere")


def test_a_full_disk_leaves_no_torn_artifact(small_leads_csv: Path, tmp_path: Path) -> None:
    mountpoint = tmp_path / "full"
    run_dir = mountpoint / "run"
    # Room for the run directory and its first files, not for all of them: the disk fills up
    # in the middle of writing the artifacts.
    listing = f"{shlex.quote(sys.executable)} -c {shlex.quote(_LIST)} {shlex.quote(str(run_dir))}"
    done = _train(small_leads_csv, run_dir, *_on_tmpfs("size=48k", mountpoint, listing))

    _assert_one_error(done, "No space left on device", "free space on that disk")
    files = json.loads(done.stdout.splitlines()[-1])
    assert "model.joblib" in files  # the disk filled up after the first artifacts
    assert not [name for name in files if name.endswith(".tmp")], sorted(files)
    assert all(text for name, text in files.items() if name != "train.log"), sorted(files)
    for name in (n for n in files if n.endswith(".json")):
        json.loads(files[name])  # complete JSON or no file
