"""Sensitivity views: a parameters x objectives heatmap of one measure, ranked bars with CIs."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

MEASURES = {
    "Pearson": ("correlation_coefficient", None),
    "Spearman": ("rank_correlation", None),
    "Sobol first-order": ("sobol_first_order", "sobol_first_order_conf"),
    "Sobol total": ("sobol_total", "sobol_total_conf"),
}


def sensitivity_heatmap(rankings: pd.DataFrame, measure: str) -> go.Figure:
    column, _ = MEASURES[measure]
    table = rankings.pivot_table(index="parameter_name", columns="objective_name", values=column, aggfunc="first")
    diverging = column in ("correlation_coefficient", "rank_correlation")
    figure = go.Figure(go.Heatmap(
        z=table.values, x=[str(c) for c in table.columns], y=[str(i) for i in table.index],
        colorscale="RdBu" if diverging else "Viridis", zmid=0 if diverging else None,
        text=table.round(3).values, texttemplate="%{text}", colorbar={"title": measure},
    ))
    figure.update_layout(xaxis_title="objective", yaxis_title="parameter", margin={"t": 30})
    return figure


def sensitivity_bars(rankings: pd.DataFrame, measure: str, objective: str) -> go.Figure:
    column, conf = MEASURES[measure]
    rows = rankings[rankings["objective_name"] == objective].sort_values(column, ascending=True)
    error = None
    if conf and conf in rows and rows[conf].notna().any():
        error = {"type": "data", "array": rows[conf].fillna(0), "visible": True}
    figure = go.Figure(go.Bar(x=rows[column], y=rows["parameter_name"].astype(str), orientation="h", error_x=error,
                              marker={"color": "#3182bd"}))
    figure.update_layout(xaxis_title=f"{measure} ({objective})", yaxis_title=None, margin={"t": 30})
    return figure
