"""Ranking the designs of a Pareto front for a decision, by a method the decision maker picks.

Every method ranks the rows of ``objectives`` (shape (n, m), in the objectives' own units) under
their ``directions`` ("minimize" / "maximize" per column); rows with a non-finite value are ranked
last. A :class:`Ranking` holds each row's score, which way the score is better, and the rows in
order, best first (ties keep the input order).

- ``knee``: the knee score of :func:`analysis.pareto.knee_scores` (distance from the hyperplane
  through the front's extremes, towards the ideal point; higher is better).
- ``pseudo_weights``: Deb's pseudo-weights, each objective's normalised distance from the front's
  worst value, ``w_j(f) = (nadir_j - f_j) / (nadir_j - ideal_j)`` (minimization form) divided by their
  sum; a row's score is the L1 distance of its pseudo-weights from the weights asked for (lower is
  better), the rule of pymoo's ``PseudoWeights``. An objective flat on the front gets pseudo-weight 0.
- ``asf``: the augmented achievement scalarizing function (Wierzbicki) against a reference point
  the user sets: ``max_j w_j (f_j - z_j) / s_j + rho * sum_j w_j (f_j - z_j) / s_j``, minimization form,
  ``s_j`` the front's range of objective j (1 where it is flat), ``rho = 1e-6``; lower is better.
  Weights default to equal.
- ``topsis``: TOPSIS (Hwang and Yoon) on the values as they are: vector normalisation per
  objective, weights, the ideal and anti-ideal solutions by direction (a maximized objective's
  ideal is its largest value), closeness ``d- / (d+ + d-)``; higher is better.

Pure numpy: no database, no drawing.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis import pareto
from analysis.directions import MAXIMIZE, validate_direction

METHODS = {
    "knee": "Knee point",
    "pseudo_weights": "Pseudo-weights",
    "asf": "Achievement scalarizing function (reference point)",
    "topsis": "TOPSIS (weights)",
}
ASF_RHO = 1e-6


@dataclass(frozen=True)
class Ranking:
    method: str
    scores: np.ndarray          # one per row, NaN for rows that cannot be ranked
    higher_is_better: bool
    order: np.ndarray           # row indices, best first; unrankable rows last

    @property
    def ranks(self) -> np.ndarray:
        """1 for the best row, 2 for the next...; as ``order`` says."""
        ranks = np.empty(len(self.order), dtype=np.int64)
        ranks[self.order] = np.arange(1, len(self.order) + 1)
        return ranks

    def top(self, k: int) -> np.ndarray:
        return self.order[:k]


def _as_objectives(objectives, directions: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    values = np.asarray(objectives, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] < 1:
        raise ValueError(f"objectives must be a 2-D array of shape (n, m), got shape {values.shape}")
    directions = list(directions)
    if len(directions) != values.shape[1]:
        raise ValueError(f"directions has {len(directions)} entries but objectives has {values.shape[1]} columns")
    for position, direction in enumerate(directions):
        validate_direction(direction, f"directions[{position}]")
    return values, directions


def _weights(weights, m: int, default_equal: bool = True) -> np.ndarray:
    if weights is None:
        if not default_equal:
            raise ValueError("weights: give one weight per objective")
        return np.full(m, 1.0 / m)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.size != m:
        raise ValueError(f"weights has {w.size} values for {m} objectives")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be finite, not negative, and not all zero; got {w.tolist()}")
    return w / w.sum()


def _order(scores: np.ndarray, higher_is_better: bool) -> np.ndarray:
    key = np.where(np.isfinite(scores), -scores if higher_is_better else scores, np.inf)
    return np.argsort(key, kind="stable")


def _front_range(points_min: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ideal, nadir and span (nadir - ideal) of the finite rows, in minimization form."""
    ideal = points_min[valid].min(axis=0)
    nadir = points_min[valid].max(axis=0)
    return ideal, nadir, nadir - ideal


def knee(objectives, directions: Sequence[str]) -> Ranking:
    values, directions = _as_objectives(objectives, directions)
    scores = np.full(len(values), np.nan)
    if pareto.finite_rows(values).any():
        scores = pareto.knee_scores(pareto.to_minimization(values, directions))
    return Ranking("knee", scores, True, _order(scores, True))


