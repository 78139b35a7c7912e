"""The population stability index (PSI) between training shares and observed counts."""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np

__all__ = ["NOISE_P", "PSI_EPSILON", "population_stability_index", "psi_noise_floor"]

PSI_EPSILON: Final = 1e-4
"""Floor of a bin's share on either side (0.01 % of rows).

An empty bin would make the logarithm infinite: a level never seen in training, a value beyond
the training range. Flooring both shares keeps the index finite and still large for real mass
in such a bin: 5 % of rows at an unseen level alone adds ``0.05 * ln(0.05 / 1e-4) = 0.31``, a
major shift, while one stray row in 10,000 adds nothing (its share is the floor itself).
"""


NOISE_P: Final = 1e-4
"""Chance that a sample drawn from the training distribution itself reaches the noise floor."""


def psi_noise_floor(
    degrees_of_freedom: int, rows: int, reference_rows: int, *, p: float = NOISE_P
) -> float:
    """The PSI that ``rows`` rows from the training distribution reach only with chance ``p``.

    For small differences the index is Pearson's chi-square statistic over the sample size,
    ``PSI ~ X2 / rows``, and ``X2`` follows a chi-square distribution with one degree of freedom
    fewer than the bins the training rows fill. The training shares are themselves estimated
    from ``reference_rows`` rows, which adds their own noise. So a PSI above
    ``chi2.isf(p, dof) * (1 / rows + 1 / reference_rows)`` is drift with confidence ``1 - p``:
    a few hundred rows need a large index, a window of 10,000 a small one. The thresholds of a
    report are never below this floor.

    Example:
        >>> round(psi_noise_floor(1, 1_000, 11_000), 4)
        0.0165
        >>> psi_noise_floor(1, 0, 11_000)
        inf
    """
    if degrees_of_freedom < 1:
        return 0.0
    if rows <= 0 or reference_rows <= 0:
        return math.inf
    from scipy.stats import chi2

    quantile = float(chi2.isf(p, degrees_of_freedom))
    return quantile * (1 / rows + 1 / reference_rows)


def population_stability_index(
    expected_shares: Any, actual_counts: Any, *, epsilon: float = PSI_EPSILON
) -> float:
    """``sum((a - e) * ln(a / e))`` over bins, with ``a`` the observed and ``e`` the expected share.

    Each term is non-negative, so the index is 0 exactly when the shares agree, and it is
    symmetric in the two distributions (it is the Jeffreys divergence of the binned shares).
    Conventional reading: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a major
    one; mlsys's alert thresholds are calibrated in docs/MONITORING.md.

    Args:
        expected_shares: Training share per bin (normalised here, so counts work too).
        actual_counts: Observed rows per bin.
        epsilon: Floor of either share (:data:`PSI_EPSILON`), so empty bins stay finite.

    Returns:
        The index, or NaN when nothing was observed (or nothing expected).

    Raises:
        ValueError: Shapes differ, or a count or share is negative or not finite.

    Example:
        >>> round(population_stability_index([0.5, 0.5], [60, 40]), 4)
        0.0405
        >>> population_stability_index([0.5, 0.5, 0.0], [50, 50, 0])
        0.0
    """
    expected = np.asarray(expected_shares, dtype=np.float64)
    actual = np.asarray(actual_counts, dtype=np.float64)
    if expected.shape != actual.shape or expected.ndim != 1:
        raise ValueError(
            f"expected shares {expected.shape} and actual counts {actual.shape} must be 1-D "
            "arrays of the same length (one value per bin)"
        )
    for name, values in (("expected shares", expected), ("actual counts", actual)):
        if not np.isfinite(values).all() or (values < 0).any():
            raise ValueError(f"{name} must be finite and non-negative (got {values.tolist()})")
    total_expected, total_actual = expected.sum(), actual.sum()
    if total_expected <= 0 or total_actual <= 0:
        return float("nan")
    e = np.maximum(expected / total_expected, epsilon)
    a = np.maximum(actual / total_actual, epsilon)
    return float(np.sum((a - e) * np.log(a / e)))
