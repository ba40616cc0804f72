"""Page state in the URL query string, so a pasted link opens the same view.

Widgets read their initial value from ``st.query_params`` and write it back when they change.
Lists are stored comma-separated.
"""
from __future__ import annotations

import math

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


def get_float(name: str, default: float | None = None) -> float | None:
    """A finite number (``nan`` and ``inf`` in a link are no value: a number input cannot hold them)."""
    value = st.query_params.get(name)
    try:
        number = None if value is None else float(value)
    except ValueError:
        return default
    return number if number is not None and math.isfinite(number) else default


def get_bool(name: str, default: bool = False) -> bool:
    value = st.query_params.get(name)
    return default if value is None else value in ("1", "true", "yes")


def adopt(name: str, key: str) -> None:
    """Before drawing widget ``key``: when the URL's ``name`` changed since this session last wrote
    it (a pasted link, a link from another page, the browser's back button), forget the value the
    widget remembers, so it starts from the value the page derives from the URL. Streamlit keeps a
    tab's session, and with it widget state, across reloads; without this a new link would show the
    previous choice. (Forgetting rather than setting it: a widget given both a value through
    ``st.session_state`` and an initial value makes Streamlit warn.)"""
    text = st.query_params.get(name)
    if text is not None and text != st.session_state.get(f"_url_{name}"):
        st.session_state.pop(key, None)


def put(name: str, value) -> None:
    """Store a value (None / empty removes it)."""
    if value is None or value == "" or value == [] or value is False:
        st.session_state.pop(f"_url_{name}", None)
        if name in st.query_params:
            del st.query_params[name]
        return
    if isinstance(value, (list, tuple)):
        text = ",".join(str(v) for v in value)
    elif value is True:
        text = "1"
    else:
        text = str(value)
    st.session_state[f"_url_{name}"] = text
    if st.query_params.get(name) != text:
        st.query_params[name] = text


def choose(options: list[str], wanted: str | None) -> int:
    """Index of ``wanted`` in ``options`` (0 when absent)."""
    return options.index(wanted) if wanted in options else 0
