"""analysis.comparison: grouping by objective space, the common reference point, and hypervolume per
generation on it, checked against known answers, brute-force grid volumes and moocore."""
import itertools

import moocore
import numpy as np
import pandas as pd
import pytest

from analysis.comparison import (ObjectiveSpace, best_so_far_curves, common_reference_point, compare_hypervolumes,
                                 group_by_space, left_out_line, why_left_out)

MIN, MAX = "minimize", "maximize"


def space(*pairs) -> ObjectiveSpace:
    return ObjectiveSpace.of([n for n, _ in pairs], [d for _, d in pairs])


def grid_hypervolume(points_min, reference) -> float:
    """Brute force, any m: cut the box below ``reference`` at every coordinate of every point and add
    up the cells whose lower corner some point weakly dominates."""
    points = [p for p in points_min if all(v < r for v, r in zip(p, reference))]
    if not points:
        return 0.0
    axes = [sorted({p[i] for p in points} | {reference[i]}) for i in range(len(reference))]
    total = 0.0
    for cell in itertools.product(*(range(len(axis) - 1) for axis in axes)):
        corner = [axes[i][k] for i, k in enumerate(cell)]
        if any(all(p[i] <= corner[i] for i in range(len(corner))) for p in points):
            total += float(np.prod([axes[i][k + 1] - axes[i][k] for i, k in enumerate(cell)]))
    return total


def objectives_frame(generations, objectives, directions, valid=None) -> pd.DataFrame:
    """The shape ``storage.studies.queries.study_objectives`` returns (minimization form under ``min_<i>``)."""
    objectives = np.asarray(objectives, dtype=float).reshape(len(generations), len(directions))
    frame = pd.DataFrame({"run_id": [f"r{i}" for i in range(len(generations))],
                          "generation_number": np.asarray(generations, dtype=float),
                          "valid": np.ones(len(generations), bool) if valid is None else np.asarray(valid, bool)})
    for i, direction in enumerate(directions):
        frame[f"objective_{i}"] = objectives[:, i]
        frame[f"min_{i}"] = -objectives[:, i] if direction == MAX else objectives[:, i]
    return frame


# ------------------------------------------------------------------------------------- grouping


def test_studies_group_only_on_identical_names_and_directions():
    three = space(("cost", MIN), ("co2", MIN), ("risk", MIN))
    two = space(("cost", MIN), ("co2", MIN))
    spaces = {
        "ga_three": three,
        "ga_two": two,
        "ga_single": space(("yield", MAX)),
        "mc_risk": space(("cost", MIN), ("renewable", MAX)),
        "ga_flipped": space(("cost", MIN), ("co2", MAX)),   # same names, another direction
        "ga_swapped": space(("co2", MIN), ("cost", MIN)),   # same objectives, another order
        "ga_live": space(("cost", MIN), ("co2", MIN)),
    }
    groups = group_by_space(spaces)
    assert [(g.label, ids) for g, ids in groups] == [
        ("cost (min), co2 (min), risk (min)", ["ga_three"]),
        ("cost (min), co2 (min)", ["ga_two", "ga_live"]),
        ("yield (max)", ["ga_single"]),
        ("cost (min), renewable (max)", ["mc_risk"]),
        ("cost (min), co2 (max)", ["ga_flipped"]),
        ("co2 (min), cost (min)", ["ga_swapped"]),
    ]
    fitness = group_by_space({sid: s.fitness for sid, s in spaces.items()})
    assert [(g.label, ids) for g, ids in fitness] == [
        ("cost (min)", ["ga_three", "ga_two", "mc_risk", "ga_flipped", "ga_live"]),
        ("yield (max)", ["ga_single"]),
        ("co2 (min)", ["ga_swapped"]),
    ]


def test_labels_slugs_and_units():
    mixed = space(("cost", MIN), ("renewable share", MAX))
    assert mixed.label == "cost (min), renewable share (max)"
    assert mixed.slug == "cost_min-renewable_share_max"
    assert mixed.to_units([3.0, -0.25]).tolist() == [3.0, 0.25]
    with pytest.raises(ValueError):
        ObjectiveSpace.of(["a", "b"], [MIN])
    with pytest.raises(ValueError, match="directions\\[1\\]"):
        ObjectiveSpace.of(["a", "b"], [MIN, "max"])


