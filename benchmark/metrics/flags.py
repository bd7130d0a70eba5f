"""When a bootstrap interval cannot be trusted: ``interval_flag``, the rules of ``benchmark.metrics.aggregate``'s
module docstring (too few identities, a zero-width interval, too many resamples without weight)."""

from __future__ import annotations

import math
from collections.abc import Sequence

MIN_IDENTITIES = 10
"""Fewer identities than this on the smaller side of a bootstrap flag its interval (``interval_flag``)."""

MAX_IMPOSTER_SHARE = 0.4
"""A 1:N interval with first-order weights is flagged when a trial's N − 1 imposters are more than this share of the
other identities it is drawn against (``benchmark.metrics.aggregate.summarize``): an identity that is an imposter in
most trials moves them all together when resampled, so its effect is lost. Measured in
``benchmarks/bootstrap_coverage.py`` (N = 10, one pool, 400 simulated data sets per row; benchmarks/README.md, "Coverage
of the 1:N intervals"): coverage 0.980, 0.948, 0.927, 0.785 and 0.613 at shares 0.15, 0.31, 0.43, 0.64 and 0.82
(Monte-Carlo SE 0.007-0.024). The threshold lies between 0.31 (0.948, within one SE of 0.95) and 0.43 (0.927,
1.8 SE below); above that coverage falls fast."""


def interval_flag(value: float, ci: Sequence[float], n_identities: int, n_boot: int, level: float,
                  dropped: int = 0) -> str | None:
    """Why an interval cannot be trusted, or None (rules in the module docstring).

    Args:
        value: the point estimate.
        ci: (low, high); equal up to float rounding (relative 1e-9) counts as zero width.
        n_identities: identities on the smaller side (speakers; for two-way bootstraps, the fewer of the distinct
            speakers and distinct imposters).
        n_boot: replicates drawn.
        level: confidence level in (0, 1).
        dropped: replicates with no positive total weight.

    Returns:
        The reasons joined by ``"; "``, or None.
    """
    reasons = []
    if n_identities < MIN_IDENTITIES:
        reasons.append(f"only {n_identities} {'identity' if n_identities == 1 else 'identities'} "
                       f"(< {MIN_IDENTITIES}): a bootstrap over so few identities understates the spread")
    zero_width = math.isclose(ci[0], ci[1], rel_tol=1e-9, abs_tol=1e-12)  # equal up to float rounding
    if zero_width and value in (0.0, 1.0):
        reasons.append(f"value {value:g} with a zero-width interval: every resample agrees, so the interval shows "
                       "no uncertainty")
    elif zero_width:
        reasons.append("zero-width interval: no resample moved the mean (every value equal, or every trial involves "
                       "every identity), so the interval shows no uncertainty")
    tail = (1.0 - level) / 2.0
    if dropped > tail * n_boot:
        reasons.append(f"{dropped} of {n_boot} resamples gave the trials no positive total weight (too few "
                       f"identities drawn together), more than the {tail:.1%} tail: they set the endpoints, counted "
                       "at the extremes")
    return "; ".join(reasons) or None
