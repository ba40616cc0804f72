"""Data and export: any study table with filters as CSV, and a read-only SQL box for analysts."""
import functools

import streamlit as st

from storage.studies import exports, queries
from storage.errors import HiveError
from storage.reader import run_user_sql
from ui import urlstate
from ui.connection import reader, sign_in_required
from ui.downloads import csv_button
from ui.pickers import pick_study
from ui.routing import run_inside_app
from ui.tables import display_frame
from ui.text import show_error

run_inside_app()

MAX_ROWS = 10_000
PREVIEW_ROWS = 1_000  # rows of an export table shown; the CSV has them all

st.title("Data & export")
db = reader()

st.subheader("Export a study table")
study_id = pick_study(db)
if study_id is None:
    st.info("No studies yet.")
else:
    tables = list(exports.EXPORT_TABLES)
    table = st.selectbox("Table", tables, index=urlstate.choose(tables, urlstate.get("table")), key="table")
    urlstate.put("table", table)
    generation = None
    status = "any"
    if table == "runs":
        with st.container(horizontal=True):
            generation = st.number_input("Generation", min_value=0, value=None, step=1, placeholder="all", key="xgen")
            status = st.selectbox("Simulation status", ["any", "success", "failed", "infeasible"], key="xsim")
    try:
        if table == "runs" and (generation is not None or status != "any"):
            study = queries.get_study(db, study_id)
            filters = queries.RunFilter(generation=generation, simulation_status=None if status == "any" else status)
            frame = exports.spread_columns(queries.query_study_runs(db, study_id, filters, limit=100_000), study)
            preview, total = frame.head(PREVIEW_ROWS), len(frame)
        else:
            # The whole table is read only for the CSV, when its button is clicked.
            preview, total = exports.study_table_preview(db, study_id, table, PREVIEW_ROWS)
            frame = functools.partial(exports.study_table_frame, db, study_id, table)
        shown = f"; the first {len(preview):,} shown" if total > len(preview) else ""
        st.caption(f"{total:,} row{'s' if total != 1 else ''}{shown}")
        st.dataframe(display_frame(preview), hide_index=True, width="stretch", key="export_preview")
        csv_button(frame, f"{study_id}_{table}", "export")
    except HiveError as error:
        show_error(error)

st.subheader("SQL (read-only)")
if sign_in_required() and db.engine.dialect.name != "postgresql":
    # Hand-written SQL is confined to a project by PostgreSQL's row-level security; a SQLite file has none.
    st.info("The SQL box is off on this dashboard: with sign-in, hand-written SQL is confined to your project by "
            "PostgreSQL's row-level security, and this database is a SQLite file. The tables above export your "
            "project's data.")
    st.stop()
st.caption(f"DuckDB SQL over the study tables (studies, study_runs, convergence_metrics, ...). One SELECT at a time, "
           f"at most {MAX_ROWS:,} rows and {db.timeout_s:g} s; no files, no other databases.")
sql = st.text_area("Query", value=urlstate.get("sql", "SELECT study_type, COUNT(*) AS studies, SUM(run_count) AS runs "
                                         "FROM studies GROUP BY study_type ORDER BY runs DESC"), key="sql", height=120)
if st.button("Run", key="run_sql", type="primary") or urlstate.get("sql"):
    urlstate.put("sql", sql)
    try:
        result, truncated = run_user_sql(db, sql, max_rows=MAX_ROWS)
        if truncated:
            st.warning(f"Showing the first {MAX_ROWS:,} rows.")
        st.dataframe(result, hide_index=True, width="stretch", key="sql_result")
        csv_button(result, "query_result", "sql")
    except HiveError as error:
        show_error(error)
