"""Prompt-optimization charts: runs' final score against their cost, and one run's scores per iteration."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.style import PALETTE, study_colors, titled


def score_cost_figure(runs: pd.DataFrame) -> go.Figure:
    """One point per run with a cost and a score (the final one, else the best so far), one colour
    per optimizer; a run's name and id in its hover."""
    figure = go.Figure()
    groups = runs.groupby("optimizer_type")
    colors = study_colors(str(optimizer) for optimizer, _ in groups)   # distinct hues, not two blues
    for optimizer, group in groups:
        figure.add_trace(go.Scatter(
            x=group["cost"], y=group["final_score"].fillna(group["best_score"]), mode="markers", name=str(optimizer),
            customdata=group["id"], text=group["name"], marker={"size": 11, "color": colors[str(optimizer)]},
            hovertemplate="%{text}<br>cost $%{x:.4f}<br>score %{y:.4f}<extra>%{customdata}</extra>",
        ))
    figure.update_layout(xaxis_title="cost (USD)", yaxis_title="final score (best if unfinished)")
    return titled(figure, "Score against cost, one point per run")


def iteration_scores_figure(iterations: pd.DataFrame, trajectory: pd.DataFrame) -> go.Figure:
    """Each iteration's score (minibatch and full evaluations told apart), the best full score so far
    (``trajectory``: iteration, best_so_far) and the best iteration starred."""
    figure = go.Figure()
    for kind, symbol, color in (("minibatch", "circle-open", PALETTE[0]), ("full", "diamond", PALETTE[2])):
        part = iterations[iterations["evaluation_kind"] == kind]
        if not part.empty:
            figure.add_trace(go.Scatter(x=part["iteration"], y=part["score"], mode="markers", name=f"{kind} evaluation",
                                        marker={"symbol": symbol, "size": 10, "color": color}))
    if not trajectory.empty:
        figure.add_trace(go.Scatter(x=trajectory["iteration"], y=trajectory["best_so_far"], mode="lines",
                                    line={"shape": "hv", "width": 2, "color": PALETTE[2]}, name="best so far (full)"))
    best = iterations[iterations["is_best"]]
    if not best.empty:
        figure.add_trace(go.Scatter(x=best["iteration"], y=best["score"], mode="markers", name="best iteration",
                                    marker={"symbol": "star", "size": 16, "color": "#ffbf00"}))
    figure.update_layout(xaxis_title="iteration", yaxis_title="score")
    return titled(figure, "Score per iteration")
