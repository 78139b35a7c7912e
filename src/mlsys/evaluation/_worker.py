"""Draw the report's PNGs in a helper process, beside the run that needs them.

A training run spends about a second importing pandas, scikit-learn, SciPy and XGBoost on one
core while the machine's other cores wait. Drawing the report in the run's own process then
adds matplotlib's import (about 0.25 s) and 20-40 ms per plot to the end of the run. The
training and evaluation CLIs start a :class:`PlotWorker` before their heavy work instead: it
imports numpy and matplotlib, never scikit-learn or pandas, on another core, and draws the plots
it is sent while the run computes intervals, segments and importance.

The helper is an optimisation, never a dependency. If it cannot start, dies, stalls, or answers
anything but a path, the plots it owed are drawn in the calling process: one warning (with the
end of the helper's stderr), the same PNG bytes.

Protocol, over the child's stdin and stdout: length-prefixed pickles. The parent sends a batch
``[(key, function, args, kwargs), ...]``; the child answers ``{key: ("ok", path) |
("error", message)}``. Only the functions in :data:`DRAWERS` can be called. End of input ends
the child. The pickles are trusted: both ends are this module, in processes of one user.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = ["DRAWERS", "PlotJob", "PlotWorker", "draw"]

log = logging.getLogger(__name__)

#: The plot functions of :mod:`mlsys.evaluation._plots` a worker may call.
DRAWERS = frozenset(
    {
        "plot_roc",
        "plot_precision_recall",
        "plot_calibration",
        "plot_gains_lift",
        "plot_score_distribution",
        "plot_threshold_analysis",
        "plot_confusion_matrix",
        "plot_feature_importance",
    }
)
_HEADER = struct.Struct("!Q")
#: Larger messages are refused as garbage (a plot batch of 10M rows is about 160 MB).
_MAX_MESSAGE = 1 << 31


@dataclass(frozen=True)
class PlotJob:
    """One PNG to draw: ``mlsys.evaluation._plots.<function>(*args, **kwargs)``."""

    key: str
    function: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.function not in DRAWERS:
            raise ValueError(f"{self.function!r} is not a plot function ({sorted(DRAWERS)})")


def draw(job: PlotJob) -> Path:
    """Draw ``job`` in this process."""
    from mlsys.evaluation import _plots

    return Path(getattr(_plots, job.function)(*job.args, **job.kwargs))


class PlotWorker:
    """A helper process that draws :class:`PlotJob` batches; see the module docstring.

    Example:
        >>> worker = PlotWorker.start()  # doctest: +SKIP
        >>> worker.submit([PlotJob("roc", "plot_roc", (y, p, "roc.png"))])  # doctest: +SKIP
        >>> worker.results()  # doctest: +SKIP
        {'roc': PosixPath('roc.png')}
        >>> worker.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        timeout: float = 120.0,
        stderr: IO[bytes] | None = None,
    ) -> None:
        """Talk to ``process``, started with pipes for stdin and stdout (see :meth:`start`).

        ``timeout`` bounds each wait for the helper (room in its pipe, an answer); ``stderr`` is
        the file its standard error goes to, quoted when it fails.
        """
        os.set_blocking(_fd(process.stdin), False)  # writes wait for room with a deadline
        self._process: subprocess.Popen[bytes] | None = process
        self._timeout = timeout
        self._stderr = stderr
        self._pending: list[list[PlotJob]] = []

    @classmethod
    def start(cls, *, timeout: float = 120.0) -> PlotWorker | None:
        """Start the helper; ``None`` (and a warning) if the process cannot be started.

        POSIX only (the parent waits on its pipes with ``select``); elsewhere ``None``.
        """
        if os.name != "posix":
            return None
        env = {**os.environ, "MPLBACKEND": "Agg"}
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for the helper's life
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "mlsys.evaluation._worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                bufsize=0,  # this side reads and writes the pipes' descriptors directly
            )
            return cls(process, timeout=timeout, stderr=stderr)
        except Exception as exc:  # an optimisation: never a reason for the run to fail
            stderr.close()
            log.warning("Plot worker did not start (%s); plots are drawn in this process.", exc)
            return None

    @property
    def alive(self) -> bool:
        """Whether the helper is still usable; logs why not the first time it is not."""
        if self._process is not None and self._process.poll() is not None:
            self._fail(f"the process ended early (exit code {self._process.returncode})")
        return self._process is not None

    def submit(self, jobs: Sequence[PlotJob]) -> None:
        """Send a batch to draw; returns at once. :meth:`results` collects it."""
        if not jobs:
            return
        self._pending.append(list(jobs))
        if self._process is None:
            return
        payload = [(j.key, j.function, j.args, j.kwargs) for j in jobs]
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
            fd, deadline = _fd(self._process.stdin), self._deadline()
            _write_all(fd, _HEADER.pack(len(data)), deadline)
            _write_all(fd, data, deadline)
        except Exception as exc:  # unpicklable arguments too: those are drawn here
            self._fail(f"sending plots failed ({type(exc).__name__}: {exc})")

    def results(self) -> dict[str, Path]:
        """The PNG path of every job submitted since the last call, in submission order.

        Jobs the helper did not draw are drawn here; a job that fails here too raises its own
        error (a :class:`~mlsys.errors.DataError` for a plot the data cannot support).
        """
        pending, self._pending = self._pending, []
        # Every answer is read before anything is drawn here (which may raise), so the pipe
        # never holds answers to batches nobody waits for.
        answered = [(batch, self._receive() if self._process else {}) for batch in pending]
        drawn: dict[str, Path] = {}
        for batch, answers in answered:
            for job in batch:
                answer = answers.get(job.key)
                if isinstance(answer, tuple) and len(answer) == 2 and answer[0] == "ok":
                    drawn[job.key] = Path(str(answer[1]))
                    continue
                if self._process is not None:
                    log.debug("Plot worker did not draw %s (%r); drawing here.", job.key, answer)
                drawn[job.key] = draw(job)
        return drawn

    def discard(self) -> None:
        """Forget uncollected batches (a report that failed half-way), keeping the helper usable.

        Their answers are read and dropped, so the next :meth:`results` sees only later batches.
        """
        pending, self._pending = self._pending, []
        for _ in pending:
            if self._process is not None:
                self._receive()

    def close(self) -> None:
        """End the helper (idempotent); unfinished batches are still collected by results()."""
        process, self._process = self._process, None
        if process is not None:
            try:
                if self._pending:  # it may be drawing for nobody: no reason to wait for it
                    process.kill()
                if process.stdin is not None:
                    process.stdin.close()
                process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> PlotWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _receive(self) -> dict[str, tuple[str, str]]:
        assert self._process is not None
        fd, deadline = _fd(self._process.stdout), self._deadline()
        try:
            (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))
            if size > _MAX_MESSAGE:
                raise ValueError(f"an answer of {size} bytes is not one")
            answers = pickle.loads(_read_exactly(fd, size, deadline))
            if not isinstance(answers, dict):
                raise TypeError(f"unexpected answer {type(answers).__name__}")
            return answers
        except EOFError:
            self._fail(f"the process ended (exit code {self._process.poll()})")
        except Exception as exc:  # garbage on the pipe included: those plots are drawn here
            self._fail(f"{type(exc).__name__}: {exc}")
        return {}

    def _deadline(self) -> float:
        return time.monotonic() + self._timeout

    def _fail(self, reason: str) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        log.warning(
            "Plot worker failed: %s. Plots are drawn in this process.%s",
            reason,
            self._stderr_tail(),
        )

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            text = self._stderr.read()[-2000:].decode(errors="replace").strip()
            return f" Its stderr ends:\n{text}" if text else ""
        return ""


