"""Tables as a person reads them: an empty value is a blank cell, JSON is shown as JSON.

Streamlit's grid writes "None" in every missing cell, whatever its type or format, so for display
(never for downloads, which keep exact values) a column with missing values becomes text: numbers
with up to 10 significant digits, blanks where nothing was recorded. A column with nothing in it at
all is left out. Lists and dicts (JSON fields) are written as JSON, not as Python's repr. A column
mixing text and numbers (attributes, settings) is shown as text: Arrow needs one type per column.
"""
from __future__ import annotations

import json
import math

import pandas as pd


def _cell(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, allow_nan=True)
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def display_frame(frame: pd.DataFrame, keep: tuple[str, ...] = ("open",)) -> pd.DataFrame:
    """A copy for ``st.dataframe``: blanks for missing values, JSON as JSON, empty columns left out
    (except ``keep``)."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        missing = values.isna()
        if missing.all() and len(values) and column not in keep:
            continue
        is_json = values.dtype == object and values.map(lambda v: isinstance(v, (list, dict))).any()
        mixed = values.dtype == object and values[~missing].map(lambda v: type(v).__name__).nunique() > 1
        if missing.any() or is_json or mixed:
            out[column] = values.map(_cell)
        else:
            out[column] = values
    return pd.DataFrame(out, index=frame.index)
