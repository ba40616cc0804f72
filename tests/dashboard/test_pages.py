"""Headless tests of every dashboard page (``streamlit.testing.v1.AppTest`` on ``app.py``).

The pages read a small database this module writes itself through the public write API, so every
number, row and chart point asserted here is known in advance (worked out by hand in the comments,
never recomputed with the code under test). The seeded database is built once per backend: SQLite
and PostgreSQL (the PostgreSQL half is marked ``postgres`` and skipped or failed like the rest of
the suite, see ``tests/conftest.py``).

What is covered, page by page: metrics, table rows and values (``at.dataframe[i].value``), chart
data (the plotly figure spec JSON each ``plotly_chart`` element carries), CSV downloads (read from
AppTest's in-memory media store), empty states, URL state in both directions (query string ->
widgets, widget change -> query string), user text shown literally (never as Markdown/HTML), and
databases that cannot be read (behind on migrations, no schema, unreachable, missing) showing one
clear message instead of a traceback. Every run is checked for exceptions.

Product bugs these tests found were fixed; each test that caught one says what it was in its name.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import re
import shutil
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import app_database  # tests/conftest.py

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
LEGACY_DB = REPO / "tests" / "storage" / "fixtures" / "legacy_v1.db"
TIMEOUT_S = 120

STUDIES = "pages/studies.py"
DETAIL = "pages/study.py"
COMPARE = "pages/compare.py"
CONVERGENCE = "pages/convergence.py"
PARETO = "pages/pareto.py"
SENSITIVITY = "pages/sensitivity.py"
EXPORT = "pages/data.py"
PROMPTS = "pages/prompts.py"
DESIGN = "pages/design.py"
ALL_PAGES = (STUDIES, DETAIL, DESIGN, COMPARE, CONVERGENCE, PARETO, SENSITIVITY, PROMPTS, EXPORT)
TITLES = {STUDIES: "Studies", DETAIL: "Study detail", COMPARE: "Compare studies", CONVERGENCE: "Convergence",
          PARETO: "Pareto explorer", SENSITIVITY: "Sensitivity & uncertainty", PROMPTS: "Prompt optimization",
          EXPORT: "Data & export", DESIGN: "Design"}

pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.PerformanceWarning")




# ------------------------------------------------------------------------------------ the data

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_DESCRIPTION = "![tracker](https://example.invalid/pixel.png) **not bold** <script>alert(2)</script>"
MARKDOWN_RUN_ID = "![knee](https://example.invalid/knee.png)"

# ga_two (minimize cost, minimize co2): (generation, parameters [p1, p2], objectives [cost, co2], status).
# run_id is "ga_two:<evaluation_number>" (assigned in order). Fitness defaults to cost.
GA_TWO_RUNS = [
    (0, [1.0, 10.0], [10.0, 2.0], "success"),    # ga_two:0
    (0, [2.0, 20.0], [8.0, 6.0], "success"),     # ga_two:1
    (0, [3.0, 30.0], [12.0, 9.0], "success"),    # ga_two:2
    (0, [4.0, 40.0], [6.0, 12.0], "success"),    # ga_two:3
    (1, [5.0, 50.0], [5.0, 10.0], "success"),    # ga_two:4
    (1, [6.0, 60.0], [7.0, 4.0], "success"),     # ga_two:5
    (1, [7.0, 70.0], [9.0, 9.0], "success"),     # ga_two:6
    (1, [8.0, 80.0], [11.0, 11.0], "success"),   # ga_two:7
    (2, [9.0, 90.0], [4.0, 8.0], "success"),     # ga_two:8
    (2, [10.0, 100.0], [3.0, 15.0], "success"),  # ga_two:9
    (2, [11.0, 110.0], [12.0, 1.0], "success"),  # ga_two:10
    (2, [12.0, 120.0], [1.0, 1.0], "failed"),    # ga_two:11: would dominate everything, but failed
]
GA_TWO_SUCCESS_FITNESS = [10.0, 8.0, 12.0, 6.0, 5.0, 7.0, 9.0, 11.0, 4.0, 3.0, 12.0]
# Non-dominated successful points, by hand: (3,15) lowest cost; (4,8); (7,4) (nothing has cost<=7 and
# co2<=4); (10,2); (12,1). Everything else is dominated by (4,8) or (7,4) or (10,2).
GA_TWO_FRONT = {"ga_two:9": (3.0, 15.0), "ga_two:8": (4.0, 8.0), "ga_two:5": (7.0, 4.0),
                "ga_two:0": (10.0, 2.0), "ga_two:10": (12.0, 1.0)}
# Fronts found up to generation 0 / 1 (the slider):
GA_TWO_FRONT_UP_TO = {0: {"ga_two:3", "ga_two:1", "ga_two:0"},      # (6,12) (8,6) (10,2); (12,9) dominated
                      1: {"ga_two:4", "ga_two:5", "ga_two:0"}}      # (5,10) (7,4) (10,2)
# Knee (analysis.knee_point_index): scale both objectives to [0,1] over the front; extremes (0,1), (1,0);
# largest distance below the line x+y=1: (4,8) -> 1-(1/9+7/14)=0.389 beats (7,4) -> 0.341.
GA_TWO_KNEE = "ga_two:8"
# Per generation over successful runs: best / average / worst fitness.
GA_TWO_BEST = [6.0, 5.0, 3.0]
GA_TWO_AVERAGE = [9.0, 8.0, 19.0 / 3.0]
GA_TWO_WORST = [12.0, 11.0, 12.0]
GA_TWO_REFERENCE = [20.0, 20.0]
# Hypervolume of the front so far w.r.t. (20, 20), by hand (sum of rectangles, x ascending):
# gen 0: (8-6)*(20-12) + (10-8)*(20-6) + (20-10)*(20-2)                          = 16+28+180      = 224
# gen 1: (7-5)*(20-10) + (10-7)*(20-4) + (20-10)*(20-2)                          = 20+48+180      = 248
# gen 2: (4-3)*(20-15) + (7-4)*(20-8) + (10-7)*(20-4) + (12-10)*(20-2) + (20-12)*(20-1) = 5+36+48+36+152 = 277
GA_TWO_HYPERVOLUME = [224.0, 248.0, 277.0]

# ga_single maximizes "yield": generation 0 = 1, 2, 3; generation 1 = 5, 4, 2 -> best 5, best so far [3, 5].
GA_SINGLE_RUNS = [(0, 1.0), (0, 2.0), (0, 3.0), (1, 5.0), (1, 4.0), (1, 2.0)]

# mc_risk (minimize cost, maximize renewable): run i has cost 100+i and renewable 0.5+i/100, so every
# run trades one for the other: all 20 are on the front. Mean cost 109.5.
MC_RUNS = [([float(i), float(20 - i)], [100.0 + i, 0.5 + i / 100]) for i in range(20)]
MC_SENSITIVITY = [
    # parameter, objective, pearson, spearman, sobol S1, S1 conf, sobol ST, ST conf, rank
    ("fuel", "cost", 0.9, 0.8, 0.7, 0.05, 0.75, 0.06, 1),
    ("capex", "cost", -0.3, -0.2, 0.1, 0.02, 0.2, 0.03, 2),
    ("fuel", "renewable", 0.1, 0.15, None, None, None, None, 2),
    ("capex", "renewable", -0.6, -0.65, None, None, None, None, 1),
]
MC_RISK = {"objective_name": "cost", "mean_value": 109.5, "median_value": 109.5, "std_dev": 5.9,
           "percentile_5": 101.0, "percentile_25": 104.75, "percentile_50": 109.5, "percentile_75": 114.25,
           "percentile_95": 118.0, "var_95": 118.0, "cvar_95": 119.0, "sample_count": 20, "excluded_count": 0}

# ga_three: three objectives, one generation; only here so the 3-D view has something to draw.
GA_THREE_RUNS = [[1.0, 5.0, 3.0], [2.0, 4.0, 1.0], [3.0, 1.0, 2.0], [4.0, 6.0, 6.0]]

# Studies, newest first (the Studies page's order; the first is every picker's default): created_at is
# given explicitly.
STUDY_ORDER = ["xss_study", "ga_empty", "ga_live", "mc_risk", "ga_single", "ga_two", "ga_three", "md_runs"]
# Prompt optimization, project "proj-a": run-good (MIPROv2) has three iterations and two samples and is
# completed with final score 0.8 (baseline 0.5: improvement +0.3); run-bad failed. Tokens and cost are the
# iterations' sums: 100+10 + 50+5 + 200+20 = 385 tokens, 0.01+0.005+0.02 = 0.035 USD.
PROMPT_ITERATIONS = [
    {"iteration": 0, "score": 0.55, "evaluation_kind": "full", "instructions": ["Say hello."],
     "prompt_tokens": 100, "completion_tokens": 10, "cost": 0.01, "latency_ms": 100.0},
    {"iteration": 1, "score": 0.7, "evaluation_kind": "minibatch", "instructions": ["Say hi."],
     "prompt_tokens": 50, "completion_tokens": 5, "cost": 0.005, "latency_ms": 50.0},
    {"iteration": 2, "score": 0.8, "evaluation_kind": "full", "instructions": [XSS_DESCRIPTION],
     "prompt_tokens": 200, "completion_tokens": 20, "cost": 0.02, "latency_ms": 150.0},
]
PROMPT_SAMPLES = [
    {"iteration": 2, "sample_index": 0, "input": {"q": "a"}, "output": "billing", "expected": "billing",
     "score": 1.0, "success": True},
    {"iteration": 2, "sample_index": 1, "input": {"q": "b"}, "output": None, "expected": "refund", "score": 0.0,
     "success": False, "error": "timeout"},
]
PROMPT_ERROR = "boom ![e](https://example.invalid/e.png)"

STATUS_COUNTS = {"Pending": 1, "Running": 1, "Completed": 4, "Failed": 2}
RUN_COUNTS = {"ga_three": 4, "ga_two": 12, "ga_single": 6, "mc_risk": 20, "ga_live": 4, "ga_empty": 0,
              "xss_study": 2, "md_runs": 1}


def build_dataset(url: str) -> None:
    """Write the dataset above through the public write API."""
    from storage import DatabaseMetadataService

    with DatabaseMetadataService(url) as db:
        db.create_study({"study_id": "ga_three", "study_type": "genetic_algorithm", "study_name": "Three objectives",
                         "optimization_objective": "cost,co2,risk", "objective_directions": ["minimize"] * 3,
                         "parameter_names": ["q"], "status": "running", "created_at": "2024-03-01 09:00:00"})
        db.log_study_runs([{"study_id": "ga_three", "generation_number": 0, "parameter_vector": [float(i)],
                            "objectives": o} for i, o in enumerate(GA_THREE_RUNS)])
        db.update_study_status("ga_three", "completed")

        db.create_study({"study_id": "ga_two", "study_type": "genetic_algorithm", "study_name": "Two objectives",
                         "description": "cost against co2", "optimization_objective": "cost,co2",
                         "objective_directions": ["minimize", "minimize"], "reference_point": GA_TWO_REFERENCE,
                         "parameter_names": ["p1", "p2"], "population_size": 4, "max_generations": 3,
                         "status": "running", "created_at": "2024-03-01 10:00:00"})
        db.log_study_runs([{"study_id": "ga_two", "generation_number": g, "parameter_vector": p, "objectives": o,
                            "simulation_status": s} for g, p, o, s in GA_TWO_RUNS])
        db.log_simulation_run({"run_id": "sim_best", "run_name": "re-simulation of the best design",
                               "total_cost": 3.25, "co2_emissions": 15.5, "study_run_id": "ga_two:9"})
        db.update_study_status("ga_two", "completed", execution_time_seconds=42.0)

        db.create_study({"study_id": "ga_single", "study_type": "genetic_algorithm", "study_name": "One objective",
                         "optimization_objective": "yield", "objective_directions": ["maximize"],
                         "parameter_names": ["a"], "status": "running", "created_at": "2024-03-02 10:00:00"})
        db.log_study_runs([{"study_id": "ga_single", "generation_number": g, "parameter_vector": [v],
                            "objectives": [v]} for g, v in GA_SINGLE_RUNS])
        db.update_study_status("ga_single", "completed")

        db.create_study({"study_id": "mc_risk", "study_type": "monte_carlo", "study_name": "Fuel price risk",
                         "optimization_objective": "cost,renewable", "objective_directions": ["minimize", "maximize"],
                         "parameter_names": ["fuel", "capex"], "status": "running", "created_at": "2024-03-03 10:00:00"})
        db.log_study_runs([{"study_id": "mc_risk", "parameter_vector": p, "objectives": o} for p, o in MC_RUNS])
        db.log_uncertainty_analysis({"study_id": "mc_risk", **MC_RISK})
        db.log_sensitivity_analysis([
            {"study_id": "mc_risk", "parameter_name": p, "parameter_index": 0 if p == "fuel" else 1, "objective_name": o,
             "correlation_coefficient": r, "rank_correlation": rho, "sobol_first_order": s1,
             "sobol_first_order_conf": s1c, "sobol_total": st_, "sobol_total_conf": stc, "importance_rank": rank}
            for p, o, r, rho, s1, s1c, st_, stc, rank in MC_SENSITIVITY
        ])
        db.update_study_status("mc_risk", "completed")

        db.create_study({"study_id": "ga_live", "study_type": "genetic_algorithm", "study_name": "Still running",
                         "optimization_objective": "cost,co2", "objective_directions": ["minimize", "minimize"],
                         "parameter_names": ["p1", "p2"], "status": "running", "progress_percent": 50.0,
                         "created_at": "2024-03-04 10:00:00"})
        db.log_study_runs([{"study_id": "ga_live", "generation_number": g, "parameter_vector": [1.0, 2.0 + k],
                            "objectives": o} for k, (g, o) in enumerate([(0, [5.0, 5.0]), (0, [6.0, 3.0]), (1, [4.0, 6.0]),
                                                                         (1, [7.0, 7.0])])])

        db.create_study({"study_id": "ga_empty", "study_type": "genetic_algorithm", "study_name": "Nothing yet",
                         "optimization_objective": "cost,co2", "objective_directions": ["minimize", "minimize"],
                         "status": "pending", "created_at": "2024-03-05 10:00:00"})

        db.create_study({"study_id": "xss_study", "study_type": "genetic_algorithm", "study_name": XSS_NAME,
                         "description": XSS_DESCRIPTION, "optimization_objective": "cost,co2",
                         "objective_directions": ["minimize", "minimize"], "status": "running",
                         "created_at": "2024-03-06 10:00:00"})
        db.log_study_runs([{"study_id": "xss_study", "generation_number": 0, "parameter_vector": [float(k)],
                            "objectives": o} for k, o in enumerate(([1.0, 2.0], [2.0, 1.0]))])
        db.update_study_status("xss_study", "failed")

        # A run id is data too: one run, so it is the front and its knee.
        db.create_study({"study_id": "md_runs", "study_type": "genetic_algorithm", "study_name": "Markdown run ids",
                         "optimization_objective": "cost,co2", "objective_directions": ["minimize", "minimize"],
                         "status": "running", "created_at": "2024-02-01 10:00:00"})
        db.log_study_runs([{"study_id": "md_runs", "run_id": MARKDOWN_RUN_ID, "generation_number": 0,
                            "parameter_vector": [1.0], "objectives": [1.0, 1.0]}])
        db.update_study_status("md_runs", "failed")

    from storage.prompts.store import PromptOptimizationStore

    with PromptOptimizationStore(url, project_id="proj-a", project_name="Project A") as store:
        store.create_run({"id": "run-good", "name": "MIPRO light", "optimizer_type": "miprov2", "status": "running",
                          "model_name": "model-x", "task_name": "intent", "baseline_score": 0.5,
                          "tags": ["intent", "prod"], "config": {"model": "model-x", "num_trials": 3}})
        store.add_iterations("run-good", PROMPT_ITERATIONS)
        store.add_samples("run-good", PROMPT_SAMPLES)
        store.complete_run("run-good", final_score=0.8)
        store.create_run({"id": "run-bad", "name": XSS_NAME, "optimizer_type": "copro", "status": "running",
                          "baseline_score": 0.5, "tags": ["experiment"]})
        store.fail_run("run-bad", PROMPT_ERROR)
        store.refresh_analytics()   # PostgreSQL: the analytics view is as fresh as its last refresh


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def seeded(request, tmp_path_factory) -> str:
    """The dataset on one backend; its URL. Read-only for the tests. On PostgreSQL the URL is the
    README's application role (no superuser, no BYPASSRLS, not the owner): it writes the data and the
    dashboard reads as it, as in a deployment."""
    with app_database(request, tmp_path_factory.mktemp("dashboard")) as url:
        build_dataset(url)
        yield url


# ---------------------------------------------------------------------------------- AppTest plumbing


class MediaStore:
    """Every media file manager AppTest creates (one per run), so a download button's bytes can be
    read: a file made when the page ran, or one made when the button is clicked (a callable ``data``,
    run here as Streamlit runs it on the click)."""

    def __init__(self):
        self.managers = []

    def read(self, button) -> bytes:
        for manager in reversed(self.managers):
            try:
                url = (manager.execute_deferred(button.proto.deferred_file_id) if button.proto.deferred_file_id
                       else button.proto.url)
                return manager._storage.get_file(url.rsplit("/", 1)[-1]).content
            except Exception:  # noqa: BLE001 - not this run's manager
                continue
        raise AssertionError(f"download {button.proto.url or button.proto.deferred_file_id} not found")


@pytest.fixture
def media(monkeypatch) -> MediaStore:
    import streamlit.testing.v1.app_test as app_test_module
    from streamlit.runtime.media_file_manager import MediaFileManager

    recorder = MediaStore()

    class Recording(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            recorder.managers.append(self)

    monkeypatch.setattr(app_test_module, "MediaFileManager", Recording)
    return recorder


class Dashboard:
    """Opens pages of app.py on one database URL."""

    def __init__(self, url: str, monkeypatch, home: Path):
        self.url = url
        monkeypatch.setenv("HIVE_DB_URL", url)
        monkeypatch.setenv("HIVE_HOME", str(home))  # never the developer's ~/.hive

    def open(self, page: str = STUDIES, /, **params):
        """A fresh session: open ``page`` with ``params`` in the URL (like pasting a link)."""
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
        if page == STUDIES:
            at.query_params.update(params)
            at.run()
        else:
            at.run()  # switch_page needs the st.navigation registry of a first run
            at.query_params.clear()
            at.query_params.update(params)
            at.switch_page(page)
            at.run()
        check_clean(at)
        return at


@pytest.fixture
def dash(seeded, monkeypatch, tmp_path) -> Dashboard:
    return Dashboard(seeded, monkeypatch, tmp_path)


def walk(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from walk(child)


def elements(at):
    yield from walk(at.main)
    yield from walk(at.sidebar)


MARKUP = ("<img", "<script", "![", "](http", "**not bold**")


def check_clean(at) -> None:
    """No exception, no element renders HTML, and no Markdown-rendered text carries raw user markup."""
    from ui.preload import preload_html

    assert not at.exception, [e.value for e in at.exception]
    for element in elements(at):
        proto = getattr(element, "proto", None)
        if proto is None:
            continue
        if element.type == "html":   # the app's one script element, a fixed text (ui/preload.py)
            assert proto.body == preload_html(), f"an HTML element other than the chart preload: {proto.body!r}"
            continue
        if hasattr(proto, "allow_html"):
            assert not proto.allow_html, f"{element.type} renders HTML: {proto}"
        body = getattr(proto, "body", None)
        if isinstance(body, str) and element.type not in ("text", "code"):
            found = [m for m in MARKUP if m in body]
            assert not found, f"{element.type} renders user text as Markdown ({found}): {body!r}"


def shown(element) -> str:
    """What an alert shows on screen: the page escapes Markdown in messages (they quote names and SQL)."""
    return re.sub(r"\\(.)", r"\1", element.value)


def texts(elements_list) -> list[str]:
    """Texts as shown on screen (Markdown escapes, which the pages add to data, removed)."""
    return [shown(e) for e in elements_list]


def metric_values(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


# st.dataframe elements carry no key in AppTest; they are found by their place on the page.
TABLES = {"studies_table": 0, "runs_table": 0, "best_table": 0, "compare_table": 0, "conv_table": 0,
          "selected_table": 0, "rank_table": 0, "risk_table": 1, "export_preview": 0, "sql_result": -1}


def table(at, key: str) -> pd.DataFrame:
    assert at.dataframe, f"no dataframe on the page (wanted {key})"
    return at.dataframe[TABLES[key]].value


def _decode(value):
    """Plotly's JSON: typed arrays come as {"dtype", "bdata"[, "shape"]} (base64); make them lists."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
            if "shape" in value:
                array = array.reshape([int(s) for s in str(value["shape"]).split(",")])
            return array.tolist()
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def charts(at) -> list[dict]:
    """Every plotly chart on the page as its decoded figure spec (``data`` traces, ``layout``)."""
    return [_decode(json.loads(c.proto.spec)) for c in at.get("plotly_chart")]


