"""Per-generation convergence statistics of an optimization run."""

import numpy as np
import pandas as pd

from analysis.directions import MINIMIZE, validate_direction

CONVERGENCE_COLUMNS = (
    "generation_number",
    "best_fitness",
    "average_fitness",
    "worst_fitness",
    "fitness_std_dev",
    "best_so_far",
    "stagnation_count",
    "evaluations_in_generation",
    "population_diversity",
    "nonfinite_count",
)


def _group_extremes(group: np.ndarray, values: np.ndarray, n_groups: int):
    """Per-group minimum and maximum of ``values``; NaN for groups without values."""
    minimum = np.full(n_groups, np.inf)
    maximum = np.full(n_groups, -np.inf)
    np.minimum.at(minimum, group, values)
    np.maximum.at(maximum, group, values)
    empty = np.bincount(group, minlength=n_groups) == 0
    minimum[empty] = np.nan
    maximum[empty] = np.nan
    return minimum, maximum


def _population_diversity(parameters, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean distance of each generation's scaled parameter vectors to their centroid.

    Only rows whose parameter vector is entirely finite take part. Each
    parameter is divided by its range over all those rows (every generation),
    so parameters of different units weigh alike; a zero range contributes 0.
    """
    matrix = np.asarray(parameters, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2 or matrix.shape[0] != group.size:
        raise ValueError(
            f"parameters must have shape ({group.size}, p), got {matrix.shape}"
        )
    usable = np.all(np.isfinite(matrix), axis=1)
    diversity = np.full(n_groups, np.nan)
    if not np.any(usable):
        return diversity
    matrix = matrix[usable]
    group = group[usable]
    low = matrix.min(axis=0)
    span = matrix.max(axis=0) - low
    scaled = np.divide(matrix - low, span, out=np.zeros_like(matrix), where=span > 0)
    rows = np.bincount(group, minlength=n_groups)
    centroid = np.empty((n_groups, scaled.shape[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        for column in range(scaled.shape[1]):
            centroid[:, column] = (
                np.bincount(group, weights=scaled[:, column], minlength=n_groups) / rows
            )
        distance = np.linalg.norm(scaled - centroid[group], axis=1)
        diversity = np.bincount(group, weights=distance, minlength=n_groups) / rows
    diversity[rows == 0] = np.nan
    return diversity


def convergence_history(generations, fitness, direction: str, parameters=None) -> pd.DataFrame:
    """One row of convergence statistics per distinct generation, in increasing order.

    ``generations`` and ``fitness`` are 1-D of equal length n (one entry per
    evaluation); ``parameters``, if given, has shape (n, p) (or (n,) for p = 1).
    Columns, in this order:

    * ``generation_number``: the distinct generation values.
    * ``best_fitness``, ``average_fitness``, ``worst_fitness``: min / mean /
      max of the generation's finite fitness values, best and worst following
      ``direction`` ("minimize": best = min; "maximize": best = max).
    * ``fitness_std_dev``: population standard deviation (ddof=0) of those values.
    * ``best_so_far``: best finite fitness over this and all earlier generations.
    * ``stagnation_count``: generations since ``best_so_far`` last strictly
      improved — 0 in the generation where it improved (and in the first
      generation with a finite value), then 1, 2, ... Counted in distinct
      generations present, not in generation-number differences. Nullable
      integer (pandas ``Int64``): <NA> before the first finite value.
    * ``evaluations_in_generation``: all rows of the generation.
    * ``population_diversity``: mean Euclidean distance of the generation's
      parameter vectors to their centroid, after dividing each parameter by
      its range (max - min) over all rows given, so it is unitless and lies in
      [0, sqrt(p)]; a parameter with zero range contributes 0. Rows with a
      non-finite parameter are left out. NaN when ``parameters`` is None or the
      generation has no row with all-finite parameters.
    * ``nonfinite_count``: rows whose fitness is NaN or +-inf.

    A generation whose fitness values are all non-finite has NaN statistics.
    Raises ValueError naming the argument on length mismatch, non-finite
    generation numbers or an invalid direction.
    """
    direction = validate_direction(direction)
    generation_values = np.asarray(generations)
    fitness_values = np.asarray(fitness, dtype=np.float64)
    if generation_values.ndim != 1:
        raise ValueError(f"generations must be 1-D, got shape {generation_values.shape}")
    if fitness_values.shape != generation_values.shape:
        raise ValueError(
            f"fitness has shape {fitness_values.shape} but generations has "
            f"shape {generation_values.shape}"
        )
    if generation_values.dtype.kind == "f" and not np.all(np.isfinite(generation_values)):
        raise ValueError("generations must be finite numbers")

    distinct, group, evaluations = np.unique(
        generation_values, return_inverse=True, return_counts=True
    )
    group = group.reshape(-1)
    n_groups = distinct.size
    finite = np.isfinite(fitness_values)
    finite_group = group[finite]
    finite_fitness = fitness_values[finite]

    finite_count = np.bincount(finite_group, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(finite_group, weights=finite_fitness, minlength=n_groups) / finite_count
        # Two-pass variance: stable when the mean is large relative to the spread.
        squared_deviation = (finite_fitness - mean[finite_group]) ** 2
        std = np.sqrt(
            np.bincount(finite_group, weights=squared_deviation, minlength=n_groups)
            / finite_count
        )
    minimum, maximum = _group_extremes(finite_group, finite_fitness, n_groups)
    if direction == MINIMIZE:
        best, worst = minimum, maximum
        best_so_far = np.fmin.accumulate(best)  # fmin skips NaN generations
    else:
        best, worst = maximum, minimum
        best_so_far = np.fmax.accumulate(best)

    # An improvement is a strictly better best-so-far, or the first finite one.
    previous = np.concatenate(([np.nan], best_so_far))[:-1]
    has_best = ~np.isnan(best_so_far)
    if direction == MINIMIZE:
        strictly_better = best_so_far < previous
    else:
        strictly_better = best_so_far > previous
    improved = has_best & (np.isnan(previous) | strictly_better)
    index = np.arange(n_groups)
    last_improvement = np.maximum.accumulate(np.where(improved, index, -1))
    stagnation = pd.arrays.IntegerArray(
        (index - last_improvement).astype(np.int64), mask=last_improvement < 0
    )

    if parameters is None:
        diversity = np.full(n_groups, np.nan)
    else:
        diversity = _population_diversity(parameters, group, n_groups)

    return pd.DataFrame(
        {
            "generation_number": distinct,
            "best_fitness": best,
            "average_fitness": mean,
            "worst_fitness": worst,
            "fitness_std_dev": std,
            "best_so_far": best_so_far,
            "stagnation_count": stagnation,
            "evaluations_in_generation": evaluations.astype(np.int64),
            "population_diversity": diversity,
            "nonfinite_count": (evaluations - finite_count).astype(np.int64),
        },
        columns=list(CONVERGENCE_COLUMNS),
    )
