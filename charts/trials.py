"""Figures of a study's evaluations, as Optuna Dashboard shows them: history, learning curves,
parameter importance, slice, contour, rank, EDF, timeline and parallel coordinates.

Every builder takes DataFrames from ``storage.studies.queries`` (already thinned for the browser) and returns
a titled figure with named axes. Points carry their run_id as ``customdata`` where a click should
open the design. Evaluation outcomes have one colour each on every chart (``STATE_COLORS``).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.style import scatter_type, titled

STATE_COLORS = {"feasible": "#0068c9", "infeasible": "#9aa0a6", "pruned": "#ff8700", "failed": "#d62728"}
STATE_SYMBOLS = {"feasible": "circle", "infeasible": "circle-open", "pruned": "x", "failed": "x"}
BEST_COLOR = "#d62728"


def history_figure(history: pd.DataFrame, value_title: str, title: str, x: str = "evaluation_number",
                   log_y: bool = False) -> go.Figure:
    """Objective value of each evaluation (by evaluation number or completion time), its outcome as
    colour and symbol, and the best feasible value so far as a step line."""
    figure = go.Figure()
    x_title = "evaluation number" if x == "evaluation_number" else "completed at (UTC)"
    for state, color in STATE_COLORS.items():
        part = history[(history["state"] == state) & np.isfinite(history["value"].astype(float))]
        if part.empty:
            continue
        figure.add_trace(scatter_type(len(part))(
            x=part[x], y=part["value"], mode="markers", name=f"{state} ({len(part):,})",
            marker={"color": color, "symbol": STATE_SYMBOLS[state], "size": 6}, customdata=part["run_id"],
            hovertemplate="%{customdata}<br>" + x_title + " %{x}<br>" + value_title + " %{y:.6g}<extra>" + state + "</extra>"))
    best = history[history["best_so_far"].notna()]
    if not best.empty:
        figure.add_trace(go.Scatter(x=best[x], y=best["best_so_far"], mode="lines", name="best so far",
                                    line={"color": BEST_COLOR, "width": 2, "shape": "hv"}, hoverinfo="skip"))
    figure.update_layout(xaxis_title=x_title, yaxis_title=value_title + (", log scale" if log_y else ""),
                         legend_title_text="evaluations", yaxis_type="log" if log_y else None)
    return titled(figure, title)


def hypervolume_history_figure(frame: pd.DataFrame, title: str, reference: list[float] | None = None,
                               names: list[str] | None = None) -> go.Figure:
    figure = go.Figure(go.Scatter(x=frame["evaluation_number"], y=frame["hypervolume"], mode="lines",
                                  line={"shape": "hv"}, name="hypervolume"))
    figure.update_layout(xaxis_title="evaluation number", yaxis_title="hypervolume of the front so far",
                         showlegend=False)
    names = names if names and reference and len(names) == len(reference) else [f"f{i + 1}" for i in range(len(reference or []))]
    subtitle = ("Reference point " + ", ".join(f"{n} = {v:,.6g}" for n, v in zip(names, reference))) if reference else None
    return titled(figure, title, subtitle)


def learning_curves_figure(curves: pd.DataFrame, value_title: str, title: str, subtitle: str | None = None) -> go.Figure:
    """Intermediate values by step, one line per evaluation, coloured by outcome (pruned ones stand
    out). One trace per outcome, the curves separated by gaps, so thousands of points stay light."""
    figure = go.Figure()
    for state, color in STATE_COLORS.items():
        part = curves[curves["state"] == state]
        if part.empty:
            continue
        xs, ys, ids = [], [], []
        for run_id, curve in part.groupby("run_id", sort=False):
            xs += curve["step"].tolist() + [None]
            ys += curve["value"].tolist() + [None]
            ids += [run_id] * len(curve) + [None]
        runs = part["run_id"].nunique()
        figure.add_trace(scatter_type(len(xs))(
            x=xs, y=ys, mode="lines", name=f"{state} ({runs:,})", line={"color": color, "width": 1},
            opacity=0.7, customdata=ids, connectgaps=False,
            hovertemplate="%{customdata}<br>step %{x}<br>" + value_title + " %{y:.6g}<extra>" + state + "</extra>"))
    figure.update_layout(xaxis_title="step", yaxis_title=value_title, legend_title_text="evaluations")
    return titled(figure, title, subtitle)


def importance_figure(rows: pd.DataFrame, objective: str, method_label: str, title: str) -> go.Figure:
    """Horizontal bars, most important on top; the method named under the title, and Spearman's rank
    correlation (the quick measure; its sign says which way the objective moves) beside each name."""
    part = rows[rows["objective_name"] == objective].sort_values("importance", na_position="first")
    conf = part["importance_conf"].astype(float)
    names = [f"{name}  (Spearman {_signed(s)})" for name, s in zip(part["parameter_name"], part["spearman"])]
    figure = go.Figure(go.Bar(
        x=part["importance"], y=names, orientation="h", name="importance", customdata=part["parameter_name"],
        error_x={"type": "data", "array": conf, "visible": bool(conf.notna().any()), "color": "#31333f"},
        hovertemplate="%{customdata}: %{x:.4g}<extra></extra>"))
    figure.update_layout(xaxis_title=f"importance for {objective}", yaxis_title="parameter", showlegend=False,
                         height=max(320, 140 + 44 * len(part)))
    return titled(figure, title, f"Method: {method_label}")


def _signed(value) -> str:
    # A real minus sign: a hyphen reads as a dash in most fonts.
    return "n/a" if pd.isna(value) else f"{value:+.2f}".replace("-", "\u2212")


def _numeric(frame: pd.DataFrame, name: str, choices: dict) -> tuple[pd.Series, dict]:
    """A parameter's values as numbers for a 2-D chart: a categorical one as its choice's index, with
    the labels as the axis's ticks."""
    column = frame[f"param:{name}"]
    if name not in choices:
        return column.astype(float), {}
    labels = choices[name]
    codes = column.map(lambda v: labels.index(v) if v in labels else np.nan).astype(float)
    return codes, {"tickvals": list(range(len(labels))), "ticktext": [str(c) for c in labels]}


