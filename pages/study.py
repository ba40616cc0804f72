"""Study detail: summary, the runs table (server-side paging, sorting and filters), best designs,
parameter distributions and the linked simulation KPIs."""
import math

import streamlit as st

from analysis.progress import fraction_done
from charts.distributions import parameter_histograms_figure
from reports.study_report import study_report
from storage.studies import exports, queries
from ui import urlstate
from ui.connection import reader
from ui.decisions import decision_history, latest_decision
from ui.downloads import chart, csv_button
from ui.live import live_part
from ui.pickers import OPEN_COLUMN, design_links, picked_study
from ui.routing import run_inside_app
from ui.tables import display_frame

run_inside_app()

MAX_HISTOGRAMS = 24
MAX_TABLE_PARAMETERS = 40
PAGE_SIZES = [25, 50, 100, 500]

st.title("Study detail")
db = reader()
study = picked_study(db)
study_id = study["study_id"]

objectives = exports.objective_names(study)
# Fitness is the first objective: the card says which (a generated name says nothing, so "fitness").
best_label = "Best fitness" if objectives[0].startswith("objective_") else f"Best {objectives[0]}"


def number(value, text: str) -> str:
    return "-" if value is None or math.isnan(value) else text.format(value)


def cards() -> bool:
    """The summary cards, read afresh (the live part while the study runs); returns whether it runs."""
    now = queries.get_study(db, study_id)
    with st.container(horizontal=True, gap="large"):   # each card as wide as its value: never "geneti..."
        for label, value in (
            ("Type", now["study_type"]),
            ("Status", now["status"]),
            ("Runs", f"{int(now['run_count'] or 0):,}"),
            (best_label, number(now["best_fitness"], "{:.6g}")),
            ("Progress", number(fraction_done(now), "{:.0%}")),   # reported, else runs over the budget
            ("Execution time (s)", number(now["execution_time_seconds"], "{:.1f}")),
        ):
            st.metric(label, value, width="content")
    return now["status"] == "running"


live_part(study["status"] == "running", cards, "the study is running")
st.text(f"Objectives: {', '.join(f'{n} ({d})' for n, d in zip(objectives, study['objective_directions']))}")
if study.get("description"):
    st.text(study["description"])
if study.get("experiment"):
    labels = ", ".join(f"{k}={v}" for k, v in (study.get("labels") or {}).items())
    st.text(f"Experiment: {study['experiment']}" + (f" ({labels})" if labels else ""))
    st.page_link("pages/experiments.py", label="Compare the experiment's studies", icon=":material/science:",
                 query_params={"experiment": study["experiment"]})
decisions = exports.spread_columns(queries.get_decisions(db, study_id), study)
if len(decisions):
    st.text(latest_decision(decisions) + f" ({len(decisions)} in the Decisions tab)")
st.download_button("Download report (HTML)", data=lambda: study_report(db, [study_id]).html,
                   file_name=f"{study_id}_report.html", mime="text/html", key="report", on_click="ignore",
                   help="One file that opens offline: summary, convergence, the front with the decision, uncertainty "
                        "and sensitivity where they exist (large studies thinned, and it says so).")

# Only the open tab runs (its name in the URL as ?tab=): a study's first view draws one table, not
# four tabs' tables and histograms. Stable labels, so a link keeps its tab as decisions are added.
runs_tab, best_tab, params_tab, decisions_tab = st.tabs(["Runs", "Best designs", "Parameter distributions", "Decisions"],
                                                        key="tab", on_change="rerun", bind="query-params")


def first_parameters(table):
    """``table`` with its first ``MAX_TABLE_PARAMETERS`` parameter columns, saying so when it had more:
    a MILP's hundreds of variables would make a table nobody scrolls, slow to send and to draw."""
    params = [c for c in table.columns if c.startswith("param:")]
    if len(params) <= MAX_TABLE_PARAMETERS:
        return table
    st.caption(f"The first {MAX_TABLE_PARAMETERS} of {len(params):,} parameters are shown; the CSV and each "
               "design's page (open) have them all.")
    return table.drop(columns=params[MAX_TABLE_PARAMETERS:])


