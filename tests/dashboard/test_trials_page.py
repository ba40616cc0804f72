"""Headless tests of the Trials page and the Design page as Optuna's trial detail (AppTest on app.py).

The database holds real Optuna studies imported with ``import_optuna_study`` (see
``tests/read/test_trials_views.py`` for how they are built); every chart's data is compared with
Optuna's own (``optuna.visualization`` data, ``optuna.importance.get_param_importances``) or with the
trials themselves. SQLite and PostgreSQL (the README's application role reads, as in a deployment).
"""
from __future__ import annotations

import re

import json
import math

import numpy as np
import pytest
from conftest import app_database  # tests/conftest.py
from optuna.importance import get_param_importances
from optuna.trial import TrialState
from optuna.visualization._optimization_history import _get_optimization_history_info_list

from test_pages import DESIGN, Dashboard, chart, check_clean, texts  # tests/dashboard/test_pages.py
from optuna_studies import all_studies  # tests/optuna_studies.py

TRIALS = "pages/trials.py"
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.PerformanceWarning")


@pytest.fixture(scope="module")
def optuna_studies():
    return all_studies()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def trials_db(request, tmp_path_factory, optuna_studies) -> str:
    from integrations.optuna_import import import_optuna_study
    from storage import DatabaseMetadataService

    with app_database(request, tmp_path_factory.mktemp("trials")) as url:
        with DatabaseMetadataService(url) as service:
            for study in optuna_studies.values():
                import_optuna_study(service, study)
        yield url


@pytest.fixture
def dash(trials_db, monkeypatch, tmp_path) -> Dashboard:
    return Dashboard(trials_db, monkeypatch, tmp_path)


def view(dash, name: str, study: str = "optuna_tpe", **params):
    return dash.open(TRIALS, study=study, view=name, **params)


def test_history_shows_optunas_values_outcomes_and_best_so_far(dash, optuna_studies):
    at = view(dash, "History")
    study = optuna_studies["tpe"]
    figure = chart(at, "history")
    by_name = {t["name"].split(" (")[0]: t for t in figure["data"]}
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    infeasible = [t for t in complete if t.constraints["x_at_most_1.5"] > 0]
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert sorted(by_name["feasible"]["x"]) == sorted(t.number for t in complete if t not in infeasible)
    assert sorted(by_name["infeasible"]["x"]) == sorted(t.number for t in infeasible)
    assert sorted(by_name["pruned"]["x"]) == sorted(t.number for t in pruned if t.value is not None)
    info = _get_optimization_history_info_list(study, None, "Objective Value", False)[0]
    best = {n: v for n, v in zip(info.trial_numbers, info.best_values_info.values) if math.isfinite(v)}
    line = by_name["best so far"]
    assert dict(zip(line["x"], line["y"])) == best
    assert figure["layout"]["xaxis"]["title"]["text"] == "evaluation number"
    assert any(f"80 evaluations: {len(complete) - len(infeasible)} feasible, {len(infeasible)} infeasible, "
               f"{len(pruned)} pruned" in text for text in texts(at.caption))


def test_history_of_two_objectives_with_hypervolume_and_the_objective_in_the_url(dash, optuna_studies):
    at = view(dash, "History", study="optuna_moo", objective="objective_1")
    assert at.selectbox(key="trials_objective").value == "objective_1"
    figure = chart(at, "history")
    values = {t.number: t.values[1] for t in optuna_studies["moo"].trials}
    points = {x: y for trace in figure["data"] if trace["name"] != "best so far" for x, y in zip(trace["x"], trace["y"])}
    assert points == values
    best = [y for y in chart(at, "history")["data"][-1]["y"]]
    assert best == list(np.maximum.accumulate([values[n] for n in sorted(values)]))   # maximized
    subtitle = chart(at, "hypervolume")["layout"]["title"]["subtitle"]["text"]
    assert re.fullmatch(r"Reference point objective_0 = [-0-9.,e+]+, objective_1 = [-0-9.,e+]+", subtitle), subtitle
    hv = chart(at, "hypervolume")["data"][0]
    assert len(hv["x"]) == 40 and hv["y"][-1] > 0 and all(np.diff(hv["y"]) >= 0)


