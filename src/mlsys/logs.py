"""Structured logging for every mlsys CLI and the server.

One setup, two renderings of the same records:

* **text** (default): ``09:46:46 INFO    mlsys.training: Stage <fit>  [run=09-46-46-756243]``,
  with a coloured level on a terminal;
* **json** (``MLSYS_LOG_FORMAT=json``, or ``fmt="json"``): one JSON object per line with
  ``time``, ``level``, ``logger``, ``message``, the context fields and any ``extra=`` fields.

Context fields (``run_id``, ``mlflow_run_id``, ``model_version``, ...) live in a
:class:`contextvars.ContextVar`: the pipeline binds the run id once, the server binds the model
version per request, and :class:`ContextFilter` copies them onto every record a handler emits.
Outside a run or a request the filter leaves records untouched.

Entry points call :func:`configure_logging` (argparse CLIs) or get the same handlers from Hydra
(``conf/hydra/job_logging/mlsys.yaml`` names :class:`ConsoleHandler` and :class:`FileHandler`).

Example:
    >>> import logging
    >>> from mlsys.logs import configure_logging, log_context
    >>> _ = configure_logging("INFO", fmt="json")  # doctest: +SKIP
    >>> with log_context(run_id="outputs/2026-11-26/09-46-46"):
    ...     logging.getLogger("mlsys.demo").info("hello")  # doctest: +SKIP
    {"time": "...", "level": "INFO", "logger": "mlsys.demo", "message": "hello", "run_id": ...}
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import PurePath
from types import MappingProxyType
from typing import Any, Literal, TextIO

from mlsys.errors import ConfigError

__all__ = [
    "CONTEXT_FIELDS",
    "ConsoleHandler",
    "ContextFilter",
    "FileHandler",
    "JsonFormatter",
    "LogFormat",
    "TextFormatter",
    "bind",
    "configure_logging",
    "current_context",
    "log_context",
    "resolve_format",
    "set_process_context",
]

LogFormat = Literal["auto", "text", "json"]

#: Context fields in the order they are rendered; other bound fields follow, sorted.
CONTEXT_FIELDS = ("run_id", "mlflow_run_id", "model_name", "model_version")
#: Short labels for the text rendering.
_TEXT_LABELS = {"run_id": "run", "mlflow_run_id": "mlflow", "model_version": "model"}

_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "mlsys_log_context", default=MappingProxyType({})
)
# Fields for every line of the process (the model a server has loaded); context wins.
_process_context: dict[str, Any] = {}

# Attributes every LogRecord has; anything else on a record came from `extra=` or the filter.
_BLANK_RECORD = logging.LogRecord("", logging.INFO, "", 0, "", None, None)
_RECORD_ATTRS = frozenset(vars(_BLANK_RECORD)) | {"message", "asctime", "taskName", "color_message"}


def _merge(base: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**base, **fields}
    return {k: v for k, v in merged.items() if v is not None}


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields to every log line emitted inside the block (``None`` removes a field).

    Example:
        >>> with log_context(run_id="outputs/2026-11-26/09-46-46"):
        ...     current_context()["run_id"]
        'outputs/2026-11-26/09-46-46'
    """
    token = _context.set(_merge(_context.get(), fields))
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add fields to the current context until the enclosing :func:`log_context` ends.

    Use it for a value learnt half-way through a block (the MLflow run id once tracking has
    started). Outside any ``log_context`` the fields stay for the rest of the thread or task.
    """
    _context.set(_merge(_context.get(), fields))


def set_process_context(**fields: Any) -> None:
    """Fields for every line of the process, below the context (``None`` removes a field).

    The server sets the loaded model's version here, so lines outside a request (reloads,
    registry polls) carry it too.
    """
    merged = _merge(_process_context, fields)
    _process_context.clear()
    _process_context.update(merged)


def current_context() -> dict[str, Any]:
    """The fields a log line emitted here would carry."""
    return {**_process_context, **_context.get()}


class ContextFilter(logging.Filter):
    """Copy the current context fields onto each record (never overriding ``extra=`` fields).

    Attach it to handlers, not loggers: handler filters see records from every child logger.
    Outside a run or request (empty context) it changes nothing.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the context fields; always lets the record through."""
        for key, value in current_context().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """Context and ``extra=`` fields of a record, context fields first."""
    extra = {
        k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")
    }
    ordered = {k: extra.pop(k) for k in CONTEXT_FIELDS if k in extra}
    return {**ordered, **dict(sorted(extra.items()))}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, then fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single JSON line."""
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


