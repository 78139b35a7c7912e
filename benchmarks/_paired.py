"""The shared harness of every comparison in benchmarks/: paired runs, verdicts, pages.

Every comparison runs its two sides alternately (A, B, then B, A, ...) so both see the same
machine load, and reports the median of the per-pair ratios with their range. A target is
"met" only when the median clears it; when the range crosses the target the verdict says so.

Every page starts with a generated header: the commit measured (and whether the tree was
dirty), the date, the machine and the exact command that re-runs it. Scripts import this
module as ``_paired`` (it sits beside them, so ``python benchmarks/x.py`` finds it).

    from _paired import Target, alternate, paired, verdict
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from mlsys.files import write_text

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks"

A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class Target:
    """A ratio's target: ``ratio >= value`` (``at_least``) or ``ratio <= value``."""

    value: float
    at_least: bool = True
    unit: str = "x"

    def clears(self, ratio: float) -> bool:
        """Whether ``ratio`` meets the target."""
        return ratio >= self.value if self.at_least else ratio <= self.value

    def __str__(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.value:g}{self.unit}"


@dataclass(frozen=True)
class Paired:
    """Per-pair ratios B / A (or whatever the caller divided), their median and range."""

    ratios: tuple[float, ...]

    @property
    def median(self) -> float:
        """Median paired ratio."""
        return float(statistics.median(self.ratios))

    @property
    def low(self) -> float:
        """Smallest paired ratio."""
        return min(self.ratios)

    @property
    def high(self) -> float:
        """Largest paired ratio."""
        return max(self.ratios)

    def __str__(self) -> str:
        return f"{self.median:.2f}x ({self.low:.2f}-{self.high:.2f}, n={len(self.ratios)})"


def alternate(
    run_a: Callable[[int], A], run_b: Callable[[int], B], repeats: int, label: str = ""
) -> list[tuple[A, B]]:
    """Run A and B ``repeats`` times each, alternating which goes first; one pair per repeat."""
    pairs: list[tuple[A, B]] = []
    for i in range(repeats):
        if i % 2 == 0:
            a = run_a(i)
            b = run_b(i)
        else:
            b = run_b(i)
            a = run_a(i)
        pairs.append((a, b))
        print(f"{label} pair {i + 1}/{repeats}: {a} | {b}", flush=True)
    return pairs


def rounds(runners: dict[str, Callable[[int], A]], repeats: int) -> dict[str, list[A]]:
    """Run every runner once per round, the order reversed every other round; results by name.

    The many-sided form of ``alternate``: round ``i`` of each runner pairs with round ``i`` of
    every other (``paired(list(zip(out["a"], out["b"])), ...)``).
    """
    out: dict[str, list[A]] = {name: [] for name in runners}
    names = list(runners)
    for i in range(repeats):
        for name in names if i % 2 == 0 else reversed(names):
            out[name].append(runners[name](i))
            print(f"round {i + 1}/{repeats} {name}: {out[name][-1]}", flush=True)
    return out


def paired(pairs: Sequence[tuple[A, B]], ratio: Callable[[A, B], float]) -> Paired:
    """The per-pair ratios ``ratio(a, b)`` of ``pairs``."""
    return Paired(tuple(float(ratio(a, b)) for a, b in pairs))


def verdict(result: Paired, target: Target) -> str:
    """ "met" only when the median clears the target; says when the range crosses it."""
    crosses = target.clears(result.low) != target.clears(result.high)
    if target.clears(result.median):
        return "met (median), range crosses the target" if crosses else "met"
    return "not met (median), range crosses the target" if crosses else "not met"


def ratio_row(label: str, result: Paired, target: Target | None, unit: str = "x") -> str:
    """One markdown table row: label, median, range, target, verdict."""
    goal, said = (str(target), f"**{verdict(result, target)}**") if target else ("", "")
    return (
        f"| {label} | {result.median:.2f}{unit} | {result.low:.2f} to {result.high:.2f}{unit} "
        f"| {len(result.ratios)} | {goal} | {said} |"
    )


RATIO_HEADER = [
    "| ratio | median | range (min-max) | pairs | target | verdict |",
    "|---|---|---|---|---|---|",
]


@dataclass(frozen=True)
class Process:
    """One child process run to the end."""

    seconds: float
    peak_mb: float
    stdout: str

    def __str__(self) -> str:
        return f"{self.seconds:.2f} s, {self.peak_mb:,.0f} MB"


def run_process(
    command: Sequence[str], env: dict[str, str] | None = None, cwd: Path = ROOT
) -> Process:
    """Run ``command``: wall seconds, the child's own peak RSS (``os.wait4``), its stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(list(command), cwd=cwd, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        shown = " ".join(command[:5])
        raise SystemExit(f"{shown} ... failed ({child.returncode}):\n{stderr[-3000:]}")
    # Linux reports ru_maxrss in KiB.
    return Process(seconds, usage.ru_maxrss / 1024, stdout)


def add_arguments(parser: argparse.ArgumentParser, repeats: int | None = 5) -> None:
    """The options every script shares: --repeats (unless None), --smoke, --write."""
    if repeats is not None:
        parser.add_argument("--repeats", type=int, default=repeats, help="pairs per comparison")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny inputs, seconds; writes the page to a temporary directory (never docs/)",
    )
    parser.add_argument("--write", action="store_true", help="rewrite the page in docs/benchmarks")


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> Any:
    """Parse, refusing ``--smoke --write`` (a smoke run never writes docs/)."""
    args = parser.parse_args(argv)
    if getattr(args, "smoke", False) and getattr(args, "write", False):
        parser.error("--smoke never writes docs/benchmarks: drop --write")
    return args


def commit() -> str:
    """``git rev-parse --short HEAD``, with ``-dirty`` when the tree has uncommitted changes."""

    def git(*cmd: str) -> str:
        done = subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{sha}-dirty" if git("status", "--porcelain", "--untracked-files=no") else sha


def _script() -> str:
    script = Path(sys.argv[0]).resolve()
    return str(script.relative_to(ROOT) if script.is_relative_to(ROOT) else script)


def rerun_command(argv: Sequence[str] | None = None) -> str:
    """The command that re-runs this script with the same options (``--smoke`` dropped)."""
    args = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--smoke"]
    return shlex.join(["uv", "run", "python", _script(), *args])


def header(title: str, argv: Sequence[str] | None = None) -> str:
    """The generated first lines of every page."""
    return "\n".join(
        [
            f"# {title}",
            "",
            f"<!-- Generated by {_script()}; do not edit by hand. -->",
            "",
            f"- Commit: `{commit()}`",
            f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- Machine: {os.cpu_count()} cores, {platform.machine()}, "
            f"Python {platform.python_version()} ({platform.system()})",
            f"- Re-run: `{rerun_command(argv)}`",
            "",
        ]
    )


def write_page(args: Any, name: str, title: str, body: str) -> Path | None:
    """Write header + body to docs/benchmarks/NAME (--write) or a temporary dir (--smoke)."""
    if getattr(args, "write", False):
        target = DOCS / name
    elif getattr(args, "smoke", False):
        target = Path(tempfile.mkdtemp(prefix="mlsys-bench-smoke-")) / name
    else:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text(target, header(title) + "\n" + body.rstrip() + "\n")
    print(f"wrote {target}", flush=True)
    return target
