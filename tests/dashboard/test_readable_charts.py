"""Charts a person can read (issue 12): every chart of every page has a title and axis titles that
name the objective or parameter (never just "fitness"), no placeholder text ("new text"), one
colour per study, and a chart with nothing to show is replaced by one sentence saying why.

AppTest, on the dataset of ``test_pages`` (SQLite and PostgreSQL) and a small MILP dataset written
here; every range, count and name asserted is worked out by hand in the comments.
"""
from __future__ import annotations

import json
import math
import re

import pytest
from conftest import app_database  # tests/conftest.py
from test_pages import (COMPARE, CONVERGENCE, DESIGN, DETAIL, EXPORT, GA_TWO_FRONT, PARETO, PROMPTS,  # noqa: F401
                        SENSITIVITY, STUDIES, Dashboard, chart, charts, check_clean, dash, seeded, select_on_chart,
                        texts, trace, widget)

pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.PerformanceWarning")

PLACEHOLDER = "new text"   # what plotly writes where an annotation was given no text


def axis_titles(figure: dict) -> dict[str, str | None]:
    """Every cartesian and 3-D axis of a figure spec, by name ("xaxis2", "scene.zaxis"), with its title."""
    layout = figure["layout"]
    found = {}
    for key, value in layout.items():
        if re.fullmatch(r"[xy]axis\d*", key):
            found[key] = value.get("title", {}).get("text")
        elif re.fullmatch(r"scene\d*", key):
            for axis in ("xaxis", "yaxis", "zaxis"):
                found[f"{key}.{axis}"] = value.get(axis, {}).get("title", {}).get("text")
    return found


def assert_readable(figure: dict) -> None:
    """A title; no placeholder anywhere (titles, annotations, trace names); every x axis, the first
    y axis and every 3-D axis titled; no axis titled just "fitness"."""
    assert PLACEHOLDER not in json.dumps(figure).lower(), "placeholder text in a chart"
    title = figure["layout"].get("title", {}).get("text")
    assert title, f"untitled chart: {[t.get('name') for t in figure['data']]}"
    if {t["type"] for t in figure["data"]} == {"parcoords"}:
        assert all(d["label"] for d in figure["data"][0]["dimensions"])
        return
    axes = axis_titles(figure)
    assert "xaxis" in axes or "scene.xaxis" in axes, (title, axes)
    for name, text in axes.items():
        if name.startswith(("xaxis", "scene")) or name == "yaxis":
            assert text, f"{title}: {name} has no title"
        assert text != "fitness", f"{title}: {name} says only 'fitness'"


# Every page, on studies that give it charts (and toggles that draw the optional ones).
PAGE_VIEWS = [
    (STUDIES, {}, 0),
    (DETAIL, {"study": "ga_two"}, 0),                               # the Runs tab: a table
    (DETAIL, {"study": "ga_two", "tab": "Parameter distributions"}, 1),
    (DETAIL, {"study": "md_runs", "tab": "Parameter distributions"}, 0),
    (DESIGN, {"study": "ga_two", "run": "ga_two:9"}, 0),
    (COMPARE, {"studies": "ga_three,ga_two,ga_live,ga_single,mc_risk"}, 9),
    (COMPARE, {"studies": "ga_two,ga_live", "dist": "ecdf"}, 4),
    (CONVERGENCE, {"studies": "ga_two,ga_single,ga_live"}, 4),
    (CONVERGENCE, {"studies": "ga_two", "log": "1"}, 4),
    ("pages/trials.py", {"study": "ga_two"}, 2),                  # history and hypervolume by evaluation
    ("pages/trials.py", {"study": "ga_two", "view": "Slice"}, 1),
    (PARETO, {"study": "ga_two", "pc": "1"}, 2),
    (PARETO, {"study": "ga_two", "logx": "1", "logy": "1"}, 1),
    (PARETO, {"study": "ga_live", "all": "1"}, 1),
    (PARETO, {"study": "ga_three", "3d": "1"}, 1),
    (SENSITIVITY, {"study": "mc_risk"}, 3),
    (SENSITIVITY, {"study": "mc_risk", "measure": "Sobol total"}, 3),
    (PROMPTS, {"run": "run-good"}, 2),
    (EXPORT, {}, 0),
]


@pytest.mark.parametrize("page, params, count", PAGE_VIEWS,
                         ids=[f"{p.split('/')[-1][:-3]}-{'-'.join(v)}" for p, v, _ in PAGE_VIEWS])
