"""Trials: what Optuna Dashboard shows of a study, for any study whatever produced it: history by
evaluation number (the convergence view of studies without generations) and hypervolume history,
learning curves, parameter importance, slice, contour and rank, EDF across studies, timeline and
parallel coordinates. One view at a time (its name in the URL), so a study of 100,000 evaluations
is read and drawn only for the chart on screen; every large view is thinned server-side."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import streamlit as st

from analysis.importance import METHODS
from charts import trials as charts
from charts.style import study_colors
from storage.studies import exports, queries
from storage.errors import HiveError
from ui import urlstate
from ui.connection import configured_url, reader
from ui.downloads import chart, csv_button
from ui.pickers import pick_studies, picked_study
from ui.routing import run_inside_app
from ui.tables import display_frame
from ui.text import plain, show_error

VIEWS = ["History", "Learning curves", "Importance", "Slice", "Contour & rank", "EDF", "Timeline",
         "Parallel coordinates"]
# Evaluations drawn by the slice, contour, rank and parallel-coordinates views. In Streamlit's chart
# element an SVG marker costs the browser about three times what plotly alone needs: at 1,000 the
# slice took 2.8 s to switch to on these 2-core machines (bench/bench_trials.py), at 500 1.6 s.
SAMPLE = 500

run_inside_app()

st.title("Trials")
db = reader()
study = picked_study(db)
study_id = study["study_id"]
objectives = exports.objective_names(study)
directions = study["objective_directions"]
parameters = list(study.get("parameter_names") or [])
choices = study.get("parameter_choices") or {}
try:
    metadata = json.loads(study["metadata_json"]) if isinstance(study.get("metadata_json"), str) else {}
except ValueError:
    metadata = {}
distributions = (metadata.get("distributions") or {}) if isinstance(metadata, dict) else {}
log_parameters = tuple(name for name, d in distributions.items() if isinstance(d, dict) and d.get("attributes", {}).get("log"))

with st.container(horizontal=True, vertical_alignment="bottom"):
    urlstate.adopt("view", "trials_view")
    view = st.segmented_control("View", VIEWS, default=urlstate.get("view") if urlstate.get("view") in VIEWS else VIEWS[0],
                                key="trials_view", required=True)
    urlstate.put("view", view if view != VIEWS[0] else None)
    objective = objectives[0]
    if len(objectives) > 1 and view not in ("Timeline",):
        urlstate.adopt("objective", "trials_objective")
        objective = st.selectbox("Objective", objectives, index=urlstate.choose(objectives, urlstate.get("objective")),
                                 key="trials_objective", width=260)
        urlstate.put("objective", objective if objective != objectives[0] else None)
k = objectives.index(objective)
# The database, run count and last update are part of the cache keys: another database or new runs are read afresh.
version = (repr(db.url), study.get("run_count"), study.get("updated_at"), study.get("status"))


@st.cache_data(show_spinner=False, max_entries=16)
def trial_history(study_key: str, objective_index: int, version: tuple) -> pd.DataFrame:
    # Every evaluation is read to find each new best: seconds at 100,000, so once per version.
    return queries.get_trial_history(db, study_key, objective_index, max_points=1500)


label = f"{objective} ({'max' if directions[k] == 'maximize' else 'min'})"
count = int(study.get("run_count") or 0)
if count == 0:
    st.info(plain(f"{study_id} has no evaluations yet."))
    st.stop()


def sample_frame() -> pd.DataFrame:
    """An even sample of the study's evaluations that finished with a value, parameters by name."""
    return _sample(study_id, version)


@st.cache_data(show_spinner=False, max_entries=16)
def _sample(study_key: str, version: tuple) -> pd.DataFrame:
    runs = queries.sample_study_runs(db, study_key, SAMPLE)
    runs = runs[runs["simulation_status"].isin(["success", "infeasible"])]
    return exports.spread_columns(runs, study) if not runs.empty else runs


def sampled_caption(frame: pd.DataFrame) -> None:
    if count > SAMPLE:
        st.caption(plain(f"{len(frame):,} finished evaluations drawn from one in every {-(-count // SAMPLE):,} "
                         f"of the {count:,}."))


def open_clicked(event) -> None:
    """A clicked point (its customdata is the run id): a link to that evaluation on the Design page."""
    for point in (event.selection.points if event else [])[:1]:
        run_id = point.get("customdata")
        if isinstance(run_id, str):
            st.page_link("pages/design.py", label=f"Open {run_id}", icon=":material/tune:",
                         query_params={"study": study_id, "run": run_id})


