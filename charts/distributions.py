"""Distributions: an objective's histogram and ECDF with P5/P50/P95, VaR95 and CVaR95 marked;
fitness distributions of several studies (box or ECDF)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.style import study_colors, titled

MARKERS = (("percentile_5", "P5", "#1f77b4"), ("percentile_50", "P50", "#2ca02c"), ("percentile_95", "P95", "#1f77b4"),
           ("var_95", "VaR95", "#d62728"), ("cvar_95", "CVaR95", "#9467bd"))


def risk_distribution_figure(values: np.ndarray, risk: dict | None, name: str) -> go.Figure:
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    figure = make_subplots(rows=1, cols=2, subplot_titles=(f"{name}: histogram", f"{name}: ECDF"))
    figure.add_trace(go.Histogram(x=finite, nbinsx=60, name="samples", marker={"color": "#9ecae1"}), row=1, col=1)
    ordered = np.sort(finite)
    ecdf = np.arange(1, len(ordered) + 1) / max(len(ordered), 1)
    figure.add_trace(go.Scatter(x=ordered, y=ecdf, mode="lines", name="ECDF", line={"color": "#08519c"}), row=1, col=2)
    for key, label, color in MARKERS:
        if risk and risk.get(key) is not None and np.isfinite(risk[key]):
            for col in (1, 2):
                figure.add_vline(x=risk[key], line={"color": color, "dash": "dash" if key.startswith("percentile") else "solid"},
                                 annotation_text=label if col == 1 else None, annotation_position="top", row=1, col=col)
    figure.update_layout(showlegend=False, margin={"t": 50}, bargap=0.02)
    return figure


ECDF_POINTS = 2_000


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
            n = len(finite)
            # Keep the last point of every run of ties (where the ECDF reaches its step's top).
            tops = np.flatnonzero(np.append(finite[1:] != finite[:-1], True)) if n else np.array([], int)
            if len(tops) > ECDF_POINTS:
                tops = tops[np.unique(np.linspace(0, len(tops) - 1, ECDF_POINTS).round().astype(int))]
            figure.add_trace(go.Scatter(x=finite[tops], y=(tops + 1) / max(n, 1), mode="lines",
                                        line_shape="hv", name=name, line={"color": colors[name]}))
        elif len(finite):
            q1, median, q3 = np.percentile(finite, [25, 50, 75])
            reach = 1.5 * (q3 - q1)
            figure.add_trace(go.Box(
                name=name, x=[name], q1=[q1], median=[median], q3=[q3], mean=[float(finite.mean())],
                lowerfence=[finite[finite >= q1 - reach][0]], upperfence=[finite[finite <= q3 + reach][-1]],
                marker={"color": colors[name]}, line={"color": colors[name]},
            ))
    figure.update_layout(yaxis_title=value_title if kind == "box" else "share of runs",
                         xaxis_title=None if kind == "box" else value_title, margin={"t": 30})
    return titled(figure, title)


def parameter_histograms_figure(frame, columns: list[str]) -> go.Figure:
    cols = min(4, max(1, len(columns)))
    rows = int(np.ceil(len(columns) / cols)) or 1
    figure = make_subplots(rows=rows, cols=cols, subplot_titles=columns)
    for index, column in enumerate(columns):
        figure.add_trace(go.Histogram(x=frame[column], nbinsx=40, name=column, showlegend=False),
                         row=index // cols + 1, col=index % cols + 1)
    figure.update_layout(margin={"t": 40}, height=260 * rows)
    return figure
