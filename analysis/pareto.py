"""Pareto dominance, hypervolume and knee points of objective vectors.

Conventions used throughout:

* Objective values are a float array of shape ``(n, m)``: ``n`` points, ``m``
  objectives. Functions whose argument is named ``*_min`` expect minimization
  form; :func:`to_minimization` converts from mixed directions.
* Dominance (minimization): ``a`` dominates ``b`` iff ``a <= b`` in every
  objective and ``a < b`` in at least one. Identical points therefore never
  dominate each other: every copy of a non-dominated point is non-dominated.
* A row holding any NaN or +-inf value is invalid: it is never non-dominated,
  it never dominates anything, and it adds nothing to a hypervolume.
"""

from collections.abc import Sequence

import moocore
import numpy as np

from analysis.directions import MAXIMIZE, validate_direction

# Blockwise O(n^2) dominance counting compares a block of rows against all
# unique rows at once; this caps the boolean matrix at ~4 M entries (4 MB).
_BLOCK_ELEMENTS = 1 << 22


def _as_points(points, argument: str = "points") -> np.ndarray:
    """Return ``points`` as a float64 array of shape (n, m) with m >= 1."""
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(
            f"{argument} must be a 2-D array of shape (n, m) with m >= 1, "
            f"got shape {array.shape}"
        )
    return array


def _as_reference(reference, m: int, argument: str = "reference_min") -> np.ndarray:
    """Return a finite reference point of length ``m`` as float64."""
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    if ref.shape != (m,):
        raise ValueError(f"{argument} must have {m} values, got {ref.size}")
    if not np.all(np.isfinite(ref)):
        raise ValueError(f"{argument} must be finite, got {ref.tolist()}")
    return ref


def to_minimization(objectives, directions: Sequence[str]) -> np.ndarray:
    """Return a float64 copy of ``objectives`` with maximized columns negated.

    ``objectives`` has shape (n, m); ``directions`` has m entries, each
    ``"minimize"`` or ``"maximize"``. Raises ValueError when the lengths differ
    or an entry is not one of those two words (the message names the entry).
    """
    points = _as_points(objectives, "objectives")
    directions = list(directions)
    if len(directions) != points.shape[1]:
        raise ValueError(
            f"directions has {len(directions)} entries but objectives has "
            f"{points.shape[1]} columns"
        )
    for position, direction in enumerate(directions):
        validate_direction(direction, f"directions[{position}]")
    flip = np.array([d == MAXIMIZE for d in directions], dtype=bool)
    result = points.copy()
    result[:, flip] *= -1.0
    return result


def finite_rows(points) -> np.ndarray:
    """Boolean mask of the rows whose every value is finite (no NaN, no +-inf)."""
    return np.all(np.isfinite(_as_points(points)), axis=1)


def _lexsorted_unique_2d(points: np.ndarray):
    """Sort 2-D points by (first, second) objective and group identical points.

    Returns ``(order, group, first_of_group)``: ``points[order]`` is sorted,
    ``group[k]`` is the index of the distinct point that ``points[order][k]``
    equals, and ``first_of_group`` marks the first copy of each distinct point.
    """
    order = np.lexsort((points[:, 1], points[:, 0]))
    x = points[order, 0]
    y = points[order, 1]
    first_of_group = np.empty(x.size, dtype=bool)
    first_of_group[:1] = True
    first_of_group[1:] = (x[1:] != x[:-1]) | (y[1:] != y[:-1])
    group = np.cumsum(first_of_group) - 1
    return order, group, first_of_group


def _non_dominated_2d(points: np.ndarray) -> np.ndarray:
    """Non-dominated mask of finite 2-D points in O(n log n).

    Among distinct points sorted by (f1, f2), every earlier point q has
    q1 < p1, or q1 == p1 and q2 < p2; so p is dominated iff some earlier
    distinct point has q2 <= p2, i.e. iff the running minimum of f2 over the
    earlier distinct points is <= p2. Copies of p share p's verdict.
    """
    order, group, first_of_group = _lexsorted_unique_2d(points)
    distinct_y = points[order, 1][first_of_group]
    earlier_min = np.empty_like(distinct_y)
    earlier_min[:1] = np.inf
    np.minimum.accumulate(distinct_y[:-1], out=earlier_min[1:])
    distinct_non_dominated = earlier_min > distinct_y
    mask = np.empty(points.shape[0], dtype=bool)
    mask[order] = distinct_non_dominated[group]
    return mask


