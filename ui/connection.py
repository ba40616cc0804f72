"""Which database the dashboard reads, and one read-only Reader per database for the process.

The URL comes from ``.streamlit/secrets.toml`` (``[connections.studies] url = ...``), else
``$HIVE_DB_URL``, else the embedded default file. A database that cannot be read shows one clear
message with the fix, never a traceback.
"""
from __future__ import annotations

import os

import streamlit as st

from storage.engine import DEFAULT_PROJECT, default_database_path, display_url, resolve_url
from storage.errors import HiveError, StorageUnavailableError
from storage.reader import Reader
from ui.text import show_error


def _secret_url() -> str | None:
    try:
        return st.secrets.get("connections", {}).get("studies", {}).get("url")
    except Exception:  # no secrets file is the normal case
        return None


def configured_url() -> str | None:
    return _secret_url() or os.environ.get("HIVE_DB_URL") or None


def using_embedded_default() -> bool:
    return configured_url() is None


@st.cache_resource(show_spinner=False)
def _reader_for(url: str, project_id: str) -> Reader:
    return Reader(url, project_id=project_id)


def reader() -> Reader:
    """The Reader of this dashboard's project, or stop the page with a readable message."""
    return reader_for_project(dashboard_project())


def reader_for_project(project_id: str) -> Reader:
    url = configured_url() or str(default_database_path())
    try:
        return _reader_for(url, project_id)
    except StorageUnavailableError as error:
        source = ("[connections.studies] url in .streamlit/secrets.toml" if _secret_url()
                  else "$HIVE_DB_URL" if os.environ.get("HIVE_DB_URL") else "the embedded default")
        show_error(f"{error}. The database comes from {source} (or set $HIVE_DB_URL): check that its server is "
                   f"running and the URL is right; a new SQLite file can be filled with demo data by "
                   f"hive-cli demo {database_label()}", "Cannot read the results database: ")
        st.stop()
    except HiveError as error:
        show_error(error, "Cannot read the results database: ")
        st.stop()


def database_label() -> str:
    return display_url(resolve_url(configured_url() or str(default_database_path())))


# Set by ui.auth's gate for the run: the signed-in user's chosen project and their role in it.
SIGNED_IN_PROJECT, SIGNED_IN_ROLE = "_signed_in_project", "_signed_in_role"


def sign_in_required() -> bool:
    """``.streamlit/secrets.toml`` has an ``[auth]`` section (ui.auth)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file is the normal case
        return False


def configured_project() -> str | None:
    """The project whose studies the dashboard shows (and the prompt page's only or first choice): the
    signed-in user's pick when sign-in is on; else secrets ``[connections.studies] project`` or
    ``$HIVE_PROJECT``; None for ``default``."""
    if sign_in_required():
        project = st.session_state.get(SIGNED_IN_PROJECT)
        if project is None:  # the gate did not run: show nothing rather than another project
            st.stop()
        return project
    try:
        project = st.secrets.get("connections", {}).get("studies", {}).get("project")
    except Exception:  # no secrets file is the normal case
        project = None
    return project or os.environ.get("HIVE_PROJECT") or None


def dashboard_project() -> str:
    return configured_project() or DEFAULT_PROJECT


@st.cache_resource(show_spinner=False)
def _prompt_store_for(url: str, project_id: str):
    from storage.prompts.store import PromptOptimizationStore

    return PromptOptimizationStore(url, project_id=project_id)


def prompt_store(project_id: str):
    """The prompt-optimization runs of one project (read methods only are used by the pages)."""
    url = configured_url() or str(default_database_path())
    try:
        return _prompt_store_for(url, project_id)
    except HiveError as error:
        show_error(error, "Cannot read the prompt-optimization runs: ")
        st.stop()
