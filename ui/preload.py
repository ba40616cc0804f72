"""The browser's share of a first visit: Streamlit's chart script, loaded while the user reads.

Streamlit loads the script that draws plotly charts (4.7 MB, its own static file) the first time a
page of a browser tab draws a chart. On these 2-core machines that added 1.5-2.5 s to whichever chart
page a user opened first: Studies, then Experiments by its sidebar link, took 4.0-4.9 s, and 2.5-2.9 s
with the script already loaded (measured 2026-11-29). So every page asks the browser to load it once
the page has been drawn and the browser is idle; a later chart finds it loaded. The script is
Streamlit's own file, addressed next to Streamlit's main script: nothing is fetched from elsewhere,
and the HTML holds no user data.
"""
from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st


@functools.cache
def plotly_chunk() -> str | None:
    """The file name of Streamlit's plotly chart script in this installation, if it has one."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    found = sorted(p.name for p in folder.glob("PlotlyChart.*.js"))
    return found[0] if len(found) == 1 else None


# Resolved against Streamlit's own main script, so a server under a path prefix works too; import()
# puts the module where Streamlit's lazy chart element will look for it.
_SCRIPT = """<script>
(() => {
  if (window.__hive_charts_preloaded) return;
  window.__hive_charts_preloaded = true;
  const main = document.querySelector('script[type="module"][src*="/static/js/index."]');
  if (!main) return;
  const load = () => import(new URL("%s", main.src).href).catch(() => {});
  (window.requestIdleCallback || ((f) => setTimeout(f, 1000)))(load, {timeout: 4000});
})();
</script>"""


def preload_html() -> str | None:
    """The one HTML element with a script the app sends (a fixed text: no user data in it)."""
    name = plotly_chunk()
    return None if name is None else _SCRIPT % name


def preload_charts() -> None:
    """Ask the browser to load the chart script when idle (once per tab; nothing when not found)."""
    html = preload_html()
    if html is not None:
        st.sidebar.html(html, unsafe_allow_javascript=True)