def non_dominated_mask(points_min) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points_min`` (minimization).

    Rows with a non-finite value are False and are ignored when judging the
    others. All copies of a non-dominated point are True. With one objective
    the non-dominated rows are those holding the minimum value.

    Cost: O(n log n) for m <= 3 (a vectorized sweep for m == 2, moocore's
    dimension sweep for m == 3), moocore's Kung et al. algorithm for m >= 4.
    """
    points = _as_points(points_min, "points_min")
    mask = np.zeros(points.shape[0], dtype=bool)
    valid = np.flatnonzero(finite_rows(points))
    if valid.size == 0:
        return mask
    candidates = points[valid]
    m = points.shape[1]
    if m == 1:
        valid_mask = candidates[:, 0] == candidates[:, 0].min()
    elif m == 2:
        valid_mask = _non_dominated_2d(candidates)
    else:
        # keep_weakly=True keeps every copy of a non-dominated point; with the
        # default (False) moocore keeps only the first copy, which would break
        # our rule that identical points do not dominate each other.
        valid_mask = np.asarray(
            moocore.is_nondominated(candidates, keep_weakly=True), dtype=bool
        )
    mask[valid] = valid_mask
    return mask


def _earlier_not_greater_weight(ranks: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """For every position i, the sum of ``weights[j]`` over j < i with ranks[j] <= ranks[i].

    A weighted inversion count by bottom-up merge sort, one level per numpy
    pass (no per-element Python loop): O(n log n) in total.

    Before the level with half-size h, ``order`` holds the positions sorted by
    rank inside every block of h consecutive positions. Merging pairs of
    blocks is a stable argsort on (block, rank); timsort sees two sorted runs
    per block, so a level costs about O(n). Stability puts a left element
    before a right one of equal rank, so an element of the right half is
    preceded, within its merged block, by exactly the left elements with
    rank <= its own; their weight is a within-block prefix sum. Every pair
    j < i meets in exactly one merge, so each is counted once.
    """
    size = ranks.size
    result = np.zeros(size, dtype=np.int64)
    if size <= 1:
        return result
    rank_span = np.int64(ranks.max()) + 1
    positions = np.arange(size, dtype=np.int64)
    order = positions.copy()
    sorted_ranks = ranks.astype(np.int64)
    sorted_weights = weights.astype(np.int64)
    half = 1
    while half < size:
        block_start = positions & ~np.int64(2 * half - 1)
        merge = np.argsort(block_start * rank_span + sorted_ranks, kind="stable")
        order = order[merge]
        sorted_ranks = sorted_ranks[merge]
        sorted_weights = sorted_weights[merge]
        from_left = (order & half) == 0
        left_weight = np.where(from_left, sorted_weights, 0)
        before = np.cumsum(left_weight) - left_weight
        not_greater_on_left = before - before[block_start]
        not_greater_on_left[from_left] = 0
        result[order] += not_greater_on_left
        half *= 2
    return result


def _domination_counts_2d(points: np.ndarray) -> np.ndarray:
    """Exact dominator counts of finite 2-D points in O(n log n).

    The dominators of p are the points q with q1 <= p1 and q2 <= p2, minus the
    copies of p (p included). With distinct points sorted by (f1, f2) those q
    are p's own copies plus the earlier distinct points with q2 <= p2, so the
    count is a weighted inversion count over the ranks of f2, each distinct
    point weighted by its number of copies.
    """
    order, group, first_of_group = _lexsorted_unique_2d(points)
    distinct_y = points[order, 1][first_of_group]
    copies = np.bincount(group).astype(np.int64)
    _, y_rank = np.unique(distinct_y, return_inverse=True)
    distinct_counts = _earlier_not_greater_weight(y_rank.astype(np.int64), copies)
    counts = np.empty(points.shape[0], dtype=np.int64)
    counts[order] = distinct_counts[group]
    return counts


def _domination_counts_3d(points: np.ndarray) -> np.ndarray:
    """Exact dominator counts of finite 3-D points in O(n log^2 n) (divide and conquer on the
    lexicographic order, one vectorized pass per level).

    With distinct points in lexicographic order of (f1, f2, f3), the points that dominate p are
    exactly the earlier distinct points q with q2 <= p2 and q3 <= p3 (q1 <= p1 follows from the
    order), each counted with its copies. Bottom-up over blocks of 2h positions, the left half's
    contribution to the right half is a 2-D count: sort every block by (f2, left before right),
    then weigh the earlier left points with f3 <= p3, all blocks in one weighted inversion count
    whose keys carry the block (minus the left weight of the earlier blocks). Every pair meets in
    exactly one level.
    """
    distinct, group, copies = np.unique(points, axis=0, return_inverse=True, return_counts=True)
    group = group.reshape(-1)
    copies = copies.astype(np.int64)
    n = distinct.shape[0]
    y_rank = np.unique(distinct[:, 1], return_inverse=True)[1].reshape(-1).astype(np.int64)
    z_rank = np.unique(distinct[:, 2], return_inverse=True)[1].reshape(-1).astype(np.int64)
    y_span, z_span = np.int64(y_rank.max()) + 1, np.int64(z_rank.max()) + 1
    positions = np.arange(n, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    half = 1
    while half < n:
        block = positions // (2 * half)
        right = (positions & half) != 0
        order = np.argsort((block * y_span + y_rank) * 2 + right, kind="stable")
        left_weight = np.where(right, 0, copies)
        keys = block[order] * z_span + z_rank[order]
        if keys[-1] > np.iinfo(np.int64).max // (n + 1):  # keep the inner sort keys inside int64
            keys = np.unique(keys, return_inverse=True)[1].reshape(-1).astype(np.int64)
        earlier = _earlier_not_greater_weight(keys, left_weight[order])
        block_weight = np.bincount(block, weights=left_weight).astype(np.int64)
        earlier -= (np.cumsum(block_weight) - block_weight)[block[order]]
        in_right = right[order]
        counts[order[in_right]] += earlier[in_right]
        half *= 2
    return counts[group]


def _domination_counts_blockwise(points: np.ndarray) -> np.ndarray:
    """Exact dominator counts by direct comparison: O(n^2 m) time, blockwise memory.

    Used for m >= 3, where no vectorized sub-quadratic method is at hand. Works
    on distinct points weighted by their copies: dominators of p = copies of
    all q with q <= p everywhere, minus the copies of p itself.
    """
    distinct, group, copies = np.unique(
        points, axis=0, return_inverse=True, return_counts=True
    )
    group = group.reshape(-1)
    copies = copies.astype(np.int64)
    n_distinct, m = distinct.shape
    distinct_counts = np.empty(n_distinct, dtype=np.int64)
    block = max(1, _BLOCK_ELEMENTS // n_distinct)
    for start in range(0, n_distinct, block):
        rows = distinct[start : start + block]
        weakly_better = distinct[None, :, 0] <= rows[:, None, 0]
        for objective in range(1, m):
            weakly_better &= distinct[None, :, objective] <= rows[:, None, objective]
        distinct_counts[start : start + block] = weakly_better @ copies
    distinct_counts -= copies
    return distinct_counts[group]


def first_of_each_key(keys, mask) -> np.ndarray:
    """``mask`` narrowed to the first row of each key it holds: a front of designs, not of
    evaluations, when a design (one key) was evaluated more than once."""
    keys = np.asarray(keys)
    chosen = np.flatnonzero(np.asarray(mask, dtype=bool))
    out = np.zeros(len(keys), dtype=bool)
    if len(chosen):
        _, first = np.unique(keys[chosen], return_index=True)
        out[chosen[first]] = True
    return out


def domination_counts(points_min) -> np.ndarray:
    """For every row of ``points_min`` (minimization), how many rows dominate it.

    Identical rows do not dominate each other. Rows with a non-finite value get
    -1 and are not counted as dominators of anyone. Row i is non-dominated iff
    its count is 0 (for finite rows).

    Cost: m == 1 and m == 2 are O(n log n) (for m == 2 a vectorized merge-sort
    weighted inversion count, see :func:`_earlier_not_greater_weight`); m == 3 is
    O(n log^2 n) (:func:`_domination_counts_3d`); m >= 4 compares all pairs of
    distinct points, O(n^2 m) time in memory-bounded blocks — fine for tens of
    thousands of points, not for millions.
    """
    points = _as_points(points_min, "points_min")
    counts = np.full(points.shape[0], -1, dtype=np.int64)
    valid = np.flatnonzero(finite_rows(points))
    if valid.size == 0:
        return counts
    candidates = points[valid]
    m = points.shape[1]
    if m == 1:
        values = candidates[:, 0]
        counts[valid] = np.searchsorted(np.sort(values), values, side="left")
    elif m == 2:
        counts[valid] = _domination_counts_2d(candidates)
    elif m == 3:
        counts[valid] = _domination_counts_3d(candidates)
    else:
        counts[valid] = _domination_counts_blockwise(candidates)
    return counts


def default_reference_point(points_min) -> np.ndarray:
    """Per-objective worst value (the maximum, in minimization form) over finite rows.

    A point equal to this reference in some objective adds no hypervolume;
    callers wanting every front point to count should shift it outward.
    Raises ValueError when no row is finite.
    """
    points = _as_points(points_min, "points_min")
    valid = finite_rows(points)
    if not np.any(valid):
        raise ValueError("points_min has no finite rows to take a reference point from")
    return points[valid].max(axis=0)


def hypervolume(front_min, reference_min) -> float:
    """Exact hypervolume dominated by ``front_min`` and bounded by ``reference_min``.

    Both are in minimization form. Only finite points strictly better than the
    reference in every objective contribute (a point equal to the reference in
    one coordinate encloses zero volume). Dominated points and duplicates are
    allowed and change nothing. An empty front gives 0.0.

    m == 1 is ``reference - min``; m >= 2 uses ``moocore.hypervolume``
    (O(n log n) for m = 2 and 3, HV4D+ for m = 4, slower beyond).
    """
    reference_values = np.asarray(reference_min, dtype=np.float64).reshape(-1)
    m = reference_values.size
    front = np.asarray(front_min, dtype=np.float64)
    if front.size == 0:
        _as_reference(reference_values, m)
        return 0.0
    front = _as_points(front, "front_min")
    ref = _as_reference(reference_values, front.shape[1])
    inside = finite_rows(front) & np.all(front < ref, axis=1)
    contributing = front[inside]
    if contributing.shape[0] == 0:
        return 0.0
    if front.shape[1] == 1:
        return float(ref[0] - contributing[:, 0].min())
    return float(moocore.hypervolume(contributing, ref=ref))


def hypervolume_by_generation(points_min, generations, reference_min):
    """Hypervolume of the front found so far, after each generation.

    For every distinct value g of ``generations`` in increasing order, returns
    the hypervolume of the non-dominated set of all finite points whose
    generation is <= g. Returns ``(gens, hv)``: the distinct generations and a
    float64 array of the same length, non-decreasing by construction.

    Incremental: the running front is merged with each new generation and
    filtered again, so the cost per generation depends on the front size and
    that generation's size, not on all earlier points.
    """
    points = _as_points(points_min, "points_min")
    generation_values = np.asarray(generations).reshape(-1)
    if generation_values.size != points.shape[0]:
        raise ValueError(
            f"generations has {generation_values.size} values but points_min has "
            f"{points.shape[0]} rows"
        )
    if generation_values.dtype.kind == "f" and not np.all(np.isfinite(generation_values)):
        raise ValueError("generations must be finite")
    ref = _as_reference(reference_min, points.shape[1])
    distinct, inverse = np.unique(generation_values, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(distinct.size + 1))
    valid = finite_rows(points)

    front = np.empty((0, points.shape[1]))
    hv = np.empty(distinct.size)
    current = 0.0
    two = points.shape[1] == 2
    for k in range(distinct.size):
        rows = order[bounds[k] : bounds[k + 1]]
        arrivals = points[rows[valid[rows]]]
        if arrivals.shape[0]:
            merged = np.vstack((front, arrivals))
            if two:  # a few numpy calls per generation, not the general path's checks and moocore call
                front, current = _front_and_hypervolume_2d(merged, ref)
            else:
                front = merged[non_dominated_mask(merged)]
                current = hypervolume(front, ref)
        hv[k] = current
    return distinct, hv


def _front_and_hypervolume_2d(points: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, float]:
    """The distinct non-dominated points of finite 2-D points, sorted by f1 (so f2 descends), and
    the area they dominate inside ``ref``: the sum of the strips between consecutive points."""
    ordered = points[np.lexsort((points[:, 1], points[:, 0]))]
    earlier_min = np.empty(len(ordered))
    earlier_min[0] = np.inf
    np.minimum.accumulate(ordered[:-1, 1], out=earlier_min[1:])
    front = ordered[ordered[:, 1] < earlier_min]  # a copy of an earlier point is not below it either
    inside = front[(front[:, 0] < ref[0]) & (front[:, 1] < ref[1])]
    widths = np.diff(np.append(inside[:, 0], ref[0]))
    return front, float(np.dot(widths, ref[1] - inside[:, 1]))


def _hyperplane_normal(extremes: np.ndarray) -> np.ndarray:
    """Normal n of the hyperplane n . x = 1 through the m extreme points.

    Falls back to all-ones (the plane through the unit vectors) when the
    extremes are degenerate (e.g. one point is extreme in two objectives) or
    give a non-positive intercept, as in NSGA-III's normalization.
    """
    m = extremes.shape[0]
    try:
        normal = np.linalg.solve(extremes, np.ones(m))
    except np.linalg.LinAlgError:
        return np.ones(m)
    if not np.all(np.isfinite(normal)) or np.any(normal <= 0):
        return np.ones(m)
    return normal


def knee_scores(front_min) -> np.ndarray:
    """How much each point of a front (minimization form) is a knee: higher is more of one; NaN for
    rows with a non-finite value. :func:`knee_point_index` is the row with the highest score.

    Each objective is first scaled to [0, 1] over the front's finite points
    (an objective with zero range becomes 0). The extreme point of objective j
    is the point with the smallest scaled value j (ties: smallest scaled sum).
    The score is the signed distance from the line (m = 2) / hyperplane through
    these extreme points, positive towards the ideal point (Das 1999; Deb &
    Gupta 2011). If the extremes do not span a hyperplane, the plane through
    the unit vectors (sum of scaled objectives = 1) is used instead.

    Fronts of one or two finite points score minus the Euclidean distance
    (unscaled) to their ideal point. Raises ValueError if there is no finite row.
    """
    points = _as_points(front_min, "front_min")
    valid = np.flatnonzero(finite_rows(points))
    if valid.size == 0:
        raise ValueError("front_min has no finite rows")
    scores = np.full(points.shape[0], np.nan)
    front = points[valid]
    if front.shape[0] <= 2:
        scores[valid] = -np.linalg.norm(front - front.min(axis=0), axis=1)
        return scores

    low = front.min(axis=0)
    span = front.max(axis=0) - low
    scaled = np.divide(front - low, span, out=np.zeros_like(front), where=span > 0)
    m = scaled.shape[1]
    if m == 1:
        scores[valid] = -scaled[:, 0]
        return scores
    scaled_sum = scaled.sum(axis=1)
    extreme_rows = [np.lexsort((scaled_sum, scaled[:, j]))[0] for j in range(m)]
    normal = _hyperplane_normal(scaled[extreme_rows])
    scores[valid] = (1.0 - scaled @ normal) / np.linalg.norm(normal)
    return scores


def knee_point_index(front_min) -> int:
    """Index (into ``front_min``) of the knee of a front, in minimization form: the row with the
    highest :func:`knee_scores` (the first on ties). Rows with a non-finite value are never chosen;
    ValueError if there is no finite row."""
    return int(np.nanargmax(knee_scores(front_min)))
