"""The offline study report: one HTML file with, per study, its summary, convergence, the front with
the recorded decision (or the best designs), the decision history, uncertainty and sensitivity where
they exist, and for several studies their comparison first. See ``reports.html`` for how it opens
with no network.

Large studies are thinned so the file stays small (a 1,000,000-evaluation study well under 5 MB),
and each thinned view says so: the dominated cloud is an even sample, a front beyond
``MAX_FRONT_POINTS`` designs is drawn as an even sample along its first objective (the table lists
the first ``FRONT_TABLE_ROWS`` by it), a convergence history beyond ``MAX_HISTORY_ROWS`` rows keeps
every k-th generation and the last.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from analysis import pareto as pareto_math
from charts.convergence import convergence_figure
from charts.decisions import mark_decision
from charts.pareto import pareto_figure
from charts.sensitivity import sensitivity_heatmap
from storage.studies import exports, queries
from storage.engine import display_url
from storage.reader import Reader

from . import html
from .comparison import comparison

CLOUD_POINTS = 1_500
MAX_FRONT_POINTS = 2_000
FRONT_TABLE_ROWS = 100
MAX_HISTORY_ROWS = 2_000
METHOD_NAMES = {"knee": "knee point", "pseudo_weights": "pseudo-weights", "asf": "achievement scalarizing function",
                "topsis": "TOPSIS", "manual": "chosen by hand"}


@dataclass
class Report:
    html: str
    charts: int
    thinned: list[str]   # what was thinned, in words (also written in the file)


def _evenly(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Every k-th row (and the last) so at most about ``limit`` remain."""
    if len(frame) <= limit:
        return frame
    step = -(-len(frame) // limit)
    keep = np.zeros(len(frame), bool)
    keep[::step] = True
    keep[-1] = True
    return frame[keep]


def study_report(reader: Reader, study_ids: list[str], source: str | None = None) -> Report:
    """The report of ``study_ids`` (one or more, in this order) as HTML text."""
    ids = list(dict.fromkeys(study_ids))
    studies = {sid: queries.get_study(reader, sid) for sid in ids}   # an unknown id refuses before any work
    title = f"Hive report: {', '.join(ids)}"
    document = html.Document(title)
    thinned: list[str] = []
    document.heading(1, title)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    document.paragraph(f"Generated {generated} from {source or display_url(reader.url)}. Opens offline: everything "
                       "it shows is in this file.", "meta")
    anchors = [("comparison", "Comparison")] if len(ids) > 1 else []
    anchors += [(f"study-{i}", f"Study {sid}") for i, sid in enumerate(ids, start=1)]
    document.add("<nav><ul>" + "".join(f'<li><a href="#{a}">{html.text(label)}</a></li>' for a, label in anchors)
                 + "</ul></nav>")
    if len(ids) > 1:
        _comparison_section(document, reader, ids, thinned)
    for index, sid in enumerate(ids, start=1):
        _study_section(document, reader, studies[sid], f"study-{index}", thinned)
    if thinned:
        document.heading(2, "Thinned views")
        document.add("<ul>" + "".join(f"<li>{html.text(line)}</li>" for line in thinned) + "</ul>")
    return Report(document.html(), len(document.figures), thinned)


def _comparison_section(document: html.Document, reader: Reader, ids: list[str], thinned: list[str]) -> None:
    document.heading(2, "Comparison", "comparison")
    result = comparison(reader, ids, MAX_FRONT_POINTS)
    document.add(html.table(result.table))
    for _, figure in result.figures:
        figure.update_layout(showlegend=True)
        document.chart(figure)
    for note in result.notes:
        document.paragraph(note, "note")
        if "even sample" in note:
            thinned.append(note)


def _study_section(document: html.Document, reader: Reader, study: dict, anchor: str, thinned: list[str]) -> None:
    sid = study["study_id"]
    names = exports.objective_names(study)
    directions = study["objective_directions"]
    runs = int(study["run_count"] or 0)
    document.heading(2, f"Study {sid}" + (f": {study['study_name']}" if study.get("study_name") else ""), anchor)
    decisions = queries.get_decisions(reader, sid)
    front = None
    if len(directions) >= 2 and runs:
        front = exports.spread_columns(queries.get_pareto_front(reader, sid), study)
    document.add(html.key_values([
        ("Type", study["study_type"]), ("Status", study["status"]), ("Evaluations (runs)", runs),
        ("Designs on the front", None if front is None else len(front)),
        ("Best fitness", study["best_fitness"]),
        ("Objectives", ", ".join(f"{n} ({d})" for n, d in zip(names, directions))),
        ("Parameters", ", ".join(study["parameter_names"] or []) or None),
        ("Experiment", study.get("experiment")),
        ("Labels", ", ".join(f"{k}={v}" for k, v in (study.get("labels") or {}).items()) or None),
        ("Created", study["created_at"]), ("Completed", study["completed_at"]),
        ("Execution time (s)", study["execution_time_seconds"]),
        ("Latest decision", None if decisions.empty else decisions.iloc[0]["run_id"]),
    ]))
    if study.get("description"):
        document.add(f'<p class="text">{html.text(study["description"])}</p>')

    history = queries.get_convergence_history(reader, sid)
    if history["best_so_far"].notna().any():
        document.heading(3, "Convergence")
        shown = _evenly(history, MAX_HISTORY_ROWS)
        label = f"{names[0]} ({'max' if directions[0] == 'maximize' else 'min'})"
        document.chart(convergence_figure({sid: shown}, value_title=label, title=f"Convergence of {sid}: {label}"))
        if len(shown) < len(history):
            line = f"Convergence of {sid}: every {-(-len(history) // MAX_HISTORY_ROWS)}-th of {len(history):,} rows."
            document.paragraph(line, "note")
            thinned.append(line)

    if front is not None:
        _front_section(document, reader, study, names, front, decisions, thinned)
    elif runs:
        best = exports.spread_columns(queries.get_best_designs(reader, sid, 10), study)
        document.heading(3, "Best designs")
        columns = ["run_id", "evaluation_number", "generation_number", "fitness", *names, "evaluations",
                   *[c for c in best.columns if c.startswith("param:")]]
        document.add(html.table(best[[c for c in dict.fromkeys(columns) if c in best.columns]]))
    _decision_section(document, study, names, decisions)
    _risk_section(document, reader, sid)


def _front_section(document, reader, study, names, front, decisions, thinned) -> None:
    sid = study["study_id"]
    runs = int(study["run_count"] or 0)
    document.heading(3, "Pareto front")
    if front.empty:
        document.paragraph("No successful run with finite objectives yet: no front.", "note")
        return
    points = pareto_math.to_minimization(front[names].to_numpy(float), study["objective_directions"])
    knee = front["run_id"].iloc[pareto_math.knee_point_index(points)]
    drawn = front
    if len(front) > MAX_FRONT_POINTS:
        drawn = _evenly(front.sort_values(names[0]), MAX_FRONT_POINTS)
        if knee not in set(drawn["run_id"]):
            drawn = pd.concat([drawn, front[front["run_id"] == knee]])
    cloud = exports.spread_columns(queries.sample_study_runs(reader, sid, CLOUD_POINTS), study)
    cloud = cloud[~cloud["run_id"].isin(front["run_id"])] if len(cloud) else cloud
    x, y = names[0], names[1]
    figure = pareto_figure(drawn, cloud, x, y, None, knee, title=f"Pareto front of {sid}: {y} against {x}")
    if not decisions.empty and (front["run_id"] == decisions.iloc[0]["run_id"]).any():
        mark_decision(figure, front[front["run_id"] == decisions.iloc[0]["run_id"]], x, y)
    evaluations = int(front["evaluations"].sum()) if "evaluations" in front else len(front)
    caption = [f"Front: {len(front):,} designs" + (f" ({evaluations:,} evaluations)" if evaluations != len(front) else "")
               + f"; knee point {knee}."]
    if len(names) > 2:
        caption.append(f"{len(names)} objectives: drawn against the first two; the table has them all.")
    if len(drawn) < len(front):
        line = f"Front of {sid}: an even sample of {len(drawn):,} of its {len(front):,} designs along {x} is drawn."
        caption.append(line)
        thinned.append(line)
    if runs > CLOUD_POINTS:
        line = f"Dominated designs of {sid}: drawn from an even sample of {CLOUD_POINTS:,} of its {runs:,} evaluations."
        caption.append(line)
        thinned.append(line)
    document.chart(figure, " ".join(caption))
    listed = front.sort_values(names[0]).head(FRONT_TABLE_ROWS)
    columns = ["run_id", "evaluation_number", "generation_number", *names, "evaluations",
               *[c for c in front.columns if c.startswith("param:")]]
    document.add(html.table(listed[[c for c in columns if c in listed.columns]]))
    if len(front) > FRONT_TABLE_ROWS:
        document.paragraph(f"The first {FRONT_TABLE_ROWS} of {len(front):,} designs by {names[0]}.", "note")


def _decision_section(document, study, names, decisions) -> None:
    document.heading(3, "Decision")
    if decisions.empty:
        document.paragraph("No decision recorded yet (the Pareto explorer records one).", "note")
        return
    history = exports.spread_columns(decisions, study)
    latest = history.iloc[0]
    document.add(html.key_values([
        ("Chosen design", latest["run_id"]), ("Method", METHOD_NAMES.get(latest["method"], latest["method"])),
        ("Settings", latest["settings"]), ("Rationale", latest["rationale"]), ("Decided by", latest["decided_by"]),
        ("Decided at (UTC)", latest["decided_at"]),
        *[(name, latest[name]) for name in names if name in history.columns],
        *[(c.removeprefix("param:"), latest[c]) for c in history.columns if c.startswith("param:")],
    ]))
    if len(history) > 1:
        document.paragraph(f"History: {len(history)} decisions, the latest first.", "note")
        columns = ["decided_at", "run_id", "method", "decided_by", "rationale", "settings", *names]
        document.add(html.table(history[[c for c in columns if c in history.columns]]))


def _risk_section(document, reader, sid) -> None:
    uncertainty = queries.get_uncertainty_summary(reader, sid)
    if not uncertainty.empty:
        document.heading(3, "Uncertainty")
        document.add(html.table(uncertainty[["objective_name", "mean_value", "std_dev", "percentile_5", "percentile_50",
                                             "percentile_95", "var_95", "cvar_95", "sample_count", "excluded_count"]]))
    sensitivity = queries.get_sensitivity_rankings(reader, sid, None)
    if not sensitivity.empty:
        document.heading(3, "Sensitivity")
        measure = "Sobol total" if sensitivity["sobol_total"].notna().any() else "Spearman"
        document.chart(sensitivity_heatmap(sensitivity, measure))
        document.add(html.table(sensitivity[["importance_rank", "objective_name", "parameter_name",
                                             "correlation_coefficient", "rank_correlation", "sobol_first_order",
                                             "sobol_total"]]))
