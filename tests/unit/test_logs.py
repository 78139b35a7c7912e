"""Structured logging: formats, context fields, the filter, and the one setup every CLI calls."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlsys import compose_config, train_model
from mlsys.errors import ConfigError
from mlsys.logs import (
    ConsoleHandler,
    ContextFilter,
    FileHandler,
    JsonFormatter,
    TextFormatter,
    bind,
    configure_logging,
    current_context,
    log_context,
    resolve_format,
    set_process_context,
)
from tests.conftest import NO_TRACKING

pytestmark = pytest.mark.unit


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("MLSYS_LOG_FORMAT", "MLSYS_LOG_LEVEL", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    set_process_context(model_name=None, model_version=None)


def _record(msg: str = "hello", **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("mlsys.test", logging.INFO, __file__, 1, msg, None, None)
    record.__dict__.update(extra)
    return record


def _emit(handler: logging.Handler, msg: str = "hello", **extra: object) -> None:
    logger = logging.getLogger("mlsys.test.emit")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(msg, extra=extra or None)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_json_lines_parse_and_carry_run_id_and_model_version() -> None:
    stream = io.StringIO()
    handler = ConsoleHandler(stream, fmt="json")
    set_process_context(model_version="3")
    with log_context(run_id="outputs/2026-11-26/09-46-46"):
        _emit(handler, "scored %d rows", rows=12)
        bind(mlflow_run_id="72a5a88dd57e4eb9")
        _emit(handler, "tracked")
    _emit(handler, "after the run")
    first, second, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "WARNING"
    assert first["logger"] == "mlsys.test.emit"
    assert first["run_id"] == "outputs/2026-11-26/09-46-46"
    assert first["model_version"] == "3"
    assert first["rows"] == 12
    assert "mlflow_run_id" not in first
    assert second["mlflow_run_id"] == "72a5a88dd57e4eb9"
    assert "run_id" not in after  # the context ended with the block, bind() with it
    assert "mlflow_run_id" not in after
    assert list(first)[:4] == ["time", "level", "logger", "message"]


def test_json_keeps_the_traceback_and_extra_fields_win_over_context() -> None:
    with log_context(model_version="1"):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            record = _record(model_version="2")
            record.exc_info = sys.exc_info()
            ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["model_version"] == "2"
    assert "RuntimeError: boom" in line["exc_info"]


def test_the_filter_is_a_no_op_outside_a_run() -> None:
    record = _record()
    before = dict(vars(record))
    assert current_context() == {}
    assert ContextFilter().filter(record) is True
    assert vars(record) == before
    assert TextFormatter().format(record).endswith("mlsys.test: hello")


def test_text_on_a_terminal_is_coloured_and_concise(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _Tty()
    with log_context(run_id="/tmp/outputs/2026-11-26/09-46-46-756243", model_version="7"):
        _emit(ConsoleHandler(tty, fmt="text"), "Stage <fit>")
    line = tty.getvalue().rstrip("\n")
    assert "\033[33mWARNING\033[0m" in line
    assert line.endswith("mlsys.test.emit: Stage <fit>  [run=09-46-46-756243 model=7]")
    trial = io.StringIO()
    with log_context(run_id="/tmp/outputs/multirun/2026-11-26/10-00-00/3"):
        _emit(ConsoleHandler(trial, fmt="text"), "trial")
    assert trial.getvalue().rstrip("\n").endswith("[run=10-00-00/3]")
    optuna_trial = io.StringIO()
    with log_context(run_id="/tmp/outputs/multirun/2026-11-26/10-00-00-vm-7/trial_0003"):
        _emit(ConsoleHandler(optuna_trial, fmt="text"), "trial")
    assert optuna_trial.getvalue().rstrip("\n").endswith("[run=10-00-00-vm-7/trial_0003]")
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _Tty()
    _emit(ConsoleHandler(plain, fmt="text"), "x")
    assert "\033[" not in plain.getvalue()
    piped = io.StringIO()
    _emit(ConsoleHandler(piped, fmt="text"), "x")
    assert "\033[" not in piped.getvalue()


def test_auto_follows_mlsys_log_format(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert resolve_format("auto") == "text"
    monkeypatch.setenv("MLSYS_LOG_FORMAT", "JSON")
    assert resolve_format("auto") == "json"
    assert resolve_format("text") == "text"  # an explicit choice wins
    monkeypatch.setenv("MLSYS_LOG_FORMAT", "xml")
    assert resolve_format("auto") == "text"  # a bad environment never stops a program
    assert "MLSYS_LOG_FORMAT='xml' is not a log format" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="log format 'yaml'"):
        resolve_format("yaml")


def test_configure_logging_replaces_consoles_and_keeps_the_run_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = logging.getLogger()
    hydra_console = logging.StreamHandler()  # what Hydra's default job_logging installs
    run_log = logging.FileHandler(tmp_path / "train.log")
    root.addHandler(hydra_console)
    root.addHandler(run_log)
    configure_logging("INFO", fmt="text", stream=io.StringIO())
    stream = io.StringIO()
    monkeypatch.setenv("MLSYS_LOG_LEVEL", "warning")
    console = configure_logging("INFO", fmt="json", stream=stream)  # again: no duplicates
    assert hydra_console not in root.handlers
    assert [h for h in root.handlers if isinstance(h, ConsoleHandler)] == [console]
    assert run_log in root.handlers
    assert root.level == logging.WARNING
    with log_context(run_id="r1"):
        logging.getLogger("mlsys.test").warning("kept")
        logging.getLogger("mlsys.test").info("below the level")
    run_log.flush()
    for text in (stream.getvalue(), (tmp_path / "train.log").read_text()):
        lines = [json.loads(line) for line in text.splitlines()]
        assert [(x["message"], x["run_id"]) for x in lines] == [("kept", "r1")]


def test_a_bad_level_is_refused_or_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError, match="log level 'LOUD'"):
        configure_logging("LOUD", stream=io.StringIO())
    monkeypatch.setenv("MLSYS_LOG_LEVEL", "loud")
    configure_logging("ERROR", stream=io.StringIO())
    assert logging.getLogger().level == logging.ERROR
    assert "MLSYS_LOG_LEVEL='loud'" in capsys.readouterr().err


def test_file_handler_writes_dated_text(tmp_path: Path) -> None:
    handler = FileHandler(str(tmp_path / "run.log"), fmt="text")
    _emit(handler, "saved")
    handler.close()
    assert (tmp_path / "run.log").read_text().count("-") >= 2  # the date is there
    assert "\033[" not in (tmp_path / "run.log").read_text()


def test_a_training_run_tags_its_lines(small_leads_csv: Path, tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging("INFO", fmt="json", stream=stream)
    run_dir = tmp_path / "run"
    cfg = compose_config([f"data.path={small_leads_csv}", *NO_TRACKING, "model=logreg"])
    train_model(cfg, output_dir=run_dir)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    stages = [x for x in lines if x["message"].startswith("Stage <")]
    assert len(stages) >= 7
    assert {x.get("run_id") for x in stages} == {str(run_dir)}
    assert current_context() == {}
