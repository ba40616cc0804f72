"""The Experiments page's analysis, cached where the page and the server's warm-up both reach it.

The analysis of an experiment (every study's measure, the tests, the attainment surfaces) takes
0.4-0.6 s; the warm-up computes the one the page opens on while the user reads the first page.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from storage import queries
from storage.experiments import ExperimentAnalysis, experiment_analysis, grouping


def version_of(members: pd.DataFrame) -> tuple:
    """Every study's run count and last update: new runs make a new analysis."""
    return tuple(zip(members["study_id"], members["run_count"], members["updated_at"]))


@st.cache_data(show_spinner=False, max_entries=8)
def analysed(_reader, source: str, name: str, label: str | None, version: tuple) -> ExperimentAnalysis:
    # ``source`` (the database) and ``version`` are the key; the reader itself is not hashed.
    return experiment_analysis(_reader, name, label)


def warm_default(reader) -> None:
    """The analysis the page opens on without a link: the most recently updated experiment, grouped
    by its default label."""
    catalog = queries.list_experiments(reader)
    if catalog.empty:
        return
    name = catalog["experiment"].iloc[0]
    members = queries.experiment_studies(reader, name)
    if not any(members["labels"]):
        return
    by, _ = grouping(members, None, name)
    analysed(reader, repr(reader.url), name, by, version_of(members))