def test_learning_curves_distinguish_pruned_evaluations(dash, optuna_studies):
    at = view(dash, "Learning curves")
    study = optuna_studies["tpe"]
    figure = chart(at, "curves")
    pruned = next(t for t in figure["data"] if t["name"].startswith("pruned"))
    numbers = {int(run_id.rsplit(":", 1)[1]) for run_id in pruned["customdata"] if run_id}
    assert numbers == {t.number for t in study.trials if t.state == TrialState.PRUNED}
    trial = next(t for t in study.trials if t.state == TrialState.PRUNED)
    mine = [(x, y) for x, y, r in zip(pruned["x"], pruned["y"], pruned["customdata"]) if r == f"optuna_tpe:{trial.number}"]
    assert mine == sorted(trial.intermediate_values.items())
    assert figure["layout"]["title"]["subtitle"]["text"] == "All 80 curves"


def test_importance_is_computed_on_request_stored_and_states_its_method(dash, optuna_studies):
    at = view(dash, "Importance", study="optuna_dominant")
    assert any("Not computed" in text for text in texts(at.caption))
    at.button(key="trials_compute").click().run()
    check_clean(at)
    figure = chart(at, "importance")
    assert figure["layout"]["title"]["subtitle"]["text"].startswith("Method: PED-ANOVA")
    bars = figure["data"][0]
    theirs = get_param_importances(optuna_studies["dominant"])
    assert dict(zip(bars["customdata"], bars["x"])) == pytest.approx(theirs, rel=1e-9)
    assert bars["customdata"][-1] == "x"                            # most important on top
    # The next view reads the stored analysis: no button, the same numbers.
    again = view(dash, "Importance", study="optuna_dominant")
    assert not [b for b in again.button if b.key == "trials_compute"]
    assert chart(again, "importance")["data"][0]["x"] == bars["x"]


def test_slice_contour_rank_edf_timeline_and_parallel_coordinates(dash, optuna_studies):
    study = optuna_studies["tpe"]
    complete = {t.number: t for t in study.trials if t.state == TrialState.COMPLETE}

    at = view(dash, "Slice", params="x,kind")
    panels = {t["name"]: t for t in chart(at, "slice")["data"]}
    assert set(panels) == {"x", "kind"}
    for name, panel in panels.items():
        got = {int(r.rsplit(":", 1)[1]): (x, y) for r, x, y in zip(panel["customdata"], panel["x"], panel["y"])}
        assert got == {n: (t.params[name], t.value) for n, t in complete.items()}   # categorical as its label

    at = view(dash, "Contour & rank", x="kind", y="x")
    contour, rank = chart(at, "contour"), chart(at, "rank")
    assert contour["layout"]["xaxis"]["ticktext"] == ["adam", "sgd"]
    colors = dict(zip(rank["data"][0]["customdata"], rank["data"][0]["marker"]["color"]))
    ordered = sorted(complete, key=lambda n: complete[n].value)
    assert colors[f"optuna_tpe:{ordered[0]}"] == 0 and colors[f"optuna_tpe:{ordered[-1]}"] == 1

    at = view(dash, "EDF", edf="optuna_tpe,optuna_dominant")
    lines = chart(at, "edf")["data"]
    assert [line["name"] for line in lines] == ["optuna_tpe (%d)" % len(complete), "optuna_dominant (60)"]
    assert sorted(lines[0]["x"]) == sorted(t.value for t in complete.values()) and lines[0]["y"][-1] == 1.0

    at = view(dash, "Timeline")
    bars = chart(at, "timeline")["data"]
    assert sum(len(b["y"]) for b in bars) == 80
    pruned = next(b for b in bars if b["name"].startswith("pruned"))
    assert sorted(pruned["y"]) == sorted(t.number for t in study.trials if t.state == TrialState.PRUNED)

    at = view(dash, "Parallel coordinates")
    figure = chart(at, "parallel")
    axes = ["kind", "layers", "x", "y", "value"]
    assert figure["layout"]["xaxis"]["ticktext"] == axes
    lines, bands = {}, {}
    for trace in figure["data"]:              # each line: its five points, then a gap
        assert all(math.isnan(y) for y in trace["y"][5::6])
        for start in range(0, len(trace["y"]), 6):
            lines[trace["customdata"][start]] = trace["y"][start:start + 5]
            bands[trace["customdata"][start]] = trace["name"]
    assert set(lines) == {f"optuna_tpe:{n}" for n in complete}   # every finished trial once

    def axis_value(trial, name):
        return ["adam", "sgd"].index(trial.params[name]) if name == "kind" else (
            trial.value if name == "value" else trial.params[name])

    spans = {name: (min(axis_value(t, name) for t in complete.values()),
                    max(axis_value(t, name) for t in complete.values())) for name in axes}
    for number, trial in complete.items():
        expected = [(axis_value(trial, name) - spans[name][0]) / (spans[name][1] - spans[name][0]) for name in axes]
        assert lines[f"optuna_tpe:{number}"] == pytest.approx(expected, abs=1e-12)
        low, high = (float(v) for v in re.match(r"value (\S+) to (\S+) \(", bands[f"optuna_tpe:{number}"]).groups())
        assert low - 1e-3 * abs(low) <= trial.value <= high + 1e-3 * abs(high)   # its colour band says its range
    # On request, plotly's parcoords (WebGL) with the same axes, to filter by dragging.
    at.toggle(key="parallel_filter").set_value(True).run()
    check_clean(at)
    dimensions = chart(at, "parallel")["data"][0]["dimensions"]
    assert [d["label"] for d in dimensions] == axes
    assert dimensions[0]["ticktext"] == ["adam", "sgd"]
    assert sorted(dimensions[-1]["values"]) == sorted(t.value for t in complete.values())


