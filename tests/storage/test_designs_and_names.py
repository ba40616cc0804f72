"""Designs counted once, names kept: checked against brute force and hand-made answers on both backends.

- A design evaluated several times is one row of the front, of the best designs and of the front
  export, with ``evaluations`` saying how often it was evaluated; the runs table keeps every run.
- Names: a study that declares none takes the union of its runs'; a declared list refuses others;
  runs may carry a subset (conditional search spaces); objectives may be given by name.
- Runs without parameters, runs for a study that does not exist yet, learning curves.
"""
from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np
import pytest
import sqlalchemy as sa

from storage import DuplicateError, ValidationError
from storage.studies.designs import design_key
from storage.errors import UnknownStudyWarning


def _dominates(a, b) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def _brute_force_front(designs: dict) -> set:
    """Distinct designs none of whose evaluations is dominated by any evaluation: design -> points."""
    points = [(d, p) for d, ps in designs.items() for p in ps]
    return {d for d, p in points if not any(_dominates(q, p) for _, q in points)}


def test_a_design_evaluated_again_counts_once_on_the_front_and_in_best_designs(service, sql):
    rng = np.random.default_rng(5)
    designs = {(float(a), float(b)): None for a, b in rng.integers(0, 6, size=(40, 2))}
    vectors = list(designs)
    evaluations = []   # (vector, objectives) in logging order; an elitist optimizer re-logs survivors
    for generation in range(4):
        for vector in vectors[generation * 5: generation * 5 + 12]:
            evaluations.append((generation, vector, [vector[0] + vector[1], 10.0 - vector[0] * vector[1] / 3]))
    service.create_study({"study_id": "elite", "study_type": "genetic_algorithm", "optimization_objective": "cost,loss",
                          "objective_directions": ["minimize", "minimize"], "parameter_names": ["a", "b"]})
    service.log_study_runs([{"study_id": "elite", "generation_number": g, "parameter_vector": list(v), "objectives": o}
                            for g, v, o in evaluations])
    summary = service.update_study_status("elite", "completed")

    by_design: dict = {}
    for _, v, o in evaluations:
        by_design.setdefault(v, []).append(tuple(o))
    expected_front = _brute_force_front(by_design)
    front = service.get_pareto_front("elite")
    assert len(evaluations) > len(by_design)                       # the data does repeat designs
    assert sorted(tuple(r["parameter_vector"]) for r in front) == sorted(expected_front)
    assert summary["pareto_front_size"] == len(expected_front)
    assert {tuple(r["parameter_vector"]): r["evaluations"] for r in front} == {d: len(by_design[d]) for d in expected_front}
    stored = sql("SELECT front_size, run_ids FROM pareto_fronts WHERE study_id = 'elite' AND generation_number IS NULL")[0]
    assert stored["front_size"] == len(expected_front) == len(json.loads(stored["run_ids"]))
    assert sql("SELECT COUNT(*) AS n FROM study_runs WHERE study_id = 'elite' AND is_pareto_optimal")[0]["n"] == len(expected_front)
    assert service.compare_studies(["elite"])[0]["pareto_count"] == len(expected_front)

    best = service.get_best_designs("elite", limit=8)
    first_best: dict = {}   # design -> (its best fitness, the evaluation number that reached it first)
    for number, (_, v, o) in enumerate(evaluations):
        first_best[v] = min(first_best.get(v, (math.inf, math.inf)), (o[0], number))
    expected_best = sorted(first_best, key=first_best.get)[:8]
    assert [tuple(r["parameter_vector"]) for r in best] == expected_best
    assert [r["evaluations"] for r in best] == [len(by_design[tuple(r["parameter_vector"])]) for r in best]
    assert len(service.query_study_runs("elite", limit=1000)) == len(evaluations)   # every evaluation is kept


