"""The write API's contract, on SQLite and PostgreSQL: what a call stores, read back with plain SQL,
against values computed here independently (brute force, numpy, pymoo)."""
from __future__ import annotations

import dataclasses
import json
import math
import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from pymoo.indicators.hv import HV

from storage import DatabaseMetadataService, HiveError, UnknownStudyError, ValidationError


def _runs(sql, study_id):
    return sql(
        "SELECT * FROM study_runs WHERE study_id = :s ORDER BY evaluation_number", s=study_id
    )


def _study(sql, study_id):
    return sql("SELECT * FROM studies WHERE study_id = :s", s=study_id)[0]


def _objectives(text):
    tokens = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    return [tokens[v] if isinstance(v, str) else v for v in json.loads(text)]


def test_the_seed_workflow_stores_what_it_was_given(service, sql):
    # The seed's own example, with json.dumps strings as it shows.
    assert service.create_study({
        "study_id": "ga_001",
        "study_type": "genetic_algorithm",
        "optimization_objective": "total_cost",
        "population_size": 50,
        "max_generations": 100,
        "status": "running",
    })
    params = [[1.5, 2.0, 3.25], [0.1, 0.2, 0.3]]
    for index, vector in enumerate(params):
        assert service.log_study_run({
            "study_id": "ga_001",
            "evaluation_number": index,
            "generation_number": 0,
            "parameter_vector": json.dumps(vector),
            "fitness": 100.0 - index,
            "objectives": json.dumps([100.0 - index]),
        })
    assert service.log_convergence_metrics({
        "study_id": "ga_001", "generation_number": 0, "best_fitness": 99.0, "average_fitness": 99.5,
    })
    assert service.update_study_status("ga_001", "completed", best_fitness=99.0)

    rows = _runs(sql, "ga_001")
    assert [json.loads(r["parameter_vector"]) for r in rows] == params
    assert [r["fitness"] for r in rows] == [100.0, 99.0]
    assert [r["run_id"] for r in rows] == ["ga_001:0", "ga_001:1"]
    study = _study(sql, "ga_001")
    assert study["study_type"] == "genetic_algorithm"
    assert study["status"] == "completed"
    assert study["run_count"] == 2
    assert study["best_fitness"] == 99.0
    assert study["best_solution_id"] == "ga_001:1"
    assert study["completed_at"] is not None and study["progress_percent"] == 100.0
    assert json.loads(study["objective_directions"]) == ["minimize"]
    logged = sql("SELECT * FROM convergence_metrics WHERE study_id = 'ga_001'")
    assert [(r["generation_number"], r["best_fitness"], r["average_fitness"]) for r in logged] == [(0, 99.0, 99.5)]


def test_open_by_path_memory_and_default(tmp_path, monkeypatch):
    monkeypatch.setenv("HIVE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HIVE_DB_URL", raising=False)
    with DatabaseMetadataService() as default:
        default.create_study({"study_id": "a", "study_type": "milp"})
    assert (tmp_path / "home" / "hive.db").exists()
    with DatabaseMetadataService(tmp_path / "plain.db") as by_path:
        assert by_path.create_study({"study_id": "b", "study_type": "monte_carlo"}) == "b"
    with DatabaseMetadataService(":memory:") as memory:
        memory.create_study({"study_id": "c", "study_type": "single_simulation"})
        assert memory.log_study_run({"study_id": "c", "parameter_vector": [], "fitness": 1.0}) == "c:0"
    monkeypatch.setenv("HIVE_DB_URL", str(tmp_path / "from_env.db"))
    with DatabaseMetadataService() as from_env:
        from_env.create_study({"study_id": "d", "study_type": "milp"})
    assert (tmp_path / "from_env.db").exists()


