"""Convergence curves: best / average / worst per generation, a std band, best so far; a MILP
solver's incumbent, dual bound and gap; and the sentence shown instead of a chart with nothing to draw."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.style import log_ticks, spans_decades, study_colors, titled


# Curve names in the legend: the y axis says what is measured (never just "fitness").
CURVES = {"best_fitness": "best", "average_fitness": "average", "worst_fitness": "worst", "best_so_far": "best so far"}


def convergence_figure(histories: dict[str, pd.DataFrame], log_y: bool = False, band: bool = True,
                       show: tuple[str, ...] = ("best_fitness", "average_fitness", "worst_fitness", "best_so_far"),
                       colors: dict[str, str] | None = None, value_title: str = "fitness",
                       title: str | None = None) -> go.Figure:
    """One or more studies' histories (``storage.studies.queries.get_convergence_history`` frames).
    ``colors`` keeps a study's colour the same across charts; ``value_title`` names what fitness measures."""
    figure = go.Figure()
    dashes = {"best_fitness": "solid", "average_fitness": "dot", "worst_fitness": "dash", "best_so_far": "longdash"}
    colors = colors or study_colors(histories)
    for index, (name, history) in enumerate(histories.items()):
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
                # A curve drawn alone needs no dash to tell it from the others.
                dash = dashes.get(column, "solid") if len(show) > 1 else "solid"
                figure.add_trace(go.Scatter(
                    x=x, y=history[column], mode="lines", name=f"{name} {CURVES.get(column, column)}",
                    legendgroup=name, line={"color": color, "dash": dash, "width": _width(index, len(histories))},
                ))
    figure.update_layout(
        xaxis_title="generation", yaxis_title=value_title, yaxis_type="log" if log_y else "linear",
        hovermode="x unified", margin={"t": 40}, legend={"orientation": "h", "y": -0.2},
    )
    if not log_y and "worst_fitness" in show:
        frame = framed_range(histories, band)
        if frame is not None:
            figure.update_yaxes(range=list(frame))
    return titled(figure, title)


def framed_range(histories: dict[str, pd.DataFrame], band: bool = True) -> tuple[float, float] | None:
    """A y range framing best, average (and its band) and best so far, when the worst of some
    generations lies so far out (a few wild early designs) that drawing it would flatten every other
    curve; None when everything fits. The worst line is still drawn, leaving the frame where it spikes."""
    inner, worst = [], []
    for history in histories.values():
        for column in ("best_fitness", "average_fitness", "best_so_far"):
            if column in history:
                inner.append(history[column].astype(float).to_numpy())
        if band and {"average_fitness", "fitness_std_dev"} <= set(history.columns):
            mean, std = history["average_fitness"].astype(float), history["fitness_std_dev"].astype(float).fillna(0)
            inner += [(mean + std).to_numpy(), (mean - std).to_numpy()]
        if "worst_fitness" in history:
            worst.append(history["worst_fitness"].astype(float).to_numpy())
    inner_values = np.concatenate(inner) if inner else np.array([])
    inner_values = inner_values[np.isfinite(inner_values)]
    worst_values = np.concatenate(worst) if worst else np.array([])
    worst_values = worst_values[np.isfinite(worst_values)]
    if not len(inner_values) or not len(worst_values):
        return None
    lo, hi = float(inner_values.min()), float(inner_values.max())
    span = hi - lo if hi > lo else abs(hi) or 1.0
    # Worst within half a span of the other curves: draw everything, no framing needed.
    if worst_values.min() >= lo - span / 2 and worst_values.max() <= hi + span / 2:
        return None
    # Include the worst values that are near the frame, then pad 5 % each side.
    near = worst_values[(worst_values >= lo - span / 2) & (worst_values <= hi + span / 2)]
    if len(near):
        lo, hi = min(lo, float(near.min())), max(hi, float(near.max()))
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _width(index: int, count: int) -> float:
    """Studies drawn first get wider lines, so a curve that a later one covers exactly (two studies
    run with one seed, say) still shows at its edges."""
    return 2 + 0.8 * (count - 1 - index)


def metric_figure(histories: dict[str, pd.DataFrame], column: str, title: str, colors: dict[str, str] | None = None,
                  chart_title: str | None = None, subtitle: str | None = None) -> go.Figure:
    """One column per generation for several studies (hypervolume, diversity, stagnation, gap...);
    ``title`` names the y axis."""
    figure = go.Figure()
    colors = colors or study_colors(histories)
    for index, (name, history) in enumerate(histories.items()):
        if column in history and history[column].notna().any():
            figure.add_trace(go.Scatter(x=history["generation_number"], y=history[column], mode="lines+markers",
                                        name=name, line={"color": colors[name], "width": _width(index, len(histories))},
                                        marker={"size": 4}))
    # The legend under the chart: on its right it would take a third of a half-width chart.
    figure.update_layout(xaxis_title="generation", yaxis_title=title, margin={"t": 40},
                         legend={"orientation": "h", "y": -0.25})
    return titled(figure, chart_title, subtitle)