def test_every_chart_is_titled_named_and_free_of_placeholders(dash, page, params, count):
    at = dash.open(page, **params)
    figures = charts(at)
    assert len(figures) == count, [f["layout"].get("title", {}).get("text") for f in figures]
    for figure in figures:
        assert_readable(figure)


# ------------------------------------------------------------------------------------- Convergence


def test_convergence_charts_name_the_objective_and_keep_each_studys_colour(dash):
    at = dash.open(CONVERGENCE, studies="ga_two,ga_live")
    main, stagnation, hypervolume = chart(at, "main"), chart(at, "stag"), chart(at, "hv")
    # Both studies' fitness is cost, minimized: the axis and titles say so.
    assert main["layout"]["title"]["text"] == "Best, average and worst cost (min) per generation"
    assert main["layout"]["yaxis"]["title"]["text"] == "cost (min)"
    assert main["layout"]["xaxis"]["title"]["text"] == "generation"
    assert [t["name"] for t in main["data"] if t["name"].startswith("ga_two ")] == [
        "ga_two ±1 std", "ga_two best", "ga_two average", "ga_two worst", "ga_two best so far"]
    assert stagnation["layout"]["title"]["text"] == "Generations since the best cost (min) improved"
    assert hypervolume["layout"]["title"]["text"] == "Hypervolume per generation"
    # One colour per study, the same on every chart of the page, and two studies never share one.
    colours: dict[str, set] = {}
    for figure in charts(at):
        for t in figure["data"]:
            study = t["name"].split(" ")[0]
            colours.setdefault(study, set()).update(
                {part["color"] for part in (t.get("line", {}), t.get("marker", {})) if part.get("color")})
    for t in main["data"]:
        if "fillcolor" in t:
            colours[t["name"].split(" ")[0]].add(t["fillcolor"])
    assert sorted(colours) == ["ga_live", "ga_two"]
    assert all(len(c) == 1 for c in colours.values()) and colours["ga_live"] != colours["ga_two"]


def test_convergence_says_why_a_single_objective_study_has_no_hypervolume(dash):
    at = dash.open(CONVERGENCE, studies="ga_single")
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("-chart_hv")]
    assert "No hypervolume to show: ga_single has a single objective (hypervolume measures a front of two or more)." \
        in texts(at.info)
    assert chart(at, "main")["layout"]["yaxis"]["title"]["text"] == "yield (max)"

    both = dash.open(CONVERGENCE, studies="ga_two,ga_single")
    assert [t["name"] for t in chart(both, "hv")["data"]] == ["ga_two"]
    assert ("Not on the hypervolume chart: ga_single has a single objective (hypervolume measures a front of two "
            "or more).") in texts(both.caption)
    # Different fitness objectives on one axis: both named.
    assert chart(both, "main")["layout"]["yaxis"]["title"]["text"] == "cost (min) / yield (max)"


# A HiGHS-like MILP (study milp_plan, minimize capex): (solver time s, incumbent, dual bound, gap).
# The first incumbent (50,000) is 50 times the optimum (1,050): on a linear axis it flattens the rest.
MILP_PROGRESS = [(0.1, 50_000.0, None, None), (0.5, 1_200.0, 1_000.0, 200 / 1_200), (1.0, 1_100.0, 1_040.0, 60 / 1_100),
                 (2.0, 1_050.0, 1_050.0, 0.0)]


def build_milp_dataset(url: str) -> None:
    from storage import DatabaseMetadataService

    with DatabaseMetadataService(url) as db:
        db.create_study({"study_id": "milp_plan", "study_type": "milp", "optimization_objective": "capex",
                         "objective_directions": ["minimize"], "parameter_names": ["x", "y"], "status": "running"})
        db.log_convergence_metrics([{"study_id": "milp_plan", "generation_number": i, "best_fitness": incumbent,
                                     "dual_bound": bound, "relative_gap": gap, "elapsed_seconds": t}
                                    for i, (t, incumbent, bound, gap) in enumerate(MILP_PROGRESS)])
        db.log_study_runs([{"study_id": "milp_plan", "parameter_vector": [3.0, 4.0], "fitness": 1_050.0}])
        db.update_study_status("milp_plan", "completed")
        # A two-objective GA next to it, for the page that shows both.
        db.create_study({"study_id": "ga_small", "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
                         "objective_directions": ["minimize", "minimize"], "parameter_names": ["p"], "status": "running"})
        db.log_study_runs([{"study_id": "ga_small", "generation_number": g, "parameter_vector": [float(k)],
                            "objectives": o} for k, (g, o) in enumerate([(0, [2.0, 5.0]), (0, [4.0, 1.0]),
                                                                         (1, [1.0, 4.0]), (1, [3.0, 3.0])])])
        db.update_study_status("ga_small", "completed")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def milp_url(request, tmp_path_factory) -> str:
    with app_database(request, tmp_path_factory.mktemp("milp")) as url:
        build_milp_dataset(url)
        yield url


