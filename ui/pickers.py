"""Study pickers: the study a user looks at travels from page to page, and each page opens on
something worth seeing.

Which study a page shows, in order:
1. the one its URL names (a pasted link, a link from another page); an id the database does not hold
   is said so, with the choice of studies, and never replaced by another study silently;
2. the one the user was looking at on the previous page (kept in the session, because Streamlit's
   page navigation does not carry the URL's parameters), when it fits this page;
3. the most recently updated study that fits the page (``NEEDS``), with one line saying why.
"""
from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from analysis.comparison import ObjectiveSpace
from storage.studies import queries
from storage.errors import HiveError
from storage.reader import Reader
from ui import urlstate
from ui.text import plain, show_error

NO_STUDIES = "No studies yet. Log one from an optimizer, or run `hive-cli demo` to fill this database."
CURRENT = "hive_current_study"  # session key: the study the user looked at last


def _objectives(row) -> list[str]:
    directions = row.get("objective_directions") or ["minimize"]
    text = row.get("optimization_objective")
    names = [n.strip() for n in text.split(",") if n.strip()] if isinstance(text, str) else []
    return names if len(names) == len(directions) else [f"objective_{i + 1}" for i in range(len(directions))]


def objective_space(row) -> ObjectiveSpace:
    return ObjectiveSpace.of(_objectives(row), row.get("objective_directions") or ["minimize"])


def is_multi_objective(row) -> bool:
    return len(row.get("objective_directions") or ["minimize"]) >= 2


# What each page needs of a study, and how the page says why it chose one.
NEEDS: dict[str, tuple[Callable, str, str]] = {
    # need: (fits(row), "the most recently updated ...", "... does not fit because")
    "runs": (lambda r: (r["run_count"] or 0) > 0, "study with runs", "has no runs yet"),
    "fronts": (lambda r: is_multi_objective(r) and (r["run_count"] or 0) > 0,
               "multi-objective study (a Pareto front needs two or more objectives)", "has a single objective"),
    "analyses": (lambda r: bool(r["has_analyses"]),
                 "study with uncertainty or sensitivity results", "has no uncertainty or sensitivity results"),
    "progress": (lambda r: bool(r["has_progress"]),
                 "study with generations or solver progress", "has no generations or solver progress"),
}


def study_catalog(db: Reader) -> pd.DataFrame:
    return queries.study_choices(db)


def _label(catalog: pd.DataFrame):
    names = dict(zip(catalog["study_id"], catalog["study_name"]))
    kinds = dict(zip(catalog["study_id"], catalog["study_type"]))

    def label(study_id: str) -> str:
        name = names.get(study_id)
        suffix = f" ({name})" if isinstance(name, str) and name and name != study_id else ""
        return f"{study_id}{suffix} [{kinds.get(study_id, '?')}]"

    return label


def design_link(study_id: str, run_id: str) -> str:
    """The relative URL of one design's page (for link columns and shared links)."""
    return "design?" + urlencode({"study": study_id, "run": run_id})


def design_links(frame: pd.DataFrame, study_id: str) -> pd.DataFrame:
    """``frame`` (one row per run) with an ``open`` column of links to each run's design page first."""
    out = frame.copy()
    out.insert(0, "open", [design_link(study_id, r) for r in out["run_id"]])
    return out


OPEN_COLUMN = {"open": st.column_config.LinkColumn("open", display_text="open", help="Open this design")}


def remember(study_id: str | None) -> None:
    """The study the user is looking at now: the next page opens on it when it fits."""
    if study_id:
        st.session_state[CURRENT] = study_id


def _default(catalog: pd.DataFrame, need: str, carried: str | None) -> tuple[str, str]:
    """The study to open on without a choice in the URL (``carried``: the one the user looked at),
    and the line that says why."""
    fits, what, why_not = NEEDS[need]
    rows = {row["study_id"]: row for row in catalog.to_dict("records")}
    if carried in rows and fits(rows[carried]):
        return carried, ""
    fitting = [sid for sid, row in rows.items() if fits(row)]
    chosen = fitting[0] if fitting else next(iter(rows))
    if not fitting:
        return chosen, ""  # the page itself says what this study lacks
    after = f"; {carried}, the study you were looking at, {why_not}" if carried in rows else ""
    return chosen, f"Showing {chosen}, the most recently updated {what}{after}."


