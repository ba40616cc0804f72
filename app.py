"""The dashboard's entry point: page registry, database banner, demo data on first start.

No SQL and no figures here. With no database configured, the embedded default file is used and,
when it holds no studies yet, filled once with the demo set by a separate ``hive-cli demo``
process (the dashboard itself never writes).
"""
import subprocess
import sys

import streamlit as st

from storage.engine import default_database_path
from ui.connection import database_label, using_embedded_default

st.set_page_config(page_title="Hive: optimization results", page_icon=":material/insights:", layout="wide")


@st.cache_resource(show_spinner=False)
def _demo_filled(path: str) -> str:
    """Fill an empty embedded default with demo studies, once per server process."""
    import sqlite3
    from pathlib import Path

    if Path(path).exists():
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
                if con.execute("SELECT COUNT(*) FROM studies").fetchone()[0] > 0:
                    return "existing"
        except sqlite3.Error:
            pass  # no schema yet: the demo command creates it
    result = subprocess.run([sys.executable, "-m", "hive_cli", "demo", path], capture_output=True, text=True, timeout=300)
    return "filled" if result.returncode == 0 else f"demo failed: {result.stderr.strip()[-300:]}"


if using_embedded_default():
    with st.spinner("First start: recording demo studies from real optimizers..."):
        outcome = _demo_filled(str(default_database_path()))
    if outcome.startswith("demo failed"):
        st.warning(outcome)

# Each page's URL is its file name (see ui/routing.py for why).
pages = [
    st.Page("pages/studies.py", title="Studies", icon=":material/list:", default=True),
    st.Page("pages/study.py", title="Study detail", icon=":material/search:"),
    st.Page("pages/design.py", title="Design", icon=":material/tune:"),
    st.Page("pages/compare.py", title="Compare studies", icon=":material/compare_arrows:"),
    st.Page("pages/convergence.py", title="Convergence", icon=":material/trending_down:"),
    st.Page("pages/pareto.py", title="Pareto explorer", icon=":material/scatter_plot:"),
    st.Page("pages/sensitivity.py", title="Sensitivity & uncertainty", icon=":material/grid_on:"),
    st.Page("pages/prompts.py", title="Prompt optimization", icon=":material/chat:"),
    st.Page("pages/data.py", title="Data & export", icon=":material/download:"),
]
navigation = st.navigation(pages)
st.sidebar.caption("Database")
# A zero-width space after each separator: a long path wraps between folders, never inside a name.
st.sidebar.text(database_label().replace("/", "/\u200b"))
navigation.run()
