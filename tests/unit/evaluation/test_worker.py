"""The plot worker: the same PNGs as drawing in-process, and never a reason for a report to fail."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlsys.data import Dataset
from mlsys.errors import DataError
from mlsys.evaluation import PLOT_NAMES, ReportOptions, write_evaluation_report
from mlsys.evaluation._bootstrap import ConfidenceInterval
from mlsys.evaluation._worker import PlotJob, PlotWorker, draw
from mlsys.models import ModelBundle

pytestmark = pytest.mark.unit

RNG = np.random.default_rng(11)
Y = (RNG.random(400) < 0.2).astype(np.int64)
P = np.clip(RNG.normal(0.25 + 0.3 * Y, 0.15), 0, 1)
INTERVAL = ConfidenceInterval("roc_auc", 0.8, 0.75, 0.85, 0.95, 50, 50)


def _jobs(folder: Path) -> list[PlotJob]:
    return [
        PlotJob("roc", "plot_roc", (Y, P, folder / "roc.png"), {"interval": INTERVAL}),
        PlotJob("calibration", "plot_calibration", (Y, P, folder / "calibration.png")),
        PlotJob(
            "importance",
            "plot_feature_importance",
            ({"a": 0.5, "b": 0.3, "c": 0.2}, folder / "importance.png"),
            {"title": "Feature importance (native)"},
        ),
    ]


@pytest.fixture
def worker() -> Iterator[PlotWorker]:
    started = PlotWorker.start(timeout=60)
    assert started is not None
    yield started
    started.close()


def test_worker_draws_the_same_bytes_as_this_process(worker: PlotWorker, tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    here = {job.key: draw(job) for job in _jobs(tmp_path / "here")}

    jobs = _jobs(tmp_path / "worker")
    worker.submit(jobs[:2])
    worker.submit(jobs[2:])  # a second batch before the first is collected
    drawn = worker.results()

    assert list(drawn) == ["roc", "calibration", "importance"]
    for key, path in drawn.items():
        assert path.parent == tmp_path / "worker"
        assert path.read_bytes() == here[key].read_bytes(), key
    assert worker.alive
    assert worker.results() == {}


def test_close_ends_the_process_and_is_idempotent(worker: PlotWorker) -> None:
    process = worker._process
    assert process is not None
    worker.close()
    worker.close()
    assert process.returncode == 0
    assert not worker.alive


def test_a_dead_worker_costs_a_warning_not_the_plots(
    worker: PlotWorker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert worker._process is not None
    worker._process.kill()
    worker._process.wait()

    with caplog.at_level(logging.WARNING, logger="mlsys.evaluation._worker"):
        worker.submit(_jobs(tmp_path))
        drawn = worker.results()

    assert sorted(drawn) == ["calibration", "importance", "roc"]
    assert all(path.stat().st_size > 1000 for path in drawn.values())
    assert "Plot worker failed" in caplog.text
    assert not worker.alive


def test_a_worker_that_never_answers_times_out_and_the_plots_are_drawn_here(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    silent = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        bufsize=0,
    )
    worker = PlotWorker(silent, timeout=0.5)
    with caplog.at_level(logging.WARNING, logger="mlsys.evaluation._worker"):
        worker.submit(_jobs(tmp_path))  # fits in the pipe's buffer
        drawn = worker.results()
    assert sorted(drawn) == ["calibration", "importance", "roc"]
    assert "did not answer in time" in caplog.text
    assert silent.poll() is not None  # killed, not left behind
    worker.close()


def test_a_plot_the_data_cannot_support_raises_its_own_error(
    worker: PlotWorker, tmp_path: Path
) -> None:
    worker.submit([PlotJob("roc", "plot_roc", (np.zeros(10), np.linspace(0, 1, 10), tmp_path))])
    with pytest.raises(DataError, match="single class"):
        worker.results()
    assert worker.alive  # the worker itself is fine


def test_only_plot_functions_can_be_called() -> None:
    with pytest.raises(ValueError, match="not a plot function"):
        PlotJob("x", "prewarm")
    with pytest.raises(ValueError, match="not a plot function"):
        PlotJob("x", "__import__", ("os",))


def test_the_worker_imports_neither_scikit_learn_nor_pandas() -> None:
    """What makes it cheap: the plots and the intervals they show unpickle without either."""
    code = (
        "import pickle, sys\n"
        "from mlsys.evaluation import _plots, _worker\n"
        "pickle.loads(sys.stdin.buffer.read())\n"
        "heavy = sorted(m for m in ('sklearn', 'pandas', 'scipy') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    import pickle

    done = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps([PlotJob("roc", "plot_roc", (Y, P, "x.png"), {"interval": INTERVAL})]),
        capture_output=True,
        check=True,
    )
    assert done.stdout.decode().strip() == ""


def test_a_report_with_a_worker_equals_one_without(
    signal: Dataset, bundles: dict[str, ModelBundle], tmp_path: Path
) -> None:
    bundle = bundles["xgboost"]
    p = bundle.predict_proba(signal.frame)
    options = ReportOptions(bootstrap=20)

    def report(folder: str, worker: PlotWorker | None) -> Any:
        return write_evaluation_report(
            signal.target,
            p,
            0.3,
            tmp_path / folder,
            frame=signal.frame,
            bundle=bundle,
            options=options,
            plot_worker=worker,
        )

    alone = report("alone", None)
    with PlotWorker.start(timeout=60) as worker:
        helped = report("helped", worker)

    assert sorted(helped.files) == sorted(alone.files)
    assert list(helped.plots) == list(alone.plots)
    assert "feature_importance_png" in helped.files
    for key, path in alone.files.items():
        if path.suffix == ".png":
            assert helped.files[key].read_bytes() == path.read_bytes(), key


def _fake_worker(code: str, timeout: float = 10) -> PlotWorker:
    """A PlotWorker talking to a stand-in child that runs ``code``."""
    import tempfile

    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - the worker closes it
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        bufsize=0,
    )
    return PlotWorker(child, timeout=timeout, stderr=stderr)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("b'\\xff' * 8", "ValueError"),  # a size no answer has
        ("struct.pack('!Q', 5) + b'junk!'", "UnpicklingError"),
        ("struct.pack('!Q', len(p := pickle.dumps([1]))) + p", "TypeError"),
    ],
)
def test_garbage_from_the_worker_costs_a_warning_not_the_plots(
    answer: str, why: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    code = (
        "import pickle, struct, sys, time\n"
        f"sys.stdout.buffer.write({answer}); sys.stdout.buffer.flush(); time.sleep(30)\n"
    )
    worker = _fake_worker(code)
    with caplog.at_level(logging.WARNING, logger="mlsys.evaluation._worker"):
        worker.submit(_jobs(tmp_path))
        drawn = worker.results()
    assert sorted(drawn) == ["calibration", "importance", "roc"]
    assert why in caplog.text
    assert not worker.alive
    worker.close()


def test_the_warning_quotes_the_end_of_the_workers_stderr(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    worker = _fake_worker("import sys; sys.stderr.write('ImportError: no matplotlib'); sys.exit(3)")
    with caplog.at_level(logging.WARNING, logger="mlsys.evaluation._worker"):
        worker.submit(_jobs(tmp_path))
        drawn = worker.results()
    assert len(drawn) == 3
    assert "ImportError: no matplotlib" in caplog.text
    worker.close()


def test_unpicklable_arguments_are_drawn_here(
    worker: PlotWorker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Local:  # a local class cannot be pickled
        low, high = 0.7, 0.9

    job = PlotJob("roc", "plot_roc", (Y, P, tmp_path / "roc.png"), {"interval": Local()})
    with caplog.at_level(logging.WARNING, logger="mlsys.evaluation._worker"):
        worker.submit([job])
        drawn = worker.results()
    assert drawn["roc"].stat().st_size > 1000
    assert "sending plots failed" in caplog.text


def test_discarded_batches_never_answer_for_later_ones(worker: PlotWorker, tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    worker.submit(_jobs(tmp_path / "old"))
    worker.discard()  # the report that sent them failed half-way
    worker.submit(_jobs(tmp_path / "new")[:1])
    assert worker.results() == {"roc": tmp_path / "new" / "roc.png"}
    assert worker.alive


def test_a_report_that_fails_after_sending_plots_leaves_the_worker_clean(
    signal: Dataset,
    bundles: dict[str, ModelBundle],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlsys.evaluation import _explain

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("importance broke")

    bundle = bundles["xgboost"]
    p = bundle.predict_proba(signal.frame)
    with PlotWorker.start(timeout=60) as worker:
        with monkeypatch.context() as patch:
            patch.setattr(_explain, "feature_importance", broken)
            with pytest.raises(RuntimeError, match="importance broke"):  # after the plots left
                write_evaluation_report(
                    signal.target,
                    p,
                    0.3,
                    tmp_path / "failed",
                    frame=signal.frame,
                    bundle=bundle,
                    options=ReportOptions(bootstrap=0),
                    plot_worker=worker,
                )
        report = write_evaluation_report(
            signal.target[:40],
            p[:40],
            0.3,
            tmp_path / "next",
            options=ReportOptions(bootstrap=0, importance=False),
            plot_worker=worker,
        )
        assert worker.alive
    assert sorted(report.plots) == sorted(PLOT_NAMES)
    assert all(path.parent == tmp_path / "next" for path in report.plots.values())
