"""The Trials views' numbers against Optuna's own, on SQLite and PostgreSQL.

Real Optuna studies (TPE with a median pruner and intermediate values, a categorical and an integer
parameter, constraints; a two-objective NSGA-II study) are imported with ``import_optuna_study``; each
query of ``storage.studies.queries`` is then compared with the data ``optuna.visualization`` builds its plots
from (``_get_optimization_history_info_list``, ``_get_intermediate_plot_info``, ``_get_slice_plot_info``,
``_get_edf_info``, ``_get_hypervolume_history_info``, ``_get_timeline_info``) and with
``optuna.importance.get_param_importances`` on the same study, or with a direct computation.
"""
from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.importance import FanovaImportanceEvaluator, get_param_importances
from optuna.trial import TrialState
from optuna.visualization._edf import _get_edf_info
from optuna.visualization._hypervolume_history import _get_hypervolume_history_info
from optuna.visualization._intermediate_values import _get_intermediate_plot_info
from optuna.visualization._optimization_history import _get_optimization_history_info_list
from optuna.visualization._slice import _get_slice_plot_info
from optuna.visualization._timeline import _get_timeline_info

from integrations.optuna_import import import_optuna_study
from optuna_studies import all_studies  # tests/optuna_studies.py
from storage.studies import queries


@pytest.fixture(scope="module")
def optuna_studies():
    return all_studies()


@pytest.fixture
def imported(service, optuna_studies):
    for study in optuna_studies.values():
        import_optuna_study(service, study)
    return service


def test_history_matches_optunas_optimization_history(imported, optuna_studies):
    study = optuna_studies["tpe"]
    info = _get_optimization_history_info_list(study, None, "Objective Value", False)[0]
    history = queries.get_trial_history(imported.reader, "optuna_tpe")
    assert history["evaluation_number"].tolist() == info.trial_numbers
    states = {t.number: t.state for t in study.trials}
    for row, value, best in zip(history.itertuples(), info.values_info.values, info.best_values_info.values):
        if states[row.evaluation_number] == TrialState.COMPLETE:
            assert row.value == value                                  # Optuna plots COMPLETE trials' values
        else:
            assert row.state == "pruned"
        assert (math.isnan(row.best_so_far) and math.isinf(best)) or row.best_so_far == best
    infeasible = {t.number for t in study.trials if t.state == TrialState.COMPLETE and t.constraints["x_at_most_1.5"] > 0}
    assert infeasible and set(history.loc[history["state"] == "infeasible", "evaluation_number"]) == infeasible
    assert history["state"].eq("pruned").sum() == sum(t.state == TrialState.PRUNED for t in study.trials) > 0


def test_history_thinned_keeps_every_new_best(imported):
    full = queries.get_trial_history(imported.reader, "optuna_tpe")
    thin = queries.get_trial_history(imported.reader, "optuna_tpe", max_points=10)
    assert thin.attrs["total"] == len(full) == 80
    improved = full["best_so_far"].ne(full["best_so_far"].shift()) & full["best_so_far"].notna()
    assert set(full.loc[improved, "evaluation_number"]) <= set(thin["evaluation_number"])
    assert len(thin) <= 10 + improved.sum() + 1
    merged = thin.merge(full, on="evaluation_number", suffixes=("", "_full"))
    assert np.allclose(merged["best_so_far"], merged["best_so_far_full"], equal_nan=True)


def test_learning_curves_match_optunas_intermediate_values(imported, optuna_studies):
    study = optuna_studies["tpe"]
    expected = {info.trial_number: info.sorted_intermediate_values for info in _get_intermediate_plot_info(study).trial_infos}
    curves = queries.get_learning_curves(imported.reader, "optuna_tpe")
    assert curves.attrs["total_curves"] == curves.attrs["shown_curves"] == len(expected) == 80
    for number, curve in curves.groupby("evaluation_number"):
        assert list(zip(curve["step"], curve["value"])) == expected[number]
    pruned = {t.number for t in study.trials if t.state == TrialState.PRUNED}
    assert set(curves.loc[curves["state"] == "pruned", "evaluation_number"]) == pruned

    thin = queries.get_learning_curves(imported.reader, "optuna_tpe", max_curves=5, best_curves=3, max_steps=3)
    best = sorted((t.value, t.number) for t in study.trials if t.state == TrialState.COMPLETE
                  and t.constraints["x_at_most_1.5"] <= 0)[:3]
    shown = set(thin["evaluation_number"])
    assert {n for _, n in best} <= shown and len(shown) <= 8 and thin.attrs["shown_curves"] == len(shown)
    assert {0, 79} <= shown                                                # evenly chosen: first and last
    for number, curve in thin.groupby("evaluation_number"):
        steps = [s for s, _ in expected[number]]
        assert len(curve) <= 4 and curve["step"].iloc[0] == steps[0] and curve["step"].iloc[-1] == steps[-1]


