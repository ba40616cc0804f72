"""The Experiments page's analysis, cached where the page and the server's warm-up both reach it.

The analysis of an experiment (every study's measure, the tests, the attainment surfaces) takes
0.4-0.6 s; the warm-up computes the one the page opens on while the user reads the first page.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from storage.studies import queries
from storage.studies.experiments import ExperimentAnalysis, experiment_analysis, grouping


def default_grouping(members: pd.DataFrame, experiment: str) -> tuple[str | None, list[str]]:
    """The label the page groups by without a link, and every label it offers (none: no labels)."""
    return grouping(members, None, experiment) if any(members["labels"]) else (None, [])


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
    by, _ = default_grouping(members, name)
    if by is not None:
        analysed(reader, repr(reader.url), name, by, version_of(members))
