"""integrations.pymoo_recorder end to end: a real pymoo run recorded, read back with plain SQL and
compared with pymoo's own result and with brute-force dominance computed here."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.core.problem import Problem
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


class Counted(Problem):
    """The problem as pymoo sees it, keeping every batch pymoo evaluates (an independent record)."""

    def __init__(self, inner):
        super().__init__(n_var=inner.n_var, n_obj=inner.n_obj, n_ieq_constr=inner.n_ieq_constr, xl=inner.xl, xu=inner.xu)
        self.inner, self.batches = inner, []

    def _evaluate(self, X, out, *args, **kwargs):
        self.batches.append(np.array(X, dtype=float, copy=True))
        evaluated = self.inner.evaluate(X, return_as_dictionary=True)
        for key in ("F", "G"):
            if evaluated.get(key) is not None:
                out[key] = evaluated[key]


def test_nsga2_on_zdt1_records_each_evaluation_once(service, sql):
    problem = Counted(get_problem("zdt1"))
    recorder = HiveRecorder(service, "zdt1", objective_names=["f1", "f2"])
    res = minimize(problem, NSGA2(pop_size=40), ("n_gen", 30), seed=1, callback=recorder)
    recorder.complete(res)

    evaluated = np.concatenate(problem.batches)
    study = sql("SELECT * FROM studies WHERE study_id = 'zdt1'")[0]
    assert (study["study_type"], study["status"]) == ("genetic_algorithm", "completed")
    assert study["run_count"] == res.algorithm.evaluator.n_eval == len(evaluated) == recorder.evaluations
    assert (study["population_size"], study["max_generations"]) == (40, 30)
    assert json.loads(study["objective_directions"]) == ["minimize", "minimize"]
    assert json.loads(study["parameter_names"]) == [f"x{i}" for i in range(30)]
    assert study["execution_time_seconds"] == pytest.approx(res.exec_time)

    # Every evaluation pymoo made, once, in pymoo's order, numbered by the generation that made it.
    runs = sql("SELECT * FROM study_runs WHERE study_id = 'zdt1' ORDER BY evaluation_number")
    assert np.array_equal(np.array([json.loads(r["parameter_vector"]) for r in runs]), evaluated)
    assert [r["generation_number"] for r in runs] == [g + 1 for g, b in enumerate(problem.batches) for _ in b]
    assert len({r["design_key"] for r in runs}) == len({tuple(x) for x in evaluated})

    # The final population is where the recorder says, value for value.
    final = {r["run_id"]: r for r in runs}
    last = [final[run_id] for run_id in recorder.last_run_ids]
    assert np.array_equal(np.array([json.loads(r["parameter_vector"]) for r in last]), res.pop.get("X"))
    assert np.array_equal(np.array([_floats(r["objectives"]) for r in last]), res.pop.get("F"))

    # res.F is the non-dominated set of the final population (NSGA-II's rank-0 individuals); the
    # generation-30 front row lists exactly those runs.
    front = sql("SELECT run_ids FROM pareto_fronts WHERE study_id = 'zdt1' AND generation_number = 30")
    front_ids = json.loads(front[0]["run_ids"])
    assert {tuple(_floats(final[i]["objectives"])) for i in front_ids} == {tuple(f) for f in res.F}
    assert len(front_ids) == len(res.F)

    # On completion the store flags the non-dominated runs of the whole study: check against brute force.
    all_objectives = np.array([_floats(r["objectives"]) for r in runs])
    expected = _brute_force_non_dominated(all_objectives)
    assert [bool(r["is_pareto_optimal"]) for r in runs] == expected.tolist()
    # One front row per generation, plus the final one the store derived on completion.
    assert sql("SELECT COUNT(*) AS n FROM pareto_fronts WHERE study_id = 'zdt1'")[0]["n"] == 31


def test_constraints_are_stored_and_infeasible_runs_marked(service, sql):
    problem = get_problem("bnh")  # two objectives, two inequality constraints
    recorder = HiveRecorder(service, "bnh", parameter_names=["x", "y"], study={"study_name": "BNH"})
    # The callback given to the algorithm's constructor: minimize deep-copies the algorithm, and
    # the recorder must still record the run once, into this database.
    algorithm = NSGA2(pop_size=12, callback=recorder)
    res = minimize(problem, algorithm, ("n_gen", 3), seed=4)
    assert sql("SELECT COUNT(*) AS n FROM study_runs WHERE study_id = 'bnh'")[0]["n"] == res.algorithm.evaluator.n_eval

    by_id = {r["run_id"]: r for r in sql("SELECT * FROM study_runs WHERE study_id = 'bnh'")}
    runs = [by_id[run_id] for run_id in recorder.last_run_ids]   # the final population
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
    assert len(runs) == res.algorithm.evaluator.n_eval and all(_floats(r["objectives"]) == [r["fitness"]] for r in runs)
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
