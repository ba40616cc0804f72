"""analysis.experiments against the references the issue names: scipy's Mann-Whitney U, a direct
count for A12, a hand computation for Holm, and moocore (plus brute-force attainment counts) for
the empirical attainment function."""
import itertools

import moocore
import numpy as np
import pytest
from scipy import stats

from analysis import experiments

# ------------------------------------------------------------------------------- A12 and U


def a12_by_counting(a, b) -> float:
    """Vargha-Delaney A12 from its definition, one pair at a time."""
    wins = ties = 0
    for x in a:
        for y in b:
            wins += x > y
            ties += x == y
    return (wins + 0.5 * ties) / (len(a) * len(b))


@pytest.mark.parametrize("seed", range(6))
def test_a12_equals_a_direct_count_and_scipys_u_statistic(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 8, size=rng.integers(1, 12)).astype(float)    # small integers: plenty of ties
    b = rng.integers(0, 8, size=rng.integers(1, 12)).astype(float)
    assert experiments.a12(a, b) == pytest.approx(a12_by_counting(a, b))
    u = stats.mannwhitneyu(a, b, alternative="two-sided").statistic
    assert experiments.a12(a, b) == pytest.approx(u / (len(a) * len(b)))
    assert experiments.a12(b, a) == pytest.approx(1 - experiments.a12(a, b))


def test_pairwise_p_values_equal_scipys_and_holm_equals_a_hand_computation():
    rng = np.random.default_rng(7)
    groups = {"A": rng.normal(0.0, 1.0, 6), "B": rng.normal(1.5, 1.0, 6), "C": rng.normal(0.3, 1.0, 5)}
    frame = experiments.pairwise_comparisons(groups, larger_is_better=True)
    assert list(zip(frame["group_a"], frame["group_b"])) == [("A", "B"), ("A", "C"), ("B", "C")]
    raw = []
    for (first, second), row in zip(itertools.combinations("ABC", 2), frame.itertuples()):
        expected = stats.mannwhitneyu(groups[first], groups[second], alternative="two-sided")
        assert row.p_value == expected.pvalue and row.U == expected.statistic
        assert row.a12 == pytest.approx(a12_by_counting(groups[first], groups[second]))
        assert (row.n_a, row.n_b) == (len(groups[first]), len(groups[second]))
        assert row.median_a == np.median(groups[first])
        raw.append(expected.pvalue)
    # Holm by hand: sort ascending, multiply the i-th (from 0) by k - i, keep the running maximum, cap at 1.
    order = sorted(range(3), key=lambda i: raw[i])
    running, expected_holm = 0.0, [0.0] * 3
    for position, index in enumerate(order):
        running = max(running, min(1.0, raw[index] * (3 - position)))
        expected_holm[index] = running
    assert frame["p_holm"].tolist() == pytest.approx(expected_holm)
    assert frame["significant"].tolist() == [p < 0.05 for p in expected_holm]


def test_holm_of_known_p_values():
    # sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> kept non-decreasing: 0.06
    assert experiments.holm([0.01, 0.04, 0.03, 0.005]).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert experiments.holm([0.6, 0.9]).tolist() == pytest.approx([1.0, 1.0])       # capped at 1


@pytest.mark.parametrize("larger_is_better, winner", [(True, "high"), (False, "low")])
def test_the_better_group_follows_the_direction(larger_is_better, winner):
    groups = {"low": np.array([1.0, 2.0, 3.0, 4.0, 5.0]), "high": np.array([6.0, 7.0, 8.0, 9.0, 10.0])}
    row = experiments.pairwise_comparisons(groups, larger_is_better).iloc[0]
    # every value of "low" is below every value of "high": A12(low, high) = 0, exact p = 2 / C(10, 5) = 2 / 252
    assert (row.a12, row.effect, row.better) == (0.0, "large", winner)
    assert row.p_value == pytest.approx(2 / 252) and row.significant


def test_effect_size_thresholds_and_a_tie():
    # Vargha and Delaney: small from 0.56, medium from 0.64, large from 0.71, and the same below 0.5
    assert [experiments.effect_size(v) for v in (0.5, 0.55, 0.44, 0.56, 0.6, 0.37, 0.36, 0.64, 0.7, 0.71, 0.29, 0.2)] == [
        "negligible", "negligible", "small", "small", "small", "small", "medium", "medium", "medium", "large", "large",
        "large"]
    row = experiments.pairwise_comparisons({"a": np.array([1.0, 2.0]), "b": np.array([2.0, 1.0])}, True).iloc[0]
    assert row.a12 == 0.5 and row.better == "neither"


def test_group_summary_by_hand():
    frame = experiments.group_summary({"a": np.array([5.0, 1.0, 3.0, 2.0, 4.0]), "b": np.array([1.0, 2.0]),
                                       "empty": np.array([])})
    a, b, empty = frame.to_dict("records")
    # linear-interpolated quartiles of 1..5: 2, 3, 4; of (1, 2): 1.25, 1.5, 1.75
    assert (a["n"], a["q1"], a["median"], a["q3"], a["iqr"], a["min"], a["max"]) == (5, 2.0, 3.0, 4.0, 2.0, 1.0, 5.0)
    assert (b["q1"], b["median"], b["q3"], b["iqr"]) == (1.25, 1.5, 1.75, 0.5)
    assert empty["n"] == 0 and np.isnan(empty["median"])