def test_importance_matches_optunas_get_param_importances(imported, optuna_studies):
    study = optuna_studies["dominant"]
    ours = imported.analyze_parameter_importance("optuna_dominant")          # PED-ANOVA, Optuna's default
    theirs = get_param_importances(study)
    got = {row["parameter_name"]: row["importance"] for row in ours["rows"]}
    assert got.keys() == theirs.keys() and all(math.isclose(got[k], theirs[k], rel_tol=1e-9, abs_tol=1e-12) for k in got)
    assert max(got, key=got.get) == max(theirs, key=theirs.get) == "x"

    fanova = imported.analyze_parameter_importance("optuna_dominant", "fanova")
    theirs = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
    got = {row["parameter_name"]: row["importance"] for row in fanova["rows"]}
    assert all(math.isclose(got[k], theirs[k], rel_tol=1e-9, abs_tol=1e-12) for k in theirs)
    assert max(got, key=got.get) == "x"

    sobol = imported.analyze_parameter_importance("optuna_dominant", "sobol")
    ranked = sorted(sobol["rows"], key=lambda r: r["importance_rank"])
    assert ranked[0]["parameter_name"] == "x"

    # Stored: the query reads back what was computed, per method, with Spearman computed directly.
    stored = queries.get_parameter_importance(imported.reader, "optuna_dominant")
    assert set(stored["method"]) == {"ped_anova", "fanova", "sobol"} and len(stored) == 9
    assert set(stored["study_run_count"]) == {60} and set(stored["evaluations_used"]) == {60}
    from scipy.stats import spearmanr

    x = [t.params["x"] for t in study.trials]
    rho = spearmanr(x, [t.value for t in study.trials]).statistic
    assert np.allclose(stored.loc[stored["parameter_name"] == "x", "spearman"], rho)
    again = imported.analyze_parameter_importance("optuna_dominant")        # replaces, never adds
    assert len(queries.get_parameter_importance(imported.reader, "optuna_dominant", "ped_anova")) == 3
    assert [r["importance"] for r in again["rows"]] == [r["importance"] for r in ours["rows"]]


def test_importance_counts_complete_trials_only_and_states_its_method(imported, optuna_studies):
    study = optuna_studies["tpe"]
    result = imported.analyze_parameter_importance("optuna_tpe")
    complete = sum(t.state == TrialState.COMPLETE for t in study.trials)
    assert result["evaluations_used"] == complete < 80 and result["study_run_count"] == 80
    assert "PED-ANOVA" in result["method_label"]
    theirs = get_param_importances(study)
    got = {row["parameter_name"]: row["importance"] for row in result["rows"]}
    assert all(math.isclose(got[k], theirs[k], rel_tol=1e-9, abs_tol=1e-12) for k in theirs)


def test_slice_and_edf_match_optuna(imported, optuna_studies):
    from storage.studies import exports

    study = optuna_studies["tpe"]
    record = queries.get_study(imported.reader, "optuna_tpe")
    runs = queries.sample_study_runs(imported.reader, "optuna_tpe", 5000)
    finished = exports.spread_columns(runs[runs["simulation_status"].isin(["success", "infeasible"])], record)
    info = _get_slice_plot_info(study, None, None, "Objective Value")
    for subplot in info.subplots:
        ours = finished.set_index("evaluation_number")
        assert sorted(ours.index) == sorted(subplot.trial_numbers)
        for number, x, y in zip(subplot.trial_numbers, subplot.x, subplot.y):
            assert ours.loc[number, f"param:{subplot.param_name}"] == x and ours.loc[number, "value"] == y

    values = {name: queries.get_objective_values(imported.reader, f"optuna_{name}") for name in ("tpe", "dominant")}
    edf = _get_edf_info([optuna_studies["tpe"], optuna_studies["dominant"]])
    for line, name in zip(edf.lines, ("tpe", "dominant")):
        ours = np.array([(values[name] <= x).mean() for x in edf.x_values])
        assert np.allclose(ours, line.y_values)
    from charts.trials import edf_points

    xs, ys = edf_points(values["tpe"], max_steps=10)                  # thinned steps stay on the exact EDF
    assert len(xs) <= 11 and all((values["tpe"] <= x).mean() == y for x, y in zip(xs, ys))