def test_left_out_reasons_and_line():
    assert why_left_out("monte_carlo", 20, needs_generations=True) == "a Monte Carlo study has no generations"
    assert why_left_out("genetic_algorithm", 0, needs_generations=True) == "no runs yet"
    assert why_left_out("monte_carlo", 20) == "no successful run with finite values"
    assert why_left_out("milp", 1, needs_generations=True) == "a MILP's progress rows number solver events, not generations"
    assert left_out_line("hypervolume chart", {}) is None
    assert left_out_line("hypervolume chart", {"mc": "a Monte Carlo study has no generations", "e": "no runs yet"}) == (
        "Left out of the hypervolume chart: mc (a Monte Carlo study has no generations); e (no runs yet).")


def test_best_so_far_curves_keep_generations_only():
    history = pd.DataFrame({"generation_number": [0, 1], "best_so_far": [5.0, 4.0]})
    no_success = pd.DataFrame({"generation_number": [0], "best_so_far": [np.nan]})
    none = pd.DataFrame({"generation_number": [], "best_so_far": []})
    histories = {"ga": history, "milp": history, "failed": no_success, "mc": none}
    kinds = {"ga": "genetic_algorithm", "milp": "milp", "failed": "genetic_algorithm", "mc": "monte_carlo"}
    curves, left_out = best_so_far_curves(histories, kinds, {"ga": 2, "milp": 1, "failed": 1, "mc": 9})
    assert list(curves) == ["ga"] and curves["ga"] is history
    assert left_out == {"milp": "a MILP's progress rows number solver events, not generations",
                        "failed": "no successful run with finite values in any generation",
                        "mc": "a Monte Carlo study has no generations"}


# ------------------------------------------------------------------------------- reference point


def test_a_reference_point_declared_alike_is_used_in_minimization_form():
    mixed = space(("cost", MIN), ("renewable", MAX))
    points = {"a": np.array([[1.0, -0.5]]), "b": np.array([[2.0, -0.7]])}
    reference = common_reference_point(mixed, points, {"a": [10.0, 0.2], "b": [10, 0.2]})
    assert reference.declared and reference.point_min.tolist() == [10.0, -0.2]
    assert reference.describe() == "Reference point cost = 10, renewable = 0.2: declared alike by a, b."


@pytest.mark.parametrize("declared", [{"a": [10.0, 0.2], "b": [11.0, 0.2]}, {"a": [10.0, 0.2], "b": None}, {}])
def test_otherwise_the_groups_worst_value_per_objective(declared):
    mixed = space(("cost", MIN), ("renewable", MAX))
    a = [[1.0, -0.5], [4.0, -0.9], [np.inf, -2.0]]          # the infinite row counts for nothing
    b = [[3.0, -0.3], [2.0, -0.8]]
    reference = common_reference_point(mixed, {"a": np.array(a), "b": np.array(b)}, declared)
    assert not reference.declared
    assert reference.point_min.tolist() == [4.0, -0.3]      # worst cost 4 (a), worst renewable 0.3 (b)
    assert reference.describe() == ("Reference point cost = 4, renewable = 0.3: the worst value per objective over "
                                    "the successful runs of a, b (they declare no common reference point).")


def test_large_whole_numbers_read_in_full():
    big = space(("cost", MIN), ("co2", MIN), ("share", MAX))
    reference = common_reference_point(big, {"a": np.array([[1.0, 1.0, -0.5]])}, {"a": [1.5e6, 1500.0, 0.125]})
    assert reference.point_text == "Reference point cost = 1,500,000, co2 = 1,500, share = 0.125"


def test_no_reference_point_without_points_or_declaration():
    assert common_reference_point(space(("x", MIN), ("y", MIN)), {}, {}) is None


# ------------------------------------------------------------------------- hypervolume per generation


def random_study(rng, n, directions, generations):
    objectives = rng.integers(0, 12, size=(n, len(directions))).astype(float)
    gens = rng.integers(0, generations, size=n).astype(float)
    valid = rng.random(n) > 0.15
    gens[rng.random(n) < 0.1] = np.nan               # runs logged without a generation: not in any curve
    return gens, objectives, valid


def expected_curve(gens, objectives, valid, directions, reference_min, hypervolume):
    """Per distinct generation g (of the valid runs that have one): the volume of every valid point of
    generation <= g, measured by ``hypervolume`` (brute force or moocore on all points, fronts unfiltered)."""
    flip = np.array([d == MAX for d in directions])
    points = np.where(flip, -objectives, objectives)
    usable = valid & ~np.isnan(gens)
    curve = []
    for g in sorted(set(gens[usable].tolist())):
        so_far = points[usable & (gens <= g)]
        curve.append((g, hypervolume(so_far, reference_min)))
    return curve


