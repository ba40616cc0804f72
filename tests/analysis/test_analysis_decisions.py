"""analysis.decisions against hand computation (knee, TOPSIS, ASF) and pymoo's own PseudoWeights,
for minimized and maximized objectives."""
import math

import numpy as np
import pytest
from pymoo.mcdm.pseudo_weights import PseudoWeights

from analysis import decisions
from storage.schema import DECISION_METHODS

# A known front: cost (minimize), reliability (maximize). A is cheap, C reliable, B between.
FRONT = [[10.0, 0.90],   # A
         [20.0, 0.95],   # B
         [40.0, 0.99]]   # C
DIRECTIONS = ["minimize", "maximize"]


def test_every_ranking_method_can_be_recorded():
    assert set(decisions.METHODS) | {"manual"} == set(DECISION_METHODS)


# ------------------------------------------------------------------------------------- TOPSIS

def test_topsis_equals_a_hand_computation_with_equal_weights():
    # Vector normalisation: cost norm sqrt(10^2 + 20^2 + 40^2) = sqrt(2100) = 45.825757;
    # reliability norm sqrt(0.81 + 0.9025 + 0.9801) = sqrt(2.6926) = 1.640914.
    # Weighted (0.5 each): cost 0.109109, 0.218218, 0.436436; reliability 0.274237, 0.289473, 0.301661.
    # Ideal: cost 0.109109 (min), reliability 0.301661 (max); anti-ideal: 0.436436, 0.274237.
    # A: d+ = 0.027424, d- = 0.327327 -> 0.327327 / 0.354751 = 0.922696
    # B: d+ = sqrt(0.109109^2 + 0.012188^2) = 0.109788, d- = sqrt(0.218218^2 + 0.015236^2) = 0.218749
    #    -> 0.218749 / 0.328537 = 0.665828
    # C: d+ = 0.327327, d- = 0.027424 -> 0.077304
    ranking = decisions.topsis(FRONT, DIRECTIONS, [1.0, 1.0])
    assert ranking.scores == pytest.approx([0.922696, 0.665828, 0.077304], abs=2e-6)
    assert ranking.higher_is_better and ranking.order.tolist() == [0, 1, 2] and ranking.ranks.tolist() == [1, 2, 3]


def test_topsis_with_user_weights_favouring_reliability():
    # Weights 0.1 / 0.9: cost 0.021822, 0.043644, 0.087287; reliability 0.493627, 0.521051, 0.542990.
    # Ideal (0.021822, 0.542990), anti-ideal (0.087287, 0.493627).
    # A: d+ = 0.049363, d- = 0.065465 -> 0.065465 / 0.114828 = 0.570116
    # B: d+ = sqrt(0.021822^2 + 0.021939^2) = 0.030944, d- = sqrt(0.043643^2 + 0.027424^2) = 0.051544
    #    -> 0.051544 / 0.082488 = 0.624871
    # C: d+ = 0.065465, d- = 0.049363 -> 0.429884
    ranking = decisions.topsis(FRONT, DIRECTIONS, [0.1, 0.9])
    assert ranking.scores == pytest.approx([0.570116, 0.624871, 0.429884], abs=2e-6)
    assert ranking.order.tolist() == [1, 0, 2]


def test_topsis_of_two_minimized_objectives_by_hand():
    # (1, 4), (2, 2), (4, 1), weights equal. Norms sqrt(21) = 4.582576 each.
    # weighted: x 0.109109, 0.218218, 0.436436; y 0.436436, 0.218218, 0.109109; ideal (0.109109, 0.109109).
    # (1,4): d+ 0.327327, d- 0.327327 -> 0.5; (2,2): d+ = d- = sqrt(2) * 0.109109 = 0.154303 and
    # sqrt(2) * 0.218218 = 0.308607 -> 0.666667; (4,1) -> 0.5.
    ranking = decisions.topsis([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0]], ["minimize", "minimize"])
    assert ranking.scores == pytest.approx([0.5, 2 / 3, 0.5], abs=1e-6)
    assert ranking.order.tolist() == [1, 0, 2]       # ties keep the input order


# ---------------------------------------------------------------------------------------- ASF

def test_asf_equals_a_hand_computation_against_a_reference_point():
    # Reference (cost 15, reliability 0.97) -> minimization form (15, -0.97); the front's ranges:
    # cost 30, reliability 0.09. Equal weights 0.5.
    # A: 0.5 * (10 - 15) / 30 = -0.083333, 0.5 * (-0.90 + 0.97) / 0.09 = 0.388889 -> max 0.388889
    # B: 0.5 * 5 / 30 = 0.083333, 0.5 * 0.02 / 0.09 = 0.111111 -> 0.111111
    # C: 0.5 * 25 / 30 = 0.416667, 0.5 * -0.02 / 0.09 = -0.111111 -> 0.416667
    # plus 1e-6 times the sum of the terms (augmentation).
    ranking = decisions.asf(FRONT, DIRECTIONS, [15.0, 0.97])
    expected = [0.388889 + 1e-6 * 0.305556, 0.111111 + 1e-6 * 0.194444, 0.416667 + 1e-6 * 0.305556]
    assert ranking.scores == pytest.approx(expected, abs=1e-6)
    assert not ranking.higher_is_better and ranking.order.tolist() == [1, 0, 2]