def slice_figure(frame: pd.DataFrame, parameters: list[str], objective: str, title: str,
                 log_parameters: tuple[str, ...] = ()) -> go.Figure:
    """The objective against each parameter (one panel each), colour = evaluation number."""
    columns = min(3, len(parameters)) or 1
    rows = math.ceil(len(parameters) / columns) or 1
    figure = make_subplots(rows=rows, cols=columns, shared_yaxes=True, horizontal_spacing=0.04,
                           vertical_spacing=0.18 if rows > 1 else 0.1)
    for i, name in enumerate(parameters):
        row, col = i // columns + 1, i % columns + 1
        part = frame[frame[f"param:{name}"].notna() & np.isfinite(frame[objective].astype(float))]
        figure.add_trace(scatter_type(len(part))(
            x=part[f"param:{name}"], y=part[objective], mode="markers", name=name, customdata=part["run_id"],
            # Blues without its near-white start: the points have no outline, and none may vanish on white
            marker={"color": part["evaluation_number"], "colorscale": [[0, "#9ecae1"], [1, "#08306b"]], "size": 6,
                    "showscale": i == 0,
                    "colorbar": {"title": {"text": "evaluation"}}},
            hovertemplate="%{customdata}<br>" + name + " %{x}<br>" + objective + " %{y:.6g}<extra></extra>"),
            row=row, col=col)
        figure.update_xaxes(title_text=name, row=row, col=col, type="log" if name in log_parameters else None)
        if col == 1:
            figure.update_yaxes(title_text=objective, row=row, col=col)
    figure.update_layout(showlegend=False, height=max(380, 330 * rows))
    return titled(figure, title)