def test_generated_ids_numbers_and_study_summary(service, sql):
    service.create_study({"study_id": "mc", "study_type": "monte_carlo", "objective_directions": ["maximize"]})
    ids = service.log_study_runs([{"study_id": "mc", "parameter_vector": [i], "fitness": f} for i, f in enumerate([3.0, 7.5, 1.0])])
    assert ids == ["mc:0", "mc:1", "mc:2"]
    ids = service.log_study_runs([
        {"study_id": "mc", "parameter_vector": [9], "fitness": 9.0, "simulation_status": "failed"},
        {"study_id": "mc", "parameter_vector": [4], "fitness": 4.0, "run_id": "custom-id"},
    ])
    assert ids == ["mc:3", "custom-id"]
    rows = _runs(sql, "mc")
    assert [r["evaluation_number"] for r in rows] == [0, 1, 2, 3, 4]
    study = _study(sql, "mc")
    assert study["run_count"] == 5
    assert study["status"] == "running"  # a pending study that receives runs is running
    # maximize: best is the largest successful fitness; the failed 9.0 does not count
    assert (study["best_fitness"], study["best_solution_id"]) == (7.5, "mc:1")


def test_batch_is_one_transaction(service, sql):
    service.create_study({"study_id": "s", "study_type": "genetic_algorithm"})
    batch = [{"study_id": "s", "parameter_vector": [i], "fitness": float(i)} for i in range(50)]
    batch[37] = {"study_id": "s", "parameter_vector": [1], "fitness": "oops"}
    with pytest.raises(ValidationError, match=r"study_runs\[37\]: fitness='oops'"):
        service.log_study_runs(batch)
    batch[37] = {"study_id": "s", "evaluation_number": 3, "parameter_vector": [1], "fitness": 1.0}
    batch[3]["evaluation_number"] = 3
    with pytest.raises(ValidationError, match="evaluation_number=3"):
        service.log_study_runs(batch)
    assert sql("SELECT COUNT(*) AS n FROM study_runs")[0]["n"] == 0
    assert _study(sql, "s")["run_count"] == 0


@dataclasses.dataclass
class OldSimulationResult:
    run_id: str
    run_name: str
    status: str
    total_cost: float
    co2_emissions: float
    renewable_fraction: float
    self_sufficiency_rate: float
    kpis_not_in_table: dict


def test_log_simulation_run_keeps_the_old_call_and_links_both_ways(service, sql):
    assert service.log_simulation_run({
        "run_id": "sim-legacy", "run_name": "baseline", "status": "completed", "total_cost": 1234.5,
        "co2_emissions": 12.0, "metadata_json": json.dumps({"solver": "cbc"}),
    }) == "sim-legacy"
    result = OldSimulationResult("sim-obj", "obj", "completed", 1.0, 2.0, 0.5, 0.75, {"x": 1})
    assert service.log_simulation_run(result) == "sim-obj"
    service.create_study({"study_id": "s", "study_type": "genetic_algorithm"})
    run_id = service.log_study_run({"study_id": "s", "parameter_vector": [1.0], "fitness": 5.0})
    sim_id = service.log_simulation_run({"run_name": "linked", "total_cost": 5.0, "study_run_id": run_id})
    rows = {r["run_id"]: r for r in sql("SELECT * FROM simulation_runs")}
    assert rows["sim-legacy"]["total_cost"] == 1234.5
    assert json.loads(rows["sim-legacy"]["metadata_json"]) == {"solver": "cbc"}
    assert rows["sim-obj"]["self_sufficiency_rate"] == 0.75
    assert rows[sim_id]["study_id"] == "s" and rows[sim_id]["study_run_id"] == run_id
    assert _runs(sql, "s")[0]["simulation_run_id"] == sim_id
    with pytest.raises(ValidationError, match="simulation_run_id='nope'"):
        service.log_study_run({"study_id": "s", "parameter_vector": [1.0], "fitness": 1.0, "simulation_run_id": "nope"})