_COLOURS = {
    "DEBUG": "\033[2m",
    "INFO": "\033[36m",
    "WARNING": "\033[33m",
    "ERROR": "\033[31m",
    "CRITICAL": "\033[1;31m",
}
_RESET = "\033[0m"


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message  [run=... model=...]`` for people.

    Args:
        colour: Colour the level name (for terminals).
        datefmt: ``strftime`` format of the time; the default suits a terminal, files get the
            date too.
    """

    def __init__(self, colour: bool = False, datefmt: str = "%H:%M:%S") -> None:
        super().__init__("%(message)s", datefmt=datefmt)
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one human-readable line (plus a traceback, if any)."""
        level = f"{record.levelname:<7}"
        if self.colour and record.levelname in _COLOURS:
            level = f"{_COLOURS[record.levelname]}{level}{_RESET}"
        line = f"{self.formatTime(record, self.datefmt)} {level} {record.name}: "
        line += record.getMessage()
        fields = " ".join(
            f"{_TEXT_LABELS.get(k, k)}={_short(k, v)}" for k, v in _extras(record).items()
        )
        if fields:
            line += f"  [{fields}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def _short(key: str, value: Any) -> str:
    """Terminal-friendly value: a run directory by its name, an MLflow id by 8 characters."""
    text = str(value)
    if key == "run_id" and ("/" in text or os.sep in text):
        path = PurePath(text)
        # A sweep trial's directory is its job or trial number: keep the sweep's name with it.
        trial = path.name.isdigit() or path.name.startswith("trial_")
        return f"{path.parent.name}/{path.name}" if trial else path.name
    if key == "mlflow_run_id" and len(text) > 8:
        return text[:8]
    return text


def resolve_format(fmt: str = "auto") -> Literal["text", "json"]:
    """``auto`` means ``MLSYS_LOG_FORMAT`` if set, else ``text``.

    A wrong ``MLSYS_LOG_FORMAT`` never stops a program: it is reported on stderr and text is
    used. A wrong ``fmt`` argument is a bug in the caller (or a bad ``log_format`` setting).

    Raises:
        ConfigError: ``fmt`` is not ``auto``, ``text`` or ``json``.
    """
    if fmt == "auto":
        env = os.environ.get("MLSYS_LOG_FORMAT", "").strip().lower() or "text"
        if env in ("text", "json"):
            return "text" if env == "text" else "json"
        _warn_env("MLSYS_LOG_FORMAT", "is not a log format (use text or json); logging text")
        return "text"
    if fmt in ("text", "json"):
        return "text" if fmt == "text" else "json"
    raise ConfigError(f"log format {fmt!r} is not one of auto, text, json. Fix: use one of them.")


def _warn_env(name: str, problem: str) -> None:
    # Logging is not set up yet, so say it on stderr directly.
    print(f"warning: {name}={os.environ.get(name)!r} {problem}.", file=sys.stderr)


