"""integrations.pymoo_recorder end to end: a real pymoo run recorded, read back with plain SQL and
compared with pymoo's own result and with brute-force dominance computed here."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.optimize import minimize
from pymoo.problems import get_problem

from integrations.pymoo_recorder import HiveRecorder
from storage import ValidationError

TOKENS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _floats(text):
    return [TOKENS[v] if isinstance(v, str) else v for v in json.loads(text)]


def _brute_force_non_dominated(points: np.ndarray) -> np.ndarray:
    """a is dominated iff some b is <= in every objective and < in one (O(n^2), fine for 1,200)."""
    le = (points[:, None, :] <= points[None, :, :]).all(axis=2)  # le[b, a]: b <= a everywhere
    lt = (points[:, None, :] < points[None, :, :]).any(axis=2)
    return ~(le & lt).any(axis=0)


def test_nsga2_on_zdt1_is_recorded_generation_by_generation(service, sql):
    recorder = HiveRecorder(service, "zdt1", objective_names=["f1", "f2"])
    res = minimize(get_problem("zdt1"), NSGA2(pop_size=40), ("n_gen", 30), seed=1, callback=recorder)
    recorder.complete(res)

    study = sql("SELECT * FROM studies WHERE study_id = 'zdt1'")[0]
    assert (study["study_type"], study["status"], study["run_count"]) == ("genetic_algorithm", "completed", 40 * 30)
    assert (study["population_size"], study["max_generations"]) == (40, 30)
    assert json.loads(study["objective_directions"]) == ["minimize", "minimize"]
    assert json.loads(study["parameter_names"]) == [f"x{i}" for i in range(30)]
    assert study["execution_time_seconds"] == pytest.approx(res.exec_time)

    runs = sql("SELECT * FROM study_runs WHERE study_id = 'zdt1' ORDER BY evaluation_number")
    assert len(runs) == 40 * 30
    generations = [r["generation_number"] for r in runs]
    assert generations == [g for g in range(1, 31) for _ in range(40)]  # pymoo's n_gen, one batch each

    # The last generation's rows are pymoo's final population, value for value and in order.
    last = runs[-40:]
    assert np.array_equal(np.array([json.loads(r["parameter_vector"]) for r in last]), res.pop.get("X"))
    assert np.array_equal(np.array([_floats(r["objectives"]) for r in last]), res.pop.get("F"))
    assert [r["fitness"] for r in last] == res.pop.get("F")[:, 0].tolist()

    # res.F is the non-dominated set of the final population (NSGA-II's rank-0 individuals). The
    # recorder stored that generation's non-dominated set as the generation-30 front; its runs'
    # stored objectives must be exactly res.F, computed by pymoo's own sorting.
    front = sql("SELECT run_ids FROM pareto_fronts WHERE study_id = 'zdt1' AND generation_number = 30")
    front_ids = set(json.loads(front[0]["run_ids"]))
    front_objectives = {tuple(_floats(r["objectives"])) for r in last if r["run_id"] in front_ids}
    assert front_objectives == {tuple(f) for f in res.F}
    assert len(front_ids) == len(res.F)

    # On completion the store flags the non-dominated runs of the whole study: check against brute force.
    all_objectives = np.array([_floats(r["objectives"]) for r in runs])
    expected = _brute_force_non_dominated(all_objectives)
    assert [bool(r["is_pareto_optimal"]) for r in runs] == expected.tolist()
    # A run non-dominated among all generations is non-dominated within the last one, so the flagged
    # runs of the last generation are a subset of res.F (equality would need every earlier point to
    # be dominated by the final population, which NSGA-II's crowding truncation does not promise).
    flagged_last = {tuple(_floats(r["objectives"])) for r in last if r["is_pareto_optimal"]}
    assert flagged_last and flagged_last <= {tuple(f) for f in res.F}
    # One front row per generation, plus the final one the store derived on completion.
    assert sql("SELECT COUNT(*) AS n FROM pareto_fronts WHERE study_id = 'zdt1'")[0]["n"] == 31


def test_constraints_are_stored_and_infeasible_runs_marked(service, sql):
    problem = get_problem("bnh")  # two objectives, two inequality constraints
    recorder = HiveRecorder(service, "bnh", parameter_names=["x", "y"], study={"study_name": "BNH"})
    # The callback given to the algorithm's constructor: minimize deep-copies the algorithm, and
    # the recorder must still record the run once, into this database.
    algorithm = NSGA2(pop_size=12, callback=recorder)
    res = minimize(problem, algorithm, ("n_gen", 3), seed=4)
    assert sql("SELECT COUNT(*) AS n FROM study_runs WHERE study_id = 'bnh'")[0]["n"] == 36

    runs = sql("SELECT * FROM study_runs WHERE study_id = 'bnh' AND generation_number = 3 ORDER BY evaluation_number")
    G, CV = res.pop.get("G", "CV")
    assert [r["simulation_status"] for r in runs] == ["infeasible" if cv > 0 else "success" for cv in CV[:, 0]]
    stored = [json.loads(r["constraint_violations"]) for r in runs]
    assert [s["G"] for s in stored] == G.tolist()
    assert [s["CV"] for s in stored] == CV[:, 0].tolist()
    assert sql("SELECT study_name FROM studies WHERE study_id = 'bnh'")[0]["study_name"] == "BNH"


def test_single_objective_and_appending_to_an_existing_study(service, sql):
    service.create_study({"study_id": "sphere", "study_type": "genetic_algorithm", "description": "made by hand"})
    recorder = HiveRecorder(service, "sphere")
    res = minimize(get_problem("sphere", n_var=3), GA(pop_size=10), ("n_gen", 4), seed=2, callback=recorder)
    recorder.complete(res)
    assert not recorder.created_study
    runs = sql("SELECT fitness, objectives FROM study_runs WHERE study_id = 'sphere'")
    assert len(runs) == 40 and all(_floats(r["objectives"]) == [r["fitness"]] for r in runs)
    study = sql("SELECT * FROM studies WHERE study_id = 'sphere'")[0]
    # GA keeps its best individual (elitist survival), so the study's best is pymoo's result.
    assert study["best_fitness"] == float(res.F[0])
    assert study["description"] == "made by hand"


def test_names_must_match_the_problem(service):
    recorder = HiveRecorder(service, "wrong", objective_names=["only_one"])
    with pytest.raises(ValidationError, match=r"objective_names=\['only_one'\] has 1 names but the problem has n_obj=2"):
        minimize(get_problem("zdt1"), NSGA2(pop_size=10), ("n_gen", 1), seed=1, callback=recorder)
    with pytest.raises(ValidationError, match="cannot contain a comma"):
        HiveRecorder(service, "wrong", objective_names=["a,b", "c"])
