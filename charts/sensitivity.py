"""Sensitivity views: a parameters x objectives heatmap of one measure, ranked bars with CIs."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.style import titled

MEASURES = {
    "Pearson": ("correlation_coefficient", None),
    "Spearman": ("rank_correlation", None),
    "Sobol first-order": ("sobol_first_order", "sobol_first_order_conf"),
    "Sobol total": ("sobol_total", "sobol_total_conf"),
}
# What each measure is, for titles.
MEASURE_NAMES = {"Pearson": "Pearson correlation", "Spearman": "Spearman rank correlation",
                 "Sobol first-order": "Sobol first-order index", "Sobol total": "Sobol total-order index"}


def sensitivity_heatmap(rankings: pd.DataFrame, measure: str) -> go.Figure:
    column, _ = MEASURES[measure]
    table = rankings.pivot_table(index="parameter_name", columns="objective_name", values=column, aggfunc="first")
    diverging = column in ("correlation_coefficient", "rank_correlation")
    figure = go.Figure(go.Heatmap(
        z=table.values, x=[str(c) for c in table.columns], y=[str(i) for i in table.index],
        colorscale="RdBu" if diverging else "Viridis", zmid=0 if diverging else None,
        text=table.round(3).values, texttemplate="%{text}", colorbar={"title": measure},
        hovertemplate="%{y} on %{x}: %{z:.3g}<extra></extra>",
    ))
    # A row per parameter that stays readable with dozens of them.
    figure.update_layout(xaxis_title="objective", yaxis_title="parameter", height=max(360, 34 * len(table) + 180))
    return titled(figure, f"{MEASURE_NAMES[measure]} of each parameter with each objective")


def sensitivity_bars(rankings: pd.DataFrame, measure: str, objective: str) -> go.Figure:
    column, conf = MEASURES[measure]
    # By strength, whatever the sign: a correlation of -0.9 matters more than one of 0.2. Ascending,
    # because plotly draws the first bar at the bottom: the most important parameter is on top.
    rows = rankings[rankings["objective_name"] == objective].dropna(subset=[column])
    rows = rows.sort_values(column, key=abs, kind="stable")
    error = None
    if conf and conf in rows and rows[conf].notna().any():
        error = {"type": "data", "array": rows[conf].fillna(0), "visible": True}
    figure = go.Figure(go.Bar(x=rows[column], y=rows["parameter_name"].astype(str), orientation="h", error_x=error,
                              marker={"color": "#3182bd"}))
    figure.update_layout(xaxis_title=f"{MEASURE_NAMES[measure]} with {objective}", yaxis_title="parameter",
                         height=max(360, 34 * len(rows) + 180))
    ranked = f"Parameters ranked by {MEASURE_NAMES[measure]} with {objective}"
    return titled(figure, ranked + (" (whiskers: confidence intervals)" if error else ""))
