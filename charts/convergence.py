"""Convergence curves: best / average / worst per generation, a std band, best so far."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

PALETTE = qualitative.Plotly


def convergence_figure(histories: dict[str, pd.DataFrame], log_y: bool = False, band: bool = True,
                       show: tuple[str, ...] = ("best_fitness", "average_fitness", "worst_fitness", "best_so_far")) -> go.Figure:
    """One or more studies' histories (``storage.queries.get_convergence_history`` frames)."""
    figure = go.Figure()
    dashes = {"best_fitness": "solid", "average_fitness": "dot", "worst_fitness": "dash", "best_so_far": "longdash"}
    for index, (name, history) in enumerate(histories.items()):
        color = PALETTE[index % len(PALETTE)]
        if history.empty:
            continue
        x = history["generation_number"]
        if band and {"average_fitness", "fitness_std_dev"} <= set(history.columns):
            mean = history["average_fitness"].astype(float)
            std = history["fitness_std_dev"].astype(float).fillna(0)
            figure.add_trace(go.Scatter(
                x=pd.concat([x, x[::-1]]), y=pd.concat([mean + std, (mean - std)[::-1]]),
                fill="toself", fillcolor=color, opacity=0.12, line={"width": 0}, hoverinfo="skip",
                name=f"{name} ±1 std", legendgroup=name, showlegend=False,
            ))
        for column in show:
            if column in history and history[column].notna().any():
                figure.add_trace(go.Scatter(
                    x=x, y=history[column], mode="lines", name=f"{name} {column.replace('_', ' ')}",
                    legendgroup=name, line={"color": color, "dash": dashes.get(column, "solid")},
                ))
    figure.update_layout(
        xaxis_title="generation", yaxis_title="fitness", yaxis_type="log" if log_y else "linear",
        hovermode="x unified", margin={"t": 40}, legend={"orientation": "h", "y": -0.2},
    )
    return figure


def metric_figure(histories: dict[str, pd.DataFrame], column: str, title: str) -> go.Figure:
    """One column per generation for several studies (hypervolume, diversity, stagnation, gap...)."""
    figure = go.Figure()
    for index, (name, history) in enumerate(histories.items()):
        if column in history and history[column].notna().any():
            figure.add_trace(go.Scatter(x=history["generation_number"], y=history[column], mode="lines+markers",
                                        name=name, line={"color": PALETTE[index % len(PALETTE)]}, marker={"size": 4}))
    figure.update_layout(xaxis_title="generation", yaxis_title=title, margin={"t": 40})
    return figure
