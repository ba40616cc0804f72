"""Page state in the URL query string, so a pasted link opens the same view.

Widgets read their initial value from ``st.query_params`` and write it back when they change.
Lists are stored comma-separated.
"""
from __future__ import annotations

import streamlit as st


def get(name: str, default: str | None = None) -> str | None:
    value = st.query_params.get(name)
    return value if value not in (None, "") else default


def get_list(name: str) -> list[str]:
    value = st.query_params.get(name)
    return [part for part in value.split(",") if part] if value else []


def get_int(name: str, default: int | None) -> int | None:
    value = st.query_params.get(name)
    try:
        return default if value is None else int(value)
    except ValueError:
        return default


def get_bool(name: str, default: bool = False) -> bool:
    value = st.query_params.get(name)
    return default if value is None else value in ("1", "true", "yes")


def put(name: str, value) -> None:
    """Store a value (None / empty removes it)."""
    if value is None or value == "" or value == [] or value is False:
        if name in st.query_params:
            del st.query_params[name]
        return
    if isinstance(value, (list, tuple)):
        text = ",".join(str(v) for v in value)
    elif value is True:
        text = "1"
    else:
        text = str(value)
    if st.query_params.get(name) != text:
        st.query_params[name] = text


def choose(options: list[str], wanted: str | None) -> int:
    """Index of ``wanted`` in ``options`` (0 when absent)."""
    return options.index(wanted) if wanted in options else 0
