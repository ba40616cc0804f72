"""The seed's query methods (``DatabaseMetadataService.query_*`` / ``get_*`` / ``list_studies`` /
``compare_studies``) and their DataFrame versions in ``storage.studies.queries``, on SQLite and PostgreSQL,
against expectations computed in ``readset`` from the raw values the dataset was generated from."""
from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pytest

import readset
from readset import Run
from storage import HiveError, UnknownStudyError, ValidationError
from storage.studies import queries

pytest_plugins = ["readplugin"]
ds, svc, reader = readset.local_fixtures()

SEED_COMPARE_COLUMNS = ["study_id", "study_type", "best_fitness", "run_count", "avg_fitness", "pareto_count",
                        "execution_time_seconds"]


def newest_first(studies) -> list[str]:
    by_id = sorted(studies, key=lambda s: s.study_id)
    return [s.study_id for s in sorted(by_id, key=lambda s: s.created_at, reverse=True)]


def same(a, b, rel=1e-12) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == pytest.approx(b, rel=rel, abs=1e-12)


# ------------------------------------------------------------------------------------ list_studies

GA = {"ga_min", "ga_max", "mo_mixed", "mo_live", "edge_big", "fresh_live", "fx_formula", "fx_cr"}


@pytest.mark.parametrize("filters, expected", [
    ({}, None),
    ({"study_type": "ga"}, GA),
    ({"study_type": "genetic_algorithm"}, GA),
    ({"study_type": "mc"}, {"mc_study"}),
    ({"study_type": "milp"}, {"milp_1"}),
    ({"study_type": "sim"}, {"sim_failed"}),
    ({"status": "completed"}, {"ga_min", "ga_max", "mo_mixed", "mc_study"}),
    ({"status": "running"}, {"mo_live", "edge_big", "fresh_live", "fx_formula", "fx_cr"}),
    ({"status": "pending"}, {"milp_1"}),
    ({"status": "failed"}, {"sim_failed"}),
    # LIKE metacharacters are literal: "a_b" must not match "axb", "100%" must not match "1000 runs".
    ({"text": "a_b"}, {"ga_min"}),
    ({"text": "100%"}, {"ga_min"}),
    ({"text": "%"}, {"ga_min"}),
    ({"text": "under%score"}, set()),
    ({"text": "under_score"}, {"milp_1"}),
    ({"text": "C:\\configs"}, {"sim_failed"}),
    ({"text": "PARETO"}, {"mo_mixed", "mo_live"}),
    ({"text": "mo_"}, {"mo_mixed", "mo_live"}),
    # dates: an end date includes its whole day
    ({"created_from": "2024-02-15", "created_to": "2024-03-01"}, {"ga_max", "mo_mixed"}),
    ({"created_from": "2024-02-16"}, {"mo_mixed", "mo_live", "mc_study", "milp_1", "edge_big", "fresh_live",
                                      "fx_formula", "fx_cr"}),
    ({"created_to": "2023-12-31"}, {"sim_failed"}),
    ({"created_from": date(2024, 4, 1), "created_to": date(2024, 4, 5)}, {"mc_study", "milp_1"}),
    ({"created_from": datetime(2024, 2, 15, 12, 0, 0)}, GA - {"ga_min"} | {"mc_study", "milp_1"}),
    ({"created_from": datetime(2024, 2, 15, 12, 0, 1), "created_to": "2024-03-01"}, {"mo_mixed"}),
    ({"study_type": "ga", "status": "completed", "created_from": "2024-02-01"}, {"ga_max", "mo_mixed"}),
])
def test_list_studies_filters(ds, svc, filters, expected):
    wanted = [s for s in ds.studies.values() if expected is None or s.study_id in expected]
    rows = svc.list_studies(**filters)
    assert [r["study_id"] for r in rows] == newest_first(wanted)


def test_list_studies_values_and_limit(ds, svc):
    rows = {r["study_id"]: r for r in svc.list_studies()}
    for s in ds.studies.values():
        row = rows[s.study_id]
        assert row["study_type"] == s.study_type
        assert row["status"] == s.status
        assert row["study_name"] == s.name and row["description"] == s.description
        assert row["created_at"] == s.created_at
        assert row["objective_directions"] == s.directions
        assert row["parameter_names"] == s.param_names
        if s.study_id != "fresh_live":  # the freshness test may add runs
            assert row["run_count"] == len(s.runs)
            assert same(row["best_fitness"], readset.best_fitness(s))
        assert row["execution_time_seconds"] == s.execution_time
        assert (row["completed_at"] is not None) == (s.status == "completed")
    assert [r["study_id"] for r in svc.list_studies(limit=3)] == newest_first(ds.studies.values())[:3]


