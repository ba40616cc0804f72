"""Streamlit plumbing shared by the pages: the database connection, URL state, downloads and
safe text. Pages stay thin: read a DataFrame, call a chart builder, lay out widgets."""
