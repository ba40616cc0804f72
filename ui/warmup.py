"""The first visit of each page is fast once the server is up.

A page's first visit in a server process pays for importing its charting and analysis libraries
and, for the SQL box and prompt-project analytics on SQLite, for starting DuckDB's child process
(``storage.duck``): measured at 1-3 s each; the Experiments page's analysis adds 0.4-0.6 s. While
the user reads the first page, one background thread per server process does that work ahead of
them. It only reads, and any failure is left to the page that needs the thing to report.
"""
from __future__ import annotations

import importlib
import threading
import time

import streamlit as st

# What the other pages import on their first visit (the first page has imported the rest).
MODULES = ("plotly.graph_objects", "charts.convergence", "charts.pareto", "charts.distributions", "charts.sensitivity",
           "analysis.comparison", "analysis.sensitivity", "analysis.uncertainty", "storage.exports",
           "storage.prompt_optimization")
DELAY_S = 1.5


def _warm(reader, store) -> None:
    # Let the browser fetch the first page's scripts first: importing holds the GIL the web server needs.
    time.sleep(DELAY_S)
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the page that imports it reports the problem
            pass
    try:
        _draw_each_trace_type()
    except Exception:  # noqa: BLE001 - as above
        pass
    try:
        from ui import compare_cache, experiment_cache

        experiment_cache.warm_default(reader)  # the Experiments page's analysis, 0.4-0.6 s
        compare_cache.warm_default(reader)     # the Compare page's reads, 0.3-0.5 s
    except Exception:  # noqa: BLE001 - as above
        pass
    try:
        reader.analytics("SELECT 1 AS ready")  # the SQL box's DuckDB
        if store is not None:
            store.project_analytics()  # the prompt page opens on the first project
    except Exception:  # noqa: BLE001 - as above
        pass


def _draw_each_trace_type() -> None:
    # plotly imports each trace class, its validators and its pandas support (narwhals) on first use:
    # 0.3-0.5 s on a page's first chart. One tiny figure of every type the charts use, sent through the
    # same JSON encoder st.plotly_chart uses, pays it here.
    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go
    import plotly.io
    from plotly.subplots import make_subplots

    x, z = pd.Series([0.0, 1.0]), np.zeros((2, 2))
    figure = go.Figure([go.Scatter(x=x, y=x), go.Scattergl(x=x, y=x), go.Bar(x=x, y=x), go.Box(y=x),
                        go.Histogram(x=x), go.Heatmap(z=z), go.Contour(z=z), go.Scatter3d(x=x, y=x, z=x),
                        go.Parcoords(dimensions=[{"values": x}])])
    figure.update_layout(title="warm-up", xaxis_title="x", yaxis_title="y")
    plotly.io.to_json(figure, validate=False)
    make_subplots(rows=1, cols=2, subplot_titles=("a", "b")).add_trace(go.Histogram(x=x), row=1, col=2)


@st.cache_resource(show_spinner=False)
def _started(url: str) -> threading.Thread | None:
    # The cached objects are made here, in the script's thread; the thread only uses them.
    from storage import queries
    from storage.errors import HiveError
    from ui.connection import _prompt_store_for, _reader_for

    try:
        reader = _reader_for(url)
        projects = queries.list_projects(reader)["id"].tolist()
        store = _prompt_store_for(url, projects[0]) if projects else None
    except HiveError:
        return None  # the page says what is wrong with the database
    thread = threading.Thread(target=_warm, args=(reader, store), name="hive-warmup", daemon=True)
    thread.start()
    return thread


def warm_up(url: str) -> None:
    """Start (once per server process and database) the work the other pages' first visits need."""
    _started(url)
