"""analysis.pareto against brute-force references, hand-computed volumes and pymoo."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymoo.indicators.hv import HV

from analysis import pareto

# ---------------------------------------------------------------- references


def brute_dominates(a, b, directions):
    """a dominates b under mixed directions, straight from the definition."""
    at_least_as_good = True
    strictly_better = False
    for a_value, b_value, direction in zip(a, b, directions):
        if direction == "minimize":
            at_least_as_good &= a_value <= b_value
            strictly_better |= a_value < b_value
        else:
            at_least_as_good &= a_value >= b_value
            strictly_better |= a_value > b_value
    return bool(at_least_as_good and strictly_better)


def brute_counts(objectives, directions):
    """O(n^2) Python loops: dominator count per row, -1 for rows with a non-finite value."""
    objectives = np.asarray(objectives, dtype=float)
    finite = [bool(np.all(np.isfinite(row))) for row in objectives]
    counts = []
    for i, row in enumerate(objectives):
        if not finite[i]:
            counts.append(-1)
            continue
        counts.append(
            sum(
                brute_dominates(other, row, directions)
                for j, other in enumerate(objectives)
                if finite[j]
            )
        )
    return np.array(counts, dtype=np.int64)


def broadcast_counts(points_min):
    """O(n^2) numpy broadcasting reference (minimization form) for larger n."""
    finite = np.all(np.isfinite(points_min), axis=1)
    valid = points_min[finite]
    le = np.all(valid[:, None, :] <= valid[None, :, :], axis=2)  # le[q, p]: q <= p
    lt = np.any(valid[:, None, :] < valid[None, :, :], axis=2)
    counts = np.full(points_min.shape[0], -1, dtype=np.int64)
    counts[finite] = np.sum(le & lt, axis=0)
    return counts


def random_objectives(rng, n, m, low=0, high=5, nonfinite_fraction=0.1):
    """Integer-valued points from a small range (so ties and duplicates abound) with some NaN/inf."""
    values = rng.integers(low, high, size=(n, m)).astype(float)
    duplicate_rows = rng.integers(0, n, size=n // 5)
    values[rng.integers(0, n, size=n // 5)] = values[duplicate_rows]
    broken = rng.random(n) < nonfinite_fraction
    values[broken, rng.integers(0, m, size=int(broken.sum()))] = rng.choice(
        [np.nan, np.inf, -np.inf], size=int(broken.sum())
    )
    return values


def negate_maximized(objectives, directions):
    flip = np.array([d == "maximize" for d in directions])
    return np.where(flip, -objectives, objectives)


# ---------------------------------------------------------------- to_minimization


def test_to_minimization_negates_maximized_columns_and_copies():
    objectives = np.array([[1.0, 2.0, 3.0], [4.0, -5.0, 6.0]])
    converted = pareto.to_minimization(objectives, ["minimize", "maximize", "maximize"])
    np.testing.assert_array_equal(converted, [[1.0, -2.0, -3.0], [4.0, 5.0, -6.0]])
    assert objectives[0, 1] == 2.0  # input untouched


def test_to_minimization_names_the_bad_direction():
    with pytest.raises(ValueError, match="directions\\[1\\].*'Maximise'"):
        pareto.to_minimization(np.zeros((2, 2)), ["minimize", "Maximise"])


def test_to_minimization_rejects_length_mismatch():
    with pytest.raises(ValueError, match="3 entries.*2 columns"):
        pareto.to_minimization(np.zeros((2, 2)), ["minimize"] * 3)


def test_finite_rows():
    points = np.array([[1.0, 2.0], [np.nan, 0.0], [0.0, np.inf], [-np.inf, 1.0], [3.0, 3.0]])
    np.testing.assert_array_equal(pareto.finite_rows(points), [True, False, False, False, True])


# ---------------------------------------------------------------- dominance


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
def test_counts_and_mask_match_brute_force_with_mixed_directions(m):
    rng = np.random.default_rng(100 + m)
    for trial in range(15):
        n = int(rng.integers(1, 70))
        objectives = random_objectives(rng, n, m)
        directions = list(rng.choice(["minimize", "maximize"], size=m))
        expected = brute_counts(objectives, directions)
        points_min = pareto.to_minimization(objectives, directions)
        np.testing.assert_array_equal(pareto.domination_counts(points_min), expected)
        np.testing.assert_array_equal(pareto.non_dominated_mask(points_min), expected == 0)


@pytest.mark.parametrize("m, n", [(2, 3000), (3, 1500), (4, 2500), (5, 1200)])
def test_larger_fronts_match_broadcast_reference(m, n):
    # Large enough to leave moocore's small-input path (Kung threshold 16,
    # merge threshold 1024) and to run many merge levels for m == 2.
    rng = np.random.default_rng(m * 1000 + n)
    points = random_objectives(rng, n, m, high=12, nonfinite_fraction=0.02)
    expected = broadcast_counts(points)
    np.testing.assert_array_equal(pareto.domination_counts(points), expected)
    np.testing.assert_array_equal(pareto.non_dominated_mask(points), expected == 0)


def test_continuous_2d_points_match_reference():
    rng = np.random.default_rng(7)
    points = rng.random((2000, 2))
    expected = broadcast_counts(points)
    np.testing.assert_array_equal(pareto.domination_counts(points), expected)
    np.testing.assert_array_equal(pareto.non_dominated_mask(points), expected == 0)


def test_continuous_3d_points_match_reference():
    # The divide and conquer of m == 3 over many levels, with no ties to lean on.
    rng = np.random.default_rng(11)
    points = rng.random((3000, 3))
    expected = broadcast_counts(points)
    np.testing.assert_array_equal(pareto.domination_counts(points), expected)


def test_duplicates_of_a_non_dominated_point_are_all_non_dominated():
    points = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0], [2.0, 2.0], [2.0, 2.0], [1.0, 2.0]])
    np.testing.assert_array_equal(
        pareto.non_dominated_mask(points), [True, True, True, False, False, True]
    )
    # (2,2) is dominated by the three copies of (1,2) and by (2,1); not by its twin.
    np.testing.assert_array_equal(pareto.domination_counts(points), [0, 0, 0, 4, 4, 0])


def test_duplicates_in_three_and_four_objectives():
    for m in (3, 4):
        point = np.arange(m, dtype=float)
        worse = point + 1
        points = np.vstack([point, point, worse, worse, point[::-1]])
        np.testing.assert_array_equal(
            pareto.non_dominated_mask(points), [True, True, False, False, True]
        )
        np.testing.assert_array_equal(pareto.domination_counts(points), [0, 0, 2, 2, 0])


def test_one_objective_minimum_values_and_strictly_smaller_counts():
    points = np.array([[3.0], [1.0], [np.nan], [1.0], [2.0], [np.inf]])
    np.testing.assert_array_equal(
        pareto.non_dominated_mask(points), [False, True, False, True, False, False]
    )
    np.testing.assert_array_equal(pareto.domination_counts(points), [3, 0, -1, 0, 2, -1])


def test_non_finite_rows_are_never_non_dominated_nor_dominators():
    # -inf would dominate everything if it were taken at face value.
    points = np.array([[-np.inf, -np.inf], [np.nan, 0.0], [1.0, 1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(pareto.non_dominated_mask(points), [False, False, True, False])
    np.testing.assert_array_equal(pareto.domination_counts(points), [-1, -1, 0, 1])


def test_empty_and_all_non_finite_inputs():
    assert pareto.non_dominated_mask(np.empty((0, 2))).shape == (0,)
    assert pareto.domination_counts(np.empty((0, 3))).shape == (0,)
    all_nan = np.full((3, 2), np.nan)
    np.testing.assert_array_equal(pareto.non_dominated_mask(all_nan), [False] * 3)
    np.testing.assert_array_equal(pareto.domination_counts(all_nan), [-1] * 3)


def test_rejects_non_2d_points():
    with pytest.raises(ValueError, match="2-D"):
        pareto.non_dominated_mask(np.array([1.0, 2.0]))


cell = st.one_of(
    st.integers(0, 3).map(float), st.sampled_from([np.nan, np.inf, -np.inf])
)


@st.composite
def small_problems(draw):
    m = draw(st.integers(1, 4))
    n = draw(st.integers(0, 14))
    rows = draw(st.lists(st.lists(cell, min_size=m, max_size=m), min_size=n, max_size=n))
    directions = draw(
        st.lists(st.sampled_from(["minimize", "maximize"]), min_size=m, max_size=m)
    )
    return np.array(rows, dtype=float).reshape(n, m), directions


@settings(max_examples=300, deadline=None)
@given(small_problems())
def test_hypothesis_small_cases_match_brute_force(problem):
    objectives, directions = problem
    expected = brute_counts(objectives, directions)
    points_min = pareto.to_minimization(objectives, directions)
    np.testing.assert_array_equal(pareto.domination_counts(points_min), expected)
    np.testing.assert_array_equal(pareto.non_dominated_mask(points_min), expected == 0)


# ---------------------------------------------------------------- reference point


def test_default_reference_point_is_worst_finite_value_per_objective():
    points = np.array([[1.0, 5.0], [3.0, 2.0], [np.nan, 9.0], [2.0, np.inf]])
    np.testing.assert_array_equal(pareto.default_reference_point(points), [3.0, 5.0])


def test_default_reference_point_needs_a_finite_row():
    with pytest.raises(ValueError, match="no finite rows"):
        pareto.default_reference_point(np.array([[np.nan, 1.0]]))


# ---------------------------------------------------------------- hypervolume


def test_hypervolume_2d_staircase_by_hand():
    # Rectangles of the staircase (1,3),(2,2),(3,1) under (4,4): 3*1 + 2*1 + 1*1.
    front = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    assert pareto.hypervolume(front, [4.0, 4.0]) == pytest.approx(6.0)
    # Dominated points, duplicates, points on or beyond the reference, and
    # non-finite rows add nothing.
    extra = np.array(
        [[3.0, 3.0], [2.0, 2.0], [4.0, 0.0], [0.0, 4.0], [5.0, 0.5], [np.nan, 0.0], [-np.inf, 0.0]]
    )
    assert pareto.hypervolume(np.vstack([front, extra]), [4.0, 4.0]) == pytest.approx(6.0)


def test_hypervolume_3d_boxes_by_hand():
    assert pareto.hypervolume([[1.0, 1.0, 1.0]], [3.0, 4.0, 5.0]) == pytest.approx(2 * 3 * 4)
    # Boxes [0,2]x[0,2]x[1,2] (4) and [1,2]x[1,2]x[0,2] (2) overlap in a unit cube.
    boxes = np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    assert pareto.hypervolume(boxes, [2.0, 2.0, 2.0]) == pytest.approx(5.0)


def test_hypervolume_one_objective_and_empty():
    assert pareto.hypervolume([[3.0], [4.0]], [5.0]) == pytest.approx(2.0)
    assert pareto.hypervolume(np.empty((0, 2)), [1.0, 1.0]) == 0.0
    assert pareto.hypervolume([], [1.0, 1.0]) == 0.0
    assert pareto.hypervolume([[2.0, 0.0]], [1.0, 1.0]) == 0.0


def test_hypervolume_rejects_bad_reference():
    with pytest.raises(ValueError, match="2 values"):
        pareto.hypervolume([[0.0, 0.0]], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="finite"):
        pareto.hypervolume([[0.0, 0.0]], [1.0, np.nan])


@pytest.mark.parametrize("m", [2, 3, 4])
def test_hypervolume_matches_pymoo(m):
    rng = np.random.default_rng(m)
    for trial in range(5):
        points = rng.random((60, m))
        reference = np.full(m, 0.9)  # some points lie beyond it: must be ignored
        inside = points[np.all(points < reference, axis=1)]
        expected = HV(ref_point=reference)(inside) if len(inside) else 0.0
        assert pareto.hypervolume(points, reference) == pytest.approx(expected, rel=1e-12)


def test_hypervolume_by_generation_matches_cumulative_brute_front():
    rng = np.random.default_rng(11)
    generations = np.repeat(np.arange(0, 40, 2), 15)  # gaps in the numbering
    rng.shuffle(generations)
    points = rng.random((generations.size, 3)) * 10
    points[rng.random(generations.size) < 0.05, 0] = np.nan
    reference = np.array([10.0, 10.0, 10.0])

    gens, hv = pareto.hypervolume_by_generation(points, generations, reference)

    np.testing.assert_array_equal(gens, np.arange(0, 40, 2))
    assert np.all(np.diff(hv) >= 0)
    for g, value in zip(gens, hv):
        seen = points[generations <= g]
        front = seen[broadcast_counts(seen) == 0]
        assert value == pytest.approx(HV(ref_point=reference)(front), rel=1e-12)


def test_two_objective_hypervolume_by_generation_matches_pymoo_on_each_prefix():
    # The m == 2 path (sorted strips) against pymoo's HV of the brute-force front, with ties,
    # copies and points beyond the reference.
    rng = np.random.default_rng(12)
    generations = np.repeat(np.arange(30), 20)
    points = np.round(rng.random((generations.size, 2)) * 10, 1)
    points[rng.random(generations.size) < 0.05, 1] = np.inf
    reference = np.array([9.0, 9.5])
    gens, hv = pareto.hypervolume_by_generation(points, generations, reference)
    for g, value in zip(gens, hv):
        seen = points[(generations <= g) & np.isfinite(points).all(axis=1)]
        front = seen[(broadcast_counts(seen) == 0) & np.all(seen < reference, axis=1)]
        assert value == pytest.approx(HV(ref_point=reference)(front) if len(front) else 0.0, rel=1e-12)


def test_hypervolume_by_generation_with_empty_generations():
    points = np.array([[1.0, 1.0], [np.nan, 0.0], [0.5, 0.5]])
    gens, hv = pareto.hypervolume_by_generation(points, [0, 1, 2], [2.0, 2.0])
    np.testing.assert_array_equal(gens, [0, 1, 2])
    np.testing.assert_allclose(hv, [1.0, 1.0, 2.25])


def test_hypervolume_by_generation_rejects_length_mismatch():
    with pytest.raises(ValueError, match="generations"):
        pareto.hypervolume_by_generation(np.zeros((3, 2)), [0, 1], [1.0, 1.0])


# ---------------------------------------------------------------- knee point


def test_knee_of_2d_front_is_the_bulge_towards_the_ideal_point():
    # Normalized extremes (0,1) and (1,0): distance to x + y = 1 is largest at (0.2, 0.2).
    front = np.array([[0.0, 1.0], [0.5, 0.45], [0.2, 0.2], [1.0, 0.0], [0.1, 0.6]])
    assert pareto.knee_point_index(front) == 2


def test_knee_is_scale_invariant():
    front = np.array([[0.0, 1.0], [0.5, 0.45], [0.2, 0.2], [1.0, 0.0], [0.1, 0.6]])
    assert pareto.knee_point_index(front * [1000.0, 0.001]) == 2


def test_knee_of_3d_front():
    # Extremes are the unit vectors; (0.2, 0.2, 0.2) lies farthest below x + y + z = 1.
    front = np.array(
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.3, 0.3, 0.3], [0.2, 0.2, 0.2]]
    )
    assert pareto.knee_point_index(front) == 4


def test_knee_of_small_fronts_and_non_finite_rows():
    assert pareto.knee_point_index([[3.0, 4.0]]) == 0
    # Ideal of the pair is (0, 0): (1, 0) is closer than (0, 10).
    assert pareto.knee_point_index([[0.0, 10.0], [1.0, 0.0]]) == 1
    assert pareto.knee_point_index([[np.nan, 0.0], [0.0, 10.0], [1.0, 0.0]]) == 2
    with pytest.raises(ValueError, match="no finite rows"):
        pareto.knee_point_index([[np.nan, 1.0]])