def hypervolume_comparison_figure(curves: dict[str, tuple], label: str, reference: str,
                                  colors: dict[str, str] | None = None) -> go.Figure:
    """Hypervolume per generation of studies of one objective space (``label``), all measured on one
    reference point, which ``reference`` states under the title. ``curves``: id -> (generations, hv)."""
    frames = {sid: pd.DataFrame({"generation_number": g, "hypervolume": hv}) for sid, (g, hv) in curves.items()}
    return metric_figure(frames, "hypervolume", "hypervolume of the front so far", colors,
                         chart_title=f"Hypervolume per generation: {label}", subtitle=reference)


# Phrases for a study a chart cannot draw, by chart; ``why_not_drawn`` picks one.
SOLVER = "is a MILP: its solver has no population"


def why_not_drawn(column: str, study_type: str, n_objectives: int) -> str:
    """Why one study has no curve of ``column`` (a ``get_convergence_history`` column): a phrase
    following the study's id, for the sentence that replaces or follows the chart."""
    if column == "hypervolume" and n_objectives < 2:
        return "has a single objective (hypervolume measures a front of two or more)"
    if study_type == "milp":
        return SOLVER
    if column == "population_diversity":
        return "logged no population diversity (it needs parameter vectors)"
    return f"logged no {column.replace('_', ' ')}"


def not_drawn_line(what: str, reasons: dict[str, str], drawn_any: bool) -> str | None:
    """``No hypervolume to show: a has a single objective (...).`` when the chart is empty, else
    ``Not on the hypervolume chart: a ...`` naming the studies it leaves out (None when none is)."""
    if not reasons:
        return None
    listed = "; ".join(f"{study_id} {why}" for study_id, why in reasons.items())
    return f"Not on the {what} chart: {listed}." if drawn_any else f"No {what} to show: {listed}."


def solver_progress_figure(histories: dict[str, pd.DataFrame], value_title: str, colors: dict[str, str] | None = None,
                           log_y: bool | None = None) -> go.Figure:
    """MILP solvers' incumbent (solid) and dual bound (dashed) over solver time, one colour per study.
    Both are steps: a value holds until the solver improves it. ``log_y=None``: logarithmic when the
    values are positive and span a factor of ten or more (a first incumbent far above the optimum
    would flatten the rest of the curve on a linear axis)."""
    figure = go.Figure()
    colors = colors or study_colors(histories)
    drawn = []
    for name, history in histories.items():
        x, x_title = _solver_time(history)
        for column, label, dash in (("best_fitness", "incumbent", "solid"), ("dual_bound", "dual bound", "dash")):
            if column in history and history[column].notna().any():
                drawn.append(history[column].to_numpy(float))
                figure.add_trace(go.Scatter(x=x, y=history[column], mode="lines+markers", name=f"{name} {label}",
                                            legendgroup=name, line={"color": colors[name], "dash": dash, "shape": "hv"},
                                            marker={"size": 5}))
    if log_y is None:
        log_y = spans_decades(*drawn)
    figure.update_layout(xaxis_title=x_title if histories else "solver time (s)", yaxis_title=value_title,
                         hovermode="x unified", legend={"orientation": "h", "y": -0.25})
    if log_y:
        ticks = log_ticks(*drawn)
        figure.update_yaxes(type="log", tickvals=ticks or None,
                            range=[np.log10(ticks[0]), np.log10(ticks[-1])] if ticks else None)
    scale = ", log scale" if log_y else ""
    return titled(figure, f"Incumbent and dual bound of {value_title}{scale}")


def gap_figure(histories: dict[str, pd.DataFrame], colors: dict[str, str] | None = None) -> go.Figure:
    """The relative gap between incumbent and dual bound, in percent, over solver time: the share of
    the objective the solver has yet to prove; 0 % is proven optimal."""
    figure = go.Figure()
    colors = colors or study_colors(histories)
    x_title = "solver time (s)"
    for name, history in histories.items():
        if "relative_gap" in history and history["relative_gap"].notna().any():
            x, x_title = _solver_time(history)
            figure.add_trace(go.Scatter(x=x, y=history["relative_gap"].astype(float) * 100, mode="lines+markers",
                                        name=name, line={"color": colors[name], "shape": "hv"}, marker={"size": 5}))
    figure.update_layout(xaxis_title=x_title, yaxis_title="relative gap (%)", yaxis_rangemode="tozero")
    return titled(figure, "Relative gap between incumbent and dual bound")


def _solver_time(history: pd.DataFrame) -> tuple[pd.Series, str]:
    """Solver time when every row has it, else the progress event's number."""
    if "elapsed_seconds" in history and len(history) and history["elapsed_seconds"].notna().all():
        return history["elapsed_seconds"], "solver time (s)"
    return history["generation_number"], "solver event"