def pick_study(db: Reader, param: str = "study", *, need: str = "runs", label: str = "Study") -> str | None:
    """One study for a page that needs ``need`` (see NEEDS). None when the database holds none."""
    catalog = study_catalog(db)
    options = catalog["study_id"].tolist()
    if not options:
        return None
    from_url = urlstate.get(param)
    if from_url is not None and from_url not in options:
        st.warning(plain(f"There is no study {from_url!r} in this database. Choose one:"))
        chosen = st.selectbox(label, options, index=None, placeholder="Choose a study",
                              format_func=_label(catalog), key=f"pick_{param}_unknown")
        if chosen is None:
            st.stop()
        urlstate.put(param, chosen)
        remember(chosen)
        return chosen
    wanted, why = (from_url, "") if from_url is not None else _default(catalog, need, st.session_state.get(CURRENT))
    key = f"pick_{param}"
    urlstate.adopt(param, key)
    chosen = st.selectbox(label, options, index=options.index(wanted), format_func=_label(catalog), key=key)
    urlstate.put(param, chosen)
    remember(chosen)
    if why and chosen == wanted:
        st.caption(plain(why))
    return chosen


def picked_study(db: Reader, *, need: str = "runs") -> dict:
    """The chosen study's record; the page stops with what to do when there is no study or no reading it."""
    study_id = pick_study(db, need=need)
    if study_id is None:
        st.info(NO_STUDIES)
        st.stop()
    try:
        return queries.get_study(db, study_id)
    except HiveError as error:
        show_error(error)
        st.stop()


def default_group(catalog: pd.DataFrame, need: str, max_count: int, comparable: bool,
                  carried: str | None) -> tuple[list[str], str]:
    """Without a choice in the URL: the study the user looked at (``carried``, when it fits) or the
    most recent fitting one, and for a comparison the most recent others of its objective space."""
    first, why = _default(catalog, need, carried)
    if not comparable:
        return [first], why
    fits = NEEDS[need][0]
    rows = [row for row in catalog.to_dict("records") if fits(row)]
    spaces = {row["study_id"]: objective_space(row) for row in rows}
    if first in spaces and sum(s == spaces[first] for s in spaces.values()) < 2:
        # its space has no second study: the most recently updated space that has two or more
        counts = pd.Series([str(s) for s in spaces.values()]).value_counts()
        first = next((sid for sid, s in spaces.items() if counts[str(s)] >= 2), first)
    group = [first] + [sid for sid, s in spaces.items() if sid != first and s == spaces.get(first)][: max_count - 1]
    if len(group) < 2:
        return group, why
    space = spaces[first].label
    return group, f"Showing the {len(group)} most recently updated studies of one objective space ({space})."


def pick_studies(db: Reader, param: str = "studies", *, max_count: int = 5, need: str = "runs",
                 comparable: bool = False) -> list[str]:
    """Up to ``max_count`` studies. ``comparable``: by default, studies of one objective space."""
    catalog = study_catalog(db)
    options = catalog["study_id"].tolist()
    from_url = urlstate.get_list(param)
    unknown = [s for s in from_url if s not in options]
    if unknown:
        st.warning(plain(f"There is no study {', '.join(repr(s) for s in unknown)} in this database; "
                         "choose the studies to show:"))
    wanted = [s for s in from_url if s in options][:max_count]
    why = ""
    if not from_url and options:
        wanted, why = default_group(catalog, need, max_count, comparable, st.session_state.get(CURRENT))
    key = f"pick_{param}"
    urlstate.adopt(param, key)
    chosen = st.multiselect(f"Studies (up to {max_count})", options, default=wanted, max_selections=max_count,
                            format_func=_label(catalog), key=key)
    urlstate.put(param, chosen)
    if chosen:
        remember(chosen[0])
    if why and chosen == wanted:
        st.caption(plain(why))
    return chosen