def test_front_of_a_running_study_counts_designs_too(service):
    service.create_study({"study_id": "live", "study_type": "genetic_algorithm", "objective_directions": ["minimize"] * 2})
    same = {"study_id": "live", "parameter_vector": [1.0, 2.0], "objectives": [1.0, 1.0]}
    service.log_study_runs([same, same, {"study_id": "live", "parameter_vector": [3.0, 4.0], "objectives": [0.0, 5.0]}])
    front = service.get_pareto_front("live")
    assert sorted(r["parameter_vector"] for r in front) == [[1.0, 2.0], [3.0, 4.0]]
    assert sorted(r["evaluations"] for r in front) == [1, 2]
    assert service.compare_studies(["live"])[0]["pareto_count"] == 2


def test_design_keys_equal_exactly_for_the_same_design(service, sql):
    service.create_study({"study_id": "k", "study_type": "monte_carlo", "parameter_names": ["a", "b"]})
    records = [
        ([1, 2], None), ([1.0, 2.0], ["a", "b"]), ([2.0, 1.0], ["b", "a"]), ([-0.0, 2.0], None), ([0.0, 2.0], None),
        ([15.5], ["a"]), ([15.5], ["b"]),
    ]
    service.log_study_runs([{"study_id": "k", "parameter_vector": v, "fitness": 0.0,
                             **({"parameter_names": n} if n else {})} for v, n in records])
    keys = [r["design_key"] for r in sql("SELECT design_key FROM study_runs WHERE study_id = 'k' ORDER BY evaluation_number")]
    expected_groups = [0, 0, 0, 1, 1, 2, 3]
    for (i, ki), (j, kj) in itertools.combinations(enumerate(keys), 2):
        assert (ki == kj) == (expected_groups[i] == expected_groups[j]), (records[i], records[j])
    stored_names = [r["parameter_names"] for r in
                    sql("SELECT parameter_names FROM study_runs WHERE study_id = 'k' ORDER BY evaluation_number")]
    # the study's own names are not repeated on every run; a subset or another order is kept as given
    assert stored_names == [None, None, '["b","a"]', None, None, '["a"]', '["b"]']


def test_names_are_taken_from_runs_when_the_study_declares_none(service, sql):
    service.create_study({"study_id": "open", "study_type": "monte_carlo"})
    service.log_study_runs([
        {"study_id": "open", "parameter_vector": [0.5, 1.5], "parameter_names": ["lr", "depth"], "fitness": 1.0},
        {"study_id": "open", "parameter_vector": [7.0], "parameter_names": ["svm_c"], "fitness": 2.0},
    ])
    service.log_study_run({"study_id": "open", "parameter_vector": [0.1, 3.0, 9.0], "fitness": 3.0})  # all, by position
    study = service.get_study("open")
    assert study["parameter_names"] == ["lr", "depth", "svm_c"]
    runs = service.query_study_runs("open")
    from storage.studies.designs import names_of_run
    named = [dict(zip(names_of_run(len(r["parameter_vector"]), r["parameter_names"], study["parameter_names"]),
                      r["parameter_vector"])) for r in runs]
    assert named == [{"lr": 0.5, "depth": 1.5}, {"svm_c": 7.0}, {"lr": 0.1, "depth": 3.0, "svm_c": 9.0}]


def test_declared_names_refuse_others_and_accept_subsets(service, sql):
    service.create_study({"study_id": "closed", "study_type": "monte_carlo", "parameter_names": ["a", "b"]})
    service.log_study_run({"study_id": "closed", "parameter_vector": [2.0], "parameter_names": ["b"], "fitness": 1.0})
    with pytest.raises(ValidationError) as caught:
        service.log_study_runs([{"study_id": "closed", "parameter_vector": [1.0, 2.0], "fitness": 1.0},
                                {"study_id": "closed", "parameter_vector": [3.0], "parameter_names": ["z"], "fitness": 1.0}])
    assert ("study_runs[1]: parameter_names contains 'z', which is not one of the parameter_names of study "
            "'closed': ['a', 'b']; nothing was written") == str(caught.value)
    with pytest.raises(ValidationError, match="parameter_vector has 1 values but the study's parameter_names"):
        service.log_study_run({"study_id": "closed", "parameter_vector": [3.0], "fitness": 1.0})
    assert sql("SELECT COUNT(*) AS n FROM study_runs")[0]["n"] == 1
    assert service.get_study("closed")["parameter_names"] == ["a", "b"]


