"""Tables as a person reads them: an empty value is a blank cell, JSON is shown as JSON.

Streamlit's grid writes "None" in every missing cell, whatever its type or format, so for display
(never for downloads, which keep exact values) a column with missing values becomes text: numbers
with up to 10 significant digits, blanks where nothing was recorded. A column with nothing in it at
all is left out. Lists and dicts (JSON fields) are written as JSON, not as Python's repr. A column
mixing text and numbers (attributes, settings) is shown as text: Arrow needs one type per column.
"""
from __future__ import annotations

import json

import pandas as pd


def _cell(value) -> str:
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):   # NaN, NA, NaT
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, allow_nan=True)
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def display_frame(frame: pd.DataFrame, keep: tuple[str, ...] = ("open",)) -> pd.DataFrame:
    """A copy for ``st.dataframe``: blanks for missing values, JSON as JSON, empty columns left out
    (except ``keep``)."""
    missing = frame.isna()            # one pass over the frame: a study may have 600 parameter columns
    any_missing, all_missing = missing.any(), missing.all()
    out = {}
    for position, (column, values) in enumerate(frame.items()):
        if all_missing.iloc[position] and len(values) and column not in keep:
            continue
        convert = bool(any_missing.iloc[position])
        if not convert and values.dtype == object:
            kinds = values.map(lambda v: type(v).__name__)
            # JSON cells, or text mixed with numbers (Arrow needs one type per column): as text
            convert = bool(kinds.isin(("list", "dict")).any()) or kinds.nunique() > 1
        out[column] = values.map(_cell) if convert else values
    return pd.DataFrame(out, index=frame.index)


def formats_that_apply(config: dict, shown: pd.DataFrame) -> dict:
    """``st.column_config`` entries for a ``display_frame``: a number or progress format on a column
    shown as text (it had blanks) would not apply, so that column keeps its label as plain text."""
    kept = {}
    for name, column in config.items():
        kind = (column or {}).get("type_config", {}).get("type") if isinstance(column, dict) else None
        if name in shown and kind in ("number", "progress") and not pd.api.types.is_numeric_dtype(shown[name]):
            column = {"label": column.get("label"), "type_config": {"type": "text"}}
        kept[name] = column
    return kept
