"""Sign-in: with an ``[auth]`` section in ``.streamlit/secrets.toml`` (Streamlit's OpenID Connect
settings), every page needs a signed-in user and shows only the projects granted to them
(``hive-cli projects grant``); without one, the dashboard is the open one-user dashboard it always was.

The gate runs at the top of every full run of ``app.py``, so a revoked grant holds from the next page
the user opens. A signed-out visitor, an ended session, a provider that gives no email and a user
with no project each get a page of their own that shows no data.
"""
from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from storage.engine import DEFAULT_PROJECT
from storage.errors import HiveError
from ui import urlstate
from ui.connection import SIGNED_IN_PROJECT, SIGNED_IN_ROLE, reader_for_project, sign_in_required
from ui.text import show_error


PICKED = "_signed_in_pick"


def _provider() -> str | None:
    """The provider ``st.login`` uses: the one named subsection of ``[auth]`` (``[auth.google]``), or
    None when ``[auth]`` itself holds the provider's settings."""
    named = [name for name, value in st.secrets["auth"].items() if isinstance(value, Mapping)]
    return named[0] if len(named) == 1 else None


def _sign_out_button() -> None:
    st.button("Sign out", on_click=st.logout, key="sign_out")


def require_sign_in() -> None:
    """Without sign-in configured, nothing. With it: stop the run on a page of its own unless a
    signed-in user has a project, and remember the project they picked for the pages."""
    if not sign_in_required():
        return
    if not st.user.is_logged_in:
        st.title("Sign in")
        st.text("This dashboard shows each person the projects granted to them. Sign in to see yours.")
        st.button("Sign in", type="primary", on_click=st.login, args=(_provider(),), key="sign_in")
        st.caption("Signed in before? Your session has ended (or you signed out): sign in again.")
        st.stop()
    email = st.user.get("email")
    if not email:
        st.title("No email address")
        st.text("Your sign-in provider did not tell this dashboard your email address, and projects are granted "
                "by email. Ask the dashboard's administrator to request the 'email' scope from the provider.")
        _sign_out_button()
        st.stop()
    try:
        from storage import members

        granted = members.projects_of(reader_for_project(DEFAULT_PROJECT).engine, email)
    except HiveError as error:
        show_error(error, "Cannot read your projects: ")
        st.stop()
    if not granted:
        st.title("No projects yet")
        st.text(f"{email} has no project on this dashboard. Ask its administrator to grant you one:")
        st.code(f"hive-cli projects grant --project PROJECT --user {email}", language="bash")
        _sign_out_button()
        st.stop()
    roles = {g["project_id"]: g["role"] for g in granted}
    ids = list(roles)
    st.sidebar.caption("Signed in as")
    st.sidebar.text(email)
    if len(ids) > 1:
        # The pick is kept apart from the widget's state: a server's first session runs app.py inside a
        # page script (ui.routing), where the widget's first change can reach a widget of another identity.
        wanted = st.session_state.get(PICKED) or urlstate.get("project")
        project = st.sidebar.selectbox("Project", ids, index=urlstate.choose(ids, wanted), key="signed_in_project",
                                       on_change=lambda: st.session_state.update({PICKED: st.session_state.get(
                                           "signed_in_project")}))
        st.session_state[PICKED] = project
        urlstate.put("project", project)  # in the URL too: a reload or a shared link keeps the pick
    else:
        project = ids[0]
        st.sidebar.text(f"Project: {project}")
    with st.sidebar:
        _sign_out_button()
    st.session_state[SIGNED_IN_PROJECT] = project
    st.session_state[SIGNED_IN_ROLE] = roles[project]