def test_completion_fills_times(service, sql):
    created = datetime.now(timezone.utc) - timedelta(hours=2)
    service.create_study({"study_id": "s", "study_type": "milp", "created_at": created})
    service.log_study_run({"study_id": "s", "parameter_vector": [1.0], "fitness": 1.0})
    service.update_study_status("s", "completed")
    study = _study(sql, "s")
    completed = datetime.fromisoformat(study["completed_at"]).replace(tzinfo=timezone.utc)
    assert abs((completed - datetime.now(timezone.utc)).total_seconds()) < 60
    assert study["execution_time_seconds"] == pytest.approx((completed - created).total_seconds(), abs=1.0)
    service.create_study({"study_id": "t", "study_type": "milp"})
    service.update_study_status("t", "completed", execution_time_seconds=12.5, completed_at="2030-01-02T03:04:05Z")
    other = _study(sql, "t")
    assert (other["execution_time_seconds"], other["completed_at"]) == (12.5, "2030-01-02 03:04:05")


def _brute_force(points, directions):
    """Domination counts and front membership by the definition, O(n^2)."""
    sign = np.array([1 if d == "minimize" else -1 for d in directions])
    p = np.asarray(points) * sign
    counts = []
    for i in range(len(p)):
        counts.append(sum(
            1 for j in range(len(p)) if j != i and np.all(p[j] <= p[i]) and np.any(p[j] < p[i])
        ))
    return counts, [c == 0 for c in counts]


def _hv2(front_min, ref):
    pts = sorted(map(tuple, front_min))
    area, best_y = 0.0, ref[1]
    for x, y in pts:
        if x < ref[0] and y < best_y:
            area += (ref[0] - x) * (best_y - y)
            best_y = y
    return area


