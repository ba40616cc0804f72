"""Distribution and tail-risk statistics of Monte Carlo outcomes."""

import numpy as np

from analysis.directions import MINIMIZE, validate_direction

RISK_LEVEL_PERCENT = 95
MIN_RISK_SAMPLES = 2  # a sample standard deviation (ddof=1) needs two values


class InsufficientSamplesError(ValueError):
    """Too few usable (finite) samples for the requested statistic.

    ``available`` and ``required`` hold the two counts the message states.
    """

    def __init__(self, purpose: str, available: int, required: int):
        self.purpose = purpose
        self.available = available
        self.required = required
        super().__init__(
            f"{purpose} needs at least {required} finite samples, "
            f"got {available}"
        )


def risk_summary(values, direction: str) -> dict:
    """Summary statistics and 95 % tail risk of the finite entries of ``values``.

    ``values`` is flattened; NaN and +-inf entries are excluded and counted in
    ``excluded_count``; ``sample_count`` is the number of finite values used.

    Keys: ``mean_value, median_value, std_dev`` (sample standard deviation,
    ddof=1), ``percentile_5/25/50/75/95`` (numpy's default linear
    interpolation), ``var_95, cvar_95, sample_count, excluded_count``.

    The risk tail is the bad 5 % of outcomes, so it depends on ``direction``:

    * ``"minimize"`` (a cost): ``var_95`` is the 95th percentile and
      ``cvar_95`` the mean of the values >= ``var_95``;
    * ``"maximize"`` (a gain): ``var_95`` is the 5th percentile and
      ``cvar_95`` the mean of the values <= ``var_95``.

    Raises ValueError for an invalid direction and InsufficientSamplesError
    with fewer than two finite values.
    """
    direction = validate_direction(direction)
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    finite = np.isfinite(array)
    sample = array[finite]
    if sample.size < MIN_RISK_SAMPLES:
        raise InsufficientSamplesError("risk_summary", int(sample.size), MIN_RISK_SAMPLES)

    p5, p25, p50, p75, p95 = np.percentile(sample, [5, 25, 50, 75, 95])
    if direction == MINIMIZE:
        var_95 = p95
        tail = sample[sample >= var_95]
    else:
        var_95 = p5
        tail = sample[sample <= var_95]
    return {
        "mean_value": float(np.mean(sample)),
        "median_value": float(np.median(sample)),
        "std_dev": float(np.std(sample, ddof=1)),
        "percentile_5": float(p5),
        "percentile_25": float(p25),
        "percentile_50": float(p50),
        "percentile_75": float(p75),
        "percentile_95": float(p95),
        "var_95": float(var_95),
        "cvar_95": float(np.mean(tail)),
        "sample_count": int(sample.size),
        "excluded_count": int(array.size - sample.size),
    }
