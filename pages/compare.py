"""Compare studies (2 to 5): the seed's side-by-side table, overlaid convergence, fronts,
hypervolume per generation and fitness distributions."""
import streamlit as st

from charts.convergence import convergence_figure, metric_figure
from charts.distributions import fitness_distribution_figure
from charts.pareto import fronts_overlay_figure
from storage import exports, queries
from storage.errors import HiveError
from ui import urlstate
from ui.connection import reader
from ui.downloads import chart, csv_button
from ui.pickers import pick_studies
from ui.routing import run_inside_app
from ui.text import show_error

run_inside_app()

st.title("Compare studies")
db = reader()
chosen = pick_studies(db, max_count=5)
if len(chosen) < 2:
    st.info("Choose two to five studies to compare.")
    st.stop()

try:
    table = queries.compare_studies(db, chosen)
    histories = {sid: queries.get_convergence_history(db, sid) for sid in chosen}
    studies = {sid: queries.get_study(db, sid) for sid in chosen}
except HiveError as error:
    show_error(error)
    st.stop()

st.dataframe(table, hide_index=True, width="stretch", key="compare_table",
             column_config={"best_fitness": st.column_config.NumberColumn(format="%.6g"),
                            "avg_fitness": st.column_config.NumberColumn(format="%.6g"),
                            "execution_time_seconds": st.column_config.NumberColumn("time (s)", format="%.1f")})
csv_button(table, "comparison", "compare")

st.subheader("Convergence (best so far)")
chart(convergence_figure(histories, show=("best_so_far",), band=False), "comparison_convergence", "conv")

multi = {sid: s for sid, s in studies.items() if len(s["objective_directions"]) >= 2}
if multi:
    names = sorted(set.intersection(*(set(exports.objective_names(s)) for s in multi.values())))
    st.subheader("Pareto fronts")
    if len(names) >= 2:
        fronts = {sid: exports.spread_columns(queries.get_pareto_front(db, sid), s) for sid, s in multi.items()}
        x = st.selectbox("x objective", names, index=urlstate.choose(names, urlstate.get("x")), key="cx")
        y = st.selectbox("y objective", names, index=urlstate.choose(names, urlstate.get("y", names[1])), key="cy")
        urlstate.put("x", x)
        urlstate.put("y", y)
        chart(fronts_overlay_figure(fronts, x, y), "comparison_fronts", "fronts")
    else:
        st.caption("The multi-objective studies chosen share fewer than two objective names.")
    st.subheader("Hypervolume per generation")
    chart(metric_figure({sid: histories[sid] for sid in multi}, "hypervolume", "hypervolume"), "comparison_hypervolume", "hv")

st.subheader("Fitness distributions")
kind = st.radio("Show as", ["box", "ecdf"], horizontal=True, index=urlstate.choose(["box", "ecdf"], urlstate.get("dist")), key="dist")
urlstate.put("dist", kind if kind != "box" else None)
values = {sid: queries.sample_study_fitness(db, sid, 20_000) for sid in chosen}
chart(fitness_distribution_figure(values, kind), "comparison_fitness", "fitdist")
