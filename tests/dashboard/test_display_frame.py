"""ui.tables.display_frame: what a table cell shows, checked against the values written by hand."""
from __future__ import annotations

import math

import pandas as pd
import pyarrow as pa

from ui.tables import display_frame


def test_blanks_json_and_digits():
    frame = pd.DataFrame({"cost": [1.0 / 3.0, None], "x": [[1, 2], {"a": "é"}], "empty": [None, None],
                          "n": [1, 2]})
    shown = display_frame(frame)
    assert list(shown.columns) == ["cost", "x", "n"]          # the empty column is left out
    assert shown["cost"].tolist() == ["0.3333333333", ""]      # 10 significant digits, blank for missing
    assert shown["x"].tolist() == ['[1, 2]', '{"a": "é"}']   # JSON, not Python's repr
    assert shown["n"].tolist() == [1, 2]                       # a complete numeric column stays numeric


def test_a_column_mixing_text_and_numbers_is_text_arrow_accepts():
    # An Optuna trial's attributes: a datetime string beside numbers (Arrow refused this column).
    frame = pd.DataFrame({"name": ["datetime_start", "lr", "layers"],
                          "value": ["2026-11-29T02:32:37+00:00", 0.001, 3]}).astype({"value": object})
    shown = display_frame(frame)
    assert shown["value"].tolist() == ["2026-11-29T02:32:37+00:00", "0.001", "3"]
    assert pa.types.is_string(pa.Table.from_pandas(shown).column("value").type) or pa.types.is_large_string(
        pa.Table.from_pandas(shown).column("value").type)
    assert math.isclose(float(shown["value"][1]), 0.001)


def test_number_formats_give_way_on_columns_shown_as_text():
    import streamlit as st

    from ui.tables import formats_that_apply

    frame = pd.DataFrame({"time": [1.25, None], "best": [3.0, 4.0], "name": ["a", "b"]})
    shown = display_frame(frame)
    config = formats_that_apply({"time": st.column_config.NumberColumn("time (s)", format="%.1f"),
                                 "best": st.column_config.NumberColumn(format="%.6g"),
                                 "name": st.column_config.TextColumn("name")}, shown)
    assert shown["time"].tolist() == ["1.25", ""]                        # blanks made the column text
    assert config["time"] == {"label": "time (s)", "type_config": {"type": "text"}}   # else the grid shows "None"
    assert config["best"]["type_config"] == {"type": "number", "min_value": None, "max_value": None,
                                             "format": "%.6g", "step": None}
    assert config["name"]["type_config"]["type"] == "text"
