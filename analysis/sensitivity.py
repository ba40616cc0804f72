"""Which inputs drive an output: correlations, Sobol' indices and importance ranks.

Inputs are a float array ``X`` of shape (n, d) (one column per parameter) and
an output ``y`` of length n. Rows whose output is NaN or +-inf are excluded,
and each result reports how many rows were excluded.
"""

from dataclasses import dataclass

import numpy as np
from SALib.analyze import rbd_fast
from SALib.analyze import sobol as sobol_analysis
from SALib.util import extract_group_names
from scipy import stats

from analysis.uncertainty import InsufficientSamplesError

MIN_CORRELATION_SAMPLES = 3  # with two points every correlation is +-1
RBD_FAST_HARMONICS = 10  # SALib's default M: harmonics summed per input
MIN_SALTELLI_BASE_SAMPLES = 2  # the bootstrap confidence needs a spread


def _min_rbd_fast_samples(harmonics: int) -> int:
    """Fewest samples RBD-FAST can use with ``harmonics`` harmonics.

    The bias correction divides by 1 - 2M/N, and SALib's bootstrap works on
    half-size resamples, so N/2 must exceed 2M.
    """
    return 4 * harmonics + 2


@dataclass(frozen=True)
class Correlations:
    """Pearson and Spearman correlation of every input with the output.

    Unpacks as ``pearson, spearman = correlations(X, y)``. ``sample_counts[i]``
    is the number of rows used for input i (finite output and finite input i).
    """

    pearson: np.ndarray
    spearman: np.ndarray
    sample_counts: np.ndarray

    def __iter__(self):
        return iter((self.pearson, self.spearman))


@dataclass(frozen=True)
class FirstOrderIndices:
    """First-order Sobol' indices estimated from given data.

    Unpacks as ``S1, S1_conf = first_order_indices(X, y)``; ``sample_count``
    rows were used and ``excluded_count`` rows dropped for a non-finite value.
    """

    S1: np.ndarray
    S1_conf: np.ndarray
    sample_count: int
    excluded_count: int

    def __iter__(self):
        return iter((self.S1, self.S1_conf))


def _inputs_and_output(X, y):
    """Validate shapes: X as float (n, d) with d >= 1, y as float (n,)."""
    inputs = np.asarray(X, dtype=np.float64)
    output = np.asarray(y, dtype=np.float64)
    if inputs.ndim != 2 or inputs.shape[1] < 1:
        raise ValueError(f"X must be a 2-D array (n, d) with d >= 1, got shape {inputs.shape}")
    if output.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {output.shape}")
    if inputs.shape[0] != output.size:
        raise ValueError(f"X has {inputs.shape[0]} rows but y has {output.size} values")
    return inputs, output


def correlations(X, y) -> Correlations:
    """Pearson (linear) and Spearman (rank) correlation of each column of X with y.

    For input i only rows where y and ``X[:, i]`` are both finite are used.
    An input with fewer than 3 such rows, or constant over them (or a constant
    output), gets NaN. Raises InsufficientSamplesError when y has fewer than 3
    finite values.
    """
    inputs, output = _inputs_and_output(X, y)
    finite_output = np.isfinite(output)
    if np.count_nonzero(finite_output) < MIN_CORRELATION_SAMPLES:
        raise InsufficientSamplesError(
            "correlations", int(np.count_nonzero(finite_output)), MIN_CORRELATION_SAMPLES
        )
    d = inputs.shape[1]
    pearson = np.full(d, np.nan)
    spearman = np.full(d, np.nan)
    sample_counts = np.zeros(d, dtype=np.int64)
    for column in range(d):
        used = finite_output & np.isfinite(inputs[:, column])
        x_used = inputs[used, column]
        y_used = output[used]
        sample_counts[column] = x_used.size
        # scipy warns and returns NaN for constant input; decide that here, quietly.
        if x_used.size < MIN_CORRELATION_SAMPLES or np.ptp(x_used) == 0 or np.ptp(y_used) == 0:
            continue
        pearson[column] = stats.pearsonr(x_used, y_used).statistic
        spearman[column] = stats.spearmanr(x_used, y_used).statistic
    return Correlations(pearson, spearman, sample_counts)


def _problem(d: int, bounds) -> dict:
    """SALib problem definition for d inputs named x0..x{d-1}."""
    if bounds is None:
        bounds_list = [[0.0, 1.0]] * d  # unused by RBD-FAST, required by the dict
    else:
        bounds_array = np.asarray(bounds, dtype=np.float64)
        if bounds_array.shape != (d, 2) or not np.all(bounds_array[:, 0] < bounds_array[:, 1]):
            raise ValueError(
                f"bounds must be {d} (low, high) pairs with low < high, got {bounds!r}"
            )
        bounds_list = bounds_array.tolist()
    return {"num_vars": d, "names": [f"x{i}" for i in range(d)], "bounds": bounds_list}


