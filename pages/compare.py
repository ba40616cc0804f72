"""Compare studies (2 to 5): the seed's side-by-side table, then charts only of what compares.

Fronts and hypervolume are drawn per objective space (same objective names and directions), the
hypervolumes of a space on one common reference point; best-so-far curves and fitness distributions
per fitness objective (a study's first objective). Every study keeps one colour on every chart, and
a study a chart leaves out is named under it with the reason (see ``analysis.comparison``)."""
import numpy as np
import pandas as pd
import streamlit as st

from analysis.comparison import (best_so_far_curves, compare_hypervolumes, group_by_space,
                                 left_out_line, why_left_out)
from charts.convergence import convergence_figure, hypervolume_comparison_figure
from charts.distributions import fitness_distribution_figure
from charts.pareto import fronts_overlay_figure
from charts.style import study_colors
from reports.study_report import study_report
from storage.studies import exports, queries
from storage.studies.exports import to_safe_csv
from storage.errors import HiveError
from ui import urlstate
from ui.compare_cache import space_of, study_reads
from ui.connection import reader
from ui.downloads import chart, csv_button
from ui.pickers import pick_studies
from ui.routing import run_inside_app
from ui.tables import display_frame, formats_that_apply
from ui.text import plain, show_error

run_inside_app()

st.title("Compare studies")
db = reader()
chosen = pick_studies(db, max_count=5, comparable=True)
if len(chosen) < 2:
    st.info("Choose two to five studies to compare.")
    st.stop()


try:
    table = queries.compare_studies(db, chosen)
    studies = {sid: queries.get_study(db, sid) for sid in chosen}
    spaces = {sid: space_of(study) for sid, study in studies.items()}
    multi = [sid for sid in chosen if len(spaces[sid].names) >= 2]
    reads = {sid: study_reads(db, study) for sid, study in studies.items()}
    histories = {sid: reads[sid]["history"] for sid in chosen}
    fronts = {sid: reads[sid]["front"] for sid in multi}
    objectives = {sid: reads[sid]["objectives"] for sid in multi}
    samples = {sid: reads[sid]["samples"] for sid in chosen}
except HiveError as error:
    show_error(error)
    st.stop()

colors = study_colors(chosen)
kinds = {sid: s["study_type"] for sid, s in studies.items()}
run_counts = {sid: int(s["run_count"] or 0) for sid, s in studies.items()}
table.insert(2, "objective_space", [spaces[sid].label for sid in table["study_id"]])  # readable without scrolling
# Blanks where a study has no value (a running study's time, a single objective's front), never "None".
shown = display_frame(table.assign(execution_time_seconds=pd.to_numeric(table["execution_time_seconds"]).round(1)))
st.dataframe(shown, hide_index=True, width="stretch", key="compare_table", column_config=formats_that_apply(
    {"best_fitness": st.column_config.NumberColumn(format="%.6g"),
     "avg_fitness": st.column_config.NumberColumn(format="%.6g"),
     "execution_time_seconds": st.column_config.NumberColumn("time (s)", format="%.1f")}, shown))
with st.container(horizontal=True):
    csv_button(table, "comparison", "compare", label="Download this table")
    st.download_button(
        "Download chosen designs", data=lambda: to_safe_csv(exports.chosen_designs(db, chosen)),
        file_name="chosen_designs.csv", mime="text/csv", key="chosen_designs", on_click="ignore", type="primary",
        help="One CSV: the Pareto front of each multi-objective study and the best 10 designs of each "
             "single-objective one, each design once, with a study column and named objectives and parameters.")
    st.download_button(
        "Download report (HTML)", data=lambda: study_report(db, chosen).html, file_name="comparison_report.html",
        mime="text/html", key="report", on_click="ignore",
        help="One file that opens offline: this comparison, then each study's summary, convergence, front with its "
             "decision, uncertainty and sensitivity (large studies thinned, and it says so).")


def caption_if(text: str | None) -> None:
    if text:
        st.caption(plain(text))  # names are user data: shown literally


def suffix(index: int) -> str:
    """Keys and URL parameters of the first group keep their plain names (older links still work)."""
    return "" if index == 0 else str(index + 1)


for index, (space, ids) in enumerate(group_by_space({sid: spaces[sid] for sid in multi})):
    s = suffix(index)
    st.subheader(plain(f"Objectives {space.label}"))
    if len(ids) == 1:
        caption_if(f"No other chosen study shares these objectives: {ids[0]} is drawn alone.")
    names = list(space.names)
    x = st.selectbox("x objective", names, index=urlstate.choose(names, urlstate.get(f"x{s}")), key=f"cx{s}")
    y = st.selectbox("y objective", names, index=urlstate.choose(names, urlstate.get(f"y{s}", names[1])), key=f"cy{s}")
    urlstate.put(f"x{s}", x)
    urlstate.put(f"y{s}", y)
    drawn = {sid: fronts[sid] for sid in ids if not fronts[sid].empty}
    if drawn:
        chart(fronts_overlay_figure(drawn, x, y, colors, title=f"Pareto fronts: {space.label}",
                                    staircase=len(names) == 2),
              f"comparison_fronts_{space.slug}", f"fronts{s}")
    caption_if(left_out_line("front overlay", {sid: why_left_out(kinds[sid], run_counts[sid]) for sid in ids
                                               if sid not in drawn}))

    hv = compare_hypervolumes(space, {sid: objectives[sid] for sid in ids},
                              {sid: studies[sid]["reference_point"] for sid in ids}, kinds, run_counts)
    if hv.curves:
        chart(hypervolume_comparison_figure(hv.curves, space.label, hv.reference.point_text, colors),
              f"comparison_hypervolume_{space.slug}", f"hv{s}")
        caption_if(hv.reference.describe())
    caption_if(left_out_line("hypervolume chart", hv.left_out))

fitness_groups = group_by_space({sid: spaces[sid].fitness for sid in chosen})
st.subheader("Best so far and fitness distributions")
if len(fitness_groups) > 1:
    st.caption("A study's fitness is its first objective; studies whose fitness measures different objectives "
               "are drawn on separate charts.")
kind = st.radio("Distributions as", ["box", "ecdf"], horizontal=True,
                index=urlstate.choose(["box", "ecdf"], urlstate.get("dist")), key="dist")
urlstate.put("dist", kind if kind != "box" else None)
for index, (fitness, ids) in enumerate(fitness_groups):
    s = suffix(index)
    label = fitness.label
    heading = f"Fitness: {label}" + (f" — {', '.join(ids)}" if len(fitness_groups) > 1 else "")
    st.markdown(f"**{plain(heading)}**")
    curves, left_out = best_so_far_curves({sid: histories[sid] for sid in ids}, kinds, run_counts)
    if curves:
        chart(convergence_figure(curves, show=("best_so_far",), band=False, colors=colors, value_title=label,
                                 title=f"Best {label} so far"), f"comparison_convergence_{fitness.slug}", f"conv{s}")
    caption_if(left_out_line("best-so-far chart", left_out))
    values = {sid: samples[sid] for sid in ids if np.isfinite(samples[sid]).any()}
    if values:
        chart(fitness_distribution_figure(values, kind, colors, value_title=label, title=f"{label} of successful runs"),
              f"comparison_fitness_{fitness.slug}", f"fitdist{s}")
    caption_if(left_out_line("fitness distribution", {sid: why_left_out(kinds[sid], run_counts[sid])
                                                      for sid in ids if sid not in values}))
