"""What every comparison chart shares: one colour per study, and titles that say what is drawn."""
from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go
from plotly.colors import qualitative

PALETTE = qualitative.Plotly


def study_colors(study_ids: Iterable[str]) -> dict[str, str]:
    """Colours by position in ``study_ids`` (the order the user chose them), so a study looks the
    same on every chart of a page or of one CLI run."""
    return {study_id: PALETTE[i % len(PALETTE)] for i, study_id in enumerate(dict.fromkeys(study_ids))}


def titled(figure: go.Figure, title: str | None, subtitle: str | None = None) -> go.Figure:
    """A chart title, and a line under it (e.g. the reference point a hypervolume is measured on)."""
    if title:
        figure.update_layout(title={"text": title, "subtitle": {"text": subtitle or ""}},
                             margin={"t": 90 if subtitle else 60})
    return figure
