"""Convergence: best / average / worst with a std band, best so far, stagnation and diversity,
for several studies at once; log scale on request."""
import pandas as pd
import streamlit as st

from charts.convergence import convergence_figure, metric_figure
from storage import queries
from storage.errors import HiveError
from ui import urlstate
from ui.connection import reader
from ui.downloads import chart, csv_button
from ui.pickers import pick_studies
from ui.routing import run_inside_app
from ui.text import show_error

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
try:
    histories = {sid: queries.get_convergence_history(db, sid) for sid in chosen}
except HiveError as error:
    show_error(error)
    st.stop()
if all(h.empty for h in histories.values()):
    st.info("These studies have no generations yet (runs without generation numbers have no convergence history).")
    st.stop()

figure = convergence_figure(histories, log_y=log_y, band=band)
event = chart(figure, "convergence", "main", on_select="rerun", selection_mode="points")
for point in (event.selection.points if event else [])[:1]:   # a clicked point: that generation's best design
    study_of_point = figure.data[point["curve_number"]].legendgroup
    best = queries.best_run_of_generation(db, study_of_point, int(point["x"]))
    if best is not None:
        st.page_link("pages/design.py", label=f"Open {best}, the best design of generation {int(point['x'])} "
                     f"of {study_of_point}", icon=":material/tune:", query_params={"study": study_of_point, "run": best})
left, right = st.columns(2)
with left:
    chart(metric_figure(histories, "stagnation_count", "generations without improvement"), "stagnation", "stag")
with right:
    chart(metric_figure(histories, "population_diversity", "population diversity"), "diversity", "div")
if any("hypervolume" in h and h["hypervolume"].notna().any() for h in histories.values()):
    chart(metric_figure(histories, "hypervolume", "hypervolume of the front so far"), "hypervolume", "hv")
if any("relative_gap" in h and h["relative_gap"].notna().any() for h in histories.values()):
    chart(metric_figure(histories, "relative_gap", "MIP relative gap"), "mip_gap", "gap")

table = pd.concat([h.assign(study_id=sid) for sid, h in histories.items()], ignore_index=True)
st.dataframe(table, hide_index=True, width="stretch", key="conv_table")
csv_button(table, "convergence", "conv")
