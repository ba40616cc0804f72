"""The dashboard's entry point: page registry, database banner, demo data on first start.

No SQL and no figures here. With no database configured, the embedded default file is used and,
when it holds no studies yet, filled once with the demo set by a separate ``hive-cli demo``
process (the dashboard itself never writes).
"""
import os
import subprocess
import sys
import threading
from pathlib import Path

import streamlit as st

from storage.engine import default_database_path
from storage.migrate import holds_studies
from ui.auth import require_sign_in
from ui.connection import configured_url, database_label, using_embedded_default
from ui.preload import preload_charts
from ui.warmup import page_running, warm_up

ICON = Path(__file__).with_name("ui") / "icon.png"  # a local file: the browser fetches nothing from the internet
st.set_page_config(page_title="Hive: optimization results", page_icon=str(ICON), layout="wide")


@st.cache_resource(show_spinner=False)
def _demo_state() -> dict:
    """Once per server process: whether the embedded default has been checked (and filled)."""
    return {"lock": threading.Lock(), "outcome": None}


def fill_demo_once(path: str) -> str:
    """Fill an empty embedded default with demo studies by a ``hive-cli demo`` process, showing each
    step as it is recorded. The dashboard itself never writes."""
    state = _demo_state()
    with state["lock"]:
        if state["outcome"] is None:
            if holds_studies(path):
                state["outcome"] = "existing"
            else:
                with st.status("First start: recording demo studies from real optimizers...", expanded=True) as status:
                    process = subprocess.Popen([sys.executable, "-m", "hive_cli", "demo", path], stdout=subprocess.PIPE,
                                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
                    lines = []
                    for line in process.stdout:
                        lines.append(line.rstrip())
                        st.text(lines[-1])
                    ok = process.wait(timeout=300) == 0
                    status.update(label="Demo studies recorded" if ok else "The demo could not be recorded",
                                  state="complete" if ok else "error", expanded=not ok)
                state["outcome"] = "filled" if ok else "demo failed: " + " ".join(lines[-3:])[-300:]
    return state["outcome"]


require_sign_in()  # with [auth] in secrets: a signed-in user with a project, or a page that says why not

if using_embedded_default():
    outcome = fill_demo_once(str(default_database_path()))
    if outcome.startswith("demo failed"):
        st.warning(outcome)

# Each page's URL is its file name (see ui/routing.py for why).
pages = [
    st.Page("pages/studies.py", title="Studies", icon=":material/list:", default=True),
    st.Page("pages/study.py", title="Study detail", icon=":material/search:"),
    st.Page("pages/design.py", title="Design", icon=":material/tune:"),
    st.Page("pages/compare.py", title="Compare studies", icon=":material/compare_arrows:"),
    st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
    st.Page("pages/convergence.py", title="Convergence", icon=":material/trending_down:"),
    st.Page("pages/trials.py", title="Trials", icon=":material/timeline:"),
    st.Page("pages/pareto.py", title="Pareto explorer", icon=":material/scatter_plot:"),
    st.Page("pages/sensitivity.py", title="Sensitivity & uncertainty", icon=":material/grid_on:"),
    st.Page("pages/prompts.py", title="Prompt optimization", icon=":material/chat:"),
    st.Page("pages/data.py", title="Data & export", icon=":material/download:"),
]
navigation = st.navigation(pages)
st.sidebar.caption("Database")
# A zero-width space after each separator: a long path wraps between folders, never inside a name.
st.sidebar.text(database_label().replace("/", "/\u200b"))
try:
    with page_running():
        navigation.run()
finally:
    # After the page, not before: the warm-up's imports, and the browser's loading of the chart script,
    # would slow the first page they are meant to spare.
    preload_charts()
    warm_up(configured_url() or str(default_database_path()))