def numeric_or_choice(frame: pd.DataFrame) -> list[str]:
    return [p for p in parameters if f"param:{p}" in frame.columns and frame[f"param:{p}"].notna().any()]


try:
    if view == "History":
        history = trial_history(study_id, k, version)
        by_time = st.toggle("By completion time", value=urlstate.get_bool("bytime"), key="trials_bytime")
        urlstate.put("bytime", by_time)
        values = history["value"].astype(float)
        positive = bool(values[np.isfinite(values)].gt(0).all()) and bool(np.isfinite(values).any())
        log_y = st.toggle("Logarithmic value axis", value=urlstate.get_bool("log") and positive, key="trials_log",
                          disabled=not positive, help=None if positive else "Some values are 0 or below.")
        urlstate.put("log", log_y)
        counts = history.attrs["state_counts"]
        total = history.attrs["total"]
        st.caption(plain(
            f"{total:,} evaluations: " + ", ".join(f"{counts.get(s, 0):,} {s}" for s in charts.STATE_COLORS
                                                   if counts.get(s, 0) or s == "feasible")
            + (f"; {len(history):,} drawn (every k-th and each new best)" if len(history) < total else "")
            + ". The best-so-far line counts feasible evaluations only."))
        x = "created_at" if by_time else "evaluation_number"
        open_clicked(chart(charts.history_figure(history, label, f"{label} by evaluation", x=x, log_y=log_y),
                           f"{study_id}_history",
                           "history", on_select="rerun", selection_mode="points"))
        if len(directions) > 1:
            hv = queries.get_hypervolume_history(db, study_id)
            chart(charts.hypervolume_history_figure(hv, "Hypervolume of the front by evaluation",
                                                    hv.attrs.get("reference_point"), objectives), f"{study_id}_hypervolume",
                  "hypervolume")
        csv_button(history, f"{study_id}_history", "history")

    elif view == "Learning curves":
        curves = queries.get_learning_curves(db, study_id)
        if curves.empty:
            st.info(plain(f"{study_id} has no intermediate values: an optimizer records them with "
                          "log_intermediate_values(study_id, run_id, [(step, value), ...]) (Optuna: trial.report)."))
        else:
            shown, total = curves.attrs["shown_curves"], curves.attrs["total_curves"]
            subtitle = (f"{shown:,} of {total:,} curves: evenly chosen plus the 10 best" if shown < total
                        else f"All {total:,} curves")
            chart(charts.learning_curves_figure(curves, f"{objective} (reported)", "Learning curves", subtitle),
                  f"{study_id}_learning_curves", "curves")
            csv_button(curves, f"{study_id}_learning_curves", "curves")

    elif view == "Importance":
        if not parameters:
            st.info(plain(f"{study_id} records no parameter names; importance needs parameters."))
            st.stop()
        urlstate.adopt("method", "trials_method")
        methods = list(METHODS)
        method = st.radio("Method", methods, index=urlstate.choose(methods, urlstate.get("method")), horizontal=True,
                          format_func=lambda m: METHODS[m], key="trials_method")
        urlstate.put("method", method if method != methods[0] else None)
        stored = queries.get_parameter_importance(db, study_id, method)
        stale = not stored.empty and int(stored["study_run_count"].iloc[0]) != count
        if stored.empty or stale:
            why = (f"The stored analysis used the study's {int(stored['study_run_count'].iloc[0]):,} evaluations; it "
                   f"has {count:,} now." if stale else "Not computed for this study yet.")
            st.caption(plain(why))
            if st.button("Compute importance" if stored.empty else "Compute again", key="trials_compute", type="primary"):
                with st.spinner("Computing parameter importance..."):
                    # The dashboard never writes: hive-cli computes and stores it in a process of its own.
                    env = {**os.environ}
                    if configured_url():
                        env["HIVE_DB_URL"] = configured_url()
                    done = subprocess.run([sys.executable, "-m", "hive_cli", "query", "importance", "--study-id", study_id,
                                           "--method", method, "--recompute", "--format", "json"],
                                          capture_output=True, text=True, env=env, timeout=600)
                if done.returncode != 0:
                    show_error((done.stderr.strip().splitlines() or ["the analysis failed"])[-1])
                else:
                    stored = queries.get_parameter_importance(db, study_id, method)
        if not stored.empty:
            rows = stored[stored["objective_name"] == objective]
            first = stored.iloc[0]
            st.caption(plain(f"Computed {first['created_at']} UTC from {int(first['evaluations_used']):,} finished "
                             f"evaluations with a finite {objective} (the study had {int(first['study_run_count']):,})."))
            chart(charts.importance_figure(stored, objective, METHODS[method], f"Parameter importance for {label}"),
                  f"{study_id}_importance_{method}", "importance")
            st.dataframe(display_frame(rows.drop(columns=["created_at"])), hide_index=True, key="importance_table")
            csv_button(stored, f"{study_id}_importance_{method}", "importance")

    elif view == "Slice":
        frame = sample_frame()
        names = numeric_or_choice(frame) if not frame.empty else []
        if not names:
            st.info(plain(f"{study_id} has no finished evaluations with parameters to draw."))
            st.stop()
        urlstate.adopt("params", "trials_params")
        wanted = [p for p in urlstate.get_list("params") if p in names] or names[:9]
        shown = st.multiselect("Parameters", names, default=wanted, key="trials_params")
        urlstate.put("params", shown if shown != names[:9] else None)
        sampled_caption(frame)
        if shown:
            open_clicked(chart(charts.slice_figure(frame, shown, objective, f"Slice: {label} against each parameter",
                                                   tuple(p for p in shown if p in log_parameters)),
                               f"{study_id}_slice", "slice", on_select="rerun", selection_mode="points"))

    elif view == "Contour & rank":
        frame = sample_frame()
        names = numeric_or_choice(frame) if not frame.empty else []
        if len(names) < 2:
            st.info(plain(f"{study_id} needs two parameters with values for a contour."))
            st.stop()
        # By default the two parameters with the most distinct values: a smooth surface to look at.
        names = sorted(names, key=lambda n: -frame[f"param:{n}"].nunique())
        left, right = st.columns(2)
        urlstate.adopt("x", "trials_x")
        urlstate.adopt("y", "trials_y")
        x = left.selectbox("x parameter", names, index=urlstate.choose(names, urlstate.get("x")), key="trials_x")
        others = [n for n in names if n != x]
        y = right.selectbox("y parameter", others, index=urlstate.choose(others, urlstate.get("y")), key="trials_y")
        urlstate.put("x", x)
        urlstate.put("y", y)
        sampled_caption(frame)
        chart(charts.contour_figure(frame, x, y, objective, f"Contour of {label} over {x} and {y}", choices),
              f"{study_id}_contour", "contour")
        open_clicked(chart(charts.rank_figure(frame, x, y, objective, directions[k] == "maximize",
                                              f"Rank of {label} over {x} and {y}", choices), f"{study_id}_rank", "rank",
                           on_select="rerun", selection_mode="points"))

    elif view == "EDF":
        st.caption(plain(f"The share of evaluations at or below each value of {objective}, for studies with an "
                         "objective of that name; add studies to compare."))
        chosen = pick_studies(db, "edf", max_count=5)
        chosen = chosen or [study_id]
        values = {}
        for other in chosen:
            names_of_other = exports.objective_names(queries.get_study(db, other))
            if objective in names_of_other:
                values[other] = queries.get_objective_values(db, other, names_of_other.index(objective))
            else:
                st.caption(plain(f"{other} has no objective {objective}: left out."))
        chart(charts.edf_figure(values, label, f"Empirical distribution of {label}", study_colors(chosen)),
              f"{study_id}_edf", "edf")

    elif view == "Timeline":
        timeline = queries.get_timeline(db, study_id)
        if timeline.empty:
            st.info(plain(f"{study_id} records no start and end times of its evaluations."))
        else:
            total = timeline.attrs["total"]
            subtitle = f"{len(timeline):,} of {total:,} evaluations, evenly chosen" if len(timeline) < total else None
            open_clicked(chart(charts.timeline_figure(timeline, "Timeline of evaluations", subtitle),
                               f"{study_id}_timeline", "timeline", on_select="rerun", selection_mode="points"))
            csv_button(timeline, f"{study_id}_timeline", "timeline")

    else:  # Parallel coordinates
        frame = sample_frame()
        names = numeric_or_choice(frame) if not frame.empty else []
        if not names:
            st.info(plain(f"{study_id} has no finished evaluations with parameters to draw."))
            st.stop()
        complete = frame.dropna(subset=[f"param:{n}" for n in names])
        sampled_caption(frame)
        title = f"Parameters and {label} of {len(complete):,} evaluations"
        if st.toggle("Filter by dragging on the axes (WebGL: a few seconds to draw without a GPU)", key="parallel_filter"):
            chart(charts.parcoords_figure(complete, names, objective, choices, title), f"{study_id}_parallel", "parallel")
        else:
            open_clicked(chart(charts.parallel_figure(complete, names, objective, choices, title),
                               f"{study_id}_parallel", "parallel", on_select="rerun", selection_mode="points"))
except HiveError as error:
    show_error(error)
    st.stop()
