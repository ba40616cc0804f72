"""What every comparison chart shares: one colour per study, and titles that say what is drawn."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

PALETTE = qualitative.Plotly


def study_colors(study_ids: Iterable[str]) -> dict[str, str]:
    """Colours by position in ``study_ids`` (the order the user chose them), so a study looks the
    same on every chart of a page or of one CLI run."""
    return {study_id: PALETTE[i % len(PALETTE)] for i, study_id in enumerate(dict.fromkeys(study_ids))}


SVG_POINTS = 5_000


def scatter_type(points: int) -> type[go.Scatter] | type[go.Scattergl]:
    """SVG up to ``SVG_POINTS`` markers, WebGL beyond: without a GPU (servers, CI, many laptops in
    remote sessions) a WebGL chart takes about a second to set up, more than SVG needs to draw a few
    thousand markers; past that, SVG's cost per marker wins."""
    return go.Scatter if points <= SVG_POINTS else go.Scattergl


def titled(figure: go.Figure, title: str | None, subtitle: str | None = None) -> go.Figure:
    """A chart title, and a line under it (e.g. the reference point a hypervolume is measured on)."""
    if title:
        figure.update_layout(title={"text": title, "subtitle": {"text": subtitle or ""}},
                             margin={"t": 90 if subtitle else 60})
    return figure


def spans_decades(*values) -> bool:
    """Whether the finite values are all positive and span a factor of ten or more: on a linear axis
    the largest (a MILP's first incumbent, say) would flatten all the others into one line."""
    finite = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values]) if values else np.array([])
    finite = finite[np.isfinite(finite)]
    return bool(len(finite)) and finite.min() > 0 and finite.max() >= 10 * finite.min()


def log_ticks(*values) -> list[float]:
    """Ticks at 1, 2 and 5 times each power of ten across the values (positive ones): plotly's own
    log ticks label 3, 4, 5 ... between the decades as bare digits, which read as wrong numbers."""
    finite = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if not len(finite):
        return []
    low, high = np.floor(np.log10(finite.min())), np.ceil(np.log10(finite.max()))
    ticks = [m * 10.0 ** e for e in range(int(low), int(high) + 1) for m in (1, 2, 5)]
    # One tick on either side of the values, so the axis starts and ends on a label.
    below = [t for t in ticks if t <= finite.min()][-1:]
    above = [t for t in ticks if t >= finite.max()][:1]
    return below + [t for t in ticks if finite.min() < t < finite.max()] + above
