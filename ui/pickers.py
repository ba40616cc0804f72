"""Study pickers that remember their choice in the URL."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from storage import queries
from storage.errors import HiveError
from storage.reader import Reader
from ui import urlstate
from ui.text import show_error

NO_STUDIES = "No studies yet. Log one from an optimizer, or run `hive-cli demo` to fill this database."


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


def pick_study(db: Reader, param: str = "study", *, only=None, label: str = "Study") -> str | None:
    """One study (``only`` filters the catalog: a callable on its rows). None when there is none."""
    catalog = study_catalog(db)
    if only is not None and not catalog.empty:
        catalog = catalog[catalog.apply(only, axis=1)]
    options = catalog["study_id"].tolist()
    if not options:
        return None
    wanted = urlstate.get(param)
    urlstate.adopt(param, f"pick_{param}", wanted if wanted in options else None)
    chosen = st.selectbox(label, options, index=urlstate.choose(options, wanted),
                          format_func=_label(catalog), key=f"pick_{param}")
    urlstate.put(param, chosen)
    return chosen


def picked_study(db: Reader) -> dict:
    """The chosen study's record; the page stops with what to do when there is no study or no reading it."""
    study_id = pick_study(db)
    if study_id is None:
        st.info(NO_STUDIES)
        st.stop()
    try:
        return queries.get_study(db, study_id)
    except HiveError as error:
        show_error(error)
        st.stop()


def pick_studies(db: Reader, param: str = "studies", *, max_count: int = 5, only=None, default_count: int = 2) -> list[str]:
    catalog = study_catalog(db)
    if only is not None and not catalog.empty:
        catalog = catalog[catalog.apply(only, axis=1)]
    options = catalog["study_id"].tolist()
    wanted = [s for s in urlstate.get_list(param) if s in options][:max_count]
    urlstate.adopt(param, f"pick_{param}", wanted or None)
    if not wanted:
        wanted = options[:default_count]
    chosen = st.multiselect(f"Studies (up to {max_count})", options, default=wanted, max_selections=max_count,
                            format_func=_label(catalog), key=f"pick_{param}")
    urlstate.put(param, chosen)
    return chosen


def is_multi_objective(row) -> bool:
    directions = row.get("objective_directions") or ["minimize"]
    return len(directions) >= 2
