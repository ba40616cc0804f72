"""Live parts of pages: what a running study or run changes (counts, best, charts) redraws on its
own at the interval the user picks in the sidebar, as a fragment, so the rest of the page (filters,
selections, tabs) stays as it is and nothing else reruns."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui import urlstate

INTERVALS = {"off": None, "2 s": 2, "5 s": 5, "30 s": 30}
DEFAULT = "5 s"


def refresh_seconds(running: bool) -> int | None:
    """The sidebar's "Live refresh" choice (in the URL as ``live=``, so it holds across pages); None
    when nothing on the page is running (the control is then greyed out)."""
    choices = list(INTERVALS)
    # The choice outlives the widget: pages without live parts do not draw it, and Streamlit forgets
    # the state of a widget a run does not draw.
    wanted = urlstate.get("live") or st.session_state.get("_live_choice") or DEFAULT
    picked = st.sidebar.selectbox(
        "Live refresh", choices, index=urlstate.choose(choices, wanted), key="live_every", disabled=not running,
        help="How often the parts of this page that a running study or run changes redraw themselves"
             + ("." if running else ". Nothing shown here is running, so nothing refreshes."))
    st.session_state["_live_choice"] = picked
    urlstate.put("live", None if picked == DEFAULT else picked)
    return INTERVALS[picked] if running else None


def live_part(running: bool, draw: Callable[[], bool], while_: str = "studies are running") -> None:
    """Draw ``draw()``, which reads what it shows itself and returns whether it is still running;
    while it is, again every interval, alone (``st.fragment``). When it has finished, the whole page
    runs once more, which draws it without the timer."""
    seconds = refresh_seconds(running)
    if not seconds:
        draw()
        return

    drawn_once = []  # the fragment's own reruns call this same closure

    @st.fragment(run_every=seconds)
    def part() -> None:
        st.caption(f"Live: redrawn every {seconds} s while {while_}.")
        if not draw() and drawn_once:  # finished since: once more without the timer (not from the page's
            st.rerun(scope="app")      # own run, which would loop if its view and the part's disagree)
        drawn_once.append(True)

    part()
