"""Convergence curves: best / average / worst per generation, a std band, best so far."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.style import study_colors, titled


def convergence_figure(histories: dict[str, pd.DataFrame], log_y: bool = False, band: bool = True,
                       show: tuple[str, ...] = ("best_fitness", "average_fitness", "worst_fitness", "best_so_far"),
                       colors: dict[str, str] | None = None, value_title: str = "fitness",
                       title: str | None = None) -> go.Figure:
    """One or more studies' histories (``storage.queries.get_convergence_history`` frames).
    ``colors`` keeps a study's colour the same across charts; ``value_title`` names what fitness measures."""
    figure = go.Figure()
    dashes = {"best_fitness": "solid", "average_fitness": "dot", "worst_fitness": "dash", "best_so_far": "longdash"}
    colors = colors or study_colors(histories)
    for name, history in histories.items():
        color = colors[name]
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
        xaxis_title="generation", yaxis_title=value_title, yaxis_type="log" if log_y else "linear",
        hovermode="x unified", margin={"t": 40}, legend={"orientation": "h", "y": -0.2},
    )
    return titled(figure, title)


def metric_figure(histories: dict[str, pd.DataFrame], column: str, title: str, colors: dict[str, str] | None = None,
                  chart_title: str | None = None, subtitle: str | None = None) -> go.Figure:
    """One column per generation for several studies (hypervolume, diversity, stagnation, gap...);
    ``title`` names the y axis."""
    figure = go.Figure()
    colors = colors or study_colors(histories)
    for name, history in histories.items():
        if column in history and history[column].notna().any():
            figure.add_trace(go.Scatter(x=history["generation_number"], y=history[column], mode="lines+markers",
                                        name=name, line={"color": colors[name]}, marker={"size": 4}))
    figure.update_layout(xaxis_title="generation", yaxis_title=title, margin={"t": 40})
    return titled(figure, chart_title, subtitle)


def hypervolume_comparison_figure(curves: dict[str, tuple], label: str, reference: str,
                                  colors: dict[str, str] | None = None) -> go.Figure:
    """Hypervolume per generation of studies of one objective space (``label``), all measured on one
    reference point, which ``reference`` states under the title. ``curves``: id -> (generations, hv)."""
    frames = {sid: pd.DataFrame({"generation_number": g, "hypervolume": hv}) for sid, (g, hv) in curves.items()}
    return metric_figure(frames, "hypervolume", "hypervolume of the front so far", colors,
                         chart_title=f"Hypervolume per generation: {label}", subtitle=reference)
