"""Distributions: an objective's histogram and ECDF with P5/P50/P95, VaR95 and CVaR95 marked;
fitness distributions of several studies (box or ECDF)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.style import study_colors, titled

# (risk summary column, label, colour, dash): each line its own colour, so the legend tells them apart.
MARKERS = (("percentile_5", "P5", "#17becf", "dot"), ("percentile_50", "P50", "#2ca02c", "dash"),
           ("percentile_95", "P95", "#ff7f0e", "dash"), ("var_95", "VaR95", "#d62728", "solid"),
           ("cvar_95", "CVaR95", "#9467bd", "solid"))


ECDF_POINTS = 2_000


def ecdf_steps(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact empirical CDF of sorted values at no more than ``ECDF_POINTS`` of its steps: the top
    of every run of ties (where the ECDF reaches its step's height), evenly thinned beyond that, so
    hundreds of thousands of samples do not all travel to the browser."""
    n = len(ordered)
    tops = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True)) if n else np.array([], int)
    if len(tops) > ECDF_POINTS:
        tops = tops[np.unique(np.linspace(0, len(tops) - 1, ECDF_POINTS).round().astype(int))]
    return ordered[tops], (tops + 1) / max(n, 1)


def risk_distribution_figure(values: np.ndarray, risk: dict | None, name: str) -> go.Figure:
    """An objective's samples as a histogram and an ECDF, with P5 / P50 / P95, VaR95 and CVaR95 as
    vertical lines on both. The lines are named in the legend with their values, not labelled on the
    chart: P95 and VaR95 often coincide, and labels stacked at the top would overlap each other and
    the titles."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    figure = make_subplots(rows=1, cols=2, subplot_titles=("histogram", "empirical CDF"), horizontal_spacing=0.1)
    figure.add_trace(go.Histogram(x=finite, nbinsx=60, name="samples", marker={"color": "#9ecae1"}, showlegend=False),
                     row=1, col=1)
    x, y = ecdf_steps(np.sort(finite))
    figure.add_trace(go.Scatter(x=x, y=y, mode="lines", line_shape="hv", name="ECDF", line={"color": "#08519c"},
                                showlegend=False), row=1, col=2)
    # The lines as layout shapes spanning each panel's height, built at once: plotly's add_vline
    # inspects the whole figure on every call (0.3 s for the ten lines of one chart).
    shapes, entries = [], []
    for key, label, color, dash in MARKERS:
        if risk and risk.get(key) is not None and np.isfinite(risk[key]):
            shapes += [{"type": "line", "x0": risk[key], "x1": risk[key], "xref": xref, "y0": 0, "y1": 1,
                        "yref": f"{yref} domain", "line": {"color": color, "dash": dash}}
                       for xref, yref in (("x", "y"), ("x2", "y2"))]
            # A legend entry for the line: a trace with no points.
            entries.append(go.Scatter(x=[None], y=[None], mode="lines", name=f"{label} = {risk[key]:,.6g}",
                                      line={"color": color, "dash": dash}))
    if entries:
        figure.add_traces(entries, rows=1, cols=1)
    figure.update_layout(shapes=shapes)
    figure.update_xaxes(title_text=name)
    figure.update_yaxes(title_text="samples", row=1, col=1)
    figure.update_yaxes(title_text="share of samples ≤ value", row=1, col=2)
    figure.update_layout(bargap=0.02, legend={"orientation": "h", "y": -0.25})
    return titled(figure, f"Distribution of {name} over {len(finite):,} samples")


def fitness_distribution_figure(samples: dict[str, np.ndarray], kind: str = "box", colors: dict[str, str] | None = None,
                                value_title: str = "fitness", title: str | None = None) -> go.Figure:
    """Box (quartiles, mean, whiskers at the last values within 1.5 IQR) or ECDF per study.
    ``value_title`` names what the fitness measures; ``colors`` keeps each study's colour.

    Only summaries reach the browser: a box is five numbers, an ECDF at most ``ECDF_POINTS`` of its
    exact steps, whatever the sample size (tens of thousands of raw points per study took the
    browser over a second to draw)."""
    figure = go.Figure()
    colors = colors or study_colors(samples)
    for name, values in samples.items():
        finite = np.asarray(values, dtype=float)
        finite = np.sort(finite[np.isfinite(finite)])
        if kind == "ecdf":
            x, y = ecdf_steps(finite)
            figure.add_trace(go.Scatter(x=x, y=y, mode="lines", line_shape="hv", name=name,
                                        line={"color": colors[name]}))
        elif len(finite):
            q1, median, q3 = np.percentile(finite, [25, 50, 75])
            reach = 1.5 * (q3 - q1)
            figure.add_trace(go.Box(
                name=name, x=[name], q1=[q1], median=[median], q3=[q3], mean=[float(finite.mean())],
                lowerfence=[finite[finite >= q1 - reach][0]], upperfence=[finite[finite <= q3 + reach][-1]],
                marker={"color": colors[name]}, line={"color": colors[name]},
            ))
    figure.update_layout(yaxis_title=value_title if kind == "box" else "share of runs",
                         xaxis_title="study" if kind == "box" else value_title, margin={"t": 30})
    return titled(figure, title or f"{value_title} of successful runs")


HISTOGRAM_COLOR = "#4c78a8"  # one colour for every parameter: a colour each would suggest groups that are not there


def parameter_histograms_figure(frame, columns: list[str], runs: int | None = None) -> go.Figure:
    """One histogram per ``param:<name>`` column, four to a row, each x axis titled with the
    parameter's name; ``runs``: how many runs the frame samples (said in the title)."""
    cols = min(4, max(1, len(columns)))
    rows = int(np.ceil(len(columns) / cols)) or 1
    figure = make_subplots(rows=rows, cols=cols, vertical_spacing=min(0.3, 0.45 / rows), horizontal_spacing=0.06)
    for index, column in enumerate(columns):
        name = column.removeprefix("param:")
        row, col = index // cols + 1, index % cols + 1
        figure.add_trace(go.Histogram(x=frame[column], nbinsx=40, name=name, showlegend=False,
                                      marker={"color": HISTOGRAM_COLOR},
                                      hovertemplate=f"{name}: %{{x}}<br>%{{y}} runs<extra></extra>"), row=row, col=col)
        figure.update_xaxes(title_text=name, row=row, col=col)
        figure.update_yaxes(title_text="runs" if col == 1 else None, row=row, col=col)
    shown = f"{len(frame):,} of {runs:,} runs" if runs and runs > len(frame) else f"{len(frame):,} runs"
    figure.update_layout(height=260 * rows + 60)
    return titled(figure, f"Parameter values over {shown}")