def first_order_indices(
    X, y, bounds=None, *, harmonics: int = RBD_FAST_HARMONICS, num_resamples: int = 100, seed: int = 0
) -> FirstOrderIndices:
    """First-order Sobol' indices S1 from given data (any sample, no special design).

    Uses RBD-FAST as in EASI (Plischke 2010) with Tissot & Prieur's (2012) bias
    correction, via ``SALib.analyze.rbd_fast``: for each input the output is
    reordered by that input and the share of its variance in the lowest
    ``harmonics`` frequencies estimates S1. ``S1_conf`` is the half-width of a
    95 % bootstrap interval (``num_resamples`` half-size resamples, ``seed``).

    Rows where y or any input is non-finite are excluded. The method works on
    the ranks of each input, so ``bounds`` (d (low, high) pairs) do not change
    the result; they are only validated and passed on in the SALib problem.
    If y is constant over the used rows the indices are undefined: NaN.

    Raises InsufficientSamplesError with fewer than ``4 * harmonics + 2``
    usable rows (42 by default).
    """
    inputs, output = _inputs_and_output(X, y)
    problem = _problem(inputs.shape[1], bounds)
    used = np.isfinite(output) & np.all(np.isfinite(inputs), axis=1)
    sample_count = int(np.count_nonzero(used))
    excluded_count = int(output.size - sample_count)
    required = _min_rbd_fast_samples(harmonics)
    if sample_count < required:
        raise InsufficientSamplesError("first_order_indices (RBD-FAST)", sample_count, required)
    inputs, output = inputs[used], output[used]
    d = inputs.shape[1]
    if np.ptp(output) == 0:
        nan = np.full(d, np.nan)
        return FirstOrderIndices(nan, nan.copy(), sample_count, excluded_count)

    # RBD-FAST rather than SALib's delta.analyze(method="sobol"): in our
    # Ishigami checks it was as accurate or better, its S1 estimate is
    # deterministic (delta resamples the point estimate using the global
    # numpy RNG) and it is faster; delta also changes global warning filters.
    result = rbd_fast.analyze(
        problem, inputs, output, M=harmonics, num_resamples=num_resamples, seed=seed
    )
    return FirstOrderIndices(
        np.asarray(result["S1"], dtype=np.float64),
        np.asarray(result["S1_conf"], dtype=np.float64),
        sample_count,
        excluded_count,
    )


def total_order_indices(
    X_saltelli, y, problem: dict, calc_second_order: bool, *, num_resamples: int = 100, seed: int = 0
) -> dict:
    """First- and total-order Sobol' indices from a Saltelli design.

    ``X_saltelli`` is the design of ``SALib.sample.sobol.sample(problem, N,
    calc_second_order=...)`` and ``y`` the model output on its rows; the same
    ``calc_second_order`` must be given here. Estimation by
    ``SALib.analyze.sobol`` (Saltelli 2010 / Jansen estimators), with 95 %
    bootstrap confidence half-widths from ``num_resamples`` resamples.

    The design comes in blocks of D + 2 rows (2D + 2 with second order) per
    base sample, D being the number of inputs (or groups); every estimator
    needs a whole block, so a block with any non-finite output is dropped.

    Returns a dict of float arrays ``S1, S1_conf, ST, ST_conf`` (length D),
    plus ``S2, S2_conf`` (D x D, upper triangle) when ``calc_second_order``,
    and the ints ``excluded_count`` (rows with non-finite output),
    ``dropped_base_samples`` and ``base_samples_used``. A constant output
    gives NaN indices. Raises ValueError when the shapes do not match the
    design and InsufficientSamplesError with fewer than 2 complete blocks.
    """
    inputs, output = _inputs_and_output(X_saltelli, y)
    if inputs.shape[1] != problem["num_vars"]:
        raise ValueError(
            f"X_saltelli has {inputs.shape[1]} columns but problem has "
            f"{problem['num_vars']} variables"
        )
    _, d = extract_group_names(problem)
    block = 2 * d + 2 if calc_second_order else d + 2
    if output.size % block != 0:
        raise ValueError(
            f"y has {output.size} values, not a multiple of {block}: not a Saltelli "
            f"design with calc_second_order={calc_second_order}"
        )
    complete = np.all(np.isfinite(output.reshape(-1, block)), axis=1)
    base_samples_used = int(np.count_nonzero(complete))
    if base_samples_used < MIN_SALTELLI_BASE_SAMPLES:
        raise InsufficientSamplesError(
            "total_order_indices (Saltelli blocks with finite output)",
            base_samples_used,
            MIN_SALTELLI_BASE_SAMPLES,
        )
    kept = output.reshape(-1, block)[complete].reshape(-1)
    extra = {
        "excluded_count": int(np.count_nonzero(~np.isfinite(output))),
        "dropped_base_samples": int(complete.size - base_samples_used),
        "base_samples_used": base_samples_used,
    }
    if np.ptp(kept) == 0:
        nan = np.full(d, np.nan)
        result = {"S1": nan, "S1_conf": nan.copy(), "ST": nan.copy(), "ST_conf": nan.copy()}
        if calc_second_order:
            result["S2"] = np.full((d, d), np.nan)
            result["S2_conf"] = np.full((d, d), np.nan)
        return result | extra

    # SALib seeds only when `seed` is truthy, so pass a Generator to make 0 work.
    analysis = sobol_analysis.analyze(
        problem,
        kept,
        calc_second_order=calc_second_order,
        num_resamples=num_resamples,
        seed=np.random.default_rng(seed),
    )
    keys = ["S1", "S1_conf", "ST", "ST_conf"]
    if calc_second_order:
        keys += ["S2", "S2_conf"]
    return {key: np.asarray(analysis[key], dtype=np.float64) for key in keys} | extra


def importance_ranks(total=None, first=None) -> np.ndarray:
    """Importance rank of every input: 1 = most important.

    Ranks by the total-order indices when given (not None and not all
    non-finite), else by the first-order indices. Larger index = more
    important; equal indices share the smaller rank (1, 2, 2, 4);
    non-finite indices rank last. Raises ValueError when neither is usable.
    """
    for candidate in (total, first):
        if candidate is None:
            continue
        values = np.asarray(candidate, dtype=np.float64).reshape(-1)
        if np.any(np.isfinite(values)):
            key = np.where(np.isfinite(values), values, -np.inf)
            return stats.rankdata(-key, method="min").astype(np.int64)
    raise ValueError("importance_ranks needs total or first indices with a finite value")
