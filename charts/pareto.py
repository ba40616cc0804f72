"""Pareto explorer figures: 2-D / 3-D scatter (front highlighted, dominated faded, knee marked)
and parallel coordinates. Traces are WebGL where plotly has it; the caller thins the dominated
cloud server-side, so the browser never receives a million points."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.style import study_colors, titled

FRONT_COLOR = "#d62728"
CLOUD_COLOR = "#7f7f7f"


def pareto_figure(
    front: pd.DataFrame,
    cloud: pd.DataFrame | None,
    x: str,
    y: str,
    z: str | None = None,
    knee_run_id: str | None = None,
    title: str | None = None,
) -> go.Figure:
    """``front`` and ``cloud`` carry one column per objective and ``run_id``; points keep their
    run_id as customdata so a selection can be mapped back to runs."""
    figure = go.Figure()
    if z is None:
        if cloud is not None and not cloud.empty:
            figure.add_trace(go.Scattergl(
                x=cloud[x], y=cloud[y], mode="markers", name="dominated (sample)" if len(cloud) else "dominated",
                marker={"color": CLOUD_COLOR, "size": 4, "opacity": 0.25}, customdata=cloud["run_id"],
                hovertemplate=f"%{{customdata}}<br>{x}=%{{x}}<br>{y}=%{{y}}<extra>dominated</extra>",
            ))
        ordered = front.sort_values(x)
        figure.add_trace(go.Scattergl(
            x=ordered[x], y=ordered[y], mode="markers+lines", name="Pareto front",
            marker={"color": FRONT_COLOR, "size": 8}, line={"color": FRONT_COLOR, "width": 1, "shape": "hv"},
            customdata=ordered["run_id"], hovertemplate=f"%{{customdata}}<br>{x}=%{{x}}<br>{y}=%{{y}}<extra>front</extra>",
        ))
        if knee_run_id is not None and (front["run_id"] == knee_run_id).any():
            knee = front[front["run_id"] == knee_run_id]
            figure.add_trace(go.Scatter(
                x=knee[x], y=knee[y], mode="markers", name="knee point",
                marker={"symbol": "star", "size": 18, "color": "#ffbf00", "line": {"color": "black", "width": 1}},
                customdata=knee["run_id"], hovertemplate="knee %{customdata}<extra></extra>",
            ))
        figure.update_layout(xaxis_title=x, yaxis_title=y, dragmode="select")
    else:
        if cloud is not None and not cloud.empty:
            figure.add_trace(go.Scatter3d(
                x=cloud[x], y=cloud[y], z=cloud[z], mode="markers", name="dominated (sample)",
                marker={"color": CLOUD_COLOR, "size": 2, "opacity": 0.2}, customdata=cloud["run_id"],
            ))
        figure.add_trace(go.Scatter3d(
            x=front[x], y=front[y], z=front[z], mode="markers", name="Pareto front",
            marker={"color": FRONT_COLOR, "size": 4}, customdata=front["run_id"],
        ))
        if knee_run_id is not None and (front["run_id"] == knee_run_id).any():
            knee = front[front["run_id"] == knee_run_id]
            figure.add_trace(go.Scatter3d(x=knee[x], y=knee[y], z=knee[z], mode="markers", name="knee point",
                                          marker={"symbol": "diamond", "size": 9, "color": "#ffbf00"}))
        figure.update_layout(scene={"xaxis_title": x, "yaxis_title": y, "zaxis_title": z})
    figure.update_layout(title=title, margin={"t": 40 if title else 20}, legend={"orientation": "h", "y": -0.15})
    return figure


def parallel_coordinates_figure(frame: pd.DataFrame, columns: list[str], color_by: str | None = None) -> go.Figure:
    """Objectives and parameters side by side; drag on an axis to filter."""
    dimensions = [
        {"label": column, "values": frame[column].astype(float)}
        for column in columns
        if column in frame and np.isfinite(frame[column].astype(float)).any()
    ]
    color = frame[color_by].astype(float) if color_by and color_by in frame else None
    line = {"color": color, "colorscale": "Viridis", "showscale": True, "colorbar": {"title": color_by}} if color is not None else {}
    figure = go.Figure(go.Parcoords(dimensions=dimensions, line=line))
    figure.update_layout(margin={"t": 40, "l": 60, "r": 60})
    return figure


def fronts_overlay_figure(fronts: dict[str, pd.DataFrame], x: str, y: str, colors: dict[str, str] | None = None,
                          title: str | None = None, staircase: bool = True) -> go.Figure:
    """Several studies' fronts on one plane (comparison view); ``colors`` keeps each study's colour.
    ``staircase=False`` draws points only: a front of three or more objectives seen on two of them
    is a cloud, not a staircase."""
    figure = go.Figure()
    colors = colors or study_colors(fronts)
    for name, front in fronts.items():
        if front.empty or x not in front or y not in front:
            continue
        ordered = front.sort_values(x)
        figure.add_trace(go.Scattergl(x=ordered[x], y=ordered[y], mode="markers+lines" if staircase else "markers",
                                      name=name, line={"shape": "hv", "width": 1, "color": colors[name]},
                                      marker={"color": colors[name]}, customdata=ordered["run_id"]))
    figure.update_layout(xaxis_title=x, yaxis_title=y, margin={"t": 30})
    return titled(figure, title)
