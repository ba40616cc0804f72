"""An experiment made of real optimizer runs, on SQLite and PostgreSQL: two pymoo algorithms x five
seeds on ZDT1 recorded with experiment and labels, then compared by ``storage.studies.experiments``.

The numbers are checked against independent references: every study's hypervolume by pymoo's own
indicator on the objectives read back with plain SQL (on the reference point worked out here), the
p-value by scipy, A12 by a direct count, the attainment surfaces by moocore on the same fronts. The
expected winner: NSGA-II beats random search with the same budget in every seed (A12 = 1,
p = 2 / C(10, 5) = 0.0079, the smallest a two-sided exact test of 5 against 5 can give).

Also: the other adapters (Monte Carlo, HiGHS, Optuna) pass experiment and labels through.
"""
from __future__ import annotations

import json
import math

import moocore
import numpy as np
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.soo.nonconvex.random_search import RandomSearch
from pymoo.indicators.hv import HV
from pymoo.optimize import minimize
from pymoo.problems import get_problem
from scipy import stats

from integrations.pymoo_recorder import HiveRecorder

ALGORITHMS = {"NSGA-II": lambda: NSGA2(pop_size=20), "random search": lambda: RandomSearch(n_points_per_iteration=20)}
SEEDS = range(1, 6)
TOKENS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _non_dominated(points: np.ndarray) -> np.ndarray:
    le = (points[:, None, :] <= points[None, :, :]).all(axis=2)
    lt = (points[:, None, :] < points[None, :, :]).any(axis=2)
    return points[~(le & lt).any(axis=0)]


def test_two_algorithms_by_five_seeds_on_zdt1_show_the_expected_winner(service, sql):
    problem = get_problem("zdt1", n_var=10)
    for algorithm, make in ALGORITHMS.items():
        for seed in SEEDS:
            study_id = f"zdt1_{algorithm.replace(' ', '_')}_seed{seed}"
            recorder = HiveRecorder(service, study_id, objective_names=["f1", "f2"],
                                    study={"experiment": "zdt1 budget 500", "labels": {"algorithm": algorithm, "seed": seed}})
            recorder.complete(minimize(problem, make(), ("n_gen", 25), seed=seed, callback=recorder))

    from storage.studies.experiments import experiment_analysis

    analysis = experiment_analysis(service.reader, "zdt1 budget 500")   # groups by "algorithm"

    # Independent: every study's successful objectives read with SQL, the common reference point (the
    # worst value per objective over all of them, none declared), pymoo's hypervolume indicator.
    rows = sql("SELECT s.study_id, s.labels, r.objectives FROM study_runs r JOIN studies s ON s.study_id = r.study_id "
               "WHERE r.simulation_status = 'success'")
    points: dict[str, list] = {}
    algorithm_of = {}
    for row in rows:
        points.setdefault(row["study_id"], []).append([TOKENS.get(v, v) for v in json.loads(row["objectives"])])
        algorithm_of[row["study_id"]] = json.loads(row["labels"])["algorithm"]
    points = {sid: np.array(p, dtype=float) for sid, p in points.items()}
    assert len(points) == 10 and all(np.isfinite(p).all() for p in points.values())
    reference = np.vstack(list(points.values())).max(axis=0)
    hypervolume = {sid: HV(ref_point=reference)(p) for sid, p in points.items()}

    assert analysis.by == "algorithm" and analysis.measure == "hypervolume" and analysis.left_out == {}
    assert np.allclose(analysis.reference.point_min, reference)
    assert analysis.reference_text.startswith(f"Reference point f1 = {reference[0]:.6g}, f2 = {reference[1]:.6g}: "
                                              "the worst value per objective over the successful runs of the "
                                              "experiment's 10 studies")
    table = analysis.studies.set_index("study_id")
    assert table["hypervolume"].to_dict() == pytest.approx(hypervolume)
    assert table["group"].to_dict() == algorithm_of

    nsga = [hypervolume[s] for s in sorted(hypervolume) if algorithm_of[s] == "NSGA-II"]
    rand = [hypervolume[s] for s in sorted(hypervolume) if algorithm_of[s] == "random search"]
    groups = analysis.groups.set_index("group")
    assert groups.loc["NSGA-II", "median"] == pytest.approx(np.median(nsga))
    assert groups.loc["random search", "iqr"] == pytest.approx(np.subtract(*np.percentile(rand, [75, 25])))
    pair = analysis.pairs.iloc[0]
    assert (pair.group_a, pair.group_b, pair.better, pair.effect) == ("NSGA-II", "random search", "NSGA-II", "large")
    wins = sum(a > b for a in nsga for b in rand) + 0.5 * sum(a == b for a in nsga for b in rand)
    assert pair.a12 == wins / 25 == 1.0                       # every NSGA-II seed beats every random-search seed
    assert pair.p_value == pytest.approx(stats.mannwhitneyu(nsga, rand, alternative="two-sided").pvalue)
    assert pair.p_value == pytest.approx(2 / math.comb(10, 5)) and pair.p_holm == pair.p_value and pair.significant

    # Attainment surfaces: moocore on each study's front (its non-dominated successful points).
    for algorithm in ALGORITHMS:
        ids = sorted(s for s in points if algorithm_of[s] == algorithm)
        fronts = [_non_dominated(points[s]) for s in ids]
        stacked = np.vstack(fronts)
        labels = np.concatenate([np.full(len(f), i) for i, f in enumerate(fronts)])
        expected = moocore.eaf(stacked, labels, percentiles=[0, 50, 100])
        for level, percentile in (("best", 0), ("median", 50), ("worst", 100)):
            surface = expected[expected[:, 2] == percentile][:, :2]
            assert np.allclose(analysis.surface(algorithm, level), surface[np.lexsort((surface[:, 1], surface[:, 0]))])
    difference = analysis.attainment_difference("NSGA-II", "random search")
    assert (difference["difference"] > 0).mean() > 0.9        # NSGA-II attains almost everywhere more often

    # Convergence across seeds: generation 25's median hypervolume is the median of the final ones.
    last = analysis.convergence[(analysis.convergence["group"] == "NSGA-II")
                                & (analysis.convergence["generation"] == 25)].iloc[0]
    assert last["n"] == 5 and last["median"] == pytest.approx(np.median(nsga))


