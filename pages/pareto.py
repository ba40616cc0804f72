"""Pareto explorer: any two objectives (2-D) or three (3-D), the front highlighted over a thinned
dominated cloud, the knee point, a generation slider, parallel coordinates, and a box / lasso /
click selection that fills a downloadable table of the chosen designs."""
import numpy as np
import pandas as pd
import streamlit as st

from analysis import pareto
from charts.decisions import mark_decision, mark_ranking
from charts.pareto import front_frame, inside, parallel_coordinates_figure, pareto_figure
from storage.studies import exports, queries
from ui import urlstate
from ui.connection import reader
from ui.decisions import SHORT_NAMES, decision_history, rank_front, ranking_controls, record_form, score_words
from ui.downloads import chart, csv_button
from ui.pickers import OPEN_COLUMN, design_links, picked_study
from ui.routing import run_inside_app
from ui.tables import display_frame
from ui.text import plain

run_inside_app()

FULL_LOAD_LIMIT = 200_000  # above this, the front comes from the index and the slider is off
CLOUD_POINTS = 4_000

st.title("Pareto explorer")
db = reader()
study = picked_study(db, need="fronts")
study_id = study["study_id"]
directions = study["objective_directions"]
if len(directions) < 2:
    st.info("This study has a single objective, so it has no Pareto front. Choose a multi-objective study "
            "(one created with two or more objective_directions), or look at its convergence instead.")
    st.stop()
names = exports.objective_names(study)
runs_total = int(study["run_count"] or 0)
if runs_total == 0:
    st.info("This study has no runs yet.")
    st.stop()


@st.cache_data(show_spinner="Reading objectives...", max_entries=8)
def objective_table(study_key: str, version: tuple) -> pd.DataFrame:
    # ``version`` (database, run count, last update, status) is part of the cache key: another
    # database or new runs are read afresh.
    return queries.study_objectives(db, study_key)


with st.container(horizontal=True):
    x = st.selectbox("x", names, index=urlstate.choose(names, urlstate.get("x", names[0])), key="px")
    y = st.selectbox("y", names, index=urlstate.choose(names, urlstate.get("y", names[1])), key="py")
    three_d = st.toggle("3-D", value=urlstate.get_bool("3d") and len(names) >= 3, disabled=len(names) < 3, key="p3d")
    z = st.selectbox("z", names, index=urlstate.choose(names, urlstate.get("z", names[-1])), key="pz",
                     disabled=not three_d) if len(names) >= 3 else None
urlstate.put("x", x)
urlstate.put("y", y)
urlstate.put("3d", three_d)
urlstate.put("z", z if three_d else None)

version = (repr(db.url), study["run_count"], study["updated_at"], study["status"])
column = {name: i for i, name in enumerate(names)}
front_ids: list[str]
generation_cut = None
if runs_total <= FULL_LOAD_LIMIT:
    table = objective_table(study_id, version)
    generations = table["generation_number"].dropna()
    if len(generations) and generations.max() > generations.min():
        lo, hi = int(generations.min()), int(generations.max())
        wanted = urlstate.get_int("gen", hi)
        generation_cut = st.slider("Front found up to generation", lo, hi, value=min(max(wanted, lo), hi), key="pgen")
        urlstate.put("gen", generation_cut if generation_cut != hi else None)
    subset = table if generation_cut is None else table[table["generation_number"] <= generation_cut]
    subset = subset[subset["valid"]]
    points = subset[[f"min_{i}" for i in range(len(names))]].to_numpy(float)
    non_dominated = pareto.non_dominated_mask(points) if len(points) else np.zeros(0, bool)
    mask = pareto.first_of_each_key(subset["design_key"].to_numpy(), non_dominated)   # one row per design
    front = subset[mask].rename(columns={f"objective_{i}": n for n, i in column.items()})
    dominated = subset[~non_dominated].rename(columns={f"objective_{i}": n for n, i in column.items()})
    front_evaluations = int(subset["design_key"].isin(front["design_key"]).sum())
    front_min = front[[f"min_{i}" for i in range(len(names))]].to_numpy(float)
else:
    st.caption(f"{runs_total:,} runs: the current front comes from the index; the cloud is an even sample.")
    front = exports.spread_columns(queries.get_pareto_front(db, study_id), study)
    dominated = exports.spread_columns(queries.sample_study_runs(db, study_id, CLOUD_POINTS), study)
    dominated = dominated[~dominated["run_id"].isin(front["run_id"])]
    front_min = pareto.to_minimization(front[names].to_numpy(float), directions)
    front_evaluations = int(front["evaluations"].sum()) if len(front) else 0

knee = front["run_id"].iloc[pareto.knee_point_index(front_min)] if len(front) else None
counted = f"{len(front):,} designs" + (f" ({front_evaluations:,} evaluations)" if front_evaluations != len(front) else "")
st.caption(plain(f"Front: {counted}" + (f" (generations up to {generation_cut})" if generation_cut is not None else "")
                 + (f"; knee point {knee}" if knee is not None else "")))
axes = [x, y] + ([z] if three_d else [])
with st.container(horizontal=True):
    show_all = st.toggle("Show all points", value=urlstate.get_bool("all"), key="pall",
                         help="Off: the axes frame the front, and dominated designs far from it are hidden.")
    logs = []
    for axis, name in (("x", x), ("y", y)):
        # A log axis cannot show zero or negative values: offered only when the front has none.
        positive = bool(len(front)) and bool((front[name].to_numpy(float) > 0).all())
        wanted = urlstate.get_bool(f"log{axis}") and positive
        if st.toggle(f"Log {axis}", value=wanted, key=f"plog{axis}", disabled=not positive,
                     help=None if positive else f"{name} has values of zero or below on the front"):
            logs.append(name)