def test_hypervolume_history_matches_optuna(imported, optuna_studies):
    frame = queries.get_hypervolume_history(imported.reader, "optuna_moo")
    reference = frame.attrs["reference_point"]
    info = _get_hypervolume_history_info(optuna_studies["moo"], np.array(reference))
    theirs = dict(zip(info.trial_numbers, info.values))
    assert frame["evaluation_number"].tolist() == list(range(40))
    assert np.allclose(frame["hypervolume"], [theirs[n] for n in frame["evaluation_number"]])
    assert frame["hypervolume"].iloc[-1] > 0

    thin = queries.get_hypervolume_history(imported.reader, "optuna_moo", max_points=7)
    assert len(thin) <= 7 and thin["evaluation_number"].iloc[-1] == 39
    assert np.allclose(thin["hypervolume"], [theirs[n] for n in thin["evaluation_number"]])


def test_timeline_matches_optuna(imported, optuna_studies):
    frame = queries.get_timeline(imported.reader, "optuna_tpe").set_index("evaluation_number")
    bars = _get_timeline_info(optuna_studies["tpe"]).bars
    assert len(frame) == len(bars) == 80
    for bar in bars:
        row = frame.loc[bar.number]
        assert row["start"].to_pydatetime() == bar.start.astimezone().astimezone(row["start"].tzinfo)
        assert row["end"].to_pydatetime() == bar.complete.astimezone().astimezone(row["end"].tzinfo)
        assert row["state"] == ("pruned" if bar.state == TrialState.PRUNED
                                else "infeasible" if bar.infeasible else "feasible")


def test_views_of_a_study_without_optuna(service):
    """A GA-style study logged through the write API (no generations needed): history, curves from
    log_intermediate_values, timeline from created_at and evaluation_time_seconds, importance."""
    service.create_study({"study_id": "plain", "study_type": "other", "optimization_objective": "loss",
                          "objective_directions": ["maximize"], "parameter_names": ["a", "b"]})
    rng = np.random.default_rng(0)
    a, b = rng.random(60), rng.random(60)
    loss = 5 * a + 0.1 * b
    ids = service.log_study_runs([
        {"study_id": "plain", "parameter_vector": [float(p), float(q)], "fitness": float(v),
         "simulation_status": "failed" if i == 3 else "success", "evaluation_time_seconds": 2.0,
         "created_at": f"2026-01-01 00:{i // 60:02d}:{i % 60:02d}"}
        for i, (p, q, v) in enumerate(zip(a, b, loss))])
    service.log_intermediate_values("plain", ids[0], [(0, 1.0), (1, float("nan")), (2, 3.0)])
    history = queries.get_trial_history(service.reader, "plain")
    feasible = np.where(np.arange(60) == 3, -np.inf, loss)
    assert np.allclose(history["best_so_far"], np.maximum.accumulate(feasible))   # maximized, failed run left out
    assert history.loc[3, "state"] == "failed"
    curves = queries.get_learning_curves(service.reader, "plain")
    assert curves["step"].tolist() == [0, 1, 2] and math.isnan(curves["value"].iloc[1])
    timeline = queries.get_timeline(service.reader, "plain")
    assert (timeline["end"] - timeline["start"]).dt.total_seconds().eq(2.0).all()
    assert str(timeline["end"].iloc[5]) == "2026-01-01 00:00:05+00:00"
    result = service.analyze_parameter_importance("plain", "sobol")
    assert [r["parameter_name"] for r in sorted(result["rows"], key=lambda r: r["importance_rank"])][0] == "a"
    assert result["evaluations_used"] == 59