def test_objectives_given_by_name(service, sql):
    service.create_study({"study_id": "o", "study_type": "genetic_algorithm", "objective_directions": ["minimize", "maximize"]})
    service.log_study_run({"study_id": "o", "parameter_vector": [1.0], "objectives": {"cost": 3.0, "yield": 9.0}})
    service.log_study_run({"study_id": "o", "parameter_vector": [2.0], "objectives": {"yield": 8.0, "cost": 1.0}})
    assert sql("SELECT optimization_objective FROM studies WHERE study_id = 'o'")[0]["optimization_objective"] == "cost,yield"
    rows = sql("SELECT objectives, fitness FROM study_runs WHERE study_id = 'o' ORDER BY evaluation_number")
    assert [(json.loads(r["objectives"]), r["fitness"]) for r in rows] == [([3.0, 9.0], 3.0), ([1.0, 8.0], 1.0)]
    with pytest.raises(ValidationError, match="objectives names 'co2', not an objective of study 'o' \\(cost, yield\\)"):
        service.log_study_run({"study_id": "o", "parameter_vector": [3.0], "objectives": {"cost": 1.0, "co2": 2.0}})


def test_a_run_without_parameters_and_a_study_created_by_its_first_run(service, sql):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_id = service.log_study_run({"study_id": "fresh", "evaluation_number": 0, "fitness": 42.5})
    assert [w.category for w in caught] == [UnknownStudyWarning]
    assert "study_id='fresh' did not exist: created it" in str(caught[0].message)
    study = sql("SELECT study_type, status, run_count, best_fitness FROM studies WHERE study_id = 'fresh'")[0]
    assert study == {"study_type": "other", "status": "running", "run_count": 1, "best_fitness": 42.5}
    run = sql("SELECT run_id, parameter_vector, design_key FROM study_runs")[0]
    assert run == {"run_id": run_id, "parameter_vector": "[]", "design_key": None}


def test_learning_curves(service, sql):
    service.create_study({"study_id": "lc", "study_type": "bayesian_optimization"})
    run_id = service.log_study_run({"study_id": "lc", "parameter_vector": [1.0], "fitness": 0.5})
    assert service.log_intermediate_values("lc", run_id, [(0, 0.9), (1, math.nan), (2, math.inf)]) == 3
    rows = sql("SELECT step, value FROM intermediate_values WHERE run_id = :r ORDER BY step", r=run_id)
    assert [r["step"] for r in rows] == [0, 1, 2]
    assert rows[0]["value"] == 0.9 and rows[1]["value"] is None and rows[2]["value"] == math.inf
    with pytest.raises(DuplicateError, match="already reported"):
        service.log_intermediate_values("lc", run_id, {3: 0.1, 2: 0.2})
    with pytest.raises(ValidationError, match="run_id='lc:99' is not a run of study_id='lc'"):
        service.log_intermediate_values("lc", "lc:99", [(0, 1.0)])
    with pytest.raises(ValidationError, match=r"intermediate_values\[0\]\[1\]='1': Input should be a valid number"):
        service.log_intermediate_values("lc", run_id, [(0, "1")])
    assert len(sql("SELECT * FROM intermediate_values")) == 3


