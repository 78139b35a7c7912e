"""The one stopwatch: parts in first-timed order, repeated parts add up, a failed part counts."""

from __future__ import annotations

import pytest

from mlsys import timing
from mlsys.timing import Stopwatch

pytestmark = pytest.mark.unit


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Readings ``time.perf_counter`` returns, in order."""
    readings: list[float] = []
    monkeypatch.setattr(timing.time, "perf_counter", lambda: readings.pop(0))
    return readings


def test_parts_keep_their_order_and_repeated_parts_add_up(clock: list[float]) -> None:
    clock.extend([0.0, 1.0, 1.0, 1.5, 10.0, 12.25])
    watch = Stopwatch()

    with watch("plots"):
        pass
    with watch("html"):
        pass
    with watch("plots"):
        pass

    assert watch.seconds == {"plots": 3.25, "html": 0.5}
    assert list(watch.seconds) == ["plots", "html"]


def test_a_part_that_raises_is_still_timed(clock: list[float]) -> None:
    clock.extend([5.0, 5.125])
    watch = Stopwatch()

    with pytest.raises(ZeroDivisionError), watch("metrics"):
        _ = 1 / 0

    assert watch.seconds == {"metrics": 0.125}