def _fd(stream: IO[bytes] | None) -> int:
    if stream is None:  # pragma: no cover - Popen was given PIPE
        raise OSError("no pipe to the plot worker")
    return stream.fileno()


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    """Write to a non-blocking pipe, waiting for room until ``deadline``."""
    view = memoryview(data)
    while view:
        _wait(fd, deadline, write=True)
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            continue


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    """``size`` bytes from a pipe by ``deadline``; EOFError if it closes first."""
    chunks, left = [], size
    while left:
        _wait(fd, deadline, write=False)
        chunk = os.read(fd, left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _wait(fd: int, deadline: float, *, write: bool) -> None:
    left = deadline - time.monotonic()
    ready = (
        select.select([], [fd], [], max(left, 0))
        if write
        else select.select([fd], [], [], max(left, 0))
    )
    if not any(ready):
        raise TimeoutError("the plot worker did not answer in time")


def _send(stream: IO[bytes], payload: Any) -> None:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next message on a blocking stream, or ``None`` at its end."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the message was cut short")
    return pickle.loads(data)


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The helper's loop: import matplotlib, then draw batches until stdin ends."""
    from mlsys.evaluation import _plots

    _plots._import_matplotlib()
    while (batch := _receive(stdin)) is not None:
        answers: dict[str, tuple[str, str]] = {}
        for key, function, args, kwargs in batch:
            try:
                answers[key] = ("ok", str(draw(PlotJob(key, function, args, kwargs))))
            except Exception as exc:  # reported to the parent, which draws it again and raises
                answers[key] = ("error", f"{type(exc).__name__}: {exc}")
        _send(stdout, answers)


def _main() -> None:
    stdin = sys.stdin.buffer
    # The protocol gets its own copy of the pipe; descriptor 1 becomes stderr, so that a stray
    # print, or output from C code, cannot corrupt it.
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):
        serve(stdin, stdout)
    # Nothing to clean up: skip the interpreter's teardown, so that close() returns at once.
    os._exit(0)


if __name__ == "__main__":
    _main()