def test_migration_gives_existing_runs_the_keys_the_writer_gives(empty_db_url):
    """Runs written at the revision before (by plain SQL) get, from the upgrade, the same keys as
    the store's writer computes for the same runs, and a study without names takes its runs' union."""
    from storage import migrate
    from storage.engine import create_engine, resolve_url

    engine = create_engine(resolve_url(empty_db_url))
    try:
        migrate.upgrade(engine, "0007_dspy_import_details")
        rows = [("r0", "[1.0,2.0]", None), ("r1", "[2.0,1.0]", '["b","a"]'), ("r2", "[15.5]", '["b"]'),
                ("r3", "[]", None), ("r4", "[1,2]", None), ("r5", "[-0.0,2.0]", None), ("r6", "[0.0,2.0]", None)]
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO studies (study_id, study_type) VALUES ('old', 'monte_carlo')"))
            for number, (run_id, vector, names) in enumerate(rows):
                conn.execute(sa.text(
                    "INSERT INTO study_runs (run_id, study_id, evaluation_number, parameter_vector, parameter_names, fitness) "
                    "VALUES (:r, 'old', :n, :v, :names, 0.0)"), {"r": run_id, "n": number, "v": vector, "names": names})
        migrate.upgrade(engine)
        with engine.connect() as conn:
            keys = dict(conn.execute(sa.text("SELECT run_id, design_key FROM study_runs")).all())
            names = conn.execute(sa.text("SELECT parameter_names FROM studies")).scalar()
    finally:
        engine.dispose()
    assert json.loads(names) == ["b", "a"]
    study_names = ["b", "a"]
    expected = {run_id: design_key(json.loads(v), json.loads(n) if n else None, study_names) for run_id, v, n in rows}
    assert keys == expected
    assert keys["r3"] is None and keys["r0"] == keys["r4"] != keys["r2"] and keys["r5"] == keys["r6"] != keys["r0"]


def test_sensitivity_rankings_carry_the_names_the_runs_gave(service):
    """A Monte Carlo study that declared no names; its runs name their parameters (one run in another
    order). The output depends on ``fuel`` alone, so ``fuel`` must rank first under its own name."""
    rng = np.random.default_rng(2)
    samples = rng.random((400, 3))                       # columns: load, capex, fuel
    service.create_study({"study_id": "mc_names", "study_type": "monte_carlo", "optimization_objective": "cost"})
    records = [{"study_id": "mc_names", "parameter_vector": s.tolist(), "parameter_names": ["load", "capex", "fuel"],
                "objectives": [float(10 * s[2])]} for s in samples]
    records[7] = {**records[7], "parameter_vector": samples[7][::-1].tolist(), "parameter_names": ["fuel", "capex", "load"]}
    service.log_study_runs(records)
    service.update_study_status("mc_names", "completed")
    service.analyze_monte_carlo("mc_names")
    ranks = {r["parameter_name"]: r for r in service.get_sensitivity_rankings("mc_names", limit=None)}
    assert set(ranks) == {"load", "capex", "fuel"}
    assert ranks["fuel"]["importance_rank"] == 1
    assert ranks["fuel"]["rank_correlation"] == pytest.approx(1.0)
    assert abs(ranks["load"]["rank_correlation"]) < 0.2 and abs(ranks["capex"]["rank_correlation"]) < 0.2


def test_conditional_search_spaces_put_each_value_under_its_own_name(service):
    """The issue's own example: trials with only ``b``, only ``svm_c``, only ``rf_depth``; b=15.488
    must land under param:b (not under param:a by position) and svm_c and rf_depth get columns of
    their own, blank where a run has none."""
    from storage.studies import exports, queries

    service.create_study({"study_id": "cond", "study_type": "bayesian_optimization", "optimization_objective": "loss",
                          "parameter_names": ["a", "b", "svm_c", "rf_depth"]})
    given = [({"b": 15.488}, 0.3), ({"svm_c": 2.5}, 0.2), ({"rf_depth": 7.0}, 0.4), ({"a": 1.0, "b": 2.0}, 0.5)]
    service.log_study_runs([{"study_id": "cond", "parameter_vector": list(p.values()), "parameter_names": list(p),
                             "fitness": f} for p, f in given])
    study = queries.get_study(service.reader, "cond")
    table = exports.spread_columns(queries.query_study_runs(service.reader, "cond"), study)
    columns = [c for c in table.columns if c.startswith("param:")]
    assert columns == ["param:a", "param:b", "param:svm_c", "param:rf_depth"]
    for row, (params, _f) in zip(table.to_dict("records"), given):
        shown = {c[len("param:"):]: row[c] for c in columns if row[c] == row[c]}   # NaN: blank
        assert shown == params