def chart(at, key: str) -> dict:
    for element in at.get("plotly_chart"):
        if element.proto.id.endswith(f"-chart_{key}"):
            return _decode(json.loads(element.proto.spec))
    raise AssertionError(f"no chart {key!r}; have {[c.proto.id for c in at.get('plotly_chart')]}")


def trace(figure: dict, name: str) -> dict:
    found = [t for t in figure["data"] if t.get("name") == name]
    assert len(found) == 1, f"trace {name!r}: {[t.get('name') for t in figure['data']]}"
    return found[0]


def download(at, media: MediaStore, key: str) -> pd.DataFrame:
    buttons = [b for b in at.get("download_button") if b.proto.id.endswith(f"-csv_{key}")]
    assert buttons, f"no CSV button {key!r}"
    return pd.read_csv(io.BytesIO(media.read(buttons[0])))


def widget(at, kind: str, key: str):
    return getattr(at, kind)(key=key)


def select_on_chart(at, key: str, run_ids: list[str]):
    """What the browser sends after a box selection on a plotly chart (points carry their run_id as
    customdata). AppTest has no plotly interaction, so the widget state is sent as the frontend
    would (private ``_run``; the browser test does the real drag)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetStates

    element = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-chart_{key}"))
    states = WidgetStates()
    states.CopyFrom(at._tree.get_widget_states())
    state = states.widgets.add()
    state.id = element.proto.id
    state.string_value = json.dumps({"selection": {
        "points": [{"customdata": run_id, "curve_number": 1, "point_index": i} for i, run_id in enumerate(run_ids)],
        "point_indices": list(range(len(run_ids))), "box": [{"xref": "x", "yref": "y", "x": [0, 1], "y": [0, 1]}],
        "lasso": []}})
    at._run(states)
    check_clean(at)
    return at


def hypervolume_2d(points, reference) -> float:
    """Independent 2-D hypervolume (minimization): sweep the non-dominated points by the first objective."""
    total, best_y = 0.0, reference[1]
    for x, y in sorted(points):
        if y < best_y:
            total += (reference[0] - x) * (best_y - y)
            best_y = y
    return total


# ------------------------------------------------------------------------------------- Studies


def test_studies_lists_every_study_with_counts_and_values(dash, media):
    at = dash.open(STUDIES)
    assert texts(at.title) == ["Studies"]
    assert metric_values(at) == {k: str(v) for k, v in STATUS_COUNTS.items()}
    frame = table(at, "studies_table")
    assert frame["study_id"].tolist() == STUDY_ORDER
    rows = frame.set_index("study_id")
    assert rows["run_count"].to_dict() == RUN_COUNTS
    # A column with a missing value is shown as text: the number, or a blank (never "None").
    assert float(rows.loc["ga_two", "best_fitness"]) == 3.0        # failed run (fitness 1) does not count
    assert float(rows.loc["ga_single", "best_fitness"]) == 5.0     # maximized
    assert float(rows.loc["mc_risk", "best_fitness"]) == 100.0
    assert float(rows.loc["ga_live", "best_fitness"]) == 4.0       # derived while running
    assert rows.loc["ga_empty", "best_fitness"] == ""
    assert rows.loc["ga_two", "status"] == "completed" and float(rows.loc["ga_two", "progress_percent"]) == 100.0
    assert float(rows.loc["ga_live", "progress_percent"]) == 50.0
    assert float(rows.loc["ga_two", "execution_time_seconds"]) == 42.0
    assert rows.loc["ga_live", "execution_time_seconds"] == "" and rows.loc["ga_live", "completed_at"] == ""
    assert rows.loc["xss_study", "study_name"] == XSS_NAME
    assert set(rows["experiment"]) == {""} and set(rows["labels"]) == {""}   # none recorded: blank, not "None"
    assert rows.loc["ga_two", "open"] == "study?study=ga_two"
    assert str(rows.loc["ga_two", "created_at"]).startswith("2024-03-01 10:00:00")

    csv = download(at, media, "studies")
    assert csv["study_id"].tolist() == STUDY_ORDER
    assert csv.set_index("study_id")["run_count"].to_dict() == RUN_COUNTS
    assert csv.set_index("study_id").loc["xss_study", "study_name"] == XSS_NAME


@pytest.mark.parametrize("params, expected", [
    ({"type": "monte_carlo"}, ["mc_risk"]),
    ({"status": "completed"}, ["mc_risk", "ga_single", "ga_two", "ga_three"]),
    ({"type": "genetic_algorithm", "status": "failed"}, ["xss_study", "md_runs"]),
    ({"q": "onerror"}, ["xss_study"]),                       # matches the name
    ({"q": "AGAINST"}, ["ga_two"]),                          # matches the description, any case
    ({"q": "%"}, []),                                        # LIKE wildcards are literal
    ({"created": "2024-03-02,2024-03-03"}, ["mc_risk", "ga_single"]),
])
def test_studies_filters_come_from_the_url(dash, params, expected):
    at = dash.open(STUDIES, **params)
    if "type" in params:
        assert widget(at, "multiselect", "f_type").value == params["type"].split(",")
    if "status" in params:
        assert widget(at, "multiselect", "f_status").value == params["status"].split(",")
    if "q" in params:
        assert widget(at, "text_input", "f_text").value == params["q"]
    if "created" in params:
        assert [d.isoformat() for d in widget(at, "date_input", "f_created").value] == params["created"].split(",")
    if expected:
        assert table(at, "studies_table")["study_id"].tolist() == expected
    else:
        assert not at.dataframe
        assert texts(at.info) == ["No study matches these filters. Clear a filter to see more."]


def test_studies_widgets_write_the_url(dash):
    at = dash.open(STUDIES)
    widget(at, "multiselect", "f_status").set_value(["running", "pending"]).run()
    check_clean(at)
    assert at.query_params["status"] == "running,pending"
    assert sorted(table(at, "studies_table")["study_id"]) == ["ga_empty", "ga_live"]
    widget(at, "text_input", "f_text").input("still").run()
    check_clean(at)
    assert at.query_params["q"] == "still"
    assert table(at, "studies_table")["study_id"].tolist() == ["ga_live"]
    widget(at, "multiselect", "f_status").set_value([]).run()
    widget(at, "text_input", "f_text").input("").run()
    check_clean(at)
    assert "status" not in at.query_params and "q" not in at.query_params


# -------------------------------------------------------------------------------- Study detail


def live_captions(at) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Live:")]


def test_live_parts_refresh_at_the_sidebars_interval_only_while_something_runs(dash):
    at = dash.open(STUDIES)                                   # ga_live and others are running
    refresh = widget(at, "selectbox", "live_every")
    assert (refresh.value, refresh.disabled) == ("5 s", False) and refresh.options == ["off", "2 s", "5 s", "30 s"]
    assert live_captions(at) == ["Live: redrawn every 5 s while studies are running."]
    refresh.set_value("30 s").run()
    assert at.query_params["live"] == "30 s" and live_captions(at) == ["Live: redrawn every 30 s while studies are running."]
    widget(at, "selectbox", "live_every").set_value("off").run()
    assert live_captions(at) == [] and metric_values(at) == {k: str(v) for k, v in STATUS_COUNTS.items()}

    at = dash.open(DETAIL, study="ga_live", live="2 s")
    assert live_captions(at) == ["Live: redrawn every 2 s while the study is running."]
    assert metric_values(at)["Progress"] == "50%"             # the optimizer's own progress_percent
    at = dash.open(DETAIL, study="ga_two")                    # completed: nothing to refresh
    assert live_captions(at) == [] and widget(at, "selectbox", "live_every").disabled
    at = dash.open(CONVERGENCE, studies="ga_two,ga_live")
    assert live_captions(at) == ["Live: redrawn every 5 s while studies are running."]
    at = dash.open(CONVERGENCE, studies="ga_two")
    assert live_captions(at) == []


def test_a_running_prompt_runs_cards_and_scores_are_its_live_part(monkeypatch, tmp_path):
    from storage.prompts.store import PromptOptimizationStore

    path = tmp_path / "prompts.db"
    with PromptOptimizationStore(path, project_id="p") as store:
        store.create_run({"id": "live-run", "name": "running", "optimizer_type": "miprov2", "status": "running"})
        store.add_iterations("live-run", [{"iteration": 0, "score": 0.25}, {"iteration": 1, "score": 0.75}])
        store.create_run({"id": "done-run", "name": "finished", "optimizer_type": "miprov2", "status": "running"})
        store.complete_run("done-run", final_score=0.5)
    dash = Dashboard(f"sqlite:///{path}", monkeypatch, tmp_path)
    at = dash.open(PROMPTS, run="live-run", live="2 s")
    assert live_captions(at) == ["Live: redrawn every 2 s while the run is running."]
    assert metric_values(at)["Status"] == "running"
    at = dash.open(PROMPTS, run="done-run")
    assert live_captions(at) == [] and metric_values(at)["Final score"] == "0.5000"


def test_study_detail_summary_runs_best_designs_and_parameters(dash, media):
    at = dash.open(DETAIL, study="ga_two")
    assert widget(at, "selectbox", "pick_study").value == "ga_two"
    assert metric_values(at) == {"Type": "genetic_algorithm", "Status": "completed", "Runs": "12",
                                 "Best cost": "3", "Progress": "100%", "Execution time (s)": "42.0"}
    assert texts(at.text)[:2] == ["Objectives: cost (minimize), co2 (minimize)", "cost against co2"]

    runs = table(at, "runs_table")                     # default: sorted by fitness, ascending
    assert len(runs) == 12
    assert runs["fitness"].tolist() == sorted([1.0] + GA_TWO_SUCCESS_FITNESS)
    first = runs.iloc[0]
    assert first["run_id"] == "ga_two:11" and first["simulation_status"] == "failed"
    by_id = runs.set_index("run_id")
    assert by_id.loc["ga_two:9", ["param:p1", "param:p2", "cost", "co2"]].tolist() == [10.0, 100.0, 3.0, 15.0]
    assert by_id.loc["ga_two:9", "sim:total_cost"] == "3.25"          # shown as text: other rows are blank
    assert set(runs.loc[runs["is_pareto_optimal"], "run_id"]) == set(GA_TWO_FRONT)
    assert [l for l in (n.label for n in at.number_input) if l.startswith("Page")] == ["Page (of 1; 12 runs)"]
    assert download(at, media, "runs")["run_id"].tolist() == runs["run_id"].tolist()

    # Only the open tab is drawn; the others open by a click (or ?tab= in a link).
    assert [t.label for t in at.tabs] == ["Runs", "Best designs", "Parameter distributions", "Decisions"]
    assert len(at.dataframe) == 1 and not at.get("plotly_chart")
    at = dash.open(DETAIL, study="ga_two", tab="Best designs")
    best = table(at, "best_table")                     # successful runs only, best first
    assert best["run_id"].tolist()[:3] == ["ga_two:9", "ga_two:8", "ga_two:4"]
    assert len(best) == 10 and "ga_two:11" not in best["run_id"].tolist()
    assert best.iloc[0]["sim:total_cost"] == "3.25" and best.iloc[0]["sim:co2_emissions"] == "15.5"
    assert best.iloc[1]["sim:total_cost"] == ""                        # blank, not "None"
    assert "sim:renewable_fraction" not in best                        # nothing recorded: not shown
    assert "Linked simulation KPIs are shown for designs whose simulation was logged." in texts(at.caption)

    at = dash.open(DETAIL, study="ga_two", tab="Parameter distributions")
    figure = chart(at, "params")
    assert [t["name"] for t in figure["data"]] == ["p1", "p2"]
    assert sorted(trace(figure, "p1")["x"]) == [float(i) for i in range(1, 13)]
    assert sorted(trace(figure, "p2")["x"]) == [10.0 * i for i in range(1, 13)]
    # Each histogram's x axis is titled with its parameter's name; the title counts the runs.
    assert (figure["layout"]["xaxis"]["title"]["text"], figure["layout"]["xaxis2"]["title"]["text"]) == ("p1", "p2")
    assert figure["layout"]["yaxis"]["title"]["text"] == "runs"
    assert figure["layout"]["title"]["text"] == "Parameter values over 12 runs"


def test_study_detail_url_state_filters_sorts_and_pages(dash):
    at = dash.open(DETAIL, study="ga_two", gen="1", sim="success", sort="evaluation_number", desc="1", page="7")
    assert widget(at, "number_input", "gen").value == 1
    assert widget(at, "selectbox", "sim").value == "success"
    assert widget(at, "selectbox", "sort").value == "evaluation_number"
    assert widget(at, "toggle", "desc").value is True
    assert widget(at, "number_input", "page").value == 1            # page 7 of 1 is clamped
    assert table(at, "runs_table")["run_id"].tolist() == ["ga_two:7", "ga_two:6", "ga_two:5", "ga_two:4"]
    assert "page" not in at.query_params

    widget(at, "selectbox", "sort").set_value("fitness").run()
    widget(at, "toggle", "desc").set_value(False).run()
    widget(at, "number_input", "gen").set_value(2).run()
    check_clean(at)
    assert at.query_params["sort"] == "fitness" and at.query_params["gen"] == "2"
    assert "desc" not in at.query_params
    assert table(at, "runs_table")["run_id"].tolist() == ["ga_two:9", "ga_two:8", "ga_two:10"]   # 3, 4, 12
    widget(at, "selectbox", "sim").set_value("failed").run()
    check_clean(at)
    assert at.query_params["sim"] == "failed"
    assert table(at, "runs_table")["run_id"].tolist() == ["ga_two:11"]


def test_study_detail_of_a_study_with_no_runs(dash):
    at = dash.open(DETAIL, study="ga_empty")
    assert metric_values(at) == {"Type": "genetic_algorithm", "Status": "pending", "Runs": "0",
                                 "Best cost": "-", "Progress": "-", "Execution time (s)": "-"}
    assert table(at, "runs_table").empty
    assert "No successful runs yet." in texts(dash.open(DETAIL, study="ga_empty", tab="Best designs").info)
    at = dash.open(DETAIL, study="ga_empty", tab="Parameter distributions")
    assert "This study's runs carry no parameters." in texts(at.info)
    assert not at.get("plotly_chart")


@pytest.mark.parametrize("bound", ["inf", "-inf", "nan", "abc"])
def test_study_detail_survives_a_bound_that_is_not_a_finite_number_in_the_url(dash, bound):
    at = dash.open(DETAIL, study="ga_two", fmin=bound, fmax=bound)
    assert (widget(at, "number_input", "fmin").value, widget(at, "number_input", "fmax").value) == (None, None)
    assert len(table(at, "runs_table")) == 12                        # no bound: every run


def test_study_detail_survives_a_page_number_below_one_in_the_url(dash):
    at = dash.open(DETAIL, study="ga_two", page="0")
    assert widget(at, "number_input", "page").value == 1


def test_study_detail_survives_a_negative_generation_in_the_url(dash):
    at = dash.open(DETAIL, study="ga_two", gen="-1")
    assert len(table(at, "runs_table")) == 12


# ------------------------------------------------------------------------------------- Compare


def test_compare_table_convergence_fronts_and_distributions(dash, media):
    at = dash.open(COMPARE, studies="ga_two,ga_single,mc_risk")
    assert widget(at, "multiselect", "pick_studies").value == ["ga_two", "ga_single", "mc_risk"]
    frame = table(at, "compare_table").set_index("study_id")
    assert frame.index.tolist() == ["ga_two", "ga_single", "mc_risk"]
    assert frame["best_fitness"].tolist() == [3.0, 5.0, 100.0]
    assert frame["run_count"].tolist() == [12, 6, 20]
    assert frame.loc["ga_two", "avg_fitness"] == pytest.approx(sum(GA_TWO_SUCCESS_FITNESS) / 11)
    assert frame.loc["ga_single", "avg_fitness"] == pytest.approx(17 / 6)
    assert frame.loc["mc_risk", "avg_fitness"] == pytest.approx(109.5)
    # A single-objective study has no front: a blank cell (the column is shown as text), never "None".
    assert frame["pareto_count"].tolist() == ["5", "", "20"]
    assert frame["objectives"].tolist() == [2, 1, 2]
    assert frame["objective_space"].tolist() == ["cost (min), co2 (min)", "yield (max)", "cost (min), renewable (max)"]
    assert download(at, media, "compare")["study_id"].tolist() == ["ga_two", "ga_single", "mc_risk"]

    # Fitness = first objective: ga_two and mc_risk measure cost (min), ga_single yield (max): two charts.
    convergence = chart(at, "conv")
    assert [t["name"] for t in convergence["data"]] == ["ga_two best so far"]
    assert trace(convergence, "ga_two best so far")["y"] == [6.0, 5.0, 3.0]
    assert convergence["layout"]["yaxis"]["title"]["text"] == "cost (min)"
    assert trace(chart(at, "conv2"), "ga_single best so far")["y"] == [3.0, 5.0]   # maximized: running max
    assert chart(at, "conv2")["layout"]["yaxis"]["title"]["text"] == "yield (max)"
    captions = texts(at.caption)
    assert "Left out of the best-so-far chart: mc_risk (a Monte Carlo study has no generations)." in captions
    # ga_two (cost, co2) and mc_risk (cost, renewable) differ: each front is drawn in its own group.
    assert [texts([h])[0] for h in at.subheader][:2] == ["Objectives cost (min), co2 (min)",
                                                         "Objectives cost (min), renewable (max)"]
    assert list(zip(trace(chart(at, "fronts"), "ga_two")["x"], trace(chart(at, "fronts"), "ga_two")["y"])) == \
        sorted(GA_TWO_FRONT.values())
    mc_front = trace(chart(at, "fronts2"), "mc_risk")     # every MC run trades cost for renewable: all 20
    assert sorted(zip(mc_front["x"], mc_front["y"])) == sorted(tuple(o) for _, o in MC_RUNS)
    assert "No other chosen study shares these objectives: mc_risk is drawn alone." in captions
    hypervolume = chart(at, "hv")
    assert [t["name"] for t in hypervolume["data"]] == ["ga_two"]
    assert trace(hypervolume, "ga_two")["y"] == pytest.approx(GA_TWO_HYPERVOLUME)  # by hand on (20, 20)
    assert "Reference point cost = 20, co2 = 20: declared by ga_two." in captions
    assert "Left out of the hypervolume chart: mc_risk (a Monte Carlo study has no generations)." in captions
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("-chart_hv2")]
    assert [t["name"] for t in chart(at, "fitdist2")["data"]] == ["ga_single"]
    boxes = chart(at, "fitdist")
    assert [t["name"] for t in boxes["data"]] == ["ga_two", "mc_risk"]
    assert boxes["layout"]["yaxis"]["title"]["text"] == "cost (min)"
    assert [t["type"] for t in boxes["data"]] == ["box"] * 2
    box = trace(boxes, "ga_two")                  # quartiles by hand: 11 values, linear interpolation
    ordered = sorted(GA_TWO_SUCCESS_FITNESS)      # 3 4 5 6 7 8 9 10 11 12 12
    assert (box["q1"], box["median"], box["q3"]) == ([5.5], [8.0], [10.5])
    assert box["mean"] == [pytest.approx(sum(ordered) / 11)]
    assert (box["lowerfence"], box["upperfence"]) == ([3.0], [12.0])  # nothing beyond 1.5 IQR (7.5)
    assert "y" not in box                         # five numbers reach the browser, not the sample


def test_compare_fronts_and_url_state(dash):
    at = dash.open(COMPARE, studies="ga_two,ga_live", x="cost", y="co2", dist="ecdf")
    assert widget(at, "selectbox", "cx").value == "cost" and widget(at, "selectbox", "cy").value == "co2"
    assert widget(at, "radio", "dist").value == "ecdf"
    fronts = chart(at, "fronts")
    two = trace(fronts, "ga_two")
    assert list(zip(two["x"], two["y"])) == sorted(GA_TWO_FRONT.values())
    live = trace(fronts, "ga_live")                           # running: front computed from its runs
    assert list(zip(live["x"], live["y"])) == [(4.0, 6.0), (5.0, 5.0), (6.0, 3.0)]
    ecdf = chart(at, "fitdist")
    assert [t["type"] for t in ecdf["data"]] == ["scatter", "scatter"]
    ordered = sorted(GA_TWO_SUCCESS_FITNESS)
    assert trace(ecdf, "ga_two")["x"] == sorted(set(ordered))
    assert trace(ecdf, "ga_two")["y"] == pytest.approx([sum(v <= x for v in ordered) / 11 for x in sorted(set(ordered))])

    widget(at, "radio", "dist").set_value("box").run()
    widget(at, "selectbox", "cx").set_value("co2").run()
    check_clean(at)
    assert "dist" not in at.query_params and at.query_params["x"] == "co2"
    widget(at, "multiselect", "pick_studies").set_value(["ga_two"]).run()
    check_clean(at)
    assert at.query_params["studies"] == "ga_two"
    assert texts(at.info) == ["Choose two to five studies to compare."]


def test_compare_with_a_study_without_runs(dash):
    at = dash.open(COMPARE, studies="ga_two,ga_empty")
    frame = table(at, "compare_table").set_index("study_id")
    assert frame.loc["ga_empty", "run_count"] == 0 and frame.loc["ga_empty", "pareto_count"] == 0
    assert frame.loc["ga_empty", "avg_fitness"] == ""          # blank, not "None"
    assert float(frame.loc["ga_two", "avg_fitness"]) == pytest.approx(sum(GA_TWO_SUCCESS_FITNESS) / 11)
    captions = texts(at.caption)
    for name in ("front overlay", "hypervolume chart", "best-so-far chart", "fitness distribution"):
        assert f"Left out of the {name}: ga_empty (no runs yet)." in captions
    assert [t["name"] for t in chart(at, "hv")["data"]] == ["ga_two"]
    assert "Reference point cost = 20, co2 = 20: declared by ga_two." in captions


# ga_live's runs as build_dataset logs them: (generation, [cost, co2]), all successful.
GA_LIVE_RUNS = [(0, [5.0, 5.0]), (0, [6.0, 3.0]), (1, [4.0, 6.0]), (1, [7.0, 7.0])]


def moocore_hypervolume(points, reference) -> float:
    """moocore on the points strictly inside the reference box (the others enclose nothing)."""
    import moocore

    inside = [p for p in points if all(v < r for v, r in zip(p, reference))]
    return float(moocore.hypervolume(np.array(inside, dtype=float), ref=np.array(reference, dtype=float))) if inside else 0.0


def test_compare_groups_studies_by_objective_space_on_one_reference_point(dash):
    """3 objectives, 2 objectives (two studies), 1 objective and a Monte Carlo study chosen together."""
    at = dash.open(COMPARE, studies="ga_three,ga_two,ga_live,ga_single,mc_risk")
    assert table(at, "compare_table")["objective_space"].tolist() == [
        "cost (min), co2 (min), risk (min)", "cost (min), co2 (min)", "cost (min), co2 (min)", "yield (max)",
        "cost (min), renewable (max)"]
    assert texts(at.subheader)[:3] == ["Objectives cost (min), co2 (min), risk (min)", "Objectives cost (min), co2 (min)",
                                       "Objectives cost (min), renewable (max)"]
    captions = texts(at.caption)

    # ga_three alone: its front, and its hypervolume on its own worst values (it declares no reference).
    assert "No other chosen study shares these objectives: ga_three is drawn alone." in captions
    assert [t["name"] for t in chart(at, "fronts")["data"]] == ["ga_three"]
    assert chart(at, "fronts")["data"][0]["mode"] == "markers"   # a 3-objective front seen on two axes: no staircase
    three_reference = [max(column) for column in zip(*GA_THREE_RUNS)]
    assert ("Reference point " + ", ".join(f"{n} = {v:g}" for n, v in zip(("cost", "co2", "risk"), three_reference))
            + ": the worst value per objective of ga_three's successful runs (it declares no reference point).") in captions
    three = trace(chart(at, "hv"), "ga_three")
    assert three["x"] == [0] and three["y"] == pytest.approx([moocore_hypervolume(GA_THREE_RUNS, three_reference)])

    # ga_two and ga_live share (cost, co2): one front overlay, one hypervolume chart on ONE reference point. ga_two
    # declares (20, 20) and ga_live nothing, so it is the group's worst value per objective.
    assert [t["name"] for t in chart(at, "fronts2")["data"]] == ["ga_two", "ga_live"]
    runs = {"ga_two": [(g, o) for g, _, o, s in GA_TWO_RUNS if s == "success"], "ga_live": GA_LIVE_RUNS}
    points = [o for study_runs in runs.values() for _, o in study_runs]
    reference = [max(p[0] for p in points), max(p[1] for p in points)]
    assert (f"Reference point cost = {reference[0]:g}, co2 = {reference[1]:g}: the worst value per objective over the "
            "successful runs of ga_two, ga_live (they declare no common reference point).") in captions
    volumes = chart(at, "hv2")
    assert [t["name"] for t in volumes["data"]] == ["ga_two", "ga_live"]
    assert volumes["layout"]["title"]["text"] == "Hypervolume per generation: cost (min), co2 (min)"
    assert volumes["layout"]["title"]["subtitle"]["text"] == f"Reference point cost = {reference[0]:g}, co2 = {reference[1]:g}"
    for study, study_runs in runs.items():
        generations = sorted({g for g, _ in study_runs})
        so_far = [[o for g, o in study_runs if g <= generation] for generation in generations]
        assert trace(volumes, study)["x"] == generations
        assert trace(volumes, study)["y"] == pytest.approx([hypervolume_2d(p, reference) for p in so_far])
        assert trace(volumes, study)["y"] == pytest.approx([moocore_hypervolume(p, reference) for p in so_far])

    # mc_risk alone: its front is drawn; no generations, so the hypervolume chart names it and says why.
    assert [t["name"] for t in chart(at, "fronts3")["data"]] == ["mc_risk"]
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("-chart_hv3")]
    assert "Left out of the hypervolume chart: mc_risk (a Monte Carlo study has no generations)." in captions

    # Fitness is the first objective: cost (min) for four studies, yield (max) for ga_single; charts named so.
    conv, dist = chart(at, "conv"), chart(at, "fitdist")
    assert [t["name"] for t in conv["data"]] == ["ga_three best so far", "ga_two best so far", "ga_live best so far"]
    assert "Left out of the best-so-far chart: mc_risk (a Monte Carlo study has no generations)." in captions
    assert [t["name"] for t in dist["data"]] == ["ga_three", "ga_two", "ga_live", "mc_risk"]
    assert (conv["layout"]["title"]["text"], dist["layout"]["title"]["text"]) == ("Best cost (min) so far",
                                                                                  "cost (min) of successful runs")
    assert [t["name"] for t in chart(at, "conv2")["data"]] == ["ga_single best so far"]
    assert [t["name"] for t in chart(at, "fitdist2")["data"]] == ["ga_single"]
    assert chart(at, "fitdist2")["layout"]["yaxis"]["title"]["text"] == "yield (max)"

    # Each study keeps one colour on every chart, and no two studies share one.
    colours: dict[str, set] = {}
    for figure in charts(at):
        assert figure["layout"]["title"]["text"]
        assert "fitness" not in (figure["layout"]["yaxis"]["title"]["text"], figure["layout"]["xaxis"].get("title", {}).get("text"))
        for t in figure["data"]:
            used = {part.get("color") for part in (t.get("line", {}), t.get("marker", {})) if part.get("color")}
            colours.setdefault(t["name"].split(" ")[0], set()).update(used)
    assert sorted(colours) == sorted(["ga_three", "ga_two", "ga_live", "ga_single", "mc_risk"])
    assert all(len(used) == 1 for used in colours.values()), colours
    assert len({used.pop() for used in colours.values()}) == 5


# --------------------------------------------------------------------------------- Convergence


def test_convergence_curves_band_and_table(dash, media):
    at = dash.open(CONVERGENCE, studies="ga_two")
    assert widget(at, "toggle", "log").value is False and widget(at, "toggle", "band").value is True
    main = chart(at, "main")
    assert [t["name"] for t in main["data"]] == ["ga_two ±1 std", "ga_two best", "ga_two average",
                                                "ga_two worst", "ga_two best so far"]
    assert trace(main, "ga_two best")["x"] == [0, 1, 2]
    assert trace(main, "ga_two best")["y"] == GA_TWO_BEST
    assert trace(main, "ga_two average")["y"] == pytest.approx(GA_TWO_AVERAGE)
    assert trace(main, "ga_two worst")["y"] == GA_TWO_WORST
    assert trace(main, "ga_two best so far")["y"] == [6.0, 5.0, 3.0]
    assert main["layout"]["yaxis"]["type"] == "linear"
    assert trace(chart(at, "hv"), "ga_two")["y"] == pytest.approx(GA_TWO_HYPERVOLUME)
    # The independent sweep agrees with the hand-worked figures.
    assert hypervolume_2d(GA_TWO_FRONT.values(), GA_TWO_REFERENCE) == GA_TWO_HYPERVOLUME[-1]
    assert trace(chart(at, "stag"), "ga_two")["y"] == [0, 0, 0]        # improved every generation
    frame = table(at, "conv_table")
    assert frame["generation_number"].tolist() == [0, 1, 2]
    assert frame["best_fitness"].tolist() == GA_TWO_BEST
    assert frame["evaluations_in_generation"].tolist() == [4, 4, 4]       # the failed run counts as evaluated
    assert download(at, media, "conv")["best_so_far"].tolist() == [6.0, 5.0, 3.0]


def test_convergence_url_state_log_axis_and_band(dash):
    at = dash.open(CONVERGENCE, studies="ga_two,ga_live", log="1", noband="1")
    assert widget(at, "multiselect", "pick_studies").value == ["ga_two", "ga_live"]
    assert widget(at, "toggle", "log").value is True and widget(at, "toggle", "band").value is False
    main = chart(at, "main")
    assert main["layout"]["yaxis"]["type"] == "log"
    assert not [t for t in main["data"] if "std" in t["name"]]
    # ga_live is running: its history is computed from its runs (gen 0: 5, 6; gen 1: 4, 7).
    assert trace(main, "ga_live best")["y"] == [5.0, 4.0]
    frame = table(at, "conv_table")
    assert frame.loc[frame["study_id"] == "ga_live", "source"].tolist() == ["computed", "computed"]

    widget(at, "toggle", "log").set_value(False).run()
    widget(at, "toggle", "band").set_value(True).run()
    check_clean(at)
    assert "log" not in at.query_params and "noband" not in at.query_params
    assert chart(at, "main")["layout"]["yaxis"]["type"] == "linear"


def test_convergence_of_a_study_without_generations(dash):
    at = dash.open(CONVERGENCE, studies="ga_empty")
    assert "ga_empty: no generations; the history by evaluation is on the Trials page." in texts(at.caption)
    links = at.get("page_link")
    assert [link.proto.label for link in links] == ["History of ga_empty by evaluation"]
    assert not at.get("plotly_chart")
    at = dash.open(CONVERGENCE, studies="mc_risk")                     # Monte Carlo: no generations
    assert not at.get("plotly_chart") and [link.proto.label for link in at.get("page_link")] == [
        "History of mc_risk by evaluation"]


# ------------------------------------------------------------------------------ Pareto explorer


def test_pareto_front_cloud_knee_and_parallel_coordinates(dash, media):
    at = dash.open(PARETO, study="ga_two")
    assert widget(at, "slider", "pgen").value == 2
    assert f"Front: 5 designs (generations up to 2); knee point {GA_TWO_KNEE}" in texts(at.caption)
    figure = chart(at, "pareto")
    # all 6 dominated: no sample; the top 5 by the default ranking (the knee) numbered
    assert [t["name"] for t in figure["data"]] == ["dominated", "Pareto front", "knee point", "top 5 by knee point"]
    front = trace(figure, "Pareto front")
    assert list(zip(front["x"], front["y"])) == sorted(GA_TWO_FRONT.values())
    assert front["customdata"] == [run for run, _ in sorted(GA_TWO_FRONT.items(), key=lambda kv: kv[1])]
    cloud = trace(figure, "dominated")
    assert sorted(cloud["customdata"]) == sorted({f"ga_two:{i}" for i in range(11)} - set(GA_TWO_FRONT))
    assert trace(figure, "knee point")["customdata"] == [GA_TWO_KNEE]
    assert figure["layout"]["dragmode"] == "select"
    assert figure["layout"]["xaxis"]["title"]["text"] == "cost"

    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("-chart_parcoords")]  # on request
    widget(at, "toggle", "pc").set_value(True).run()
    check_clean(at)
    assert at.query_params["pc"] == "1"
    parallel = chart(at, "parcoords")["data"][0]
    assert [d["label"] for d in parallel["dimensions"]] == ["cost", "co2", "p1", "p2"]
    assert sorted(parallel["dimensions"][0]["values"]) == sorted(x for x, _ in GA_TWO_FRONT.values())
    csv = download(at, media, "front")
    assert sorted(csv["run_id"]) == sorted(GA_TWO_FRONT)
    assert "Drag a box or lasso on the chart (or click points) to list designs here." in texts(at.caption)


def test_pareto_selection_fills_the_selected_designs_table(dash, media):
    at = dash.open(PARETO, study="ga_two")
    select_on_chart(at, "pareto", ["ga_two:9", "ga_two:8"])
    chosen = table(at, "selected_table").set_index("run_id")
    assert sorted(chosen.index) == ["ga_two:8", "ga_two:9"]
    assert chosen.loc["ga_two:9", ["cost", "co2", "param:p1", "param:p2"]].tolist() == [3.0, 15.0, 10.0, 100.0]
    assert chosen.loc["ga_two:9", "sim:total_cost"] == "3.25"
    assert sorted(download(at, media, "selected")["run_id"]) == ["ga_two:8", "ga_two:9"]


@pytest.mark.parametrize("generation", [0, 1])
def test_pareto_generation_slider_from_the_url(dash, generation):
    at = dash.open(PARETO, study="ga_two", gen=str(generation), x="co2", y="cost")
    assert widget(at, "slider", "pgen").value == generation
    assert widget(at, "selectbox", "px").value == "co2" and widget(at, "selectbox", "py").value == "cost"
    front = trace(chart(at, "pareto"), "Pareto front")
    assert set(front["customdata"]) == GA_TWO_FRONT_UP_TO[generation]
    assert front["x"] == sorted(front["x"])                                   # sorted by the x objective (co2)
    assert any(c.startswith(f"Front: 3 designs (generations up to {generation})") for c in texts(at.caption))


def test_pareto_widgets_write_the_url(dash):
    at = dash.open(PARETO, study="ga_two")
    assert "gen" not in at.query_params                                      # the last generation is the default
    widget(at, "slider", "pgen").set_value(1).run()
    check_clean(at)
    assert at.query_params["gen"] == "1"
    widget(at, "selectbox", "px").set_value("co2").run()
    check_clean(at)
    assert at.query_params["x"] == "co2"
    assert chart(at, "pareto")["layout"]["xaxis"]["title"]["text"] == "co2"
    widget(at, "selectbox", "pick_study").set_value("ga_live").run()
    check_clean(at)
    assert at.query_params["study"] == "ga_live"


def test_pareto_three_objectives_in_3d(dash):
    at = dash.open(PARETO, study="ga_three")
    assert widget(at, "toggle", "p3d").disabled is False
    widget(at, "toggle", "p3d").set_value(True).run()
    check_clean(at)
    figure = chart(at, "pareto")
    assert {t["type"] for t in figure["data"]} == {"scatter3d"}
    # (4,6,6) is dominated by (1,5,3); the other three trade off.
    assert len(trace(figure, "Pareto front")["x"]) == 3
    assert at.query_params.get("z")


def test_pareto_3d_view_survives_its_own_url(dash):
    at = dash.open(PARETO, study="ga_three")
    widget(at, "toggle", "p3d").set_value(True).run()
    link = dict(at.query_params)
    again = dash.open(PARETO, **link)
    assert widget(again, "toggle", "p3d").value is True


def test_pareto_generation_below_the_first_is_clamped(dash):
    at = dash.open(PARETO, study="ga_two", gen="-5")
    assert widget(at, "slider", "pgen").value == 0
    assert set(trace(chart(at, "pareto"), "Pareto front")["customdata"]) == GA_TWO_FRONT_UP_TO[0]


def test_pareto_empty_states(dash):
    single = dash.open(PARETO, study="ga_single")
    assert texts(single.info) == ["This study has a single objective, so it has no Pareto front. Choose a "
                                  "multi-objective study (one created with two or more objective_directions), "
                                  "or look at its convergence instead."]
    assert not single.get("plotly_chart")
    empty = dash.open(PARETO, study="ga_empty")
    assert texts(empty.info) == ["This study has no runs yet."]
    assert not empty.get("plotly_chart")


def test_pareto_of_a_running_study_is_computed_from_its_runs(dash):
    at = dash.open(PARETO, study="ga_live")
    front = trace(chart(at, "pareto"), "Pareto front")
    assert list(zip(front["x"], front["y"])) == [(4.0, 6.0), (5.0, 5.0), (6.0, 3.0)]


def test_pareto_of_a_running_study_shows_runs_logged_after_the_first_view(monkeypatch, tmp_path):
    import uuid

    from storage import DatabaseMetadataService

    study = f"live_{uuid.uuid4().hex[:8]}"      # st.cache_data is per process: a key no other test uses
    path = tmp_path / "live.db"
    with DatabaseMetadataService(path) as db:
        db.create_study({"study_id": study, "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
                         "objective_directions": ["minimize", "minimize"], "status": "running"})
        db.log_study_runs([{"study_id": study, "generation_number": 0, "parameter_vector": [float(k)], "objectives": o}
                           for k, o in enumerate(([5.0, 5.0], [6.0, 3.0]))])
    dash = Dashboard(f"sqlite:///{path}", monkeypatch, tmp_path)
    first = dash.open(PARETO, study=study)
    assert len(trace(chart(first, "pareto"), "Pareto front")["x"]) == 2
    with DatabaseMetadataService(path) as db:      # the optimizer logs a run that dominates both
        db.log_study_runs([{"study_id": study, "generation_number": 1, "parameter_vector": [9.0],
                            "objectives": [1.0, 1.0]}])
    again = dash.open(PARETO, study=study)
    front = trace(chart(again, "pareto"), "Pareto front")
    assert list(zip(front["x"], front["y"])) == [(1.0, 1.0)]


# --------------------------------------------------------------------- Sensitivity & uncertainty


def test_pareto_and_best_designs_count_a_repeated_design_once(monkeypatch, tmp_path):
    """An elitist optimizer logged the same design three times: one point of the front, one row of
    the best designs, and both say how many evaluations there were."""
    from storage import DatabaseMetadataService

    path = tmp_path / "repeat.db"
    with DatabaseMetadataService(path) as db:
        db.create_study({"study_id": "rep", "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
                         "objective_directions": ["minimize", "minimize"], "parameter_names": ["p"]})
        db.log_study_runs([{"study_id": "rep", "generation_number": g, "parameter_vector": [v], "objectives": o}
                           for g, v, o in [(0, 1.0, [1.0, 5.0]), (0, 2.0, [5.0, 1.0]), (0, 3.0, [6.0, 6.0]),
                                           (1, 1.0, [1.0, 5.0]), (2, 1.0, [1.0, 5.0])]])
        db.update_study_status("rep", "completed")
    dash = Dashboard(f"sqlite:///{path}", monkeypatch, tmp_path)
    at = dash.open(PARETO, study="rep")
    assert "Front: 2 designs (4 evaluations) (generations up to 2); knee point rep:0" in texts(at.caption)
    front = trace(chart(at, "pareto"), "Pareto front")
    assert sorted(zip(front["x"], front["y"])) == [(1.0, 5.0), (5.0, 1.0)]
    detail = dash.open(DETAIL, study="rep", tab="Best designs")
    best = table(detail, "best_table")
    assert best["param:p"].tolist() == [1.0, 2.0, 3.0] and best["evaluations"].tolist() == [3, 1, 1]


def test_sensitivity_heatmap_bars_tables_and_distribution(dash, media):
    at = dash.open(SENSITIVITY, study="mc_risk")
    measure = widget(at, "selectbox", "measure")
    assert measure.options == ["Pearson", "Spearman", "Sobol first-order", "Sobol total"]
    assert measure.value == "Pearson"
    heat = chart(at, "heat")["data"][0]
    assert heat["x"] == ["cost", "renewable"] and heat["y"] == ["capex", "fuel"]
    assert heat["z"] == [[-0.3, -0.6], [0.9, 0.1]]
    bars = chart(at, "bars")["data"][0]
    assert widget(at, "selectbox", "objective").value == "cost"
    assert bars["y"] == ["capex", "fuel"] and bars["x"] == [-0.3, 0.9]        # ascending

    ranks = table(at, "rank_table")
    assert len(ranks) == 4
    assert ranks.set_index(["parameter_name", "objective_name"]).loc[("fuel", "cost"), "sobol_total"] == "0.75"  # as shown
    assert len(download(at, media, "rank")) == 4
    risk = table(at, "risk_table")
    assert len(risk) == 1
    for key, value in MC_RISK.items():
        shown = risk.iloc[0][key]
        assert shown == value or shown == f"{value:.10g}", key
    assert download(at, media, "risk").iloc[0]["cvar_95"] == 119.0

    distribution = chart(at, "dist_cost")
    histogram = trace(distribution, "samples")
    assert sorted(histogram["x"]) == [100.0 + i for i in range(20)]
    ecdf = trace(distribution, "ECDF")
    assert ecdf["y"][-1] == 1.0 and len(ecdf["y"]) == 20
    marked = sorted({shape["x0"] for shape in distribution["layout"]["shapes"]})
    assert marked == [101.0, 109.5, 118.0, 119.0]                              # P5, P50, P95 = VaR95, CVaR95


def test_sensitivity_url_state_and_widgets(dash):
    at = dash.open(SENSITIVITY, study="mc_risk", measure="Sobol first-order", objective="cost")
    assert widget(at, "selectbox", "measure").value == "Sobol first-order"
    bars = chart(at, "bars")["data"][0]
    assert bars["x"] == [0.1, 0.7] and bars["error_x"]["array"] == [0.02, 0.05]
    widget(at, "selectbox", "measure").set_value("Spearman").run()
    widget(at, "selectbox", "objective").set_value("renewable").run()
    check_clean(at)
    assert at.query_params["measure"] == "Spearman" and at.query_params["objective"] == "renewable"
    bars = chart(at, "bars")["data"][0]
    assert bars["y"] == ["fuel", "capex"] and bars["x"] == [0.15, -0.65]      # by strength: the strongest on top


def test_sensitivity_empty_states(dash):
    at = dash.open(SENSITIVITY, study="ga_two")
    assert texts(at.info)[0].startswith("This study has no uncertainty or sensitivity results yet.")
    # Studies with no runs and no Monte Carlo type are not offered at all.
    assert "ga_empty" not in widget(at, "selectbox", "pick_study").options


# ---------------------------------------------------------------------------- Prompt optimization


def test_prompt_optimization_project_leaderboard_runs_and_run_detail(request, dash, media):
    at = dash.open(PROMPTS, run="run-good")
    assert widget(at, "selectbox", "project").value == "proj-a"
    metrics = [(m.label, m.value) for m in at.metric]
    assert metrics[:5] == [("Runs", "2"), ("Success rate", "50%"), ("Avg improvement", "+0.3000"),
                           ("Tokens", "385"), ("Cost", "$0.04")]
    assert metrics[5:] == [("Status", "completed"), ("Final score", "0.8000"), ("Tokens", "385"),
                           ("Cost", "$0.0350"), ("Avg latency", "100 ms")]
    leaderboard = at.dataframe[0].value
    assert leaderboard["id"].tolist() == ["run-good"]
    assert leaderboard.iloc[0]["final_score"] == 0.8 and leaderboard.iloc[0]["improvement"] == pytest.approx(0.3)
    runs = at.dataframe[1].value.set_index("id")
    assert sorted(runs.index) == ["run-bad", "run-good"]
    assert runs.loc["run-bad", "name"] == XSS_NAME and runs.loc["run-bad", "status"] == "failed"
    assert runs.loc["run-good", "prompt_tokens"] == 350 and runs.loc["run-good", "completion_tokens"] == 35
    assert download(at, media, "runs")["id"].tolist() == runs.index.tolist()

    scatter = chart(at, "scorecost")
    assert trace(scatter, "miprov2")["x"] == [pytest.approx(0.035)] and trace(scatter, "miprov2")["y"] == [0.8]
    scores = chart(at, "iterscores")
    assert trace(scores, "full evaluation")["x"] == [0, 2] and trace(scores, "full evaluation")["y"] == [0.55, 0.8]
    assert trace(scores, "minibatch evaluation")["x"] == [1]
    assert trace(scores, "best so far (full)")["y"] == [0.55, 0.8]
    assert trace(scores, "best iteration")["x"] == [2]
    assert XSS_DESCRIPTION in [c.value for c in at.code]        # instructions: plain code blocks, never Markdown
    samples = at.dataframe[-1].value
    assert samples["sample_index"].tolist() == [0, 1] and samples["success"].tolist() == [True, False]
    assert samples["input"].tolist() == ['{"q": "a"}', '{"q": "b"}']      # JSON as JSON, not Python's dict text
    assert samples["output"].tolist() == ["billing", ""] and samples["error"].tolist() == ["", "timeout"]   # blanks
    assert download(at, media, "samples")["error"].fillna("").tolist() == ["", "timeout"]


def test_prompt_optimization_url_state_and_widgets(request, dash):
    at = dash.open(PROMPTS, project="proj-a", status="failed", run="run-bad")
    assert widget(at, "multiselect", "rstatus").value == ["failed"]
    assert at.dataframe[-1].value["id"].tolist() == ["run-bad"]
    assert widget(at, "selectbox", "run").value == "run-bad"
    assert f"Error: {PROMPT_ERROR}" in texts(at.text)                  # st.text: literal
    widget(at, "multiselect", "rstatus").set_value([]).run()
    widget(at, "text_input", "rtags").input("prod").run()
    check_clean(at)
    assert "status" not in at.query_params and at.query_params["tags"] == "prod"
    assert at.dataframe[1].value["id"].tolist() == ["run-good"]
    assert at.query_params["run"] == "run-good"                        # the chosen run left the list
    widget(at, "toggle", "failed").set_value(True).run()
    check_clean(at)
    assert at.query_params["failed"] == "1"
    assert at.dataframe[-1].value["success"].tolist() == [False, True]
    widget(at, "text_input", "rtags").input("nothing-has-this").run()
    check_clean(at)
    assert texts(at.info) == ["No run matches these filters."]


def test_prompt_optimization_shows_what_each_dspy_iteration_evaluated(monkeypatch, tmp_path):
    """A real MIPROv2 run of a two-predictor program (DSPy's DummyLM, metered), imported with its
    recording: per iteration the named predictors' instruction and demo-set indices, tokens and
    cost; the best iteration's instructions and demos; the candidates and effective settings."""
    dspy = pytest.importorskip("dspy")
    from dspy_runs import MeteredLM, TwoStep, answers  # tests/dspy_runs.py

    from integrations.dspy_import import DSPyRecorder, import_miprov2
    from storage.prompts.store import PromptOptimizationStore

    data = [dspy.Example(question=f"What is 2+2 ({i})?", answer="4").with_inputs("question") for i in range(24)]
    lm = MeteredLM(answers(11, True))
    with dspy.context(lm=lm):
        optimizer = dspy.MIPROv2(metric=lambda e, p, trace=None: e.answer == p.answer, prompt_model=lm, task_model=lm,
                                 auto=None, num_candidates=3, num_threads=1, seed=1)
        recorder = DSPyRecorder(optimizer)
        with recorder:
            program = optimizer.compile(TwoStep(), trainset=data[:16], valset=data[16:], num_trials=4,
                                        minibatch_size=4, minibatch_full_eval_steps=2, max_bootstrapped_demos=1,
                                        max_labeled_demos=1)
    path = tmp_path / "dspy.db"
    with PromptOptimizationStore(path, project_id="dspy") as store:
        run = import_miprov2(store, program, name="two steps", optimizer=optimizer, recording=recorder)
        stored = store.get_iterations(run["id"])
    dash = Dashboard(f"sqlite:///{path}", monkeypatch, tmp_path)
    at = dash.open(PROMPTS, run=run["id"])
    shown = {t.value for t in at.text}
    assert (f"DSPy MIPROv2 · predictors: draft, check · DSPy returned the program of iteration "
            f"{run['metadata']['dspy']['returned_iteration']}") in shown
    per_iteration = next(d.value for d in at.dataframe if "demo set" in d.value.columns)
    assert per_iteration["iteration"].tolist() == [it["iteration"] for it in stored]
    for row, it in zip(per_iteration.to_dict("records"), stored):
        instruction_ids, demo_ids = it["params"]["instruction_ids"], it["params"]["demo_ids"]
        assert row["instruction"] == f"draft: {instruction_ids['0']}, check: {instruction_ids['1']}"
        assert row["demo set"] == f"draft: {demo_ids['0']}, check: {demo_ids['1']}"
        marks = ["best"] * it["is_best"] + ["returned"] * (it["iteration"] == run["metadata"]["dspy"]["returned_iteration"])
        assert row["marks"] == ", ".join(marks)
        assert (row["prompt tokens"], row["completion tokens"]) == (it["prompt_tokens"], it["completion_tokens"])
        assert row["cost (USD)"] == pytest.approx(it["cost"]) and it["cost"] > 0
        if "rescored_trial" in it["params"]:
            assert row["re-scored trial"] == it["params"]["rescored_trial"]
            assert row["its minibatch mean"] == pytest.approx(it["params"]["minibatch_mean"])
        else:
            assert pd.isna(row["re-scored trial"])
    best = next(it for it in stored if it["is_best"])
    assert widget(at, "selectbox", "cand_iter").value == best["iteration"]
    codes = [c.value for c in at.code]
    assert all(instruction in codes for instruction in best["instructions"])
    for index, name in enumerate(["draft", "check"]):
        label = (f"{name} (instruction {best['params']['instruction_ids'][str(index)]}, "
                 f"demo set {best['params']['demo_ids'][str(index)]}):")
        assert label in shown

    def demo_rows(page):
        tables = [d.value for d in page.dataframe if "question" in d.value.columns and "answer" in d.value.columns]
        return [row for t in tables for row in t.to_dict("records")]

    def expected_rows(it):
        return [{k: str(v) for k, v in demo.items()} for demos in it["params"]["demos"] for demo in demos]

    assert demo_rows(at) == expected_rows(best)
    candidates = next(d.value for d in at.dataframe if "tried in iterations" in d.value.columns)
    assert candidates["instruction"].tolist() == [t for texts in recorder.instruction_candidates.values() for t in texts]
    settings = next(d.value for d in at.dataframe if "setting" in d.value.columns).set_index("setting")["value"]
    assert settings["valset_size"] == "8" and settings["num_trials"] == "4"
    other = next(it for it in stored if not it["is_best"] and any(it["params"]["demos"]))  # one with demos
    widget(at, "selectbox", "cand_iter").set_value(other["iteration"]).run()
    check_clean(at)
    assert all(i in [c.value for c in at.code] for i in other["instructions"])
    assert demo_rows(at) == expected_rows(other) != []
    other = other["iteration"]
    assert at.query_params["iter"] == str(other)
    linked = dash.open(PROMPTS, run=run["id"], iter=str(other))       # a deep link to that iteration
    assert widget(linked, "selectbox", "cand_iter").value == other


# ------------------------------------------------------------------------------- Data & export


@pytest.mark.parametrize("study, kind, rows", [
    ("ga_two", "runs", 12), ("ga_two", "convergence", 3), ("ga_two", "pareto", 5),
    ("mc_risk", "uncertainty", 1), ("mc_risk", "sensitivity", 4), ("ga_empty", "convergence", 0),
    pytest.param("ga_empty", "runs", 0),
])
def test_export_tables_preview_and_csv(dash, media, study, kind, rows):
    at = dash.open(EXPORT, study=study, table=kind)
    assert widget(at, "selectbox", "table").value == kind
    assert f"{rows:,} row{'s' if rows != 1 else ''}" in texts(at.caption)          # "1 row", never "1 rows"
    preview = table(at, "export_preview")
    assert len(preview) == rows
    csv = download(at, media, "export")
    assert len(csv) == rows
    if kind == "runs" and rows:
        assert sorted(csv["evaluation_number"]) == list(range(12))
        assert csv.set_index("run_id").loc["ga_two:9", ["param:p1", "cost", "co2"]].tolist() == [10.0, 3.0, 15.0]
    if kind == "pareto":
        assert sorted(csv["run_id"]) == sorted(GA_TWO_FRONT)


def test_export_of_a_long_runs_table_previews_its_first_rows_and_downloads_all(monkeypatch, tmp_path, media):
    # 1,203 runs logged in a shuffled order: the preview is the first 1,000 by evaluation number, the
    # caption counts all of them, and the CSV (read when clicked) has every run once.
    from storage import DatabaseMetadataService

    url = f"sqlite:///{tmp_path / 'long.db'}"
    numbers = list(range(1203))
    random.Random(3).shuffle(numbers)
    with DatabaseMetadataService(url) as service:
        service.create_study({"study_id": "long", "study_type": "genetic_algorithm", "optimization_objective": "cost",
                              "parameter_names": ["p"]})
        service.log_study_runs([{"study_id": "long", "evaluation_number": n, "fitness": n * 0.5,
                                 "parameter_vector": [float(n % 7)]} for n in numbers])
    at = Dashboard(url, monkeypatch, tmp_path).open(EXPORT, study="long", table="runs")
    assert "1,203 rows; the first 1,000 shown" in texts(at.caption)
    preview = table(at, "export_preview")
    assert preview["evaluation_number"].tolist() == list(range(1000))
    assert preview["param:p"].tolist() == [float(n % 7) for n in range(1000)]
    csv = download(at, media, "export")
    assert sorted(csv["evaluation_number"]) == list(range(1203))
    assert csv.set_index("evaluation_number").loc[1202, "fitness"] == 601.0


def test_export_runs_filters_and_url(dash):
    at = dash.open(EXPORT, study="ga_two")
    assert widget(at, "selectbox", "table").value == "runs" and at.query_params["table"] == "runs"
    widget(at, "selectbox", "xsim").set_value("failed").run()
    check_clean(at)
    assert table(at, "export_preview")["run_id"].tolist() == ["ga_two:11"]
    widget(at, "selectbox", "xsim").set_value("any").run()
    widget(at, "number_input", "xgen").set_value(1).run()
    check_clean(at)
    assert sorted(table(at, "export_preview")["run_id"]) == ["ga_two:4", "ga_two:5", "ga_two:6", "ga_two:7"]
    widget(at, "selectbox", "table").set_value("convergence").run()
    check_clean(at)
    assert at.query_params["table"] == "convergence"


def test_export_sql_box(dash, media):
    at = dash.open(EXPORT, study="ga_two")
    assert len(at.dataframe) == 1                                          # the SQL runs on request only
    at.button(key="run_sql").click().run()
    check_clean(at)
    result = table(at, "sql_result").set_index("study_type")
    assert result.loc["genetic_algorithm", "studies"] == 7
    assert result.loc["genetic_algorithm", "runs"] == sum(v for k, v in RUN_COUNTS.items() if k != "mc_risk")
    assert result.loc["monte_carlo", "runs"] == 20
    assert at.query_params["sql"].startswith("SELECT study_type")

    at = dash.open(EXPORT, study="ga_two", sql="SELECT study_id, run_count FROM studies ORDER BY study_id")
    result = table(at, "sql_result")
    assert dict(zip(result["study_id"], result["run_count"])) == RUN_COUNTS
    assert len(download(at, media, "sql")) == len(RUN_COUNTS)

    at = dash.open(EXPORT, study="ga_two", sql="SELECT * FROM read_csv('/etc/passwd')")
    assert texts(at.error) == ["sql: read_csv() is not available here (it reads files or other databases)"]


def test_export_sql_error_shows_the_query_literally(dash):
    at = dash.open(EXPORT, study="ga_two", sql='DROP TABLE "![x](https://example.invalid/sql.png)"')
    assert at.error  # the refusal is shown...
    check_clean(at)  # ...as text, not as Markdown with an image


# --------------------------------------------------------------------------- every page, literally


@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_opens_without_exception(dash, page):
    at = dash.open(page)
    assert texts(at.title) == [TITLES[page]]
    assert not at.error


def test_html_and_markdown_in_study_text_are_shown_literally(dash):
    studies = dash.open(STUDIES)
    assert table(studies, "studies_table").set_index("study_id").loc["xss_study", "study_name"] == XSS_NAME

    detail = dash.open(DETAIL, study="xss_study")
    picker = widget(detail, "selectbox", "pick_study")
    label = f"xss_study ({XSS_NAME}) [genetic_algorithm]"
    assert label in picker.options
    assert XSS_DESCRIPTION in texts(detail.text)                 # st.text: shown exactly, never Markdown
    for tab in ("Best designs", "Parameter distributions", "Decisions"):
        dash.open(DETAIL, study="xss_study", tab=tab)                # check_clean scans every element
    for page in (COMPARE, CONVERGENCE, PARETO, SENSITIVITY, EXPORT):
        at = dash.open(page, study="xss_study", studies="xss_study,ga_two")   # check_clean scans every element
        assert not at.error


def test_run_ids_in_the_pareto_caption_are_shown_literally(dash):
    dash.open(PARETO, study="md_runs")


# ----------------------------------------------------------------------------- empty and broken


def test_empty_database_every_page_says_what_to_do(monkeypatch, tmp_path):
    from storage import DatabaseMetadataService

    path = tmp_path / "empty.db"
    DatabaseMetadataService(path).close()                          # schema at head, no studies
    dash = Dashboard(f"sqlite:///{path}", monkeypatch, tmp_path)
    expected = {
        STUDIES: "No studies yet. Log one from an optimizer (see the README), or fill this database with demo data: "
                 "`hive-cli demo`.",
        DETAIL: "No studies yet. Log one from an optimizer, or run `hive-cli demo` to fill this database.",
        DESIGN: "No studies yet. Log one from an optimizer, or run `hive-cli demo` to fill this database.",
        COMPARE: "Choose two to five studies to compare.",
        CONVERGENCE: "No studies yet. Log one from an optimizer, or run `hive-cli demo`.",
        PARETO: "No studies yet. Log one from an optimizer, or run `hive-cli demo` to fill this database.",
        SENSITIVITY: "No studies yet. A Monte Carlo study analysed with analyze_monte_carlo (or `hive-cli demo`) "
                     "shows here.",
        EXPORT: "No studies yet.",
        PROMPTS: "No prompt-optimization runs yet. Record them with `storage.PromptOptimizationStore` or import a "
                 "DSPy run (`integrations.dspy_import`); `hive-cli demo` adds a few.",
    }
    for page, message in expected.items():
        at = dash.open(page)
        assert texts(at.info) == [message], page
        assert not at.error and not at.get("plotly_chart") and not at.metric, page


@pytest.mark.parametrize("page", ALL_PAGES)
def test_database_behind_on_migrations_names_the_upgrade_command(monkeypatch, tmp_path, page):
    path = tmp_path / "legacy_v1.db"
    shutil.copy(LEGACY_DB, path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    at = Dashboard(f"sqlite:///{path}", monkeypatch, tmp_path).open(page)
    assert len(at.error) == 1
    message = shown(at.error[0])
    assert message.startswith("Cannot read the results database: database schema is behind")
    assert message.endswith(f"Upgrade it with: hive-cli db upgrade {path}")
    assert texts(at.title) == [TITLES[page]] and not at.dataframe and not at.get("plotly_chart")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before          # the dashboard never writes
    assert not Path(f"{path}-wal").exists()


def test_file_without_schema_names_the_demo_command(monkeypatch, tmp_path):
    path = tmp_path / "blank.db"
    path.write_bytes(b"")
    at = Dashboard(f"sqlite:///{path}", monkeypatch, tmp_path).open(STUDIES)
    assert [shown(e) for e in at.error] == [f"Cannot read the results database: database {path} holds no hive schema yet: "
                               f"log a study into it, or fill it with demo data: hive-cli demo {path}"]


UNREACHABLE = "postgresql://hive:s3cret@127.0.0.1:1/hive"


@pytest.mark.parametrize("page", ALL_PAGES)
def test_unreachable_database_shows_one_clear_message(monkeypatch, tmp_path, page):
    at = Dashboard(UNREACHABLE, monkeypatch, tmp_path).open(page)
    assert len(at.error) == 1
    message = shown(at.error[0])
    assert message.startswith("Cannot read the results database: database postgresql://hive:***@127.0.0.1:1/hive "
                              "is unavailable")
    assert not [e for e in elements(at) if "s3cret" in str(getattr(e, "proto", ""))]   # no password on screen


@pytest.mark.parametrize("url", [UNREACHABLE, "sqlite:///{tmp}/missing.db"])
def test_unreachable_or_missing_database_message_says_how_to_fix_it(monkeypatch, tmp_path, url):
    at = Dashboard(url.format(tmp=tmp_path), monkeypatch, tmp_path).open(STUDIES)
    message = shown(at.error[0])
    assert "HIVE_DB_URL" in message or "secrets.toml" in message


def test_studies_survives_a_bad_date_in_the_url(dash):
    at = dash.open(STUDIES, created="2024-13-45,2024-01-01")
    assert len(table(at, "studies_table")) == len(STUDY_ORDER)


def test_study_detail_with_many_parameters_shows_only_the_columns_and_histograms_asked_for(monkeypatch, tmp_path, media):
    """A MILP's 600 variables: the tables show the first 40 parameters, the page draws at most 24
    histograms and lets the user pick which (all of them made the page take seconds; its speed is
    measured in bench/, not here)."""
    from storage import DatabaseMetadataService

    path = tmp_path / "wide.db"
    with DatabaseMetadataService(path) as db:
        db.create_study({"study_id": "wide", "study_type": "milp", "parameter_names": [f"x{i}" for i in range(600)]})
        db.log_study_runs([{"study_id": "wide", "parameter_vector": [float(i + k) for i in range(600)], "fitness": 1.0}
                           for k in range(3)])
        db.update_study_status("wide", "completed")
        db.create_study({"study_id": "narrow", "study_type": "milp", "parameter_names": ["x0", "x1"]})
        db.log_study_runs([{"study_id": "narrow", "parameter_vector": [1.0, 2.0], "fitness": 1.0}])
    dash = Dashboard(f"sqlite:///{path}", monkeypatch, tmp_path)
    # The tables show the first 40 parameters and say so; the CSV has all 600.
    wide_note = "The first 40 of 600 parameters are shown; the CSV and each design's page (open) have them all."
    at = dash.open(DETAIL, study="wide")
    runs = table(at, "runs_table")
    assert [c for c in runs.columns if c.startswith("param:")] == [f"param:x{i}" for i in range(40)]
    assert wide_note in texts(at.caption)
    assert len([c for c in download(at, media, "runs").columns if c.startswith("param:")]) == 600
    at = dash.open(DETAIL, study="wide", tab="Best designs")
    assert len([c for c in table(at, "best_table").columns if c.startswith("param:")]) == 40
    assert wide_note in texts(at.caption)
    at = dash.open(DETAIL, study="wide", tab="Parameter distributions")
    picker = widget(at, "multiselect", "hist_params")
    assert picker.label == "Parameters to draw (600 in all)" and len(picker.value) == 24
    assert picker.value == [f"param:x{i}" for i in range(24)]
    assert len(chart(at, "params")["data"]) == 24


# -------------------------------------------------------------------------------------- config


def test_streamlit_config_is_production_minded():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    server = config["server"]
    assert server["enableXsrfProtection"] is True
    assert server["enableStaticServing"] is False
    assert server["headless"] is True
    assert config["browser"]["gatherUsageStats"] is False
    # CORS stays on (it is what XSRF protection needs; Streamlit forces it on when XSRF is on).
    assert server.get("enableCORS", True) is True


# ------------------------------------------------------------------ Which study each page opens on


@pytest.fixture
def ordered_studies(monkeypatch, tmp_path) -> Dashboard:
    """Studies of every kind, updated in a known order (newest first): a one-run MILP, a Monte Carlo
    study with analyses, a single-objective GA, two GAs of one objective space and one of another."""
    from storage import DatabaseMetadataService

    path = tmp_path / "order.db"
    with DatabaseMetadataService(path) as db:
        def ga(study_id, objectives, values):
            db.create_study({"study_id": study_id, "study_type": "genetic_algorithm",
                             "optimization_objective": ",".join(objectives),
                             "objective_directions": ["minimize"] * len(objectives)})
            db.log_study_runs([{"study_id": study_id, "generation_number": k // 2, "parameter_vector": [float(k)],
                                "objectives": v} for k, v in enumerate(values)])

        ga("ga_other_space", ["cost", "risk"], [[1.0, 2.0], [2.0, 1.0]])
        ga("ga_old_pair", ["cost", "co2"], [[1.0, 2.0], [2.0, 1.0]])
        ga("ga_new_pair", ["cost", "co2"], [[1.0, 3.0], [3.0, 1.0]])
        ga("ga_single", ["yield"], [[1.0], [2.0]])
        db.create_study({"study_id": "mc", "study_type": "monte_carlo", "optimization_objective": "cost"})
        db.log_study_runs([{"study_id": "mc", "parameter_vector": [float(k)], "fitness": float(k)} for k in range(5)])
        db.log_uncertainty_analysis({"study_id": "mc", "objective_name": "cost", "mean_value": 2.0})
        db.create_study({"study_id": "milp", "study_type": "milp"})
        db.log_study_run({"study_id": "milp", "parameter_vector": [1.0], "fitness": 5.0})
    order = ["ga_other_space", "ga_old_pair", "ga_new_pair", "ga_single", "mc", "milp"]  # oldest first
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for minute, study_id in enumerate(order):
            conn.execute(sa.text("UPDATE studies SET updated_at = :t WHERE study_id = :s"),
                         {"t": f"2025-01-01 10:{minute:02d}:00", "s": study_id})
    engine.dispose()
    return Dashboard(f"sqlite:///{path}", monkeypatch, tmp_path)


def switch(at, page: str, **params):
    """Go to another page in the same session, as the sidebar does (the URL's parameters are dropped)."""
    at.query_params.clear()
    at.query_params.update(params)
    at.switch_page(page)
    at.run()
    check_clean(at)
    return at


@pytest.mark.parametrize("page, param, expected, why", [
    (PARETO, "study", "ga_new_pair",
     "Showing ga_new_pair, the most recently updated multi-objective study (a Pareto front needs two or more objectives)."),
    (SENSITIVITY, "study", "mc", "Showing mc, the most recently updated study with uncertainty or sensitivity results."),
    (CONVERGENCE, "studies", "ga_single", "Showing ga_single, the most recently updated study with generations or solver progress."),
    (DETAIL, "study", "milp", "Showing milp, the most recently updated study with runs."),
])
def test_each_page_opens_on_the_newest_study_that_fits_it_and_says_why(ordered_studies, page, param, expected, why):
    at = ordered_studies.open(page)
    assert at.query_params[param] == expected
    assert why in texts(at.caption)


def test_compare_opens_on_the_newest_studies_of_one_objective_space(ordered_studies):
    at = ordered_studies.open(COMPARE)
    assert at.query_params["studies"] == "ga_new_pair,ga_old_pair"
    assert "Showing the 2 most recently updated studies of one objective space (cost (min), co2 (min))." in texts(at.caption)


def test_the_warm_up_reads_the_studies_compare_opens_on(ordered_studies, monkeypatch):
    """After the server's warm-up, the first visit of Compare without a link reads nothing again."""
    import streamlit as st

    import ui.compare_cache as cache
    from storage.reader import Reader

    st.cache_data.clear()
    cache.warm_default(Reader(ordered_studies.url))
    monkeypatch.setattr("ui.warmup._warm", lambda reader, store: None)   # the server's own warm-up would read too
    read, here = [], str(Reader(ordered_studies.url).url)     # (earlier tests' warm-up threads may still read theirs)
    original = cache.queries.get_convergence_history
    monkeypatch.setattr(cache.queries, "get_convergence_history",
                        lambda db, sid: (str(db.url) == here and read.append(sid)) or original(db, sid))
    at = ordered_studies.open(COMPARE)
    assert at.query_params["studies"] == "ga_new_pair,ga_old_pair" and read == []
    switch(at, COMPARE, studies="ga_new_pair,ga_single")   # another choice is read on demand
    assert read == ["ga_single"]


def test_the_study_travels_with_the_user_and_a_page_it_does_not_fit_says_so(ordered_studies):
    at = ordered_studies.open(DETAIL, study="ga_old_pair")
    switch(at, PARETO)                                    # fits: the same study, nothing to explain
    assert at.query_params["study"] == "ga_old_pair"
    assert not any("most recently updated" in c for c in texts(at.caption))
    switch(at, DETAIL, study="ga_single")
    switch(at, PARETO)                                    # does not fit: say what was chosen instead, and why
    assert at.query_params["study"] == "ga_new_pair"
    assert ("Showing ga_new_pair, the most recently updated multi-objective study (a Pareto front needs two or more "
            "objectives); ga_single, the study you were looking at, has a single objective.") in texts(at.caption)
    switch(at, CONVERGENCE)                               # ga_new_pair has generations: it travels on
    assert at.query_params["studies"] == "ga_new_pair"


@pytest.mark.parametrize("page, params", [(PARETO, {"study": "ghost"}), (DETAIL, {"study": "ghost"}),
                                          (COMPARE, {"studies": "ghost,ga_old_pair"})])
def test_an_unknown_study_in_the_url_is_said_and_never_replaced(ordered_studies, page, params):
    at = ordered_studies.open(page, **params)
    assert "There is no study 'ghost' in this database" in " ".join(texts(at.warning))
    if page == COMPARE:
        assert widget(at, "multiselect", "pick_studies").value == ["ga_old_pair"]
    else:
        assert widget(at, "selectbox", "pick_study_unknown").value is None
        assert not at.dataframe and not charts(at)        # nothing of another study is shown
        widget(at, "selectbox", "pick_study_unknown").set_value("ga_old_pair").run()
        check_clean(at)
        assert at.query_params["study"] == "ga_old_pair"


# ------------------------------------------------------------------------------ From a point to the design


def send_points(at, key: str, points: list[dict]):
    """A click on a chart, as the browser reports it (see select_on_chart)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetStates

    element = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-chart_{key}"))
    states = WidgetStates()
    states.CopyFrom(at._tree.get_widget_states())
    state = states.widgets.add()
    state.id = element.proto.id
    state.string_value = json.dumps({"selection": {"points": points, "point_indices": [0], "box": [], "lasso": []}})
    at._run(states)
    check_clean(at)
    return at


def test_design_page_shows_one_evaluation_by_name_with_its_simulation_and_a_link(dash):
    at = dash.open(DESIGN, study="ga_two", run="ga_two:9")
    generation, params, objectives, _status = GA_TWO_RUNS[9]
    objective_table = at.dataframe[0].value
    assert objective_table["objective"].tolist() == ["cost", "co2"]
    assert objective_table["value"].tolist() == objectives
    assert objective_table["direction"].tolist() == ["minimize", "minimize"]
    parameter_table = at.dataframe[1].value
    assert parameter_table["parameter"].tolist() == ["p1", "p2"]
    assert [float(v) for v in parameter_table["value"]] == params
    assert metric_values(at)["Generation"] == str(generation) and metric_values(at)["Evaluation"] == "9"
    kpis = dict(zip(at.dataframe[2].value["KPI"], at.dataframe[2].value["value"]))
    assert kpis == {"total_cost": 3.25, "co2_emissions": 15.5}
    assert any(c.value.endswith("/design?study=ga_two&run=ga_two%3A9") for c in at.code)


def test_design_page_of_an_unknown_run_says_so(dash):
    at = dash.open(DESIGN, study="ga_two", run="ga_two:999")
    assert "There is no run 'ga_two:999' in study ga_two." in " ".join(texts(at.warning))
    assert not at.dataframe


def test_tables_and_points_open_their_design(dash):
    detail = dash.open(DETAIL, study="ga_two", sort="fitness")
    runs = table(detail, "runs_table")
    assert runs["open"].tolist() == [f"design?study=ga_two&run={r.replace(':', '%3A')}" for r in runs["run_id"]]
    best = table(detail, "best_table")
    assert best["open"].iloc[0] == f"design?study=ga_two&run={best['run_id'].iloc[0].replace(':', '%3A')}"

    pareto = dash.open(PARETO, study="ga_two")
    select_on_chart(pareto, "pareto", ["ga_two:9"])
    link = next(p for p in pareto.get("page_link"))
    assert link.proto.label == "Open design ga_two:9"
    assert table(pareto, "selected_table")["open"].tolist() == ["design?study=ga_two&run=ga_two%3A9"]

    convergence = dash.open(CONVERGENCE, studies="ga_two")
    figure = chart(convergence, "main")
    curve = next(i for i, t in enumerate(figure["data"]) if t.get("legendgroup") == "ga_two" and "best" in t["name"])
    send_points(convergence, "main", [{"curve_number": curve, "point_index": 1, "x": 1, "y": 0}])
    # the best successful run of generation 1, computed from the raw dataset
    first_generation = [(o[0], k) for k, (g, _p, o, status) in enumerate(GA_TWO_RUNS) if g == 1 and status == "success"]
    expected = f"ga_two:{min(first_generation)[1]}"
    link = next(p for p in convergence.get("page_link"))
    assert link.proto.label == f"Open {expected}, the best design of generation 1 of ga_two"


# ---------------------------------------------------------------- Cross-study export (the PM's task)


def test_compare_downloads_the_chosen_designs_of_every_study_in_one_csv(dash, media):
    at = dash.open(COMPARE, studies="ga_two,ga_single,mc_risk,ga_three")
    button = next(b for b in at.get("download_button") if b.proto.id.endswith("-chosen_designs"))
    frame = pd.read_csv(io.BytesIO(media.read(button)))
    by_study = {sid: group for sid, group in frame.groupby("study_id", sort=False)}
    assert list(by_study) == ["ga_two", "ga_single", "mc_risk", "ga_three"]

    front = by_study["ga_two"].set_index("run_id")
    assert set(front.index) == set(GA_TWO_FRONT) and set(front["selection"]) == {"Pareto front"}
    for run_id, (cost, co2) in GA_TWO_FRONT.items():
        k = int(run_id.split(":")[1])
        assert (front.loc[run_id, "cost"], front.loc[run_id, "co2"]) == (cost, co2)
        assert [front.loc[run_id, "param:p1"], front.loc[run_id, "param:p2"]] == GA_TWO_RUNS[k][1]

    # one objective (maximize): the best designs, each once (runs 1 and 5 are the same design, 2.0)
    best_per_design: dict = {}
    for k, (_g, value) in enumerate(GA_SINGLE_RUNS):
        best_per_design.setdefault(value, k)
    expected = sorted(best_per_design.items(), key=lambda item: (-item[0], item[1]))
    single = by_study["ga_single"]
    assert single["run_id"].tolist() == [f"ga_single:{k}" for _v, k in expected]
    assert single["yield"].tolist() == [v for v, _k in expected]
    assert set(single["selection"]) == {"best 10 by fitness"}
    assert single["evaluations"].tolist() == [sum(1 for _g, v in GA_SINGLE_RUNS if v == value) for value, _k in expected]

    risk = by_study["mc_risk"].set_index("run_id")
    assert len(risk) == len(MC_RUNS)                       # every run trades cost for renewables
    assert risk.loc["mc_risk:3", "cost"] == MC_RUNS[3][1][0] and risk.loc["mc_risk:3", "renewable"] == MC_RUNS[3][1][1]

    def dominated(p, q):
        return all(a <= b for a, b in zip(q, p)) and q != p
    three = {f"ga_three:{k}" for k, p in enumerate(GA_THREE_RUNS) if not any(dominated(p, q) for q in GA_THREE_RUNS)}
    assert set(by_study["ga_three"]["run_id"]) == three
    assert frame.columns[:2].tolist() == ["study_id", "selection"]


def test_sidebar_names_the_database_and_wraps_it_between_folders_only(dash, tmp_path):
    at = dash.open(STUDIES)
    label = [t.value for t in at.sidebar.text][0]
    from storage.engine import display_url, resolve_url

    assert label.replace("\u200b", "") == display_url(resolve_url(dash.url))
    assert label.count("\u200b") == label.count("/")


def test_study_detail_runs_only_the_open_tab_and_keeps_the_runs_filters_across_tabs(dash):
    at = dash.open(DETAIL, study="ga_two", fmin="2", fmax="5", size="25")
    assert (widget(at, "number_input", "fmin").value, widget(at, "number_input", "fmax").value) == (2.0, 5.0)
    assert widget(at, "selectbox", "size").value == 25
    filtered = table(at, "runs_table")
    assert len(filtered) and filtered["fitness"].between(2.0, 5.0).all()
    at.session_state["tab"] = "Best designs"          # a click on the tab
    at.run()
    check_clean(at)
    assert len(at.dataframe) == 1 and "evaluations" in table(at, "best_table")   # the browser test checks ?tab=
    assert "fmin" not in [w.key for w in at.number_input]            # the Runs tab did not run
    at.session_state["tab"] = "Runs"
    at.run()
    assert (widget(at, "number_input", "fmin").value, widget(at, "number_input", "fmax").value) == (2.0, 5.0)
    assert table(at, "runs_table")["run_id"].tolist() == filtered["run_id"].tolist()
