"""Plotly figure builders shared by the dashboard pages and hive-cli: DataFrame in, Figure out.

No SQL and no Streamlit here; every builder is a pure function of the frames ``storage.studies.queries``
returns, so a page and a CLI command draw exactly the same chart.
"""
