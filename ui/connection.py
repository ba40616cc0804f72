"""Which database the dashboard reads, and one read-only Reader per database for the process.

The URL comes from ``.streamlit/secrets.toml`` (``[connections.studies] url = ...``), else
``$HIVE_DB_URL``, else the embedded default file. A database that cannot be read shows one clear
message with the fix, never a traceback.
"""
from __future__ import annotations

import os

import streamlit as st

from storage.engine import default_database_path, display_url, resolve_url
from storage.errors import HiveError
from storage.reader import Reader


def configured_url() -> str | None:
    try:
        url = st.secrets.get("connections", {}).get("studies", {}).get("url")
    except (FileNotFoundError, KeyError, AttributeError, Exception):  # no secrets file is the normal case
        url = None
    return url or os.environ.get("HIVE_DB_URL") or None


def using_embedded_default() -> bool:
    return configured_url() is None


@st.cache_resource(show_spinner=False)
def _reader_for(url: str) -> Reader:
    return Reader(url)


def reader() -> Reader:
    """The Reader for this dashboard, or stop the page with a readable message."""
    url = configured_url() or str(default_database_path())
    try:
        return _reader_for(url)
    except HiveError as error:
        st.error(f"Cannot read the results database: {error}")
        st.stop()


def database_label() -> str:
    return display_url(resolve_url(configured_url() or str(default_database_path())))


def show_error(error: HiveError) -> None:
    st.error(str(error))