@pytest.mark.parametrize("filters", [{"study_type": "genetic"}, {"study_type": "GA"}, {"status": "done"},
                                     {"created_from": "15/02/2024"}])
def test_list_studies_bad_filters(svc, filters):
    with pytest.raises(ValueError):
        svc.list_studies(**filters)


def test_list_studies_text_matches_non_ascii_case_insensitively(ds, svc, request):
    for text in ("Étude", "étude", "ÉTUDE MONTE"):
        assert [r["study_id"] for r in svc.list_studies(text=text)] == ["mc_study"], text


def test_list_studies_end_datetime_is_inclusive(ds, svc):
    # "--to: Created on or before": a study created exactly at the bound is on or before it.
    assert "ga_max" in [r["study_id"] for r in svc.list_studies(created_to=datetime(2024, 2, 15, 12, 0, 0))]
    assert "ga_max" in [r["study_id"] for r in svc.list_studies(created_to="2024-02-15 12:00:00")]


def test_get_study(ds, svc):
    s = ds["mo_live"]
    study = svc.get_study("mo_live")
    assert study["study_id"] == "mo_live" and study["study_type"] == "genetic_algorithm"
    assert study["objective_directions"] == s.directions and study["reference_point"] == s.reference_point
    assert study["parameter_names"] == s.param_names and study["optimization_objective"] == "cost,co2"
    with pytest.raises(UnknownStudyError, match="nope"):
        svc.get_study("nope")


# ----------------------------------------------------------------------------------- best designs


@pytest.mark.parametrize("study_id, limit", [("ga_min", 10), ("ga_min", 1), ("ga_max", 5), ("mo_mixed", 100),
                                             ("mc_study", 3), ("ga_max", 100_000)])
def test_best_designs(ds, svc, study_id, limit):
    s = ds[study_id]
    expected = readset.best_designs(s, limit)
    rows = svc.get_best_designs(study_id, limit=limit)
    assert [r["run_id"] for r in rows] == [r.run_id for r in expected]
    for row, run in zip(rows, expected):
        assert row["fitness"] == run.fitness and row["simulation_status"] == "success"
        assert row["parameter_vector"] == run.params
        assert row["generation_number"] == run.generation
        if run.objectives is not None:
            assert all(same(a, b) for a, b in zip(row["objectives"], run.objectives))
        for kpi in readset.KPI_NAMES:
            assert row[kpi] == (run.sim[kpi] if run.sim else None), (run.run_id, kpi)
    # excluded: failed (inf / the nominally best 99.0 / -inf) and infeasible (0.5) runs
    assert all(ds[study_id].run(r["run_id"]).status == "success" for r in rows)


def test_best_designs_has_the_linked_kpis(ds, svc):
    rows = svc.get_best_designs("ga_min", limit=3)
    assert all(r["total_cost"] is not None for r in rows)  # the three best were simulated
    linked = [r for r in ds["ga_min"].runs if r.sim and r.status == "success"]
    assert {r["simulation_run_id"] for r in svc.get_best_designs("ga_min", limit=100) if r["total_cost"] is not None} \
        == {f"sim-{r.run_id}" for r in linked}


@pytest.mark.parametrize("limit", [0, -1, 100_001])
def test_best_designs_bad_limit(svc, limit):
    with pytest.raises(ValidationError, match="limit"):
        svc.get_best_designs("ga_min", limit=limit)


def test_best_designs_unknown_study(svc):
    with pytest.raises(UnknownStudyError, match="no_such"):
        svc.get_best_designs("no_such")


# ------------------------------------------------------------------------------------ comparisons


def test_compare_studies(ds, svc):
    ids = ["ga_min", "ga_max", "mo_mixed", "mo_live", "mc_study", "milp_1", "fx_formula"]
    rows = svc.compare_studies(ids + ["ga_min"])  # a repeated id is shown once
    assert [r["study_id"] for r in rows] == ids
    assert list(rows[0])[:7] == SEED_COMPARE_COLUMNS
    for row in rows:
        s = ds[row["study_id"]]
        assert row["study_type"] == s.study_type
        assert row["run_count"] == len(s.runs)
        assert same(row["best_fitness"], readset.best_fitness(s))
        assert same(row["avg_fitness"], readset.avg_finite_successful(s), rel=1e-9)
        assert row["execution_time_seconds"] == s.execution_time
        expected_front = len(readset.brute_front(s)) if s.n_objectives >= 2 else None
        assert row["pareto_count"] == expected_front, s.study_id