def test_a_milps_incumbent_and_bound_are_readable_on_a_log_axis_with_its_gap(milp_url, monkeypatch, tmp_path):
    at = Dashboard(milp_url, monkeypatch, tmp_path).open(CONVERGENCE, studies="milp_plan")
    assert texts(at.info) == ["milp_plan is a MILP: a solver has no generations, population, stagnation or "
                              "diversity; its incumbent, dual bound and gap follow."]
    ids = [c.proto.id.rsplit("-chart_", 1)[-1] for c in at.get("plotly_chart")]
    assert ids == ["bounds", "gap"]                       # no empty stagnation, diversity or hypervolume chart
    bounds = chart(at, "bounds")
    assert_readable(bounds)
    assert bounds["layout"]["title"]["text"] == "Incumbent and dual bound of capex (min), log scale"
    assert bounds["layout"]["xaxis"]["title"]["text"] == "solver time (s)"
    assert bounds["layout"]["yaxis"]["title"]["text"] == "capex (min)"
    incumbent, bound = trace(bounds, "milp_plan incumbent"), trace(bounds, "milp_plan dual bound")
    assert incumbent["x"] == [t for t, *_ in MILP_PROGRESS] and incumbent["y"] == [i for _, i, _, _ in MILP_PROGRESS]
    assert bound["y"][1:] == [b for *_, b, _ in MILP_PROGRESS][1:] and math.isnan(bound["y"][0])   # no bound yet
    assert incumbent["line"]["shape"] == "hv" and bound["line"]["dash"] == "dash"
    # 1,050 .. 50,000 spans more than a factor of ten: a log axis, labelled at 1-2-5 steps that
    # enclose every value (1,000 .. 50,000), so no value is off the chart and no label reads "3".
    axis = bounds["layout"]["yaxis"]
    assert axis["type"] == "log"
    assert axis["tickvals"] == [1_000, 2_000, 5_000, 10_000, 20_000, 50_000]
    assert axis["range"] == pytest.approx([3.0, math.log10(50_000)])
    gap = chart(at, "gap")
    assert_readable(gap)
    assert gap["layout"]["title"]["text"] == "Relative gap between incumbent and dual bound"
    assert gap["layout"]["yaxis"]["title"]["text"] == "relative gap (%)"
    gaps = trace(gap, "milp_plan")["y"]                  # percent: 200/1200, 60/1100, 0
    assert math.isnan(gaps[0]) and gaps[1:] == pytest.approx([100 * g for *_, g in MILP_PROGRESS[1:]])


def test_a_milp_next_to_a_genetic_algorithm_is_named_on_every_chart_it_is_not_on(milp_url, monkeypatch, tmp_path):
    at = Dashboard(milp_url, monkeypatch, tmp_path).open(CONVERGENCE, studies="ga_small,milp_plan")
    assert {t["name"].split(" ")[0] for t in chart(at, "main")["data"]} == {"ga_small"}
    assert chart(at, "main")["layout"]["yaxis"]["title"]["text"] == "cost (min)"
    captions = texts(at.caption)
    assert "Not on the convergence chart: milp_plan is a MILP: its incumbent and dual bound are drawn below." in captions
    assert "Not on the stagnation chart: milp_plan is a MILP: its solver has no population." in captions
    assert ("Not on the hypervolume chart: milp_plan has a single objective (hypervolume measures a front of two "
            "or more).") in captions
    for key in ("main", "stag", "div", "hv", "bounds", "gap"):
        assert_readable(chart(at, key))
    # One colour per study across the page: ga_small's on the GA charts, milp_plan's on the MILP ones.
    ga_colour = trace(chart(at, "stag"), "ga_small")["line"]["color"]
    milp_colour = trace(chart(at, "gap"), "milp_plan")["line"]["color"]
    assert trace(chart(at, "main"), "ga_small best")["line"]["color"] == ga_colour != milp_colour
    assert trace(chart(at, "bounds"), "milp_plan incumbent")["line"]["color"] == milp_colour