def assert_curve(curve, expected):
    generations, hv = curve
    assert generations.tolist() == [g for g, _ in expected]
    assert hv.tolist() == pytest.approx([h for _, h in expected], rel=1e-12)


def moocore_volume(points, reference):
    inside = points[np.all(points < reference, axis=1)]
    return float(moocore.hypervolume(inside, ref=reference)) if len(inside) else 0.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_objective_curves_share_the_groups_worst_point_and_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    directions = [MIN, MAX]
    mixed = space(("cost", MIN), ("renewable", MAX))
    raw = {"a": random_study(rng, 40, directions, 5), "b": random_study(rng, 25, directions, 3)}
    frames = {sid: objectives_frame(g, o, directions, v) for sid, (g, o, v) in raw.items()}
    result = compare_hypervolumes(mixed, frames, {"a": [50.0, -5.0], "b": None}, {"a": "ga", "b": "ga"},
                                  {"a": 40, "b": 25})
    # The group's worst value per objective, by hand over both studies' valid runs with a generation.
    usable = [o[v & ~np.isnan(g)] for g, o, v in raw.values()]
    worst = [max(max(p[0] for p in u) for u in usable), -min(min(p[1] for p in u) for u in usable)]
    assert not result.reference.declared and result.reference.point_min.tolist() == worst
    assert result.left_out == {}
    for sid, (g, o, v) in raw.items():
        assert_curve(result.curves[sid], expected_curve(g, o, v, directions, worst, grid_hypervolume))


def test_three_objective_curve_matches_moocore_and_brute_force_on_a_declared_point():
    rng = np.random.default_rng(7)
    directions = [MIN, MIN, MAX]
    three = space(("cost", MIN), ("co2", MIN), ("yield", MAX))
    raw = {"a": random_study(rng, 30, directions, 4), "b": random_study(rng, 30, directions, 4)}
    frames = {sid: objectives_frame(g, o, directions, v) for sid, (g, o, v) in raw.items()}
    declared = [10.0, 10.0, 2.0]
    result = compare_hypervolumes(three, frames, {"a": declared, "b": declared}, {"a": "ga", "b": "ga"},
                                  {"a": 30, "b": 30})
    reference = np.array([10.0, 10.0, -2.0])
    assert result.reference.declared and result.reference.point_min.tolist() == reference.tolist()
    for sid, (g, o, v) in raw.items():
        assert_curve(result.curves[sid], expected_curve(g, o, v, directions, reference, moocore_volume))
        assert_curve(result.curves[sid], expected_curve(g, o, v, directions, reference, grid_hypervolume))


def test_studies_without_generational_points_are_left_out_with_the_reason():
    two = space(("cost", MIN), ("co2", MIN))
    frames = {
        "ga": objectives_frame([0, 0, 1], [[1, 4], [3, 2], [2, 1]], [MIN, MIN]),
        "mc": objectives_frame([np.nan] * 3, [[0, 0], [1, 1], [2, 2]], [MIN, MIN]),   # sampling: no generations
        "empty": objectives_frame([], [], [MIN, MIN]),
        "failed": objectives_frame([0, 1], [[0, 0], [1, 1]], [MIN, MIN], valid=[False, False]),
    }
    kinds = {"ga": "genetic_algorithm", "mc": "monte_carlo", "empty": "genetic_algorithm", "failed": "genetic_algorithm"}
    result = compare_hypervolumes(two, frames, {}, kinds, {"ga": 3, "mc": 3, "empty": 0, "failed": 2})
    assert result.left_out == {"mc": "a Monte Carlo study has no generations", "empty": "no runs yet",
                               "failed": "no successful run with finite values in any generation"}
    # The left-out studies' points do not move the reference: worst of ga alone is (3, 4).
    assert result.reference.point_min.tolist() == [3.0, 4.0]
    generations, hv = result.curves["ga"]
    # gen 0: (1,4) on the border adds 0, (3,2) on the border adds 0; gen 1: (2,1) -> (3-2)*(4-1) = 3.
    assert generations.tolist() == [0, 1] and hv.tolist() == [0.0, 3.0]
    nothing = compare_hypervolumes(two, {"mc": frames["mc"]}, {}, kinds, {"mc": 3})
    assert nothing.reference is None and nothing.curves == {} and set(nothing.left_out) == {"mc"}