def pseudo_weight_matrix(objectives, directions: Sequence[str]) -> np.ndarray:
    """Each row's pseudo-weights (rows sum to 1; NaN rows for non-finite ones)."""
    values, directions = _as_objectives(objectives, directions)
    points = pareto.to_minimization(values, directions)
    valid = pareto.finite_rows(points)
    out = np.full(points.shape, np.nan)
    if not valid.any():
        return out
    _, nadir, span = _front_range(points, valid)
    distance = np.divide(nadir - points[valid], span, out=np.zeros_like(points[valid]), where=span > 0)
    total = distance.sum(axis=1, keepdims=True)
    # A row that is the worst in every objective has no distance to share: equal weights.
    out[valid] = np.divide(distance, total, out=np.full_like(distance, 1.0 / points.shape[1]), where=total > 0)
    return out


def pseudo_weights(objectives, directions: Sequence[str], weights) -> Ranking:
    values, directions = _as_objectives(objectives, directions)
    target = _weights(weights, values.shape[1], default_equal=False)
    scores = np.abs(pseudo_weight_matrix(values, directions) - target).sum(axis=1)
    return Ranking("pseudo_weights", scores, False, _order(scores, False))


def asf(objectives, directions: Sequence[str], reference, weights=None) -> Ranking:
    values, directions = _as_objectives(objectives, directions)
    m = values.shape[1]
    z = np.asarray(reference, dtype=np.float64).reshape(-1)
    if z.size != m or not np.all(np.isfinite(z)):
        raise ValueError(f"reference must be {m} finite values (one per objective), got {z.tolist()}")
    w = _weights(weights, m)
    points = pareto.to_minimization(values, directions)
    z_min = pareto.to_minimization(z[None, :], directions)[0]
    valid = pareto.finite_rows(points)
    scores = np.full(len(points), np.nan)
    if valid.any():
        _, _, span = _front_range(points, valid)
        scale = np.where(span > 0, span, 1.0)
        terms = w * (points[valid] - z_min) / scale
        scores[valid] = terms.max(axis=1) + ASF_RHO * terms.sum(axis=1)
    return Ranking("asf", scores, False, _order(scores, False))


def topsis(objectives, directions: Sequence[str], weights=None) -> Ranking:
    values, directions = _as_objectives(objectives, directions)
    w = _weights(weights, values.shape[1])
    valid = pareto.finite_rows(values)
    scores = np.full(len(values), np.nan)
    if valid.any():
        matrix = values[valid]
        norms = np.sqrt((matrix ** 2).sum(axis=0))
        weighted = w * np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
        maximize = np.array([d == MAXIMIZE for d in directions])
        ideal = np.where(maximize, weighted.max(axis=0), weighted.min(axis=0))
        anti = np.where(maximize, weighted.min(axis=0), weighted.max(axis=0))
        to_ideal = np.sqrt(((weighted - ideal) ** 2).sum(axis=1))
        to_anti = np.sqrt(((weighted - anti) ** 2).sum(axis=1))
        total = to_ideal + to_anti
        # every row the same: all are as close as can be
        scores[valid] = np.divide(to_anti, total, out=np.full_like(total, 0.5), where=total > 0)
    return Ranking("topsis", scores, True, _order(scores, True))


def rank(method: str, objectives, directions: Sequence[str], *, weights=None, reference=None) -> Ranking:
    """Rank by ``method`` (a key of ``METHODS``) with the settings it takes: ``weights`` for
    pseudo-weights (required), TOPSIS and ASF (default equal); ``reference`` for ASF (required)."""
    if method == "knee":
        return knee(objectives, directions)
    if method == "pseudo_weights":
        return pseudo_weights(objectives, directions, weights)
    if method == "asf":
        if reference is None:
            raise ValueError("asf needs a reference point (one value per objective)")
        return asf(objectives, directions, reference, weights)
    if method == "topsis":
        return topsis(objectives, directions, weights)
    raise ValueError(f"method={method!r}: one of {', '.join(METHODS)}")