def test_median_curves_carry_a_value_forward_and_stop_at_the_last_generation():
    curves = {"s1": ([1, 2, 3], [1.0, 2.0, 3.0]), "s2": ([1, 3], [10.0, 30.0]), "s3": ([1, 2], [5.0, 6.0]),
              "s4": ([2], [7.0])}
    frame = experiments.median_curves(curves, {"s1": "X", "s2": "X", "s3": "Y", "s4": "Y"})
    x = frame[frame["group"] == "X"]
    # generation 2: s1 = 2, s2 carries 10 -> median 6, quartiles 4 and 8
    assert x["generation"].tolist() == [1, 2, 3] and x["n"].tolist() == [2, 2, 2]
    assert x["median"].tolist() == [5.5, 6.0, 16.5] and x["q1"].tolist() == [3.25, 4.0, 9.75]
    y = frame[frame["group"] == "Y"]
    # s4 starts at generation 2; s3 ends at 2
    assert y["n"].tolist() == [1, 2] and y["median"].tolist() == [5.0, 6.5]


# --------------------------------------------------------------------------- attainment (EAF)


def attained(run: np.ndarray, point) -> bool:
    """Does a run attain ``point`` (minimization): some point of it is no worse in both objectives."""
    return bool(np.any(np.all(run <= np.asarray(point), axis=1)))


def random_runs(rng, n: int, size: int = 6) -> list[np.ndarray]:
    runs = []
    for _ in range(n):
        x = np.sort(rng.random(size))
        y = np.sort(rng.random(size))[::-1] + rng.random() * 0.3     # a trade-off curve, shifted per run
        runs.append(experiments.non_dominated(np.column_stack([x, y])))
    return runs


@pytest.mark.parametrize("seed", range(4))
def test_attainment_surfaces_equal_moocores_on_the_same_points(seed):
    rng = np.random.default_rng(seed)
    runs = random_runs(rng, 5)
    surfaces = experiments.attainment_surfaces(runs)
    points = np.vstack(runs)
    labels = np.concatenate([np.full(len(r), i) for i, r in enumerate(runs)])
    reference = moocore.eaf(points, labels, percentiles=[0, 50, 100])
    for level, percentile in (("best", 0), ("median", 50), ("worst", 100)):
        expected = reference[reference[:, 2] == percentile][:, :2]
        assert np.array_equal(surfaces[level], expected[np.lexsort((expected[:, 1], expected[:, 0]))])
    # and what the levels mean, by brute force: a point of the best surface is attained by at least one
    # run, of the median by at least 3 of 5, of the worst by all 5; and the best surface is the union's front
    for level, needed in (("best", 1), ("median", 3), ("worst", 5)):
        for point in surfaces[level]:
            assert sum(attained(run, point) for run in runs) >= needed
    union_front = experiments.non_dominated(points)
    assert np.array_equal(surfaces["best"], union_front[np.lexsort((union_front[:, 1], union_front[:, 0]))])


@pytest.mark.parametrize("seed", range(4))
def test_attainment_difference_equals_a_brute_force_count_in_every_rectangle(seed):
    rng = np.random.default_rng(100 + seed)
    a, b = random_runs(rng, 4), random_runs(rng, 4)
    frame = experiments.attainment_difference(a, b)
    assert len(frame) and (frame["difference"] != 0).all()
    for row in frame.itertuples():
        x1 = row.x1 if np.isfinite(row.x1) else row.x0 + 1.0
        y1 = row.y1 if np.isfinite(row.y1) else row.y0 + 1.0
        for point in rng.uniform([row.x0, row.y0], [x1, y1], size=(3, 2)):   # inside the rectangle
            share_a = np.mean([attained(run, point) for run in a])
            share_b = np.mean([attained(run, point) for run in b])
            assert share_a - share_b == pytest.approx(row.difference)
    # the same rectangles as moocore's own call, differences as shares of the 4 runs
    stacked = [np.column_stack([np.vstack(g), np.concatenate([np.full(len(r), i) for i, r in enumerate(g)])])
               for g in (a, b)]
    reference = moocore.eafdiff(*stacked, intervals=4, rectangles=True)
    reference = reference[reference[:, 4] != 0]
    assert np.allclose(frame.to_numpy(), np.column_stack([reference[:, :4], reference[:, 4] / 4]))


def test_attainment_difference_needs_groups_of_equal_size():
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match=r"groups of equal size; they have 3 and 2 runs"):
        experiments.attainment_difference(random_runs(rng, 3), random_runs(rng, 2))
    with pytest.raises(ValueError, match=r"points in every run"):
        experiments.attainment_surfaces([np.empty((0, 2))])


def test_staircase_by_hand():
    xs, ys = experiments.staircase([[3.0, 3.0], [1.0, 5.0], [5.0, 1.0]], upper=[10.0, 10.0])
    assert list(zip(xs, ys)) == [(1, 10), (1, 5), (3, 5), (3, 3), (5, 3), (5, 1), (10, 1)]


def test_final_hypervolumes_by_hand():
    # (1, 3) and (2, 1) against (4, 4): x 1..2 under height 4-3, x 2..4 under 4-1: 1 * 1 + 2 * 3 = 7; (3, 3) adds nothing
    volumes = experiments.final_hypervolumes({"s": np.array([[1.0, 3.0], [2.0, 1.0], [3.0, 3.0]]),
                                              "none": np.empty((0, 2))}, [4.0, 4.0])
    assert volumes == {"s": pytest.approx(1 * 1 + 2 * 3), "none": 0.0}
