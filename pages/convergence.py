"""Convergence: best / average / worst with a std band, best so far, stagnation, diversity and
hypervolume, for several studies at once; log scale on request. A MILP's progress rows are solver
events, not generations: its incumbent, dual bound and gap get charts of their own. A chart with
nothing to draw is replaced by one sentence saying why."""
import pandas as pd
import streamlit as st

from analysis.comparison import ObjectiveSpace
from charts.convergence import (convergence_figure, gap_figure, metric_figure, not_drawn_line, solver_progress_figure,
                                why_not_drawn)
from charts.style import study_colors
from storage.studies import exports, queries
from storage.errors import HiveError
from ui import urlstate
from ui.connection import reader
from ui.downloads import chart, csv_button
from ui.live import live_part
from ui.pickers import pick_studies
from ui.routing import run_inside_app
from ui.tables import display_frame
from ui.text import plain, show_error

run_inside_app()

st.title("Convergence")
db = reader()
chosen = pick_studies(db, max_count=5, need="progress")
if not chosen:
    st.info("No studies yet. Log one from an optimizer, or run `hive-cli demo`.")
    st.stop()
log_y = st.toggle("Logarithmic fitness axis", value=urlstate.get_bool("log"), key="log")
band = st.toggle("Show ±1 std band", value=not urlstate.get_bool("noband"), key="band")
urlstate.put("log", log_y)
urlstate.put("noband", not band)


def draw() -> bool:
    """The charts and the table, read afresh (the live part while a chosen study runs); returns
    whether one does."""
    try:
        histories = {sid: queries.get_convergence_history(db, sid) for sid in chosen}
        studies = {sid: queries.get_study(db, sid) for sid in chosen}
    except HiveError as error:
        show_error(error)
        return False
    still_running = any(s["status"] == "running" for s in studies.values())
    without = [sid for sid, h in histories.items() if h.empty]
    if without:   # a TPE or random study has evaluations, not generations: its history is on Trials
        st.caption(plain(f"{', '.join(without)}: no generations; the history by evaluation is on the Trials page."))
        for sid in without[:3]:
            st.page_link("pages/trials.py", label=f"History of {sid} by evaluation", icon=":material/timeline:",
                         query_params={"study": sid})
    if all(h.empty for h in histories.values()):
        return still_running

    colors = study_colors(chosen)                      # one colour per study on every chart of the page
    kinds = {sid: s["study_type"] for sid, s in studies.items()}
    fitness = {sid: ObjectiveSpace.of(exports.objective_names(s), s["objective_directions"]).fitness.label
               for sid, s in studies.items()}
    solvers = {sid: h for sid, h in histories.items() if kinds[sid] == "milp" and not h.empty}
    populations = {sid: h for sid, h in histories.items() if sid not in solvers and not h.empty}


    def fitness_label(ids) -> str:
        """What the y axis measures: the studies' first objectives, with their directions."""
        return " / ".join(dict.fromkeys(fitness[sid] for sid in ids))


    def say(line: str | None, empty: bool) -> None:
        if line:
            (st.info if empty else st.caption)(plain(line))   # ids are user data: shown literally


    def metric_chart(column: str, what: str, axis_title: str, title: str, key: str) -> None:
        """One column per generation for every chosen study that has it; the others named, with why."""
        drawn = {sid: h for sid, h in populations.items() if column in h and h[column].notna().any()}
        if drawn:
            chart(metric_figure(drawn, column, axis_title, colors, chart_title=title), what.replace(" ", "_"), key)
        reasons = {sid: why_not_drawn(column, kinds[sid], len(studies[sid]["objective_directions"]))
                   for sid in chosen if sid not in drawn}
        say(not_drawn_line(what, reasons, bool(drawn)), not drawn)


    if populations:
        value = fitness_label(populations)
        figure = convergence_figure(populations, log_y=log_y, band=band, colors=colors, value_title=value,
                                    title=f"Best, average and worst {value} per generation")
        event = chart(figure, "convergence", "main", on_select="rerun", selection_mode="points")
        if figure.layout.yaxis.range is not None:
            low, high = figure.layout.yaxis.range
            number = lambda v: f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"   # noqa: E731 - 154,716, never 1.23e+06
            st.caption(f"The axis frames best, average and best so far ({number(low)} to {number(high)}): the worst design "
                       "of some generations lies far outside and its line leaves the frame there. Switch on the "
                       "logarithmic axis to see all of it.")
        for point in (event.selection.points if event else [])[:1]:   # a clicked point: that generation's best design
            study_of_point = figure.data[point["curve_number"]].legendgroup
            best = queries.best_run_of_generation(db, study_of_point, int(point["x"]))
            if best is not None:
                st.page_link("pages/design.py", label=f"Open {best}, the best design of generation {int(point['x'])} "
                             f"of {study_of_point}", icon=":material/tune:",
                             query_params={"study": study_of_point, "run": best})
        say(not_drawn_line("convergence", {sid: "is a MILP: its incumbent and dual bound are drawn below"
                                           for sid in solvers}, True), False)
        left, right = st.columns(2)
        with left:
            metric_chart("stagnation_count", "stagnation", "generations without improvement",
                         f"Generations since the best {value} improved", "stag")
        with right:
            metric_chart("population_diversity", "diversity", "mean distance to the centroid (scaled parameters)",
                         "Population diversity per generation", "div")
        metric_chart("hypervolume", "hypervolume", "hypervolume of the front so far", "Hypervolume per generation", "hv")
    if solvers:
        value = fitness_label(solvers)
        if not populations:
            st.info(plain(f"{', '.join(solvers)} {'is a MILP' if len(solvers) == 1 else 'are MILPs'}: a solver has no "
                          "generations, population, stagnation or diversity; its incumbent, dual bound and gap follow."))
        # Log scale on request, or by itself when the values span orders of magnitude (see solver_progress_figure).
        chart(solver_progress_figure(solvers, value, colors, log_y=True if log_y else None), "milp_bounds", "bounds")
        gaps = {sid: h for sid, h in solvers.items() if h["relative_gap"].notna().any()}
        if gaps:
            chart(gap_figure(gaps, colors), "mip_gap", "gap")
        say(not_drawn_line("relative gap", {sid: "logged no gap (none while no incumbent or bound is finite)"
                                            for sid in solvers if sid not in gaps}, bool(gaps)), not gaps)

    table = pd.concat([h.assign(study_id=sid) for sid, h in histories.items()], ignore_index=True)
    st.dataframe(display_frame(table), hide_index=True, width="stretch", key="conv_table")   # blanks, not "None"
    csv_button(table, "convergence", "conv")
    return still_running


try:
    running = any(queries.get_study(db, sid)["status"] == "running" for sid in chosen)
except HiveError as error:
    show_error(error)
    st.stop()
live_part(running, draw)