def test_asf_with_weights_and_a_reference_point_beyond_the_front():
    # Minimize both; (1, 4), (2, 2), (4, 1); ranges 3 and 3; reference (0, 0); weights 0.8 / 0.2.
    # (1,4): 0.8/3 = 0.266667, 0.2*4/3 = 0.266667 -> 0.266667; (2,2): 0.533333, 0.133333 -> 0.533333;
    # (4,1): 1.066667, 0.066667 -> 1.066667. A heavy weight on x makes a good x matter most.
    ranking = decisions.asf([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0]], ["minimize", "minimize"], [0.0, 0.0], [0.8, 0.2])
    assert ranking.scores == pytest.approx([0.266667 + 1e-6 * 0.533333, 0.533333 + 1e-6 * 0.666667,
                                            1.066667 + 1e-6 * 1.133333], abs=1e-6)
    assert ranking.order.tolist() == [0, 1, 2]


# ------------------------------------------------------------------------------ pseudo-weights

@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("directions", [["minimize", "minimize"], ["minimize", "maximize"],
                                        ["maximize", "minimize", "maximize"]])
def test_pseudo_weights_equal_pymoos(seed, directions):
    rng = np.random.default_rng(seed)
    m = len(directions)
    # a front: points on a simplex-like surface, in minimization form, then each maximized column negated
    raw = rng.random((25, m))
    front_min = raw / raw.sum(axis=1, keepdims=True)
    values = np.where([d == "maximize" for d in directions], -front_min, front_min)
    target = rng.random(m)
    target = target / target.sum()
    chosen, expected = PseudoWeights(target).do(front_min, return_pseudo_weights=True)  # pymoo minimizes
    assert np.allclose(decisions.pseudo_weight_matrix(values, directions), expected)
    ranking = decisions.pseudo_weights(values, directions, target)
    assert ranking.order[0] == chosen
    assert ranking.scores == pytest.approx(np.abs(expected - target).sum(axis=1))


def test_pseudo_weights_by_hand():
    # Minimize both: (1, 4), (2, 2), (4, 1); ideal (1, 1), nadir (4, 4), ranges 3.
    # (1,4): ((4-1)/3, 0) = (1, 0); (2,2): (2/3, 2/3) -> (0.5, 0.5); (4,1): (0, 1).
    ranking = decisions.pseudo_weights([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0]], ["minimize", "minimize"], [0.5, 0.5])
    assert decisions.pseudo_weight_matrix([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0]], ["minimize"] * 2) == \
        pytest.approx(np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]))
    assert ranking.scores == pytest.approx([1.0, 0.0, 1.0]) and ranking.order.tolist() == [1, 0, 2]


# --------------------------------------------------------------------------------------- knee

KNEE_FRONT = [[3.0, 15.0], [4.0, 8.0], [7.0, 4.0], [10.0, 2.0], [12.0, 1.0]]
# Scaled to [0, 1]: x (0, 1/9, 4/9, 7/9, 1), y (1, 1/2, 3/14, 1/14, 0); extremes (0,1), (1,0): the line
# x + y = 1; distance (1 - x - y) / sqrt(2):
KNEE_SCORES = [0.0, (1 - 1 / 9 - 1 / 2) / math.sqrt(2), (1 - 4 / 9 - 3 / 14) / math.sqrt(2),
               (1 - 7 / 9 - 1 / 14) / math.sqrt(2), 0.0]


def test_knee_ranking_equals_a_hand_computation():
    ranking = decisions.knee(KNEE_FRONT, ["minimize", "minimize"])
    assert ranking.scores == pytest.approx(KNEE_SCORES)
    assert ranking.order.tolist() == [1, 2, 3, 0, 4]     # (4,8) first: the knee of the page tests


def test_rankings_are_the_same_when_an_objective_is_maximized_instead():
    """The same front with its second objective negated and maximized ranks identically."""
    flipped = [[x, -y] for x, y in KNEE_FRONT]
    both = ["minimize", "minimize"]
    mixed = ["minimize", "maximize"]
    assert decisions.knee(flipped, mixed).order.tolist() == decisions.knee(KNEE_FRONT, both).order.tolist()
    assert decisions.pseudo_weights(flipped, mixed, [0.3, 0.7]).scores == pytest.approx(
        decisions.pseudo_weights(KNEE_FRONT, both, [0.3, 0.7]).scores)
    assert decisions.asf(flipped, mixed, [5.0, -5.0]).scores == pytest.approx(
        decisions.asf(KNEE_FRONT, both, [5.0, 5.0]).scores)


def test_non_finite_rows_rank_last_and_bad_settings_are_refused():
    front = [[1.0, 4.0], [np.nan, 1.0], [2.0, 2.0], [4.0, 1.0]]
    for ranking in (decisions.knee(front, ["minimize"] * 2), decisions.topsis(front, ["minimize"] * 2),
                    decisions.asf(front, ["minimize"] * 2, [0.0, 0.0]),
                    decisions.pseudo_weights(front, ["minimize"] * 2, [0.5, 0.5])):
        assert ranking.order[-1] == 1 and np.isnan(ranking.scores[1])
    with pytest.raises(ValueError, match=r"weights has 3 values for 2 objectives"):
        decisions.topsis(front, ["minimize"] * 2, [1, 1, 1])
    with pytest.raises(ValueError, match=r"weights must be finite, not negative, and not all zero; got \[-1.0, 2.0\]"):
        decisions.rank("topsis", front, ["minimize"] * 2, weights=[-1, 2])
    with pytest.raises(ValueError, match=r"asf needs a reference point"):
        decisions.rank("asf", front, ["minimize"] * 2)
    with pytest.raises(ValueError, match=r"reference must be 2 finite values"):
        decisions.rank("asf", front, ["minimize"] * 2, reference=[1.0, np.inf])
    with pytest.raises(ValueError, match=r"method='best': one of knee, pseudo_weights, asf, topsis"):
        decisions.rank("best", front, ["minimize"] * 2)
    with pytest.raises(ValueError, match=r"directions\[1\] must be 'minimize' or 'maximize', got 'max'"):
        decisions.knee(front, ["minimize", "max"])
