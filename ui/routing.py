"""Every page runs inside app.py's navigation, also for the server's very first visitor.

The page scripts live in ``pages/`` (the project's fixed layout), which Streamlit treats as an old
style multipage folder until ``st.navigation`` has run once in the process: the first session's URL
runs the page file of that name on its own, without app.py's navigation, sidebar and first-start
demo fill (and a URL matching no file name gets a "Page not found" dialog). So the page files are
named as their URLs, and ``run_inside_app`` ends that legacy routing and runs the same URL through
app.py. (``streamlit.testing`` starts every run in the legacy routing, so the page tests pass here on
each run.) Tested in tests/browser (the first visitor of a deep link).
"""
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx


def run_inside_app() -> None:
    """Call first in every page script."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    # Legacy routing registers app.py itself as the main page; app.py's navigation never does.
    scripts = (Path(str(page.get("script_path", ""))) for page in ctx.pages_manager.get_pages().values())
    app = next((script for script in scripts if script.name == "app.py"), None)
    if app is None:
        return
    PagesManager.uses_pages_directory = False  # what st.navigation sets when it runs
    # Run app.py in this same script run (as legacy routing runs its main page): its navigation
    # resolves this URL to this page again and runs it inside the app's layout. A rerun instead
    # would drop what triggered this run (a button click).
    exec(compile(app.read_text(encoding="utf-8"), str(app), "exec"), {"__name__": "__main__", "__file__": str(app)})
    st.stop()
