"""Pareto explorer figures: 2-D / 3-D scatter (front highlighted, dominated faded, knee marked)
and parallel coordinates. Traces are SVG up to a few thousand points, WebGL beyond; the caller
thins the dominated cloud server-side, so the browser never receives a million points."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.style import scatter_type, study_colors, titled

FRONT_COLOR = "#d62728"
CLOUD_COLOR = "#7f7f7f"


FRAME_MARGIN = 0.1  # of the front's span, on each side of it
HEIGHT_3D = 760     # px: a 3-D scene needs room for its three axis titles


def front_frame(front: pd.DataFrame, axes: list[str], log_axes: tuple[str, ...] = ()) -> dict[str, tuple[float, float]]:
    """Per axis, the range that frames the front: its min..max widened by ``FRAME_MARGIN`` of the
    span on each side (in decades on a log axis, where the front must be positive). A front flat on
    an axis gets 5 % of its value on each side (1 at zero)."""
    ranges = {}
    for axis in axes:
        values = front[axis].to_numpy(float)
        values = values[np.isfinite(values)]
        if not len(values):
            continue
        if axis in log_axes:
            values = np.log10(values)
        lo, hi = float(values.min()), float(values.max())
        pad = (hi - lo) * FRAME_MARGIN or (0.05 * abs(lo) or 1.0)
        lo, hi = lo - pad, hi + pad
        ranges[axis] = (10 ** lo, 10 ** hi) if axis in log_axes else (lo, hi)
    return ranges


def inside(table: pd.DataFrame, ranges: dict[str, tuple[float, float]]) -> np.ndarray:
    """Rows of ``table`` within every range of ``front_frame``."""
    mask = np.ones(len(table), bool)
    for axis, (lo, hi) in ranges.items():
        values = table[axis].to_numpy(float)
        mask &= (values >= lo) & (values <= hi)
    return mask


def pareto_figure(
    front: pd.DataFrame,
    cloud: pd.DataFrame | None,
    x: str,
    y: str,
    z: str | None = None,
    knee_run_id: str | None = None,
    title: str | None = None,
    frame: bool = True,
    log_axes: tuple[str, ...] = (),
    cloud_label: str = "dominated (sample)",
) -> go.Figure:
    """``front`` and ``cloud`` carry one column per objective and ``run_id``; points keep their
    run_id as customdata so a selection can be mapped back to runs.

    ``frame``: the axes frame the front (``front_frame``) and dominated points outside it are left
    out, so a few far-off designs cannot shrink the front to a corner; ``False`` shows every point.
    ``log_axes``: the objectives drawn on a logarithmic axis. ``cloud_label``: the cloud's legend
    entry ("dominated" when it holds every dominated design)."""
    figure = go.Figure()
    axes = [x, y] + ([z] if z else [])
    ranges = front_frame(front, axes, log_axes) if frame and len(front) else {}
    if cloud is not None and ranges:
        cloud = cloud[inside(cloud, ranges)]
    if z is None:
        scatter = scatter_type(len(front) + (0 if cloud is None else len(cloud)))
        if cloud is not None and not cloud.empty:
            figure.add_trace(scatter(
                x=cloud[x], y=cloud[y], mode="markers", name=cloud_label,
                marker={"color": CLOUD_COLOR, "size": 4, "opacity": 0.25}, customdata=cloud["run_id"],
                hovertemplate=f"%{{customdata}}<br>{x}=%{{x}}<br>{y}=%{{y}}<extra>dominated</extra>",
            ))
        ordered = front.sort_values(x)
        figure.add_trace(scatter(
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
        figure.update_layout(dragmode="select", legend={"orientation": "h", "y": -0.2})
        for name, axis in ((x, figure.layout.xaxis), (y, figure.layout.yaxis)):
            axis.update(_axis(name, ranges, log_axes))
    else:
        if cloud is not None and not cloud.empty:
            figure.add_trace(go.Scatter3d(
                x=cloud[x], y=cloud[y], z=cloud[z], mode="markers", name=cloud_label,
                marker={"color": CLOUD_COLOR, "size": 2, "opacity": 0.2}, customdata=cloud["run_id"],
            ))
        figure.add_trace(go.Scatter3d(
            x=front[x], y=front[y], z=front[z], mode="markers", name="Pareto front",
            marker={"color": FRONT_COLOR, "size": 3}, customdata=front["run_id"],
        ))
        if knee_run_id is not None and (front["run_id"] == knee_run_id).any():
            knee = front[front["run_id"] == knee_run_id]
            figure.add_trace(go.Scatter3d(x=knee[x], y=knee[y], z=knee[z], mode="markers", name="knee point",
                                          marker={"symbol": "diamond", "size": 12, "color": "#ffbf00",
                                                  "line": {"color": "black", "width": 2}}))
        # The whole width and a tall scene: at plotly's default 450 px the axis titles are cut off.
        figure.update_layout(height=HEIGHT_3D, legend={"orientation": "h", "y": -0.02, "yanchor": "top"},
                             scene={"xaxis": _axis(x, ranges, log_axes), "yaxis": _axis(y, ranges, log_axes),
                                    "zaxis": _axis(z, ranges, log_axes), "aspectmode": "cube",
                                    # Lowered a little: the cube's top corner needs less room than its titles below.
                                    "camera": {"eye": {"x": 1.5, "y": 1.5, "z": 0.9},
                                               "center": {"x": 0, "y": 0, "z": -0.15}}})
    default = f"Pareto front: {', '.join(axes)}" if z else f"Pareto front: {y} against {x}"
    return titled(figure, title or default)


def _axis(name: str, ranges: dict[str, tuple[float, float]], log_axes: tuple[str, ...]) -> dict:
    """An axis titled with its objective; log axes take their range in decades."""
    axis = {"title": {"text": name}, "type": "log" if name in log_axes else "linear"}
    if name in ranges:
        lo, hi = ranges[name]
        axis["range"] = [np.log10(lo), np.log10(hi)] if name in log_axes else [lo, hi]
    return axis


def parallel_coordinates_figure(frame: pd.DataFrame, columns: list[str], color_by: str | None = None,
                                title: str = "The front's designs: objectives and parameters") -> go.Figure:
    """Objectives and parameters side by side; drag on an axis to filter."""
    dimensions = [
        {"label": column.removeprefix("param:"), "values": frame[column].astype(float)}   # the name, no prefix
        for column in columns
        if column in frame and np.isfinite(frame[column].astype(float)).any()
    ]
    color = frame[color_by].astype(float) if color_by and color_by in frame else None
    line = {"color": color, "colorscale": "Viridis", "showscale": True, "colorbar": {"title": color_by}} if color is not None else {}
    figure = go.Figure(go.Parcoords(dimensions=dimensions, line=line))
    figure.update_layout(margin={"l": 60, "r": 60})
    # Room above the axes: their names are drawn there, under the title.
    return titled(figure, title).update_layout(margin={"t": 110})


def fronts_overlay_figure(fronts: dict[str, pd.DataFrame], x: str, y: str, colors: dict[str, str] | None = None,
                          title: str | None = None, staircase: bool = True) -> go.Figure:
    """Several studies' fronts on one plane (comparison view); ``colors`` keeps each study's colour.
    ``staircase=False`` draws points only: a front of three or more objectives seen on two of them
    is a cloud, not a staircase."""
    figure = go.Figure()
    colors = colors or study_colors(fronts)
    scatter = scatter_type(sum(len(front) for front in fronts.values()))
    for name, front in fronts.items():
        if front.empty or x not in front or y not in front:
            continue
        ordered = front.sort_values(x)
        figure.add_trace(scatter(x=ordered[x], y=ordered[y], mode="markers+lines" if staircase else "markers",
                                      name=name, line={"shape": "hv", "width": 1, "color": colors[name]},
                                      marker={"color": colors[name]}, customdata=ordered["run_id"]))
    figure.update_layout(xaxis_title=x, yaxis_title=y, margin={"t": 30})
    return titled(figure, title)