def contour_figure(frame: pd.DataFrame, x: str, y: str, objective: str, title: str, choices: dict | None = None,
                   grid: int = 60) -> go.Figure:
    """The objective over two parameters: linear interpolation between the evaluations (a contour on
    a grid), the evaluations themselves as points. Categorical parameters sit at their choice's index."""
    from scipy.interpolate import griddata

    (xv, x_ticks), (yv, y_ticks) = _numeric(frame, x, choices or {}), _numeric(frame, y, choices or {})
    part = pd.DataFrame({"x": xv, "y": yv, "z": frame[objective].astype(float), "run_id": frame["run_id"]}).dropna()
    xs, ys, zs = part["x"].to_numpy(), part["y"].to_numpy(), part["z"].to_numpy()
    finite = np.isfinite(zs)
    xs, ys, zs, ids = xs[finite], ys[finite], zs[finite], part["run_id"].to_numpy()[finite]
    figure = go.Figure()
    # Interpolating between categories would invent values: a categorical axis gets the points only.
    categorical = bool(x_ticks or y_ticks)
    if len(zs) >= 3 and np.ptp(xs) > 0 and np.ptp(ys) > 0 and not categorical:
        gx, gy = np.linspace(xs.min(), xs.max(), grid), np.linspace(ys.min(), ys.max(), grid)
        try:
            gz = griddata((xs, ys), zs, tuple(np.meshgrid(gx, gy)), method="linear")
        except Exception:  # noqa: BLE001 - points on one line: no triangulation, points only
            gz = None
        if gz is not None:
            figure.add_trace(go.Contour(x=gx, y=gy, z=gz, colorscale="Blues_r", name=objective, connectgaps=False,
                                        colorbar={"title": {"text": objective}}, hoverinfo="skip"))
    marker = ({"color": zs, "colorscale": "Blues_r", "size": 8, "colorbar": {"title": {"text": objective}}}
              if categorical else {"color": "#31333f", "size": 5, "line": {"width": 0.5, "color": "white"}})
    figure.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name="evaluations", customdata=ids, marker=marker,
                                text=[f"{z:.6g}" for z in zs],
                                hovertemplate="%{customdata}<br>" + x + " %{x}<br>" + y + " %{y}<br>" + objective
                                + " %{text}<extra></extra>"))
    figure.update_layout(xaxis_title=x, yaxis_title=y, showlegend=False, height=520)
    figure.update_xaxes(**x_ticks)
    figure.update_yaxes(**y_ticks)
    return titled(figure, title)


def objective_ranks(values: np.ndarray, maximize: bool) -> np.ndarray:
    """Rank of each value as a fraction, 0 = best and 1 = worst (ties share the smaller rank)."""
    from scipy.stats import rankdata

    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return np.zeros(len(values))
    ranks = rankdata(-values if maximize else values, method="min") - 1
    return ranks / (len(values) - 1)


def rank_figure(frame: pd.DataFrame, x: str, y: str, objective: str, maximize: bool, title: str,
                choices: dict | None = None) -> go.Figure:
    """Two parameters, each evaluation coloured by the rank of its objective (best dark)."""
    (xv, x_ticks), (yv, y_ticks) = _numeric(frame, x, choices or {}), _numeric(frame, y, choices or {})
    part = pd.DataFrame({"x": xv, "y": yv, objective: frame[objective].astype(float), "run_id": frame["run_id"]}).dropna()
    part = part[np.isfinite(part[objective])]
    ranks = objective_ranks(part[objective].to_numpy(), maximize)
    figure = go.Figure(scatter_type(len(part))(
        x=part["x"], y=part["y"], mode="markers", customdata=part["run_id"],
        marker={"color": ranks, "colorscale": "Blues_r", "cmin": 0, "cmax": 1, "size": 7,
                "colorbar": {"title": {"text": "rank (0 = best)"}}, "line": {"width": 0.5, "color": "#555"}},
        text=[f"{v:.6g}" for v in part[objective]],
        hovertemplate="%{customdata}<br>" + x + " %{x}<br>" + y + " %{y}<br>" + objective + " %{text}<extra></extra>"))
    figure.update_layout(xaxis_title=x, yaxis_title=y, showlegend=False, height=520)
    figure.update_xaxes(**x_ticks)
    figure.update_yaxes(**y_ticks)
    return titled(figure, title)