def test_compare_counts_every_finite_fitness_in_the_average(ds, svc):
    # 1.5e308 is finite: the average of the successful finite fitness values is (1.5e308 + 3) / 2.
    row = svc.compare_studies(["edge_big"])[0]
    assert row["avg_fitness"] == pytest.approx(readset.avg_finite_successful(ds["edge_big"]), rel=1e-12)


def test_compare_errors(svc):
    with pytest.raises(UnknownStudyError, match="ghost"):
        svc.compare_studies(["ga_min", "ghost"])
    with pytest.raises(ValidationError):
        svc.compare_studies([])


# ---------------------------------------------------------------------------------- Pareto fronts


@pytest.mark.parametrize("study_id", ["mo_mixed", "mo_live", "fx_formula"])
def test_pareto_front_is_the_brute_force_non_dominated_set(ds, svc, study_id):
    s = ds[study_id]
    rows = svc.get_pareto_front(study_id)
    expected = readset.brute_front(s)
    assert sorted(r["run_id"] for r in rows) == sorted(expected)
    assert len(rows) == len(expected)  # each run once
    for row in rows:
        assert row["is_pareto_optimal"] is True or row["is_pareto_optimal"] == 1
        assert row["objectives"] == s.run(row["run_id"]).objectives
        assert row["simulation_status"] == "success"


def test_pareto_front_specials(ds, svc):
    front = {r["run_id"] for r in svc.get_pareto_front("mo_mixed")}
    s = ds["mo_mixed"]
    by_objectives = {}
    for r in s.runs:
        by_objectives.setdefault(tuple(r.objectives), []).append(r.run_id)
    assert set(by_objectives[(9.0, 0.3)]) <= front and len(by_objectives[(9.0, 0.3)]) == 2  # duplicates: both
    assert not set(by_objectives[(9.0, 0.2)]) & front  # tie on cost, worse renewables
    assert set(by_objectives[(21.0, 0.99)]) <= front
    assert not set(by_objectives[(1.0, 1.0)]) & front  # failed
    assert not {r.run_id for r in s.runs if not all(math.isfinite(v) for v in r.objectives)} & front
    assert "mo_live:10" not in {r["run_id"] for r in svc.get_pareto_front("mo_live")}  # failed [0, 0]


def test_domination_counts_of_a_completed_study(ds, svc):
    s = ds["mo_mixed"]
    rows = svc.query_study_runs("mo_mixed", limit=1000)
    assert len(rows) == len(s.runs)
    for row in rows:
        run = s.run(row["run_id"])
        assert row["domination_count"] == readset.brute_domination_count(s, run), run.run_id
        assert bool(row["is_pareto_optimal"]) == (run.run_id in readset.brute_front(s))


def test_pareto_front_errors(svc):
    with pytest.raises(ValidationError, match="one objective"):
        svc.get_pareto_front("ga_min")
    with pytest.raises(UnknownStudyError):
        svc.get_pareto_front("ghost")


# ---------------------------------------------------------------------------------- convergence


def _history_expectation(s: readset.Study) -> list[dict]:
    rows = readset.convergence(s)
    for row in rows:
        logged = s.logged_convergence.get(row["generation_number"])
        if logged is not None:  # the optimizer's own row is shown as logged
            row.update({k: None for k in ("population_diversity", "hypervolume", "stagnation_count")})
            row.update(logged)
    best = None  # best so far over the shown best_fitness column
    for row in rows:
        value = row["best_fitness"]
        if value is not None and (best is None or (value > best if s.maximize else value < best)):
            best = value
        row["best_so_far"] = best
    return rows


@pytest.mark.parametrize("study_id", ["ga_min", "ga_max", "mo_mixed", "mo_live", "fx_formula"])
def test_convergence_history(ds, svc, study_id):
    s = ds[study_id]
    expected = _history_expectation(s)
    rows = svc.get_convergence_history(study_id)
    assert [r["generation_number"] for r in rows] == [e["generation_number"] for e in expected]
    for row, exp in zip(rows, expected):
        g = exp["generation_number"]
        for column in ("best_fitness", "average_fitness", "worst_fitness", "fitness_std_dev",
                       "population_diversity", "stagnation_count", "evaluations_in_generation"):
            assert same(row[column], exp[column], rel=1e-9), (study_id, g, column, row[column], exp[column])
        if s.n_objectives >= 2:
            assert same(row["hypervolume"], exp["hypervolume"], rel=1e-9), (study_id, g, row["hypervolume"])
        if exp["best_fitness"] is not None:
            assert same(row["best_so_far"], exp["best_so_far"]), (study_id, g)
        logged = g in s.logged_convergence
        if s.status != "completed":
            assert row["source"] == ("stored" if logged else "computed")
    best = [r["best_so_far"] for r in rows if r["best_so_far"] is not None]
    assert best == (sorted(best) if s.maximize else sorted(best, reverse=True))  # monotone