def show_runs():
    with st.container(horizontal=True):
        wanted_generation = urlstate.get_int("gen", None)
        generation = st.number_input("Generation", min_value=0, step=1, placeholder="all", key="gen",
                                     value=wanted_generation if wanted_generation is not None and wanted_generation >= 0 else None)
        # fitness is the first objective (or what the optimizer logged as fitness): say which
        fitness_min = st.number_input(f"{objectives[0]} from", value=urlstate.get_float("fmin"), placeholder="-inf", format="%.6g", key="fmin",
                                      help="Filters on fitness, the study's first objective")
        fitness_max = st.number_input(f"{objectives[0]} to", value=urlstate.get_float("fmax"), placeholder="+inf", format="%.6g", key="fmax",
                                      help="Filters on fitness, the study's first objective")
        status = st.selectbox("Simulation status", ["any", "success", "failed", "infeasible"],
                              index=urlstate.choose(["any", "success", "failed", "infeasible"], urlstate.get("sim")), key="sim")
    with st.container(horizontal=True):
        sort = st.selectbox("Sort by", list(queries.RUN_SORT_COLUMNS),
                            index=urlstate.choose(list(queries.RUN_SORT_COLUMNS), urlstate.get("sort", "fitness")), key="sort")
        descending = st.toggle("Descending", value=urlstate.get_bool("desc"), key="desc")
        page_size = st.selectbox("Rows per page", PAGE_SIZES, index=urlstate.choose(PAGE_SIZES, urlstate.get_int("size", 50)), key="size")
    # in the URL, so a link keeps them and so do visits to other tabs (which do not draw these widgets)
    urlstate.put("gen", generation)
    urlstate.put("fmin", fitness_min)
    urlstate.put("fmax", fitness_max)
    urlstate.put("size", page_size if page_size != 50 else None)
    urlstate.put("sim", None if status == "any" else status)
    urlstate.put("sort", sort)
    urlstate.put("desc", descending)
    filters = queries.RunFilter(generation=generation, fitness_min=fitness_min, fitness_max=fitness_max,
                                simulation_status=None if status == "any" else status)
    total = queries.count_study_runs(db, study_id, filters)
    pages = max(1, math.ceil(total / page_size))
    page = st.number_input(f"Page (of {pages:,}; {total:,} runs)", min_value=1, max_value=pages,
                           value=max(1, min(urlstate.get_int("page", 1) or 1, pages)), step=1, key="page")
    urlstate.put("page", page if page > 1 else None)
    rows = queries.query_study_runs(db, study_id, filters, sort, descending, page_size, (page - 1) * page_size)
    table = exports.spread_columns(rows, study)
    shown = first_parameters(table)
    st.dataframe(display_frame(design_links(shown, study_id) if len(shown) else shown), hide_index=True,
                 width="stretch", key="runs_table", column_config=OPEN_COLUMN)
    csv_button(table, f"{study_id}_runs_page{page}", "runs")


def show_best_designs():
    best = exports.spread_columns(queries.get_best_designs(db, study_id, 10), study)
    if best.empty:
        st.info("No successful runs yet.")
    else:
        shown = ["run_id", "evaluation_number", "generation_number", "fitness", *objectives, "evaluations",
                 *[c for c in best.columns if c.startswith("param:")], *[f"sim:{k}" for k in queries.SIMULATION_KPIS]]
        if (best["evaluations"] > 1).any():
            st.caption("Each design once, at its best evaluation; evaluations: how often the optimizer evaluated it.")
        st.dataframe(display_frame(design_links(first_parameters(best[[c for c in shown if c in best.columns]]), study_id)),
                     hide_index=True, width="stretch", key="best_table", column_config=OPEN_COLUMN)
        if best[[f"sim:{k}" for k in queries.SIMULATION_KPIS]].notna().any().any():
            st.caption("Linked simulation KPIs are shown for designs whose simulation was logged.")
        csv_button(best, f"{study_id}_best_designs", "best")


def show_parameter_distributions():
    sample = exports.spread_columns(queries.sample_study_runs(db, study_id, 20_000), study)
    columns = [c for c in sample.columns if c.startswith("param:")]
    if not columns:
        st.info("This study's runs carry no parameters.")
    elif len(sample) < 2:   # a MILP's one solution, say: values, not a distribution
        st.info("This study has one run, so its parameters have no distribution to draw: the run's values are "
                "in the Runs table and on its design page.")
    else:
        if len(columns) > MAX_HISTOGRAMS:  # a MILP's hundreds of variables: the user picks which to draw
            columns = st.multiselect(f"Parameters to draw ({len(columns):,} in all)", columns,
                                     default=columns[:MAX_HISTOGRAMS], max_selections=MAX_HISTOGRAMS, key="hist_params")
        if study["run_count"] and study["run_count"] > len(sample):
            st.caption(f"An even sample of {len(sample):,} of {int(study['run_count']):,} runs.")
        if columns:
            chart(parameter_histograms_figure(sample, columns, runs=int(study["run_count"] or 0)),
                  f"{study_id}_parameters", "params")


def show_decisions():
    if decisions.empty:
        st.info("No decision recorded for this study yet. The Pareto explorer ranks a front and records the design "
                "chosen (or call record_decision).")
    else:
        decision_history(decisions, objectives, with_latest=False)


for tab, show in ((runs_tab, show_runs), (best_tab, show_best_designs),
                  (params_tab, show_parameter_distributions), (decisions_tab, show_decisions)):
    if tab.open:
        with tab:
            show()
