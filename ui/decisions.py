"""Decisions on a front, in the dashboard: the ranking controls of the Pareto explorer (method and its
settings, kept in the URL), the form that records the chosen design, and a study's decision history.

Recording is the one write the dashboard makes: the user asks for it with a button, and it goes
through the store's validated write API (``record_decision``) on a connection opened for that call.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st

from analysis import decisions
from storage.engine import default_database_path
from storage.errors import HiveError
from ui import urlstate
from ui.connection import SIGNED_IN_ROLE, configured_url, dashboard_project, sign_in_required
from ui.tables import display_frame
from ui.text import plain, show_error

METHOD_LABELS = {**decisions.METHODS, "manual": "Chosen by hand"}
RECORDED = "hive_decision_recorded"   # session key: the message of a decision just recorded
SHORT_NAMES = {"knee": "knee point", "pseudo_weights": "pseudo-weights", "asf": "ASF", "topsis": "TOPSIS",
               "manual": "chosen by hand"}   # in sentences and legends


@dataclass
class RankingChoice:
    method: str
    top: int
    weights: list[float] | None = None
    reference: list[float] | None = None
    settings: dict = field(default_factory=dict)   # what a decision records about how it was ranked


def _numbers(name: str, count: int) -> list[float] | None:
    values = urlstate.get_list(name)
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        return None
    return numbers if len(numbers) == count and all(math.isfinite(v) for v in numbers) else None


def ranking_controls(names: list[str], directions: list[str], front: pd.DataFrame) -> RankingChoice:
    """Method, how many top designs, and the method's settings: weights (pseudo-weights, TOPSIS) or a
    reference point (ASF, defaulting to the front's best value of each objective)."""
    methods = list(decisions.METHODS)
    with st.container(horizontal=True):
        method = st.selectbox("Rank the front by", methods, format_func=decisions.METHODS.get, key="prank",
                              index=urlstate.choose(methods, urlstate.get("rank", "knee")))
        top = st.number_input("Top designs", min_value=1, max_value=20, step=1, key="ptop",
                              value=min(max(urlstate.get_int("top", 5) or 5, 1), 20))
    urlstate.put("rank", method if method != "knee" else None)
    urlstate.put("top", top if top != 5 else None)
    choice = RankingChoice(method, int(top))
    if method in ("pseudo_weights", "topsis"):
        given = _numbers("w", len(names)) or [1.0] * len(names)
        with st.container(horizontal=True):
            weights = [st.number_input(f"Weight of {name}", min_value=0.0, value=value, step=0.1, format="%.3g",
                                       key=f"pw_{i}") for i, (name, value) in enumerate(zip(names, given))]
        urlstate.put("w", [f"{w:g}" for w in weights] if weights != [1.0] * len(names) else None)
        choice.weights = weights
        choice.settings = {"weights": dict(zip(names, weights))}
    elif method == "asf":
        values = front[names].to_numpy(float)
        ideal = [float(np.nanmax(values[:, j]) if d == "maximize" else np.nanmin(values[:, j])) if len(values) else 0.0
                 for j, d in enumerate(directions)]
        given = _numbers("ref", len(names)) or ideal
        with st.container(horizontal=True):
            reference = [st.number_input(f"{name}: aim for", value=value, format="%.6g", key=f"pref_{i}",
                                         help=f"{'At least' if d == 'maximize' else 'At most'} this {name}, ideally; "
                                              "the ranking prefers designs closest to (or beyond) the aim in the "
                                              "objective that misses it most, each objective scaled by the front's range")
                         for i, (name, d, value) in enumerate(zip(names, directions, given))]
        urlstate.put("ref", [f"{v:.10g}" for v in reference] if reference != ideal else None)
        choice.reference = reference
        choice.settings = {"reference_point": dict(zip(names, reference))}
    return choice


def rank_front(front: pd.DataFrame, names: list[str], directions: list[str], choice: RankingChoice
               ) -> pd.DataFrame | None:
    """The front's designs best first with ``rank`` and ``score`` (None, with a warning, when the
    settings cannot rank: weights all zero, say)."""
    try:
        ranking = decisions.rank(choice.method, front[names].to_numpy(float), directions, weights=choice.weights,
                                 reference=choice.reference)
    except ValueError as error:
        st.warning(plain(f"Cannot rank: {error}"))
        return None
    ranked = front.iloc[ranking.order].copy()
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    ranked.insert(1, "score", ranking.scores[ranking.order])
    return ranked


def score_words(method: str) -> str:
    return {"knee": "score: distance towards the ideal point from the line through the extremes (higher is better)",
            "pseudo_weights": "score: L1 distance of a design's pseudo-weights from the weights (lower is better)",
            "asf": "score: achievement scalarizing function against the aim (lower is better)",
            "topsis": "score: TOPSIS closeness to the ideal solution, 0 to 1 (higher is better)"}[method]


def record_form(study_id: str, options: list[tuple[str, str, str, dict]]) -> None:
    """``options``: (run_id, label, method, settings) of the designs one may record, best first."""
    if not options:
        return
    signed_in = sign_in_required()
    if signed_in and st.session_state.get(SIGNED_IN_ROLE) != "editor":
        st.caption("Recording a decision needs the editor role on this project "
                   "(hive-cli projects grant --role editor); you are a viewer.")
        return
    labels = {run_id: label for run_id, label, _, _ in options}
    how = {run_id: (method, settings) for run_id, _, method, settings in options}
    recorded = st.session_state.pop(RECORDED, None)
    if recorded:
        st.success(plain(recorded))
    with st.form("record_decision", border=True, clear_on_submit=True):
        st.markdown("**Record this decision**")
        run_id = st.selectbox("Design", list(labels), format_func=labels.get, key="decide_run")
        rationale = st.text_area("Why this design", key="decide_rationale", max_chars=5_000,
                                 placeholder="e.g. cheapest design under 40 t CO2 per year")
        decided_by = st.text_input("Decided by", key="decide_by", max_chars=200,
                                   value=(st.user.get("email") or "") if signed_in else "")
        submitted = st.form_submit_button("Record this decision", type="primary")
    if submitted:
        method, settings = how[run_id]
        record = {"study_id": study_id, "run_id": run_id, "method": method, "settings": settings or None,
                  "rationale": rationale.strip() or None, "decided_by": decided_by.strip() or None}
        try:
            decision_id = write_decision(record)
        except HiveError as error:
            show_error(error, "The decision was not recorded: ")
        else:
            # Run the page again, so the chart and the history show the decision; the message survives it.
            st.session_state[RECORDED] = f"Recorded decision {decision_id}: {run_id} ({SHORT_NAMES[method]})."
            st.rerun()


def write_decision(record: dict) -> int:
    """The dashboard's one write: through the store's API, on a connection opened for it."""
    from storage import DatabaseMetadataService

    with DatabaseMetadataService(configured_url() or str(default_database_path()), project_id=dashboard_project()) as store:
        try:
            return store.record_decision(record)
        except HiveError:
            raise
        except Exception as error:  # e.g. a role that may only read: said, not a traceback
            raise HiveError(f"{type(error).__name__}: {str(error).splitlines()[0]} (a dashboard connected with a "
                            "read-only role cannot record decisions)") from None


def latest_decision(history: pd.DataFrame) -> str:
    """The latest decision in words (``history``: ``queries.get_decisions``, the latest first)."""
    latest = history.iloc[0]
    who, why = (latest[k] if isinstance(latest[k], str) and latest[k] else None for k in ("decided_by", "rationale"))
    return (f"Latest decision: {latest['run_id']} (by {SHORT_NAMES.get(latest['method'], latest['method'])})"
            + (f" by {who}" if who else "") + f", {latest['decided_at']} UTC" + (f": {why}" if why else ""))


def decision_history(history: pd.DataFrame, names: list[str], with_latest: bool = True) -> None:
    """The latest decision in words and every decision, the latest first (``queries.get_decisions`` spread)."""
    if with_latest:
        st.text(latest_decision(history))
    shown = ["decided_at", "run_id", "method", "decided_by", "rationale", *[n for n in names if n in history],
             "settings", "evaluation_number", "generation_number"]
    st.dataframe(display_frame(history[[c for c in shown if c in history.columns]]), hide_index=True, width="stretch",
                 key="decisions_table")
