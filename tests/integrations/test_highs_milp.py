"""integrations.highs_milp end to end: a HiGHS solve recorded as a milp study, checked against the
optimum found here by brute-force enumeration."""
from __future__ import annotations

import json

import highspy
import numpy as np
import pytest

from integrations.highs_milp import solve_and_record
from storage import DuplicateError

ITEMS = 20
RESOURCES = 3


def knapsack_data(seed: int = 12):
    rng = np.random.default_rng(seed)
    weights = rng.integers(10, 60, size=(RESOURCES, ITEMS))
    values = (weights.sum(axis=0) * rng.uniform(0.6, 1.4, ITEMS)).round()
    capacity = (weights.sum(axis=1) * 0.35).round()
    return values, weights, capacity


def brute_force_optimum(values, weights, capacity) -> float:
    """Best value over all 2^20 item subsets that fit every capacity.

    Row k of ``totals`` is (value, weights...) of one subset; adding item i doubles the table
    (every subset without i, then the same subsets with it), so all 2^20 subsets are enumerated."""
    totals = np.zeros((1, 1 + RESOURCES))
    for i in range(ITEMS):
        item = np.concatenate([[values[i]], weights[:, i]])
        totals = np.concatenate([totals, totals + item])
    assert len(totals) == 2**ITEMS
    fits = (totals[:, 1:] <= capacity).all(axis=1)
    return float(totals[fits, 0].max())


def knapsack_model(values, weights, capacity) -> highspy.Highs:
    h = highspy.Highs()
    h.silent()
    h.setOptionValue("mip_rel_gap", 0.0)
    take = [h.addBinary(obj=float(values[i]), name=f"take_{i}") for i in range(ITEMS)]
    for r in range(RESOURCES):
        h.addConstr(sum(float(weights[r, i]) * take[i] for i in range(ITEMS)) <= float(capacity[r]))
    h.setMaximize()
    return h


def test_knapsack_optimum_progress_and_solution_are_stored(service, sql):
    values, weights, capacity = knapsack_data()
    optimum = brute_force_optimum(values, weights, capacity)

    # flush_seconds=0: every event is written while HiGHS runs, not only at the end.
    result = solve_and_record(
        service, "knapsack", knapsack_model(values, weights, capacity), objective_name="value", flush_seconds=0.0
    )

    study = sql("SELECT * FROM studies WHERE study_id = 'knapsack'")[0]
    assert (study["study_type"], study["status"], study["run_count"]) == ("milp", "completed", 1)
    assert json.loads(study["objective_directions"]) == ["maximize"]
    assert json.loads(study["parameter_names"]) == [f"take_{i}" for i in range(ITEMS)]
    assert study["best_fitness"] == pytest.approx(optimum, abs=1e-6)
    assert json.loads(study["metadata_json"])["model_status"] == "Optimal"

    run = sql("SELECT * FROM study_runs WHERE study_id = 'knapsack'")[0]
    chosen = np.round(json.loads(run["parameter_vector"]))
    assert run["fitness"] == pytest.approx(optimum, abs=1e-6)
    assert float(chosen @ values) == pytest.approx(optimum, abs=1e-6)  # the stored solution achieves it
    assert (weights @ chosen <= capacity).all()  # and is feasible
    assert run["run_id"] == result.run_id == study["best_solution_id"]

    progress = sql(
        "SELECT * FROM convergence_metrics WHERE study_id = 'knapsack' ORDER BY generation_number"
    )
    assert [r["generation_number"] for r in progress] == list(range(len(progress))) and len(progress) >= 2
    incumbents = [r["best_fitness"] for r in progress if r["best_fitness"] is not None]
    bounds = [r["dual_bound"] for r in progress if r["dual_bound"] is not None]
    # Maximizing: incumbents only rise, the dual (upper) bound only falls, and they meet at the optimum.
    # HiGHS reports the same incumbent recomputed in a later event to within rounding, hence the 1e-9.
    assert all(b >= a - 1e-9 * abs(a) for a, b in zip(incumbents, incumbents[1:]))
    assert all(b <= a + 1e-9 * abs(a) for a, b in zip(bounds, bounds[1:]))
    both = [(r["best_fitness"], r["dual_bound"]) for r in progress if None not in (r["best_fitness"], r["dual_bound"])]
    assert all(bound >= incumbent - 1e-6 for incumbent, bound in both)  # the upper bound stays above the incumbent
    assert incumbents[-1] == pytest.approx(optimum, abs=1e-6)
    assert progress[-1]["relative_gap"] == pytest.approx(0.0, abs=1e-9)
    elapsed = [r["elapsed_seconds"] for r in progress]
    assert elapsed == sorted(elapsed) and all(e >= 0 for e in elapsed)


def test_an_infeasible_model_fails_the_study_without_a_run(service, sql):
    h = highspy.Highs()
    h.silent()
    x = h.addIntegral(lb=0, ub=10, name="x")
    h.addConstr(2 * x == 3)  # no integer solves it
    result = solve_and_record(service, "impossible", h)
    assert result.objective is None and result.run_id is None and result.model_status == "Infeasible"
    study = sql("SELECT status, run_count FROM studies WHERE study_id = 'impossible'")[0]
    assert (study["status"], study["run_count"]) == ("failed", 0)
    with pytest.raises(DuplicateError):
        solve_and_record(service, "impossible", h)


def test_a_model_built_without_variable_names_gets_x0_x1(tmp_path):
    """highspy reports no names at all (an empty list) for unnamed variables."""
    from storage import DatabaseMetadataService

    h = highspy.Highs()
    h.silent()
    x = [h.addBinary(obj=v) for v in (10.0, 13.0, 7.0, 8.0)]
    h.addConstr(4 * x[0] + 6 * x[1] + 3 * x[2] + 5 * x[3] <= 10)
    h.setMaximize()
    with DatabaseMetadataService(tmp_path / "unnamed.db") as db:
        result = solve_and_record(db, "knapsack", h, objective_name="value")
        study = db.get_study("knapsack")
    # by enumeration of the 16 subsets: items 0 and 1 (weight 10) give the best value 23
    assert (result.model_status, result.objective) == ("Optimal", 23.0)
    assert study["parameter_names"] == ["x0", "x1", "x2", "x3"]
