"""Download buttons: every table as spreadsheet-safe CSV, every chart as HTML or PNG.

Every file is made only when its button is clicked (a callable ``data``): kaleido takes seconds
per chart, a wide table's CSV a tenth of a second, and most views are never downloaded.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from charts.output import figure_to_html, figure_to_png
from storage.errors import HiveError
from storage.studies.exports import to_safe_csv


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:80] or "export"


def csv_button(frame: pd.DataFrame | Callable[[], pd.DataFrame], name: str, key: str,
               label: str = "Download CSV") -> None:
    """``frame``, or a function reading it (a table too long to read on every run of the page)."""
    # Written when clicked, like the charts' files: most tables shown are never downloaded.
    st.download_button(label, data=lambda: to_safe_csv(frame() if callable(frame) else frame),
                       file_name=f"{_file_stem(name)}.csv", mime="text/csv", key=f"csv_{key}", on_click="ignore")


def chart(figure: go.Figure, name: str, key: str, **plotly_kwargs):
    """Draw a chart with its HTML and PNG downloads; returns the selection event when asked."""
    event = st.plotly_chart(figure, key=f"chart_{key}", width="stretch", **plotly_kwargs)
    # Side by side under the chart, whatever its width (columns spread them apart on a wide page).
    with st.container(horizontal=True):
        st.download_button("HTML", data=lambda: figure_to_html(figure), file_name=f"{_file_stem(name)}.html",
                           mime="text/html", key=f"html_{key}", on_click="ignore")
        st.download_button("PNG", data=lambda: _png(figure), file_name=f"{_file_stem(name)}.png",
                           mime="image/png", key=f"png_{key}", on_click="ignore")
    return event


def _png(figure: go.Figure) -> bytes:
    try:
        return figure_to_png(figure)
    except HiveError as error:  # no browser here: the file explains itself
        return str(error).encode("utf-8")
