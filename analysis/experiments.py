"""Algorithms compared across repeated seeds: statistics, convergence bands and attainment surfaces.

An experiment is several studies of one problem, grouped by a label (``algorithm``, say), each group
holding one study per seed. What is compared per study is one number, the *measure*: the final
hypervolume on one reference point common to the whole experiment (multi-objective; larger is
better), or the best fitness (single objective; better by its direction).

- Per group: n, median and inter-quartile range (quartiles by linear interpolation, numpy's default).
- Every pair of groups: the two-sided Mann-Whitney U test (``scipy.stats.mannwhitneyu``, its exact
  distribution for small samples without ties), p-values corrected for the number of pairs by
  Holm's step-down method, and the Vargha-Delaney A12 effect size, ``P(a > b) + P(a = b) / 2`` for a
  value ``a`` of the first group and ``b`` of the second; which group is better follows from A12 and
  whether larger is better. Magnitudes: negligible below 0.56 (or above 0.44), small below 0.64,
  medium below 0.71, large beyond (Vargha and Delaney 2000).
- Convergence across seeds: per group and generation, the median and quartiles of the studies'
  curves (best so far, or hypervolume on the common reference point), each curve carried forward
  between its own generations and ending at its last one (``n`` says how many studies a point has).
- Two objectives: the empirical attainment function of each group (best, median and worst
  attainment surfaces: the points attained by at least one run, half of the runs, every run) and
  the difference of two groups' EAFs, both computed by moocore.

Pure: points come in minimization form (``analysis.pareto.to_minimization``), one array per study.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import moocore
import numpy as np
import pandas as pd
from scipy import stats

from analysis import pareto

EAF_LEVELS = {"best": 0.0, "median": 50.0, "worst": 100.0}  # moocore's percentiles: 0 = attained by any run
EFFECT_SIZES = ((0.56, "negligible"), (0.64, "small"), (0.71, "medium"))  # max(A12, 1 - A12) below each bound


# --------------------------------------------------------------------------------- per study


def final_hypervolumes(points_min: Mapping[str, np.ndarray], reference_min) -> dict[str, float]:
    """Each study's hypervolume of everything it evaluated (its front's), on one reference point."""
    return {study_id: pareto.hypervolume(np.asarray(points, dtype=float), reference_min) if len(points) else 0.0
            for study_id, points in points_min.items()}


def non_dominated(points_min) -> np.ndarray:
    """The finite, non-dominated rows of one study's points (its attainment set)."""
    points = np.asarray(points_min, dtype=float)
    if not len(points):
        return points
    return points[pareto.non_dominated_mask(points)]


# ----------------------------------------------------------------------------- group statistics


def group_values(values: Mapping[str, float], groups: Mapping[str, str]) -> dict[str, np.ndarray]:
    """``{group: values of its studies}``, groups in order of first appearance; non-finite values dropped."""
    out: dict[str, list[float]] = {}
    for study_id, group in groups.items():
        value = values.get(study_id)
        if value is not None and np.isfinite(value):
            out.setdefault(group, []).append(float(value))
        else:
            out.setdefault(group, [])
    return {group: np.asarray(v, dtype=float) for group, v in out.items()}


def group_summary(by_group: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Per group: n, median, first and third quartile, IQR, minimum and maximum."""
    rows = []
    for group, values in by_group.items():
        if len(values):
            q1, median, q3 = np.percentile(values, [25, 50, 75])
            rows.append({"group": group, "n": len(values), "median": median, "q1": q1, "q3": q3, "iqr": q3 - q1,
                         "min": values.min(), "max": values.max()})
        else:
            rows.append({"group": group, "n": 0, "median": np.nan, "q1": np.nan, "q3": np.nan, "iqr": np.nan,
                         "min": np.nan, "max": np.nan})
    return pd.DataFrame(rows, columns=["group", "n", "median", "q1", "q3", "iqr", "min", "max"])


def a12(a, b) -> float:
    """Vargha-Delaney A12: the probability that a value of ``a`` is larger than one of ``b`` (ties count half)."""
    a = np.asarray(a, dtype=float).reshape(-1, 1)
    b = np.asarray(b, dtype=float).reshape(1, -1)
    if not a.size or not b.size:
        raise ValueError("a12 needs at least one value in each group")
    return float(((a > b).sum() + 0.5 * (a == b).sum()) / (a.size * b.size))


def effect_size(a12_value: float) -> str:
    """Vargha and Delaney's magnitude of an A12 (symmetric: 0.3 is as large as 0.7)."""
    strength = max(a12_value, 1.0 - a12_value)
    return next((name for bound, name in EFFECT_SIZES if strength < bound), "large")


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment: the i-th smallest of k p-values times (k - i + 1), made
    non-decreasing in that order, at most 1; returned in the input's order."""
    p = np.asarray(p_values, dtype=float)
    k = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (k - np.arange(k))))
    out = np.empty(k)
    out[order] = adjusted
    return out