@pytest.mark.parametrize("directions", [["minimize", "minimize"], ["minimize", "maximize"]])
def test_completion_derives_pareto_flags_front_and_hypervolume(service, sql, directions):
    rng = random.Random(7)
    # Integer objectives on a small grid: many ties and exact duplicates.
    points = [[rng.randint(0, 12), rng.randint(0, 12)] for _ in range(160)]
    points += points[:10]
    service.create_study({
        "study_id": "moo", "study_type": "genetic_algorithm", "optimization_objective": "cost,benefit",
        "objective_directions": directions,
    })
    service.log_study_runs([
        {"study_id": "moo", "generation_number": i // 20, "parameter_vector": [float(i)], "objectives": p}
        for i, p in enumerate(points)
    ] + [
        {"study_id": "moo", "generation_number": 8, "parameter_vector": [0.0], "objectives": [-5, 99],
         "fitness": -5.0, "simulation_status": "failed"},
        {"study_id": "moo", "generation_number": 8, "parameter_vector": [0.0], "objectives": [math.nan, 1],
         "fitness": math.inf},
    ])
    summary = service.update_study_status("moo", "completed")

    counts, on_front = _brute_force(points, directions)
    rows = _runs(sql, "moo")
    assert [r["domination_count"] for r in rows[: len(points)]] == counts
    assert [bool(r["is_pareto_optimal"]) for r in rows[: len(points)]] == on_front
    assert [(r["domination_count"], bool(r["is_pareto_optimal"])) for r in rows[len(points):]] == [(None, False)] * 2

    front = sql("SELECT * FROM pareto_fronts WHERE study_id = 'moo' AND generation_number IS NULL")
    assert len(front) == 1
    expected_ids = [f"moo:{i}" for i, f in enumerate(on_front) if f]
    assert json.loads(front[0]["run_ids"]) == expected_ids
    assert front[0]["front_size"] == summary["pareto_front_size"] == len(expected_ids)
    sign = np.array([1 if d == "minimize" else -1 for d in directions])
    minimized = np.asarray(points, float) * sign
    reference = minimized.max(axis=0)  # no declared reference point: the worst value per objective
    expected_hv = _hv2(minimized[on_front], reference)
    assert front[0]["hypervolume"] == pytest.approx(expected_hv, rel=1e-12)


def test_three_objective_hypervolume_uses_the_declared_reference_point(service, sql):
    rng = np.random.default_rng(3)
    points = rng.random((120, 3))
    reference = [1.5, 1.5, 1.5]
    service.create_study({
        "study_id": "tri", "study_type": "genetic_algorithm", "objective_directions": ["minimize"] * 3,
        "reference_point": reference,
    })
    service.log_study_runs([{"study_id": "tri", "parameter_vector": [float(i)], "objectives": p.tolist()}
                            for i, p in enumerate(points)])
    service.update_study_status("tri", "completed")
    front = sql("SELECT hypervolume FROM pareto_fronts WHERE study_id = 'tri'")[0]
    assert front["hypervolume"] == pytest.approx(HV(ref_point=np.array(reference))(points), rel=1e-9)


def test_completion_computes_missing_convergence_rows(service, sql):
    rng = np.random.default_rng(11)
    generations, per_generation = 6, 8
    fitness = rng.normal(50, 10, size=(generations, per_generation))
    params = rng.random((generations, per_generation, 2))
    service.create_study({"study_id": "ga", "study_type": "genetic_algorithm", "objective_directions": ["maximize"]})
    service.log_study_runs([
        {"study_id": "ga", "generation_number": g, "parameter_vector": params[g, k].tolist(), "fitness": float(fitness[g, k])}
        for g in range(generations) for k in range(per_generation)
    ])
    service.log_convergence_metrics({"study_id": "ga", "generation_number": 0, "best_fitness": 1234.0})
    service.update_study_status("ga", "completed")
    rows = sql("SELECT * FROM convergence_metrics WHERE study_id = 'ga' ORDER BY generation_number")
    assert [r["generation_number"] for r in rows] == list(range(generations))
    assert rows[0]["best_fitness"] == 1234.0  # the optimizer's own row is kept
    best_so_far = fitness[0].max()
    stagnation = 0
    for g in range(1, generations):
        row = rows[g]
        assert row["best_fitness"] == pytest.approx(fitness[g].max())
        assert row["worst_fitness"] == pytest.approx(fitness[g].min())
        assert row["average_fitness"] == pytest.approx(fitness[g].mean())
        assert row["fitness_std_dev"] == pytest.approx(fitness[g].std())
        assert row["evaluations_in_generation"] == per_generation
        stagnation = 0 if fitness[g].max() > best_so_far else stagnation + 1
        best_so_far = max(best_so_far, fitness[g].max())
        assert row["stagnation_count"] == stagnation
        assert row["population_diversity"] > 0


def test_analysis_records_are_stored(service, sql):
    service.create_study({"study_id": "mc", "study_type": "monte_carlo", "objective_directions": ["minimize", "minimize"]})
    ids = service.log_study_runs([
        {"study_id": "mc", "parameter_vector": [1.0], "objectives": [1.0, 4.0]},
        {"study_id": "mc", "parameter_vector": [2.0], "objectives": [3.0, 2.0]},
    ])
    pareto_id = service.log_pareto_front({"study_id": "mc", "generation_number": 0, "run_ids": ids})
    analysis_id = service.log_uncertainty_analysis({
        "study_id": "mc", "objective_name": "cost", "target_solution_id": ids[0], "mean_value": 2.0,
        "percentile_95": 2.9, "var_95": 2.9, "cvar_95": 3.0,
    })
    sensitivity_ids = service.log_sensitivity_analysis([
        {"study_id": "mc", "analysis_id": analysis_id, "parameter_name": "x", "sobol_first_order": 0.7, "importance_rank": 1},
        {"study_id": "mc", "analysis_id": analysis_id, "parameter_name": "y", "sobol_first_order": 0.2, "importance_rank": 2},
    ])
    front = sql("SELECT * FROM pareto_fronts WHERE pareto_id = :p", p=pareto_id)[0]
    assert json.loads(front["run_ids"]) == ids and front["front_size"] == 2
    # reference = worst per objective (3, 4): boxes (3-1)*(4-4)=0 and (3-3)*... -> both points touch it
    assert front["hypervolume"] == pytest.approx(0.0)
    risk = sql("SELECT * FROM uncertainty_analysis WHERE analysis_id = :a", a=analysis_id)[0]
    assert (risk["objective_name"], risk["var_95"], risk["cvar_95"], risk["target_solution_id"]) == ("cost", 2.9, 3.0, ids[0])
    ranks = sql("SELECT parameter_name, importance_rank FROM sensitivity_analysis ORDER BY importance_rank")
    assert [(r["parameter_name"], r["importance_rank"]) for r in ranks] == [("x", 1), ("y", 2)]
    assert len(sensitivity_ids) == 2
    with pytest.raises(ValidationError, match="run_ids contains 'mc:9'"):
        service.log_pareto_front({"study_id": "mc", "run_ids": ["mc:9"]})


@pytest.mark.parametrize("value", [math.inf, -math.inf, 1e308, 5e-324, 0.1 + 0.2])
def test_fitness_extremes_round_trip_exactly(service, sql, value):
    # (SQLite keeps -0.0 as 0.0: equal as numbers, so not listed as an exact round trip.)
    service.create_study({"study_id": "s", "study_type": "genetic_algorithm"})
    service.log_study_run({"study_id": "s", "parameter_vector": [0.1], "fitness": value})
    stored = _runs(sql, "s")[0]["fitness"]
    assert stored == value and type(stored) is float


def test_non_finite_objectives_round_trip_and_nan_fitness_is_refused(service, sql):
    service.create_study({"study_id": "s", "study_type": "genetic_algorithm", "objective_directions": ["minimize"] * 3})
    objectives = [math.nan, math.inf, -math.inf]
    service.log_study_run({"study_id": "s", "parameter_vector": [0.5], "objectives": objectives, "fitness": 1.0})
    stored = _runs(sql, "s")[0]["objectives"]
    decoded = _objectives(stored)
    assert math.isnan(decoded[0]) and decoded[1:] == [math.inf, -math.inf]
    assert json.loads(stored) == ["NaN", "Infinity", "-Infinity"]  # valid JSON for every reader
    with pytest.raises(ValidationError, match="fitness=nan"):
        service.log_study_run({"study_id": "s", "parameter_vector": [0.5], "objectives": [1, 2, 3], "fitness": math.nan})
    with pytest.raises(ValidationError, match="objectives\\[0\\] is NaN"):
        service.log_study_run({"study_id": "s", "parameter_vector": [0.5], "objectives": objectives})
    with pytest.raises(ValidationError, match="parameter_vector"):
        service.log_study_run({"study_id": "s", "parameter_vector": [math.inf], "objectives": [1, 2, 3]})
    with pytest.raises(ValidationError, match="metadata_json"):
        service.log_study_run({"study_id": "s", "parameter_vector": [1], "objectives": [1, 2, 3], "metadata_json": {"x": math.nan}})
    assert len(_runs(sql, "s")) == 1


def test_status_changes_and_unknown_studies(service, sql):
    service.create_study({"study_id": "s", "study_type": "milp"})
    service.update_study_status("s", "running", progress_percent=42.5)
    assert (_study(sql, "s")["status"], _study(sql, "s")["progress_percent"]) == ("running", 42.5)
    with pytest.raises(ValidationError, match="status='paused'"):
        service.update_study_status("s", "paused")
    with pytest.raises(ValidationError, match="progress_percent=101"):
        service.update_study_status("s", "running", progress_percent=101)
    with pytest.raises(UnknownStudyError, match="study_id='ghost'"):
        service.update_study_status("ghost", "running")
    service.update_study_status("s", "completed")
    with pytest.raises(HiveError, match="completed"):
        service.log_study_run({"study_id": "s", "parameter_vector": [1], "fitness": 1.0})