def test_convergence_best_so_far_carries_over_a_generation_without_successes(ds, svc):
    rows = svc.get_convergence_history("ga_max")
    assert rows[-1]["best_fitness"] is None  # generation 4: every run failed
    assert rows[-1]["best_so_far"] == max(r.fitness for r in ds["ga_max"].runs if r.status == "success")


def test_convergence_of_a_study_without_generations_is_empty(svc):
    assert svc.get_convergence_history("mc_study") == []
    assert svc.get_convergence_history("milp_1") == []
    with pytest.raises(UnknownStudyError):
        svc.get_convergence_history("ghost")


# ------------------------------------------------------------------------------------ run pages

SORTS = ["evaluation_number", "generation_number", "fitness", "created_at"]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", SORTS)
def test_run_pages_concatenate_to_the_sorted_study(ds, svc, sort, descending):
    s = ds["ga_min"]
    if sort == "created_at":  # two batches a moment apart: insertion order, then evaluation_number
        expected = sorted(s.runs, key=lambda r: r.evaluation_number, reverse=descending)
    else:
        expected = readset.runs_sorted(s.runs, sort, descending)
    pages = [svc.query_study_runs("ga_min", sort=sort, descending=descending, limit=5, offset=o)
             for o in range(0, 45, 5)]
    assert [len(p) for p in pages] == [5] * 8 + [2, ]
    got = [r["run_id"] for page in pages for r in page]
    assert got == [r.run_id for r in expected]
    middle = svc.query_study_runs("ga_min", sort=sort, descending=descending, limit=7, offset=13)
    assert [r["run_id"] for r in middle] == got[13:20]
    assert svc.query_study_runs("ga_min", sort=sort, descending=descending, limit=5, offset=42) == []


def test_run_pages_sorted_by_a_column_with_missing_values(ds, svc):
    # Missing values last in both directions (as pandas and spreadsheets do), and the same on both backends.
    s = ds["ga_min"]
    for descending in (False, True):
        rows = svc.query_study_runs("ga_min", sort="evaluation_time_seconds", descending=descending, limit=100)
        expected = readset.runs_sorted(s.runs, "evaluation_time_seconds", descending)
        assert [r["run_id"] for r in rows] == [r.run_id for r in expected], descending


def _filter(runs: list[Run], generation=None, fitness_min=None, fitness_max=None, simulation_status=None):
    return [r for r in runs
            if (generation is None or r.generation == generation)
            and (fitness_min is None or r.fitness >= fitness_min)
            and (fitness_max is None or r.fitness <= fitness_max)
            and (simulation_status is None or r.status == simulation_status)]


def _some_fitness(ds, k):
    return ds["ga_min"].runs[k].fitness


@pytest.mark.parametrize("make_filters", [
    lambda ds: {"generation": 2},
    lambda ds: {"generation": 0, "simulation_status": "success"},
    lambda ds: {"simulation_status": "failed"},
    lambda ds: {"simulation_status": "infeasible"},
    lambda ds: {"fitness_min": _some_fitness(ds, 3), "fitness_max": _some_fitness(ds, 3) + 2.0},  # inclusive bounds
    lambda ds: {"fitness_max": 1e300},  # excludes +inf
    lambda ds: {"fitness_min": 1e300},  # only +inf
    lambda ds: {"generation": 99},
])
def test_run_filters(ds, svc, reader, make_filters):
    filters = make_filters(ds)
    expected = _filter(ds["ga_min"].runs, **filters)
    rows = svc.query_study_runs("ga_min", limit=1000, **filters)
    assert [r["run_id"] for r in rows] == [r.run_id for r in expected]
    assert queries.count_study_runs(reader, "ga_min", queries.RunFilter(**filters)) == len(expected)
    page = svc.query_study_runs("ga_min", sort="fitness", descending=True, limit=3, offset=1, **filters)
    assert [r["run_id"] for r in page] == [r.run_id for r in readset.runs_sorted(expected, "fitness", True)[1:4]]