def pairwise_comparisons(by_group: Mapping[str, np.ndarray], larger_is_better: bool, alpha: float = 0.05) -> pd.DataFrame:
    """Every pair of groups with at least one value each: medians, the two-sided Mann-Whitney U
    statistic of the first group and its p-value, the Holm-corrected p-value over all pairs, A12 of
    the first group against the second, its magnitude, which group is better (``"neither"`` when
    A12 is 0.5) and whether the difference is significant at ``alpha`` after correction."""
    groups = [g for g, values in by_group.items() if len(values)]
    rows = []
    for first, second in itertools.combinations(groups, 2):
        a, b = by_group[first], by_group[second]
        test = stats.mannwhitneyu(a, b, alternative="two-sided")
        effect = a12(a, b)
        if effect == 0.5:
            better = "neither"
        else:
            better = first if (effect > 0.5) == larger_is_better else second
        rows.append({"group_a": first, "group_b": second, "n_a": len(a), "n_b": len(b),
                     "median_a": float(np.median(a)), "median_b": float(np.median(b)),
                     "U": float(test.statistic), "p_value": float(test.pvalue), "a12": effect,
                     "effect": effect_size(effect), "better": better})
    columns = ["group_a", "group_b", "n_a", "n_b", "median_a", "median_b", "U", "p_value", "p_holm", "a12", "effect",
               "better", "significant"]
    frame = pd.DataFrame(rows, columns=[c for c in columns if c not in ("p_holm", "significant")])
    frame.insert(8, "p_holm", holm(frame["p_value"].to_numpy()) if len(frame) else [])
    frame["significant"] = frame["p_holm"] < alpha
    return frame[columns]


# -------------------------------------------------------------------------------- convergence


def median_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], groups: Mapping[str, str]) -> pd.DataFrame:
    """Per group and generation: how many studies have a value there (``n``), their median and
    quartiles. ``curves`` maps study id to (generations, values); a study's value holds from its
    generation until its next one, and it has none before its first or after its last."""
    rows = []
    members: dict[str, list[str]] = {}
    for study_id, group in groups.items():
        if study_id in curves and len(curves[study_id][0]):
            members.setdefault(group, []).append(study_id)
    for group, ids in members.items():
        generations = np.unique(np.concatenate([np.asarray(curves[s][0], dtype=float) for s in ids]))
        table = np.full((len(ids), len(generations)), np.nan)
        for row, study_id in enumerate(ids):
            gens, values = (np.asarray(v, dtype=float) for v in curves[study_id])
            order = np.argsort(gens, kind="stable")
            gens, values = gens[order], values[order]
            where = np.searchsorted(gens, generations, side="right") - 1  # the last generation at or before
            inside = (where >= 0) & (generations <= gens[-1])
            table[row, inside] = values[where[inside]]
        counts = np.isfinite(table).sum(axis=0)
        with np.errstate(all="ignore"):
            q1, median, q3 = (np.nanpercentile(table, q, axis=0) if counts.any() else np.full(len(generations), np.nan)
                              for q in (25, 50, 75))
        for g, n, lo, mid, hi in zip(generations, counts, q1, median, q3):
            if n:
                rows.append({"group": group, "generation": g, "n": int(n), "median": mid, "q1": lo, "q3": hi})
    return pd.DataFrame(rows, columns=["group", "generation", "n", "median", "q1", "q3"])


# ------------------------------------------------------------------------- attainment (2 objectives)


def _stacked(sets: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    points = [np.asarray(s, dtype=float).reshape(-1, 2) for s in sets]
    labels = np.concatenate([np.full(len(p), i + 1) for i, p in enumerate(points)]) if points else np.empty(0)
    return (np.vstack(points) if points else np.empty((0, 2))), labels


def attainment_surfaces(sets_min: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """The best, median and worst attainment surfaces of one group's runs (one non-empty set of
    points per run, two objectives, minimization form): the points attained by at least one run,
    by at least half of the runs, by every run. Each surface's points are sorted by the first objective."""
    if not sets_min or any(not len(s) for s in sets_min):
        raise ValueError("attainment surfaces need at least one run, and points in every run")
    points, labels = _stacked(sets_min)
    result = moocore.eaf(points, labels, percentiles=list(EAF_LEVELS.values()))
    surfaces = {}
    for level, percentile in EAF_LEVELS.items():
        surface = result[result[:, 2] == percentile][:, :2]
        surfaces[level] = surface[np.lexsort((surface[:, 1], surface[:, 0]))]
    return surfaces


def attainment_difference(sets_a: Sequence[np.ndarray], sets_b: Sequence[np.ndarray]) -> pd.DataFrame:
    """Where the EAFs of two groups differ (two objectives, minimization form): rectangles
    ``x0, y0, x1, y1`` (``inf`` where a rectangle is open towards the worse side) with ``difference``,
    the fraction of A's runs minus the fraction of B's runs that attain every point in it
    (positive: A attains it more often). Both groups need the same number of runs."""
    a, b = list(sets_a), list(sets_b)
    if not a or not b or any(not len(s) for s in a + b):
        raise ValueError("the EAF difference needs at least one run per group, and points in every run")
    if len(a) != len(b):
        raise ValueError(f"the EAF difference compares groups of equal size; they have {len(a)} and {len(b)} runs")
    points_a, labels_a = _stacked(a)
    points_b, labels_b = _stacked(b)
    rectangles = moocore.eafdiff(np.column_stack([points_a, labels_a]), np.column_stack([points_b, labels_b]),
                                 intervals=len(a), rectangles=True)
    frame = pd.DataFrame(rectangles, columns=["x0", "y0", "x1", "y1", "difference"])
    frame["difference"] /= len(a)
    return frame[frame["difference"] != 0].reset_index(drop=True)


def staircase(points_min, upper) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of an attainment surface (minimization form) for drawing: from the first point
    straight up to ``upper[1]``, then alternately along and down through each point, out to
    ``upper[0]``. ``points_min`` is non-dominated, two objectives."""
    points = np.asarray(points_min, dtype=float).reshape(-1, 2)
    if not len(points):
        return np.empty(0), np.empty(0)
    points = points[np.argsort(points[:, 0], kind="stable")]
    xs, ys = [points[0, 0]], [upper[1]]
    for i, (x, y) in enumerate(points):
        if i:
            xs.append(x)
            ys.append(ys[-1])
        xs.append(x)
        ys.append(y)
    xs.append(upper[0])
    ys.append(ys[-1])
    return np.asarray(xs), np.asarray(ys)
