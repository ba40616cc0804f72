"""Figures of an experiment (algorithms compared across seeds): the measure per study by group (box
and strip), convergence bands across seeds, attainment surfaces and the attainment difference of
two groups drawn as the standard EAF plots (López-Ibáñez, Paquete and Stützle 2010): one panel where
the first group attains more often, one where the second does, shaded by how much, between the
grand best and grand worst attainment surfaces of both groups' runs.

Builders take frames and arrays (``storage.studies.experiments`` reads them); points of attainment sets come
in minimization form with the objectives' directions, and are drawn in the objectives' own units.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.experiments import attainment_surfaces, staircase
from charts.style import study_colors, titled

LEVEL_DASH = {"best": "dot", "median": "solid", "worst": "dash"}
LEVEL_TEXT = {"best": "best (attained by any run)", "median": "median (by half of the runs)",
              "worst": "worst (by every run)"}
NEUTRAL = "#444444"


def group_colors(groups: Sequence[str]) -> dict[str, str]:
    """One colour per group, the same on every chart of an experiment."""
    return study_colors(groups)


def _rgba(color: str, alpha: float) -> str:
    color = color.lstrip("#")
    red, green, blue = (int(color[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red}, {green}, {blue}, {alpha:.3f})"


def measure_by_group_figure(studies: pd.DataFrame, column: str, value_title: str, by: str,
                            colors: Mapping[str, str] | None = None, title: str | None = None) -> go.Figure:
    """One box per group with every study as a point (its id on hover): ``studies`` has ``study_id``,
    ``group`` and ``column``."""
    colors = colors or group_colors(studies["group"].unique())
    figure = go.Figure()
    for group, rows in studies.groupby("group", sort=False):
        figure.add_trace(go.Box(
            y=rows[column], name=str(group), boxpoints="all", jitter=0.4, pointpos=0, text=rows["study_id"],
            marker={"color": colors.get(group), "size": 8}, line={"color": colors.get(group)},
            hovertemplate=f"%{{text}}<br>{value_title} %{{y:.6g}}<extra>%{{x}}</extra>",
        ))
    figure.update_layout(showlegend=False, xaxis_title=by, yaxis_title=value_title)
    return titled(figure, title or f"{value_title} per study, by {by}")


def convergence_band_figure(bands: pd.DataFrame, value_title: str, colors: Mapping[str, str] | None = None,
                            title: str | None = None) -> go.Figure:
    """Per group the median across seeds per generation, with the inter-quartile band (``bands``:
    ``analysis.experiments.median_curves``)."""
    colors = colors or group_colors(bands["group"].unique())
    figure = go.Figure()
    for group, rows in bands.groupby("group", sort=False):
        color = colors.get(group, NEUTRAL)
        figure.add_trace(go.Scatter(x=rows["generation"], y=rows["q3"], mode="lines", line={"width": 0},
                                    showlegend=False, hoverinfo="skip", legendgroup=str(group)))
        figure.add_trace(go.Scatter(x=rows["generation"], y=rows["q1"], mode="lines", line={"width": 0},
                                    fill="tonexty", fillcolor=_rgba(color, 0.2), name=f"{group} (inter-quartile range)",
                                    hoverinfo="skip", legendgroup=str(group), showlegend=False))
        figure.add_trace(go.Scatter(
            x=rows["generation"], y=rows["median"], mode="lines", name=str(group), line={"color": color, "width": 2},
            legendgroup=str(group), customdata=np.column_stack([rows["q1"], rows["q3"], rows["n"]]),
            hovertemplate=(f"{group}<br>generation %{{x}}<br>median %{{y:.6g}}<br>"
                           "quartiles %{customdata[0]:.6g} to %{customdata[1]:.6g}<br>%{customdata[2]} studies"
                           "<extra></extra>"),
        ))
    figure.update_layout(xaxis_title="Generation", yaxis_title=value_title, hovermode="closest",
                         legend={"orientation": "h", "y": -0.2})
    return titled(figure, title or f"{value_title}: median across seeds, with the inter-quartile range")


def _bounds_min(sets: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The region to draw (minimization form): every point with a 5 % margin on each side."""
    points = np.vstack([s for s in sets if len(s)])
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high > low, high - low, np.maximum(np.abs(high), 1.0))
    return low - 0.05 * span, high + 0.05 * span