def test_a_milps_single_solution_has_no_parameter_histograms(milp_url, monkeypatch, tmp_path):
    at = Dashboard(milp_url, monkeypatch, tmp_path).open(DETAIL, study="milp_plan", tab="Parameter distributions")
    assert not at.get("plotly_chart")
    assert ("This study has one run, so its parameters have no distribution to draw: the run's values are in the "
            "Runs table and on its design page.") in texts(at.info)


# ------------------------------------------------------------------------------------- Pareto


def framed(values, log=False, margin=0.1):
    """The expected axis range around ``values``: 10 % of their span on each side (in decades on a log axis)."""
    if log:
        values = [math.log10(v) for v in values]
    low, high = min(values), max(values)
    return [low - margin * (high - low), high + margin * (high - low)]


def test_pareto_axes_frame_the_front_by_default(dash):
    at = dash.open(PARETO, study="ga_two")
    figure = chart(at, "pareto")
    costs, co2 = [c for c, _ in GA_TWO_FRONT.values()], [e for _, e in GA_TWO_FRONT.values()]
    # cost 3 .. 12 -> 2.1 .. 12.9; co2 1 .. 15 -> -0.4 .. 16.4
    assert framed(costs) == pytest.approx([2.1, 12.9]) and framed(co2) == pytest.approx([-0.4, 16.4])
    assert figure["layout"]["xaxis"]["range"] == pytest.approx(framed(costs))
    assert figure["layout"]["yaxis"]["range"] == pytest.approx(framed(co2))
    assert figure["layout"]["title"]["text"] == "Pareto front: co2 against cost"
    assert (figure["layout"]["xaxis"]["title"]["text"], figure["layout"]["yaxis"]["title"]["text"]) == ("cost", "co2")
    assert widget(at, "toggle", "pall").value is False
    # Every dominated design of ga_two lies inside that frame: nothing is hidden, nothing said.
    assert len(trace(figure, "dominated")["x"]) == 11 - len(GA_TWO_FRONT)
    assert not [c for c in texts(at.caption) if c.startswith("The axes frame the front")]


def test_pareto_hides_far_dominated_designs_until_show_all(dash):
    # ga_live: front (4,6) (5,5) (6,3); the dominated (7,7) is outside cost 3.8 .. 6.2.
    at = dash.open(PARETO, study="ga_live")
    figure = chart(at, "pareto")
    assert figure["layout"]["xaxis"]["range"] == pytest.approx([3.8, 6.2])
    assert figure["layout"]["yaxis"]["range"] == pytest.approx([2.7, 6.3])
    assert not [t for t in figure["data"] if t["name"].startswith("dominated")]   # (7,7) is not drawn
    assert "The axes frame the front: 1 dominated design outside the frame is hidden (Show all points draws them)." \
        in texts(at.caption)

    widget(at, "toggle", "pall").set_value(True).run()
    check_clean(at)
    assert at.query_params["all"] == "1"
    figure = chart(at, "pareto")
    assert list(zip(trace(figure, "dominated")["x"], trace(figure, "dominated")["y"])) == [(7.0, 7.0)]
    assert "range" not in figure["layout"]["xaxis"] and "range" not in figure["layout"]["yaxis"]


def test_pareto_log_axes_on_request_frame_the_front_in_decades(dash):
    at = dash.open(PARETO, study="ga_two")
    assert widget(at, "toggle", "plogx").disabled is False and widget(at, "toggle", "plogy").disabled is False
    widget(at, "toggle", "plogx").set_value(True).run()
    widget(at, "toggle", "plogy").set_value(True).run()
    check_clean(at)
    assert at.query_params["logx"] == "1" and at.query_params["logy"] == "1"
    layout = chart(at, "pareto")["layout"]
    costs, co2 = [c for c, _ in GA_TWO_FRONT.values()], [e for _, e in GA_TWO_FRONT.values()]
    assert layout["xaxis"]["type"] == "log" and layout["yaxis"]["type"] == "log"
    # log10(3) .. log10(12) = 0.477 .. 1.079, widened by 10 % of 0.602 on each side
    assert layout["xaxis"]["range"] == pytest.approx(framed(costs, log=True))
    assert layout["yaxis"]["range"] == pytest.approx(framed(co2, log=True))
    again = dash.open(PARETO, **dict(at.query_params))          # the link keeps them
    assert chart(again, "pareto")["layout"]["xaxis"]["type"] == "log"


