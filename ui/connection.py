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


def configured_project() -> str | None:
    """The prompt-optimization project to show: secrets ``[connections.studies] project`` or
    ``$HIVE_PROJECT``. On PostgreSQL row-level security shows nothing without one."""
    try:
        project = st.secrets.get("connections", {}).get("studies", {}).get("project")
    except Exception:  # no secrets file is the normal case
        project = None
    return project or os.environ.get("HIVE_PROJECT") or None


@st.cache_resource(show_spinner=False)
def _prompt_store_for(url: str, project_id: str):
    from storage.prompt_optimization import PromptOptimizationStore

    return PromptOptimizationStore(url, project_id=project_id)


def prompt_store(project_id: str):
    """The prompt-optimization runs of one project (read methods only are used by the pages)."""
    url = configured_url() or str(default_database_path())
    try:
        return _prompt_store_for(url, project_id)
    except HiveError as error:
        st.error(f"Cannot read the prompt-optimization runs: {error}")
        st.stop()
