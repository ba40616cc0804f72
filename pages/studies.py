"""Studies: every study with its type, status, progress and results; filters; while studies run,
the counts and the table redraw themselves (ui.live)."""
from datetime import date
from urllib.parse import quote

import pandas as pd
import streamlit as st

from storage.studies import queries
from storage.errors import HiveError
from storage.schema import STUDY_TYPES
from ui import urlstate
from ui.connection import reader
from ui.downloads import csv_button
from ui.live import live_part
from ui.routing import run_inside_app
from ui.tables import display_frame, formats_that_apply
from ui.text import show_error

run_inside_app()

TYPES = list(STUDY_TYPES)
STATUSES = ["pending", "running", "completed", "failed"]
PAGE_SIZE = 500
COLUMNS = ["study_id", "study_name", "experiment", "labels", "study_type", "status", "progress_percent", "run_count",
           "best_fitness", "optimization_objective", "created_at", "completed_at", "execution_time_seconds"]

st.title("Studies")
db = reader()

def _dates(texts: list[str]) -> list[date]:
    try:
        return [date.fromisoformat(t) for t in texts][:2]
    except ValueError:  # a mistyped link: no date filter rather than a crash
        return []


saved_span = _dates(urlstate.get_list("created"))
with st.container(horizontal=True):
    types = st.multiselect("Type", TYPES, default=[t for t in urlstate.get_list("type") if t in TYPES], key="f_type")
    statuses = st.multiselect("Status", STATUSES, default=[s for s in urlstate.get_list("status") if s in STATUSES],
                              key="f_status")
    text = st.text_input("Name or description", value=urlstate.get("q", ""), key="f_text", placeholder="contains...")
    span = st.date_input("Created between", value=tuple(saved_span) if len(saved_span) == 2 else (), key="f_created",
                         width=240)  # wide enough for both dates
    try:
        experiments = queries.list_experiments(db)["experiment"].tolist()
    except HiveError as error:
        show_error(error)
        st.stop()
    choices = [None, *experiments]          # None: any experiment, or none
    experiment = st.selectbox("Experiment", choices, index=urlstate.choose(choices, urlstate.get("experiment")),
                              format_func=lambda e: "any" if e is None else e, key="f_experiment",
                              disabled=not experiments,
                              help="Studies of one problem, several algorithms and seeds (create_study's experiment)")
span = tuple(span) if isinstance(span, (tuple, list)) and len(span) == 2 else ()
urlstate.put("type", types)
urlstate.put("status", statuses)
urlstate.put("q", text)
urlstate.put("created", [d.isoformat() for d in span] if span else None)
urlstate.put("experiment", experiment)


def filters() -> dict:
    return {"study_type": types, "status": statuses, "text": text or None,
            "created_from": span[0] if span else None, "created_to": span[1] if span else None,
            "experiment": experiment}


def load() -> pd.DataFrame:
    """The newest studies matching the filters (a page: the filters narrow a large store)."""
    return queries.list_studies(db, **filters(), limit=PAGE_SIZE)


def running(frame: pd.DataFrame) -> bool:
    return bool((frame["status"] == "running").any())


def show(frame: pd.DataFrame) -> bool:
    """The counts and the table; returns whether any shown study is running."""
    if frame.empty:
        if text or types or statuses or span or experiment:
            st.info("No study matches these filters. Clear a filter to see more.")
        else:
            st.info("No studies yet. Log one from an optimizer (see the README), or fill this database "
                    "with demo data: `hive-cli demo`.")
        return False
    counts = {status: queries.count_studies(db, **{**filters(), "status": [status]}) for status in STATUSES
              if not statuses or status in statuses}
    for column, status in zip(st.columns(4), STATUSES):
        column.metric(status.capitalize(), counts.get(status, 0))
    total = sum(counts.values())
    if total > len(frame):
        st.caption(f"Showing the newest {len(frame):,} of {total:,} studies; filter to narrow the list.")
    view = frame[COLUMNS].copy()
    # labels as text a person reads: algorithm=NSGA-II, seed=3
    view["labels"] = [", ".join(f"{k}={v}" for k, v in labels.items()) if labels else "" for labels in view["labels"]]
    view.insert(0, "open", ["study?study=" + quote(s, safe="") for s in view["study_id"]])
    view["execution_time_seconds"] = pd.to_numeric(view["execution_time_seconds"]).round(1)
    view = display_frame(view, keep=tuple(view.columns))   # blanks, not "None" (a running study's time)
    st.dataframe(
        view, hide_index=True, width="stretch", key="studies_table",
        column_config=formats_that_apply({
            "open": st.column_config.LinkColumn("open", display_text="open"),
            "experiment": st.column_config.TextColumn(width="medium"),
            "labels": st.column_config.TextColumn(width="medium"),
            "progress_percent": st.column_config.ProgressColumn("progress", min_value=0, max_value=100, format="%.0f%%"),
            "best_fitness": st.column_config.NumberColumn("best fitness", format="%.6g"),
            "execution_time_seconds": st.column_config.NumberColumn("time (s)", format="%.1f"),
        }, view),
    )
    csv_button(frame[COLUMNS], "studies", "studies")
    return running(frame)


try:
    studies = load()
except HiveError as error:
    show_error(error)
    st.stop()

live_part(running(studies), lambda: show(load()))
