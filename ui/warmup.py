"""The first visit of each page is fast once the server is up.

A page's first visit in a server process pays for importing its charting and analysis libraries
and, for the SQL box and prompt-project analytics on SQLite, for starting DuckDB's child process
(``storage.duck``): measured at 1-3 s each; the Experiments page's analysis adds 0.4-0.6 s. While
the user reads the first page, one background thread per server process does that work ahead of
them, in small steps taken only while no page runs (``page_running``, around every run in
``app.py``): on two cores, a step beside a page's run would slow the very page it is meant to
spare. It only reads, and any failure is left to the page that needs the thing to report.
"""
from __future__ import annotations

import importlib
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import streamlit as st

# What the other pages import on their first visit (the first page has imported the rest).
MODULES = ("plotly.graph_objects", "charts.convergence", "charts.pareto", "charts.distributions", "charts.sensitivity",
           "analysis.comparison", "analysis.sensitivity", "analysis.uncertainty", "storage.studies.exports",
           "storage.prompts.store")
DELAY_S = 1.5
MAX_WAIT_S = 10.0   # a page that runs longer (or a session that hangs) does not hold the warm-up forever

_pages_running = 0
_quiet = threading.Condition()


@contextmanager
def page_running() -> Iterator[None]:
    """Around each run of a page: the warm-up takes its next step only while no page is running, so
    on these 2-core machines it does not slow the page a user has just opened (one interpreter lock)."""
    global _pages_running
    with _quiet:
        _pages_running += 1
    try:
        yield
    finally:
        with _quiet:
            _pages_running -= 1
            _quiet.notify_all()


def wait_until_quiet(timeout_s: float = MAX_WAIT_S) -> bool:
    """Block while a page runs (at most ``timeout_s``); True when none does."""
    with _quiet:
        return _quiet.wait_for(lambda: _pages_running == 0, timeout=timeout_s)


def _steps(reader, store) -> list[Callable[[], object]]:
    """The warm-up in small steps (0.05-0.8 s each), so a page opened meanwhile waits for one at most."""
    def cache(module: str) -> Callable[[], object]:   # imported by the step: a failure stays in that step
        return lambda: importlib.import_module(module).warm_default(reader)

    steps: list[Callable[[], object]] = [lambda name=name: importlib.import_module(name) for name in MODULES]
    steps += [lambda kind=kind: _draw(kind) for kind in TRACE_TYPES]
    steps += [cache("ui.experiment_cache"),                    # the Experiments page's analysis, 0.4-0.6 s
              cache("ui.compare_cache"),                       # the Compare page's reads, 0.3-0.5 s
              lambda: reader.analytics("SELECT 1 AS ready")]   # the SQL box's DuckDB
    if store is not None:
        steps.append(store.project_analytics)                  # the prompt page opens on the first project
    return steps


def _warm(reader, store) -> None:
    # Let the browser fetch the first page's scripts first: importing holds the GIL the web server needs.
    time.sleep(DELAY_S)
    for step in _steps(reader, store):
        wait_until_quiet()
        try:
            step()
        except Exception:  # noqa: BLE001 - the page that needs it reports the problem
            pass


# plotly imports each trace class, its validators and its pandas support (narwhals) on first use:
# 0.3-0.5 s on a page's first chart. One tiny figure of every type the charts use, sent through the
# same JSON encoder st.plotly_chart uses, pays it here.
TRACE_TYPES = ("Scatter", "Scattergl", "Bar", "Box", "Histogram", "Heatmap", "Contour", "Scatter3d", "Parcoords",
               "subplots")


def _draw(kind: str) -> None:
    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go
    import plotly.io
    from plotly.subplots import make_subplots

    x, z = pd.Series([0.0, 1.0]), np.zeros((2, 2))
    if kind == "subplots":
        figure = make_subplots(rows=1, cols=2, subplot_titles=("a", "b")).add_trace(go.Histogram(x=x), row=1, col=2)
    else:
        data = {"Heatmap": {"z": z}, "Contour": {"z": z}, "Box": {"y": x}, "Histogram": {"x": x},
                "Scatter3d": {"x": x, "y": x, "z": x}, "Parcoords": {"dimensions": [{"values": x}]}}
        figure = go.Figure(getattr(go, kind)(**data.get(kind, {"x": x, "y": x})))
    figure.update_layout(title="warm-up", xaxis_title="x", yaxis_title="y")
    plotly.io.to_json(figure, validate=False)


@st.cache_resource(show_spinner=False)
def _started(url: str) -> threading.Thread | None:
    # The cached objects are made here, in the script's thread; the thread only uses them.
    from storage.studies import queries
    from storage.errors import HiveError
    from ui.connection import _prompt_store_for, _reader_for, dashboard_project

    try:
        reader = _reader_for(url, dashboard_project())
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