urlstate.put("all", show_all)
urlstate.put("logx", x in logs)
urlstate.put("logy", y in logs)
if not show_all and len(front):
    near = inside(dominated, front_frame(front, axes, tuple(logs)))
    hidden = int((~near).sum())
    if hidden:
        st.caption(f"The axes frame the front: {hidden:,} dominated design{'s' if hidden != 1 else ''} outside "
                   f"the frame {'are' if hidden != 1 else 'is'} hidden (Show all points draws them).")
    dominated = dominated[near]
sampled = runs_total > FULL_LOAD_LIMIT or len(dominated) > CLOUD_POINTS
if len(dominated) > CLOUD_POINTS:  # thin the cloud on the server, evenly
    dominated = dominated.iloc[:: int(np.ceil(len(dominated) / CLOUD_POINTS))]
figure = pareto_figure(front, dominated, x, y, z if three_d else None, knee, frame=not show_all, log_axes=tuple(logs),
                       cloud_label="dominated (even sample)" if sampled else "dominated")
ranking = ranking_controls(names, directions, front) if len(front) else None
ranked = rank_front(front, names, directions, ranking) if ranking else None
history = exports.spread_columns(queries.get_decisions(db, study_id), study)
if ranked is not None:
    mark_ranking(figure, ranked.head(ranking.top), x, y, z if three_d else None,
                 label=f"top {ranking.top} by {SHORT_NAMES[ranking.method]}")
if len(history):
    mark_decision(figure, front[front["run_id"] == history.iloc[0]["run_id"]], x, y, z if three_d else None)
event = chart(figure, f"{study_id}_pareto", "pareto", on_select="rerun",
              selection_mode=("box", "lasso", "points"))

selected = [p.get("customdata") for p in (event.selection.points if event else []) if p.get("customdata")]
selected = list(dict.fromkeys(selected))   # a knee point is on the front too: one design, once
st.subheader("Selected designs")
if not selected:
    st.caption("Drag a box or lasso on the chart (or click points) to list designs here.")
else:
    st.caption(f"{len(selected):,} design{'s' if len(selected) != 1 else ''} selected.")
    designs = exports.spread_columns(queries.get_runs(db, study_id, selected), study)
    shown = ["run_id", "evaluation_number", "generation_number", *names,
             *[c for c in designs.columns if c.startswith("param:")], *[f"sim:{k}" for k in queries.SIMULATION_KPIS]]
    designs = designs[[c for c in shown if c in designs.columns]]
    if len(selected) == 1:
        st.page_link("pages/design.py", label=f"Open design {selected[0]}", icon=":material/tune:",
                     query_params={"study": study_id, "run": selected[0]})
    st.dataframe(display_frame(design_links(designs, study_id)), hide_index=True, width="stretch", key="selected_table",
                 column_config=OPEN_COLUMN)
    csv_button(designs, f"{study_id}_selected_designs", "selected")

st.subheader("Ranked designs and the decision")
if ranked is not None:
    st.caption(plain(f"The front's top {ranking.top} by {SHORT_NAMES[ranking.method]}, numbered on the chart; "
                     f"{score_words(ranking.method)}."))
    top = ranked.head(ranking.top)[["rank", "run_id", "score"]]
    top = top.merge(exports.spread_columns(queries.get_runs(db, study_id, top["run_id"].tolist()), study), on="run_id")
    columns = ["rank", "run_id", "score", *names, *[c for c in top.columns if c.startswith("param:")]]
    top = top[columns]
    st.dataframe(display_frame(design_links(top, study_id)), hide_index=True, width="stretch", key="ranked_table",
                 column_config=OPEN_COLUMN)
    csv_button(top, f"{study_id}_ranked_{ranking.method}", "ranked")
    options = [(run_id, f"#{rank} {run_id} (by {SHORT_NAMES[ranking.method]})", ranking.method,
                {**ranking.settings, "rank": int(rank), "score": float(score)})
               for rank, run_id, score in top[["rank", "run_id", "score"]].itertuples(index=False)]
    on_front = set(front["run_id"])
    options += [(run_id, f"{run_id} (selected on the chart)", "manual", {}) for run_id in selected
                if run_id in on_front and run_id not in set(top["run_id"])]
    record_form(study_id, options)
if len(history):
    decision_history(history, names)
else:
    st.caption("No decision recorded for this study yet.")

st.subheader("Parallel coordinates (front)")
detail = exports.spread_columns(queries.get_runs(db, study_id, front["run_id"].tolist()[:2000]), study) if len(front) else front
if len(detail):
    # On request: the WebGL chart takes the browser about 1.5 s to set up, whatever the front's size.
    draw = st.toggle("Draw parallel coordinates", value=urlstate.get_bool("pc"), key="pc")
    urlstate.put("pc", draw)
    if draw:
        columns = names + [c for c in detail.columns if c.startswith("param:")]
        chart(parallel_coordinates_figure(detail, columns, color_by=names[0]), f"{study_id}_parallel", "parcoords")
    csv_button(detail, f"{study_id}_front", "front", label="Download the front as CSV")