def _units(xs: np.ndarray, ys: np.ndarray, directions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    flip = [-1.0 if d == "maximize" else 1.0 for d in directions]
    return xs * flip[0], ys * flip[1]


def _axes_range(low: np.ndarray, high: np.ndarray, directions: Sequence[str]) -> list[list[float]]:
    ranges = []
    for lo, hi, direction in zip(low, high, directions):
        ranges.append(sorted([-hi, -lo]) if direction == "maximize" else [lo, hi])
    return ranges


def attainment_surfaces_figure(sets_min: Mapping[str, Sequence[np.ndarray]], names: Sequence[str],
                               directions: Sequence[str], colors: Mapping[str, str] | None = None,
                               title: str | None = None) -> go.Figure:
    """Each group's best, median and worst attainment surfaces (``sets_min``: group -> every run's
    non-dominated set, minimization form)."""
    colors = colors or group_colors(list(sets_min))
    low, high = _bounds_min([s for sets in sets_min.values() for s in sets])
    figure = go.Figure()
    for group, sets in sets_min.items():
        for level, surface in attainment_surfaces(list(sets)).items():
            xs, ys = _units(*staircase(surface, high), directions)
            figure.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines", name=f"{group}: {level}", legendgroup=str(group),
                line={"color": colors.get(group, NEUTRAL), "dash": LEVEL_DASH[level], "width": 2},
                hovertemplate=f"{group}, {LEVEL_TEXT[level]}<br>{names[0]} %{{x:.6g}}<br>{names[1]} %{{y:.6g}}<extra></extra>",
            ))
    x_range, y_range = _axes_range(low, high, directions)
    figure.update_layout(xaxis={"title": {"text": names[0]}, "range": x_range},
                         yaxis={"title": {"text": names[1]}, "range": y_range}, legend={"orientation": "h", "y": -0.2},
                         height=600)
    return titled(figure, title or "Attainment surfaces: best (dotted), median (solid), worst (dashed)",
                  f"{len(next(iter(sets_min.values())))} runs per group" if len({len(s) for s in sets_min.values()}) == 1
                  else None)


def _rectangles_trace(rows: pd.DataFrame, high: np.ndarray, directions: Sequence[str], color: str, share: float,
                      name: str, show_legend: bool, x_axis: str, y_axis: str) -> go.Scatter:
    """Rectangles of one level as one filled trace (polygons separated by gaps)."""
    xs: list = []
    ys: list = []
    for row in rows.itertuples():
        x1 = min(row.x1, high[0])
        y1 = min(row.y1, high[1])
        xs += [row.x0, x1, x1, row.x0, row.x0, None]
        ys += [row.y0, row.y0, y1, y1, row.y0, None]
    x = np.array(xs, dtype=float)
    y = np.array(ys, dtype=float)
    x, y = _units(x, y, directions)
    return go.Scatter(x=x, y=y, mode="lines", fill="toself", fillcolor=_rgba(color, 0.15 + 0.75 * share),
                      line={"width": 0}, name=name, legendgroup=name, showlegend=show_legend, hoveron="fills",
                      hoverinfo="name", xaxis=x_axis, yaxis=y_axis)


def attainment_difference_figure(difference: pd.DataFrame, sets_a: Sequence[np.ndarray], sets_b: Sequence[np.ndarray],
                                 group_a: str, group_b: str, names: Sequence[str], directions: Sequence[str],
                                 colors: Mapping[str, str] | None = None, title: str | None = None) -> go.Figure:
    """The EAF difference of two groups (``difference``: ``analysis.experiments.attainment_difference``
    in minimization form): left, where ``group_a`` attains more often; right, where ``group_b`` does;
    darker where the difference is larger; the grand best and worst attainment surfaces of all their
    runs drawn on both panels."""
    colors = colors or group_colors([group_a, group_b])
    sets = list(sets_a) + list(sets_b)
    low, high = _bounds_min(sets)
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                           subplot_titles=(f"{group_a} attains more often", f"{group_b} attains more often"))
    grand = attainment_surfaces(sets)
    for column, (group, sign) in enumerate(((group_a, 1), (group_b, -1)), start=1):
        axis = "" if column == 1 else str(column)
        mine = difference[np.sign(difference["difference"]) == sign]
        for share in sorted(mine["difference"].abs().unique()):
            rows = mine[mine["difference"].abs() == share]
            figure.add_trace(_rectangles_trace(rows, high, directions, colors.get(group, NEUTRAL), float(share),
                                               f"{group} ahead by {share:.0%} of runs", True, f"x{axis}", f"y{axis}"))
    for column in (1, 2):
        for level in ("best", "worst"):
            xs, ys = _units(*staircase(grand[level], high), directions)
            figure.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines", name=f"grand {level} surface (all runs of both)", legendgroup=f"grand {level}",
                showlegend=column == 1, line={"color": NEUTRAL, "dash": LEVEL_DASH[level], "width": 1.5},
                hoverinfo="skip"), row=1, col=column)
    x_range, y_range = _axes_range(low, high, directions)
    for column in (1, 2):
        figure.update_xaxes(title_text=names[0], range=x_range, row=1, col=column)
    figure.update_yaxes(title_text=names[1], range=y_range, row=1, col=1)
    figure.update_yaxes(range=y_range, row=1, col=2)
    figure.update_layout(legend={"orientation": "h", "y": -0.22}, height=560)
    figure = titled(figure, title or f"Attainment difference: {group_a} against {group_b} (darker: a larger "
                                     "share of runs ahead)")
    return figure.update_layout(margin={"t": 90})   # room for the panels' titles under the chart's