def _wants_colour(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _formatter(fmt: str, colour: bool, datefmt: str) -> logging.Formatter:
    return JsonFormatter() if resolve_format(fmt) == "json" else TextFormatter(colour, datefmt)


class ConsoleHandler(logging.StreamHandler[TextIO]):
    """A stream handler (stderr by default) with the mlsys format and context filter.

    Args:
        stream: Where lines go; ``None`` is ``sys.stderr`` (stdout stays for results).
        fmt: ``text``, ``json`` or ``auto`` (``MLSYS_LOG_FORMAT``, else text).
        colour: Colour levels; ``None`` colours on a terminal unless ``NO_COLOR`` is set.
    """

    def __init__(
        self, stream: TextIO | None = None, fmt: str = "auto", colour: bool | None = None
    ) -> None:
        super().__init__(stream)
        colour = _wants_colour(self.stream) if colour is None else colour
        self.setFormatter(_formatter(fmt, colour, "%H:%M:%S"))
        self.addFilter(ContextFilter())


class FileHandler(logging.FileHandler):
    """A file handler with the mlsys format (text with dates, or JSON) and context filter.

    Args:
        filename: The log file (Hydra: ``<run dir>/<job name>.log``).
        fmt: ``text``, ``json`` or ``auto`` (``MLSYS_LOG_FORMAT``, else text).
        mode: File mode.
        encoding: Text encoding.
        delay: Open the file on the first record.
    """

    def __init__(
        self,
        filename: str,
        fmt: str = "auto",
        mode: str = "a",
        encoding: str | None = "utf-8",
        delay: bool = False,
    ) -> None:
        super().__init__(filename, mode=mode, encoding=encoding, delay=delay)
        self.setFormatter(_formatter(fmt, False, "%Y-%m-%d %H:%M:%S"))
        self.addFilter(ContextFilter())


def _is_console(handler: logging.Handler) -> bool:
    if isinstance(handler, ConsoleHandler):
        return True
    stream = getattr(handler, "stream", None)
    consoles = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    return type(handler) is logging.StreamHandler and stream in consoles


def _level(default: int | str) -> int:
    levels = logging.getLevelNamesMapping()
    env = os.environ.get("MLSYS_LOG_LEVEL", "").strip().upper()
    if env in levels:
        return levels[env]
    if env:
        _warn_env("MLSYS_LOG_LEVEL", "is not a log level (use DEBUG, INFO, WARNING, ERROR)")
    if isinstance(default, int):
        return default
    if default.upper() not in levels:
        raise ConfigError(f"log level {default!r} is not one of DEBUG, INFO, WARNING, ERROR.")
    return levels[default.upper()]


def configure_logging(
    level: int | str = "INFO",
    fmt: str = "auto",
    *,
    stream: TextIO | None = None,
    colour: bool | None = None,
) -> logging.Handler:
    """Set up the root logger for an mlsys entry point; safe to call again.

    Console handlers already on the root logger (a previous call, Hydra's default console) are
    replaced by one :class:`ConsoleHandler`; file handlers (Hydra's run-dir log) are kept and
    switched to the same format and context filter. ``MLSYS_LOG_LEVEL``, when set, wins over
    ``level`` (whoever runs the process decides).

    Args:
        level: Root level (``"INFO"``, ``"WARNING"``, ``logging.DEBUG``, ...).
        fmt: ``text``, ``json`` or ``auto`` (``MLSYS_LOG_FORMAT``, else text).
        stream: Console stream; ``None`` is ``sys.stderr``.
        colour: Colour levels; ``None`` colours on a terminal unless ``NO_COLOR`` is set.

    Returns:
        The console handler it installed.

    Raises:
        ConfigError: ``fmt`` or ``level`` is not valid (wrong environment values are reported
            and ignored instead).

    Example:
        >>> handler = configure_logging("WARNING", fmt="text")  # doctest: +SKIP
    """
    chosen = resolve_format(fmt)
    root = logging.getLogger()
    root.setLevel(_level(level))
    for handler in list(root.handlers):
        if _is_console(handler):
            root.removeHandler(handler)
        elif isinstance(handler, logging.FileHandler):
            handler.setFormatter(_formatter(chosen, False, "%Y-%m-%d %H:%M:%S"))
            if not any(isinstance(f, ContextFilter) for f in handler.filters):
                handler.addFilter(ContextFilter())
    console = ConsoleHandler(stream, fmt=chosen, colour=colour)
    root.addHandler(console)
    return console