# ------------------------------------------------------------------------- the other adapters


def test_monte_carlo_highs_and_optuna_pass_experiment_and_labels_through(service, sql, tmp_path):
    import highspy
    import optuna

    from integrations.highs_milp import solve_and_record
    from integrations.monte_carlo import run_monte_carlo
    from integrations.optuna_import import import_optuna_study

    run_monte_carlo(service, "mc", {"a": (0.0, 1.0)}, lambda p: p["a"] * 2, 64, seed=1,
                    study={"experiment": "adapters", "labels": {"method": "random", "seed": 1}})
    highs = highspy.Highs()
    highs.silent()
    x = [highs.addBinary(obj=v) for v in (3.0, 4.0)]
    highs.addConstr(x[0] + x[1] <= 1)
    highs.setMaximize()
    solve_and_record(service, "milp", highs, study={"experiment": "adapters", "labels": {"solver": "HiGHS"}})
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    live = optuna.create_study(study_name="quad", sampler=optuna.samplers.TPESampler(seed=0))
    live.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.2) ** 2, n_trials=5)
    import_optuna_study(service, live, study_id="tpe", experiment="adapters", labels={"sampler": "TPE", "seed": 0})

    stored = {r["study_id"]: (r["experiment"], json.loads(r["labels"])) for r in sql(
        "SELECT study_id, experiment, labels FROM studies ORDER BY study_id")}
    assert stored == {"mc": ("adapters", {"method": "random", "seed": 1}), "milp": ("adapters", {"solver": "HiGHS"}),
                      "tpe": ("adapters", {"sampler": "TPE", "seed": 0})}
    assert sql("SELECT COUNT(*) AS n FROM study_labels")[0]["n"] == 5
    from storage import ValidationError

    with pytest.raises(ValidationError, match=r"labels\['seed'\]=True"):
        import_optuna_study(service, live, study_id="tpe2", labels={"seed": True})
    assert sql("SELECT COUNT(*) AS n FROM studies WHERE study_id = 'tpe2'")[0]["n"] == 0