def test_pareto_3d_is_tall_with_axis_titles(dash):
    # Its width (the page's) is checked in the browser test: AppTest does not keep an element's width.
    at = dash.open(PARETO, study="ga_three", **{"3d": "1"})
    figure = chart(at, "pareto")
    assert figure["layout"]["height"] >= 700
    scene = figure["layout"]["scene"]
    assert [scene[a]["title"]["text"] for a in ("xaxis", "yaxis", "zaxis")] == ["cost", "co2", "risk"]
    # Front of ga_three: (1,5,3) (2,4,1) (3,1,2); (4,6,6) is dominated by (1,5,3) and outside the frame.
    assert scene["xaxis"]["range"] == pytest.approx(framed([1, 2, 3]))
    assert scene["zaxis"]["range"] == pytest.approx(framed([3, 1, 2]))
    assert figure["layout"]["title"]["text"] == "Pareto front: cost, co2, risk"


@pytest.mark.parametrize("picked, count", [(["ga_two:9", "ga_two:8"], "2 designs selected."),
                                           (["ga_two:8", "ga_two:8", "ga_two:9", "ga_two:5"], "3 designs selected."),
                                           (["ga_two:8"], "1 design selected.")])
def test_pareto_selection_states_its_count(dash, picked, count):
    # A knee point is also on the front: the same design picked twice is counted once.
    at = select_on_chart(dash.open(PARETO, study="ga_two"), "pareto", picked)
    assert count in texts(at.caption)
    assert len(at.dataframe[0].value) == len(set(picked))


# ------------------------------------------------------------------------------ Sensitivity & uncertainty


def test_risk_distribution_names_each_line_in_its_legend_not_over_the_titles(dash):
    at = dash.open(SENSITIVITY, study="mc_risk")
    figure = chart(at, "dist_cost")
    layout = figure["layout"]
    assert layout["title"]["text"] == "Distribution of cost over 20 samples"
    # The only annotations are the two panel titles: no line labels stacked on them, no placeholder.
    assert [a["text"] for a in layout["annotations"]] == ["histogram", "empirical CDF"]
    assert (layout["xaxis"]["title"]["text"], layout["xaxis2"]["title"]["text"]) == ("cost", "cost")
    assert (layout["yaxis"]["title"]["text"], layout["yaxis2"]["title"]["text"]) == ("samples", "share of samples ≤ value")
    # MC_RISK: P5 101, P50 109.5, P95 = VaR95 118, CVaR95 119: each named with its value in the legend.
    named = [t["name"] for t in figure["data"] if t.get("showlegend") is not False]
    assert named == ["P5 = 101", "P50 = 109.5", "P95 = 118", "VaR95 = 118", "CVaR95 = 119"]
    lines = {t["name"].split(" ")[0]: t["line"] for t in figure["data"] if t["name"] in named}
    assert len({line["color"] for line in lines.values()}) == 5             # five colours, five lines
    for shape in layout["shapes"]:                                          # each drawn on both panels
        assert sum(s["x0"] == shape["x0"] and s["line"]["color"] == shape["line"]["color"] for s in layout["shapes"]) == 2


def test_sensitivity_charts_name_the_measure_and_objective(dash):
    at = dash.open(SENSITIVITY, study="mc_risk", measure="Spearman", objective="renewable")
    heat, bars = chart(at, "heat"), chart(at, "bars")
    assert heat["layout"]["title"]["text"] == "Spearman rank correlation of each parameter with each objective"
    assert bars["layout"]["title"]["text"] == "Parameters ranked by Spearman rank correlation with renewable"
    assert bars["layout"]["xaxis"]["title"]["text"] == "Spearman rank correlation with renewable"
    assert bars["layout"]["yaxis"]["title"]["text"] == "parameter"


def test_sensitivity_says_why_an_objective_has_no_ranking_for_a_measure(dash):
    at = dash.open(SENSITIVITY, study="mc_risk", measure="Sobol first-order", objective="renewable")
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("-chart_bars")]
    assert ("No Sobol first-order ranking of renewable: the analysis stored no Sobol first-order value for it. "
            "Choose another measure or objective.") in texts(at.info)


# ----------------------------------------------------------------------------- Compare and prompts


def test_compare_box_plot_names_its_axes(dash):
    boxes = chart(dash.open(COMPARE, studies="ga_two,ga_live"), "fitdist")
    assert (boxes["layout"]["xaxis"]["title"]["text"], boxes["layout"]["yaxis"]["title"]["text"]) == ("study",
                                                                                                      "cost (min)")


def test_prompt_charts_are_titled(dash):
    at = dash.open(PROMPTS, run="run-good")
    assert chart(at, "scorecost")["layout"]["title"]["text"] == "Score against cost, one point per run"
    assert chart(at, "iterscores")["layout"]["title"]["text"] == "Score per iteration"
