"""The Compare page's reads of each study, cached where the page and the server's warm-up both reach them.

A study's convergence history, fitness sample, front and objectives take 0.1-0.3 s to read; the
warm-up reads those of the studies the page opens on while the user reads the first page.
"""
from __future__ import annotations

import streamlit as st

from analysis.comparison import ObjectiveSpace
from storage.studies import exports, queries
from ui.pickers import default_group, study_catalog


def space_of(study: dict) -> ObjectiveSpace:
    return ObjectiveSpace.of(exports.objective_names(study), study["objective_directions"])


def version_of(reader, study: dict) -> tuple:
    """The database, run count, last update and status: another database or new runs read afresh."""
    return repr(reader.url), study["run_count"], study["updated_at"], study["status"]


@st.cache_data(show_spinner=False, max_entries=32)
def _reads(_reader, study_id: str, version: tuple, multi_objective: bool, _study: dict) -> dict:
    # ``version`` is part of the key; ``_reader`` and ``_study`` (the row already read) are not.
    reads = {"history": queries.get_convergence_history(_reader, study_id),
             "samples": queries.sample_study_fitness(_reader, study_id, 20_000)}
    if multi_objective:
        reads["front"] = exports.spread_columns(queries.get_pareto_front(_reader, study_id), _study)
        reads["objectives"] = queries.study_objectives(_reader, study_id)
    return reads


def study_reads(reader, study: dict) -> dict:
    """History and fitness sample; for a multi-objective study also its front and objectives."""
    return _reads(reader, study["study_id"], version_of(reader, study), len(space_of(study).names) >= 2, study)


def warm_default(reader) -> None:
    """The reads of the studies the page opens on without a link (and without a study looked at)."""
    chosen, _ = default_group(study_catalog(reader), "runs", 5, True, None)
    if len(chosen) >= 2:
        for study_id in chosen:
            study_reads(reader, queries.get_study(reader, study_id))
