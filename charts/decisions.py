"""A ranking and a decision drawn on a Pareto figure (``charts.pareto.pareto_figure``): the top designs
by the chosen method numbered 1, 2, 3..., and the recorded decision circled."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

RANK_COLOR = "#1f3b99"
DECISION_COLOR = "#111111"


def mark_ranking(figure: go.Figure, top: pd.DataFrame, x: str, y: str, z: str | None = None,
                 label: str = "top designs") -> go.Figure:
    """Number the rows of ``top`` (best first; columns ``run_id`` and the axes) on the figure."""
    if top.empty:
        return figure
    numbers = [str(i) for i in range(1, len(top) + 1)]
    hover = "#%{text} %{customdata}<extra>" + label + "</extra>"
    if z is None:
        figure.add_trace(go.Scatter(
            x=top[x], y=top[y], mode="markers+text", text=numbers, textposition="top right", name=label,
            textfont={"color": RANK_COLOR, "size": 13}, customdata=top["run_id"], hovertemplate=hover,
            marker={"symbol": "circle-open", "size": 16, "color": RANK_COLOR, "line": {"width": 2}},
        ))
    else:
        figure.add_trace(go.Scatter3d(
            x=top[x], y=top[y], z=top[z], mode="markers+text", text=numbers, name=label, customdata=top["run_id"],
            textfont={"color": RANK_COLOR}, hovertemplate=hover,
            marker={"symbol": "circle-open", "size": 8, "color": RANK_COLOR},
        ))
    return figure


def mark_decision(figure: go.Figure, chosen: pd.DataFrame, x: str, y: str, z: str | None = None,
                  label: str = "recorded decision") -> go.Figure:
    """Circle the decided design (``chosen``: one row with ``run_id`` and the axes)."""
    if chosen.empty:
        return figure
    hover = "decision: %{customdata}<extra></extra>"
    if z is None:
        figure.add_trace(go.Scatter(
            x=chosen[x], y=chosen[y], mode="markers", name=label, customdata=chosen["run_id"], hovertemplate=hover,
            marker={"symbol": "square-open", "size": 22, "color": DECISION_COLOR, "line": {"width": 3}},
        ))
    else:
        figure.add_trace(go.Scatter3d(
            x=chosen[x], y=chosen[y], z=chosen[z], mode="markers", name=label, customdata=chosen["run_id"],
            hovertemplate=hover, marker={"symbol": "square-open", "size": 12, "color": DECISION_COLOR},
        ))
    return figure