def test_view_choice_writes_the_url(dash):
    at = view(dash, "History")
    at.segmented_control(key="trials_view").set_value("Timeline").run()
    check_clean(at)
    assert at.query_params["view"] in ("Timeline", ["Timeline"])
    assert chart(at, "timeline")


def test_design_page_is_the_trial_detail(dash, optuna_studies):
    study = optuna_studies["tpe"]
    trial = next(t for t in study.trials if t.state == TrialState.COMPLETE and t.constraints["x_at_most_1.5"] > 0)
    at = dash.open(DESIGN, study="optuna_tpe", run=f"optuna_tpe:{trial.number}")
    assert f"Infeasible: x_at_most_1.5 above 0." in [t.value for t in at.text]
    attributes = next(d.value for d in at.dataframe if "kind" in d.value.columns)
    assert {"tag": f"layers={trial.params['layers']}"}.items() <= dict(zip(attributes["name"], attributes["value"])).items()
    system = attributes[attributes["kind"] == "system"]                # Optuna's own system attributes, as text
    assert set(system["name"]) == set(trial.system_attrs)
    assert all(json.loads(v) == trial.system_attrs[k] or v == str(trial.system_attrs[k])
               for k, v in zip(system["name"], system["value"]))
    parameters = next(d.value for d in at.dataframe if "parameter" in d.value.columns)
    assert dict(zip(parameters["parameter"], parameters["value"]))["kind"] == trial.params["kind"]   # the label
    pruned = next(t for t in study.trials if t.state == TrialState.PRUNED)
    at = dash.open(DESIGN, study="optuna_tpe", run=f"optuna_tpe:{pruned.number}")
    assert f"This evaluation was pruned after step {max(pruned.intermediate_values)}." in [t.value for t in at.text]
    assert "The evaluation was pruned: it has no result, so it is neither feasible nor infeasible." in [t.value for t in at.text]


def test_a_large_study_is_drawn_from_an_even_sample_that_the_caption_states(monkeypatch, tmp_path):
    # 1,203 evaluations: the page draws one in every ceil(1203 / 500) = 3, evaluation numbers 0, 3, 6 ...
    from storage import DatabaseMetadataService

    url = f"sqlite:///{tmp_path / 'hive.db'}"
    with DatabaseMetadataService(url) as service:
        service.create_study({"study_id": "big", "study_type": "bayesian_optimization",
                              "optimization_objective": "loss", "parameter_names": ["a", "b"]})
        service.log_study_runs([{"study_id": "big", "evaluation_number": n, "fitness": float(n % 17),
                                 "objectives": [float(n % 17)], "parameter_vector": [n / 1203, (n * 7 % 1203) / 1203],
                                 "simulation_status": "failed" if n % 10 == 9 else "success"}
                                for n in range(1203)])
    at = Dashboard(url, monkeypatch, tmp_path).open(TRIALS, study="big", view="Slice")
    drawn = {int(r.rsplit(":", 1)[1]) for r in chart(at, "slice")["data"][0]["customdata"]}
    expected = {n for n in range(0, 1203, 3) if n % 10 != 9}   # failed ones have no value to draw
    assert drawn == expected
    assert f"{len(expected):,} finished evaluations drawn from one in every 3 of the 1,203." in texts(at.caption)
