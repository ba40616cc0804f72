"""The app's look for figures drawn outside Streamlit: a plotly template built from the dashboard's
theme (``.streamlit/config.toml``), so a chart written by ``hive-cli`` or downloaded from a page
looks like the page (white background, the app's font and primary colour), not plotly's grey default.

The dashboard itself draws with Streamlit's own chart theme; ``charts.output`` applies this template
to the copy of a figure it writes to a file.
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

import plotly.graph_objects as go

CONFIG = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"

# Streamlit's light theme, for what config.toml leaves unset (and an install without the file).
LIGHT = {"primaryColor": "#2f6fde", "backgroundColor": "#ffffff", "secondaryBackgroundColor": "#f0f2f6",
         "textColor": "#31333f", "font": "sans serif"}
# Streamlit's font names -> CSS families (Chromium falls back to the generic family when the first is missing).
FONTS = {"sans serif": '"Source Sans Pro", "Source Sans 3", "DejaVu Sans", sans-serif',
         "serif": '"Source Serif Pro", "DejaVu Serif", serif',
         "monospace": '"Source Code Pro", "DejaVu Sans Mono", monospace'}
# After the primary colour, Streamlit's own categorical chart colours (light theme).
CATEGORICAL = ["#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700", "#ffd16a",
               "#6d3fc0", "#d5dae5"]


def theme_settings(path: Path = CONFIG) -> dict[str, str]:
    """The light theme's settings: ``[theme]`` and ``[theme.light]`` of the config over Streamlit's defaults."""
    try:
        theme = tomllib.loads(path.read_text(encoding="utf-8")).get("theme", {})
    except (OSError, tomllib.TOMLDecodeError):
        theme = {}
    flat = {k: v for k, v in theme.items() if isinstance(v, str)}
    return {**LIGHT, **flat, **{k: v for k, v in theme.get("light", {}).items() if isinstance(v, str)}}


def _rgba(color: str, alpha: float) -> str:
    color = color.lstrip("#")
    red, green, blue = (int(color[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red}, {green}, {blue}, {alpha})"


@lru_cache(maxsize=1)
def app_template() -> go.layout.Template:
    settings = theme_settings()
    text, background = settings["textColor"], settings["backgroundColor"]
    font = FONTS.get(settings["font"], settings["font"])
    grid, line = _rgba(text, 0.12), _rgba(text, 0.3)
    axis = {"gridcolor": grid, "zerolinecolor": line, "linecolor": line, "tickcolor": line, "automargin": True,
            "title": {"standoff": 12}}
    # 3-D: the app's secondary background on the cube's walls, so the box and its grid are visible.
    scene_axis = {"backgroundcolor": settings["secondaryBackgroundColor"], "gridcolor": background,
                  "zerolinecolor": line, "showbackground": True}
    colorway = [settings["primaryColor"]] + [c for c in CATEGORICAL if c.lower() != settings["primaryColor"].lower()]
    return go.layout.Template(layout=go.Layout(
        font={"family": font, "color": text, "size": 14},
        title={"font": {"size": 20}, "x": 0.02, "xanchor": "left"},
        paper_bgcolor=background,
        plot_bgcolor=background,
        colorway=colorway,
        xaxis=axis,
        yaxis=axis,
        # A camera a little further out than plotly's default, so a static image shows all three axes.
        scene={"xaxis": scene_axis, "yaxis": scene_axis, "zaxis": scene_axis,
               "camera": {"eye": {"x": 1.6, "y": 1.6, "z": 0.8}}},
        legend={"bgcolor": "rgba(0, 0, 0, 0)"},
        hoverlabel={"font": {"family": font}},
        coloraxis={"colorbar": {"outlinewidth": 0}},
    ))