def test_run_rows_carry_their_values(ds, svc):
    s = ds["ga_min"]
    rows = svc.query_study_runs("ga_min", limit=100)
    for row, run in zip(rows, s.runs, strict=True):
        assert row["run_id"] == run.run_id and row["study_id"] == "ga_min"
        assert row["evaluation_number"] == run.evaluation_number and row["generation_number"] == run.generation
        assert row["parameter_vector"] == run.params and row["fitness"] == run.fitness
        assert row["simulation_status"] == run.status and row["evaluation_time_seconds"] == run.eval_time
        for kpi in readset.KPI_NAMES:
            assert row[kpi] == (run.sim[kpi] if run.sim else None)
    mixed = {r["run_id"]: r for r in svc.query_study_runs("mo_mixed", limit=100)}
    for run in ds["mo_mixed"].runs:
        assert all(same(a, b) for a, b in zip(mixed[run.run_id]["objectives"], run.objectives))


@pytest.mark.parametrize("kwargs, match", [({"limit": 0}, "limit"), ({"limit": 100_001}, "limit"),
                                           ({"offset": -1}, "offset"), ({"sort": "fitness; DROP TABLE studies"}, "sort"),
                                           ({"sort": "run_id"}, "sort")])
def test_run_query_bad_arguments(svc, kwargs, match):
    with pytest.raises(ValidationError, match=match):
        svc.query_study_runs("ga_min", **kwargs)


def test_run_query_unknown_study(svc):
    with pytest.raises(UnknownStudyError):
        svc.query_study_runs("ghost")


@pytest.mark.parametrize("max_rows", [1, 5, 10, 42, 1000])
def test_sample_study_runs(ds, reader, max_rows):
    frame = queries.sample_study_runs(reader, "ga_min", max_rows)
    numbers = frame["evaluation_number"].tolist()
    assert 1 <= len(numbers) <= max_rows and numbers == sorted(numbers)
    assert set(frame["study_id"]) == {"ga_min"}
    steps = {b - a for a, b in zip(numbers, numbers[1:])}
    assert len(steps) <= 1  # evenly spread
    if max_rows >= 42:
        assert numbers == [r.evaluation_number for r in ds["ga_min"].runs]
    else:
        assert len(numbers) >= max_rows // 2  # not needlessly thin


@pytest.mark.parametrize("study_id", ["ga_min", "ga_max", "mo_mixed", "edge_big"])
@pytest.mark.parametrize("max_rows", [1, 3, 1000])
def test_sample_study_fitness_is_every_kth_successful_run(ds, reader, study_id, max_rows):
    runs = ds[study_id].runs
    step = max(1, -(-len(runs) // max_rows))
    expected = [r.fitness for r in sorted(runs, key=lambda r: r.evaluation_number)
                if r.status == "success" and r.evaluation_number % step == 0][:max_rows]
    got = queries.sample_study_fitness(reader, study_id, max_rows)
    np.testing.assert_array_equal(got, np.array(expected, dtype=float))


# -------------------------------------------------------------------------- uncertainty / sensitivity


def test_uncertainty_summary(ds, svc):
    s = ds["mc_study"]
    rows = svc.get_uncertainty_summary("mc_study")
    order = sorted(range(len(s.uncertainty)), key=lambda i: (s.uncertainty[i]["objective_name"], i))
    assert [r["objective_name"] for r in rows] == [s.uncertainty[i]["objective_name"] for i in order]
    assert [r["target_solution_id"] for r in rows] == [s.uncertainty[i]["target_solution_id"] for i in order]
    for row, i in zip(rows, order):
        for key, value in s.uncertainty[i].items():
            assert row[key] == value, key
    assert rows[0]["analysis_id"] != rows[1]["analysis_id"]
    assert svc.get_uncertainty_summary("ga_min") == []
    with pytest.raises(UnknownStudyError):
        svc.get_uncertainty_summary("ghost")


@pytest.mark.parametrize("limit", [10, 3, 1, 8])
def test_sensitivity_rankings(ds, svc, limit):
    s = ds["mc_study"]
    expected = sorted(s.sensitivity, key=lambda r: (r["importance_rank"], r["objective_name"], r["parameter_index"]))
    rows = svc.get_sensitivity_rankings("mc_study", limit=limit)
    assert len(rows) == min(limit, len(expected))
    for row, exp in zip(rows, expected):
        for key, value in exp.items():
            assert row[key] == value, key
    ranks = [r["importance_rank"] for r in rows]
    assert ranks == sorted(ranks)


def test_sensitivity_errors(svc):
    assert svc.get_sensitivity_rankings("ga_min") == []
    with pytest.raises(UnknownStudyError):
        svc.get_sensitivity_rankings("ghost")


def test_every_query_error_is_a_hive_error(svc):
    for call in (lambda: svc.get_best_designs("ghost"), lambda: svc.get_pareto_front("ga_max"),
                 lambda: svc.list_studies(status="bogus"), lambda: svc.query_study_runs("ga_min", sort="x")):
        with pytest.raises(HiveError):
            call()
