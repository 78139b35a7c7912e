"""Bad overrides on the Hydra command lines: exit 2 and one `error:` line, whatever the env.

Each case is run as a user runs it, once as is and once with HYDRA_FULL_ERROR=1 exported (which
adds the traceback, and nothing else), and its message is the one the notebook path
(`compose_config` + `build_pipeline`) raises as a ConfigError.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlsys import build_pipeline, compose_config
from mlsys.errors import ConfigError
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

#: Overrides refused before anything is built, with the key the error line names.
BAD_OVERRIDES: dict[str, tuple[list[str], str]] = {
    "constant_model": (["model.n_estimators=0"], "model.n_estimators"),
    "unregistrable_name": (["name=a/b"], "name"),
    "empty_separator": (["data.sep=''"], "data.sep"),
    "wrong_type": (["model.max_depth=deep"], "model.max_depth"),
    "fractional_int": (["model.max_depth=4.5"], "model.max_depth"),
    "misspelt_key": (["model.max_dpth=3"], "model.max_dpth"),
    "top_level_type": (["seed=abc"], "seed"),
    "unknown_option": (["model=nope"], "model"),
    "added_top_level_key": (["+sed=1"], "sed"),
    "override_syntax": (["model.max_depth=["], "model.max_depth"),
    "removed_component": (["~model"], "model"),
}


def _env(full_error: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return {**env, "HYDRA_FULL_ERROR": "1"} if full_error else env


def _run(*command: str, full_error: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(full_error),
        check=False,
    )


def _error_line(done: subprocess.CompletedProcess[str], *, traceback: bool = False) -> str:
    """The one `error:` line, after asserting it is the last line and the exit code is 2."""
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2, done.stderr
    assert len(errors) == 1, done.stderr
    assert done.stderr.rstrip().splitlines()[-1] == errors[0]
    assert ("Traceback" in done.stderr + done.stdout) is traceback, done.stderr
    return errors[0]


def _notebook_error(overrides: list[str], tmp_path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        build_pipeline(compose_config(overrides), output_dir=tmp_path / "notebook")
    return str(info.value)


@pytest.mark.parametrize("full_error", [False, True], ids=["plain", "HYDRA_FULL_ERROR=1"])
@pytest.mark.parametrize("case", sorted(BAD_OVERRIDES))
def test_a_bad_override_ends_in_one_error_line_and_exit_2(
    case: str, full_error: bool, tmp_path: Path
) -> None:
    overrides, key = BAD_OVERRIDES[case]
    done = _run(
        sys.executable,
        "-m",
        "mlsys.train",
        *overrides,
        f"hydra.run.dir={tmp_path / 'run'}",
        full_error=full_error,
    )
    line = _error_line(done, traceback=full_error)
    assert line.startswith(f"error: {key}: ")
    assert "Fix: " in line
    assert line == f"error: {_notebook_error(overrides, tmp_path)}"
    assert not (tmp_path / "run" / "model.joblib").exists()


def test_verbose_adds_the_traceback_and_keeps_the_line_and_the_code(tmp_path: Path) -> None:
    done = _run(
        sys.executable,
        "-m",
        "mlsys.train",
        "--verbose",
        "model.max_dpth=3",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert _error_line(done, traceback=True).startswith("error: model.max_dpth: unknown parameter")


def test_the_console_script_exits_2_on_a_bad_override(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "ml-train"
    done = _run(str(script), "model.max_dpth=3", f"hydra.run.dir={tmp_path / 'run'}")
    assert "Did you mean 'max_depth'?" in _error_line(done)


@pytest.mark.parametrize("full_error", [False, True], ids=["plain", "HYDRA_FULL_ERROR=1"])
def test_showing_the_config_of_a_bad_override_exits_2(full_error: bool) -> None:
    done = _run(
        sys.executable, "-m", "mlsys.train", "--cfg", "job", "seed=abc", full_error=full_error
    )
    assert _error_line(done, traceback=full_error).startswith("error: seed: got 'abc' (str)")


@pytest.mark.parametrize("full_error", [False, True], ids=["plain", "HYDRA_FULL_ERROR=1"])
def test_a_sweep_with_a_bad_override_exits_2(full_error: bool, tmp_path: Path) -> None:
    done = _run(
        sys.executable,
        "-m",
        "mlsys.train",
        "-m",
        "model.max_dpth=3",
        "model=logreg,xgboost",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        full_error=full_error,
    )
    assert _error_line(done, traceback=full_error).startswith("error: model.max_dpth: ")
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["prot=9000"], "error: prot: unknown top-level key. Did you mean 'port'?"),
        (["port=abc"], "error: port: got 'abc' (str), expected int."),
        (["+portt=9000"], "error: portt: unknown parameter of the serving config."),
        (["workers=0"], "error: workers: got 0. Fix: workers=1 or more."),
    ],
)
@pytest.mark.parametrize("full_error", [False, True], ids=["plain", "HYDRA_FULL_ERROR=1"])
def test_serve_exits_2_on_a_bad_setting(
    overrides: list[str], expected: str, full_error: bool, tmp_path: Path
) -> None:
    done = _run(
        sys.executable,
        "-m",
        "mlsys.serve",
        *overrides,
        f"model_path={tmp_path / 'model.joblib'}",
        f"hydra.run.dir={tmp_path / 'serve'}",
        full_error=full_error,
    )
    assert _error_line(done, traceback=full_error).startswith(expected)


def test_the_serve_console_script_exits_2_on_a_bad_override(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "ml-serve"
    done = _run(str(script), "port=abc", f"hydra.run.dir={tmp_path / 'serve'}")
    assert _error_line(done).startswith("error: port: got 'abc'")