def edf_points(values: np.ndarray, max_steps: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """The empirical distribution function's steps: x sorted, y = share of values <= x. Above
    ``max_steps`` values, every k-th step (the last always), so the curve stays exact where drawn."""
    xs = np.sort(np.asarray(values, dtype=float))
    ys = np.arange(1, len(xs) + 1) / len(xs) if len(xs) else np.empty(0)
    if len(xs) > max_steps:
        keep = np.unique(np.r_[np.arange(0, len(xs), -(-len(xs) // max_steps)), len(xs) - 1])
        xs, ys = xs[keep], ys[keep]
    return xs, ys


def edf_figure(values_by_study: dict[str, np.ndarray], value_title: str, title: str,
               colors: dict[str, str] | None = None) -> go.Figure:
    figure = go.Figure()
    for study_id, values in values_by_study.items():
        xs, ys = edf_points(values)
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"shape": "hv", "color": (colors or {}).get(study_id)},
                                    name=f"{study_id} ({len(values):,})"))
    figure.update_layout(xaxis_title=value_title, yaxis_title="share of evaluations at or below", legend_title_text="study",
                         yaxis_range=[0, 1.02])
    return titled(figure, title)


def timeline_figure(frame: pd.DataFrame, title: str, subtitle: str | None = None) -> go.Figure:
    """One bar per evaluation from its start to its end, by evaluation number, outcome as colour."""
    figure = go.Figure()
    for state, color in STATE_COLORS.items():
        part = frame[frame["state"] == state]
        if part.empty:
            continue
        start = part["start"].dt.tz_localize(None)
        duration_ms = (part["end"] - part["start"]).dt.total_seconds() * 1000.0
        figure.add_trace(go.Bar(
            base=start, x=duration_ms, y=part["evaluation_number"], orientation="h", name=f"{state} ({len(part):,})",
            marker={"color": color, "line": {"width": 0}}, customdata=part["run_id"],
            hovertemplate="%{customdata}<br>%{base|%Y-%m-%d %H:%M:%S.%L} + %{x:.0f} ms<extra>" + state + "</extra>"))
    figure.update_layout(xaxis={"type": "date", "title": {"text": "time (UTC)"}}, yaxis_title="evaluation number",
                         barmode="overlay", bargap=0.1, legend_title_text="evaluations", height=520)
    return titled(figure, title, subtitle)


def _parallel_axes(part: pd.DataFrame, parameters: list[str], objective: str, choices: dict) -> list[dict]:
    """Each axis's label, its values as numbers (a category as its index among the study's choices)
    and its ticks: (value, text) at the minimum, middle and maximum, or at every category."""
    axes = []
    for name in [*parameters, objective]:
        if name == objective:
            column, categories = part[objective].astype(float), {}
        else:
            column, categories = _numeric(part, name, choices)
        values = column.to_numpy()
        if categories:
            axes.append({"label": name, "values": values, "low": 0.0,
                         "high": float(max(len(categories["ticktext"]) - 1, 1)),
                         "ticks": list(zip(categories["tickvals"], categories["ticktext"]))})
        else:
            low, high = float(np.nanmin(values)), float(np.nanmax(values))
            ticks = [(v, f"{v:.4g}") for v in dict.fromkeys([low, (low + high) / 2, high])]
            axes.append({"label": name, "values": values, "low": low, "high": high if high > low else low + 1.0,
                         "ticks": ticks})
    return axes


PARALLEL_BANDS = 6


def parallel_figure(frame: pd.DataFrame, parameters: list[str], objective: str, choices: dict, title: str,
                    subtitle: str | None = None) -> go.Figure:
    """Every parameter and the objective as vertical axes, one line per evaluation, drawn in SVG
    (plotly's parcoords is WebGL: seconds to set up without a GPU; ``parcoords_figure`` draws it on
    request). Each axis runs from its minimum (bottom) to its maximum (top), a categorical one
    through its labels; lines are coloured by the objective in ``PARALLEL_BANDS`` bands of equal
    width, each band a legend entry that says its range. A line carries its run_id."""
    part = frame[np.isfinite(frame[objective].astype(float))]
    axes = _parallel_axes(part, parameters, objective, choices)
    scaled = np.column_stack([(a["values"] - a["low"]) / (a["high"] - a["low"]) for a in axes]) if len(part) else \
        np.empty((0, len(axes)))
    value = part[objective].astype(float).to_numpy()
    low, high = (float(value.min()), float(value.max())) if len(value) else (0.0, 1.0)
    edges = np.linspace(low, high, PARALLEL_BANDS + 1)
    band = np.clip(np.searchsorted(edges, value, side="right") - 1, 0, PARALLEL_BANDS - 1)
    run_ids = part["run_id"].to_numpy()
    columns = len(axes)
    figure = go.Figure()
    for b in range(PARALLEL_BANDS):
        rows = np.flatnonzero(band == b)
        if not len(rows):
            continue
        # One trace per band: each line's points, then a gap (None) before the next line.
        ys = np.full((len(rows), columns + 1), np.nan)
        ys[:, :columns] = scaled[rows]
        xs = np.tile(np.r_[np.arange(columns, dtype=float), np.nan], len(rows))
        ids = np.repeat(run_ids[rows], columns + 1)
        shade = 1 - b / (PARALLEL_BANDS - 1)  # as parcoords' Blues_r: the lowest values darkest
        figure.add_trace(go.Scatter(
            x=xs, y=ys.ravel(), mode="lines", customdata=ids, connectgaps=False,
            name=f"{objective} {edges[b]:.4g} to {edges[b + 1]:.4g} ({len(rows):,})",
            line={"color": _blue(shade), "width": 1}, opacity=0.6,
            hovertemplate="%{customdata}<extra></extra>"))
    # Axes and their tick labels set in one layout update (one add_shape/add_annotation call each is
    # validated against the whole figure every time).
    shapes = [{"type": "line", "x0": i, "x1": i, "y0": 0, "y1": 1, "line": {"color": "#444", "width": 1}}
              for i in range(columns)]
    # On a light backing: the value stays readable over the lines that cross it.
    labels = [{"x": i, "y": (tick - axis["low"]) / (axis["high"] - axis["low"]), "text": text, "showarrow": False,
               "xanchor": "right", "xshift": -4, "font": {"size": 11}, "bgcolor": "rgba(255,255,255,0.85)"}
              for i, axis in enumerate(axes) for tick, text in axis["ticks"]]
    figure.update_layout(
        shapes=shapes, annotations=labels,
        xaxis={"tickvals": list(range(columns)), "ticktext": [a["label"] for a in axes],
               "title": {"text": "parameters, then the objective"}, "range": [-0.6, columns - 0.6],
               "showgrid": False, "zeroline": False, "tickfont": {"size": 13}},
        yaxis={"title": {"text": "each axis from its minimum to its maximum"}, "showticklabels": False,
               "showgrid": False, "zeroline": False, "range": [-0.04, 1.04]},
        legend_title_text="lines by " + objective, height=520)
    return titled(figure, title, subtitle)


def _blue(shade: float) -> str:
    """From light blue (0) to dark blue (1): never near-white on white."""
    light, dark = np.array([0x9e, 0xca, 0xe1]), np.array([0x08, 0x30, 0x6b])
    r, g, b = (light + (dark - light) * shade).round().astype(int)
    return f"rgb({r},{g},{b})"


def parcoords_figure(frame: pd.DataFrame, parameters: list[str], objective: str, choices: dict, title: str,
                     subtitle: str | None = None) -> go.Figure:
    """Plotly's parcoords (WebGL): the same axes, with ranges to drag on each axis to filter the lines."""
    part = frame[np.isfinite(frame[objective].astype(float))]
    dimensions = []
    for name in parameters:
        values, categories = _numeric(part, name, choices)
        dimensions.append({"label": name, "values": values, **categories})
    dimensions.append({"label": objective, "values": part[objective].astype(float)})
    figure = go.Figure(go.Parcoords(
        line={"color": part[objective].astype(float), "colorscale": "Blues_r", "showscale": True,
              "colorbar": {"title": {"text": objective}}},
        dimensions=dimensions))
    figure = titled(figure, title, subtitle)
    # Room above the axes for their names under the title and its subtitle.
    figure.update_layout(height=520, margin={"l": 80, "r": 80, "t": 140})
    return figure
