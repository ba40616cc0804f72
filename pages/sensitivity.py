"""Sensitivity and uncertainty: a parameters x objectives heatmap for the chosen measure, ranked
bars with confidence intervals, and each objective's distribution with P5/P50/P95, VaR95, CVaR95."""
import numpy as np
import streamlit as st

from charts.distributions import risk_distribution_figure
from charts.sensitivity import MEASURES, sensitivity_bars, sensitivity_heatmap
from storage.studies import exports, queries
from storage.errors import HiveError
from ui import urlstate
from ui.connection import reader
from ui.downloads import chart, csv_button
from ui.pickers import pick_study
from ui.routing import run_inside_app
from ui.tables import display_frame
from ui.text import plain, show_error

run_inside_app()

st.title("Sensitivity & uncertainty")
db = reader()
study_id = pick_study(db, need="analyses")
if study_id is None:
    st.info("No studies yet. A Monte Carlo study analysed with analyze_monte_carlo (or `hive-cli demo`) shows here.")
    st.stop()
try:
    study = queries.get_study(db, study_id)
    rankings = queries.get_sensitivity_rankings(db, study_id, limit=None)
    risk = queries.get_uncertainty_summary(db, study_id)
except HiveError as error:
    show_error(error)
    st.stop()

if rankings.empty and risk.empty:
    st.info("This study has no uncertainty or sensitivity results yet. For a Monte Carlo study, run "
            "`DatabaseMetadataService.analyze_monte_carlo(study_id)` after its samples are logged.")
    st.stop()

if not rankings.empty:
    st.subheader("Sensitivity")
    measures = [m for m, (column, _) in MEASURES.items() if rankings[column].notna().any()]
    measure = st.selectbox("Measure", measures, index=urlstate.choose(measures, urlstate.get("measure")), key="measure")
    urlstate.put("measure", measure)
    chart(sensitivity_heatmap(rankings, measure), f"{study_id}_sensitivity_{measure}", "heat")
    objective_options = sorted(rankings["objective_name"].dropna().unique().tolist())
    objective = st.selectbox("Objective", objective_options,
                             index=urlstate.choose(objective_options, urlstate.get("objective")), key="objective")
    urlstate.put("objective", objective)
    column = MEASURES[measure][0]
    if rankings.loc[rankings["objective_name"] == objective, column].notna().any():
        chart(sensitivity_bars(rankings, measure, objective), f"{study_id}_ranking_{objective}", "bars")
    else:
        st.info(plain(f"No {measure} ranking of {objective}: the analysis stored no {measure} value for it. "
                      "Choose another measure or objective."))
    st.dataframe(display_frame(rankings), hide_index=True, width="stretch", key="rank_table")
    csv_button(rankings, f"{study_id}_sensitivity", "rank")

if not risk.empty:
    st.subheader("Uncertainty and risk")
    st.dataframe(display_frame(risk), hide_index=True, width="stretch", key="risk_table")
    csv_button(risk, f"{study_id}_uncertainty", "risk")
    names = exports.objective_names(study)
    sample = exports.spread_columns(queries.sample_study_runs(db, study_id, 200_000), study)
    for _, row in risk.iterrows():
        name = row["objective_name"]
        values = sample[name].to_numpy(float) if name in sample else (
            sample["fitness"].to_numpy(float) if name in ("fitness", None) or len(names) == 1 else np.array([]))
        if np.isfinite(values).any():
            chart(risk_distribution_figure(values, row.to_dict(), str(name)), f"{study_id}_{name}_distribution", f"dist_{name}")
        else:
            st.info(plain(f"No distribution of {name} to draw: the study's runs carry no finite value of it "
                          "(the summary above was stored by the analysis)."))
