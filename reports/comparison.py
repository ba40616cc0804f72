"""The comparison of several studies as the Compare page draws it, for a report: the side-by-side
table, best so far per fitness objective, fronts and hypervolumes per objective space (the
hypervolumes of a space on one common reference point), and notes naming what is left out and why."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from analysis.comparison import (ObjectiveSpace, best_so_far_curves, compare_hypervolumes, group_by_space,
                                 left_out_line, why_left_out)
from charts.convergence import convergence_figure, hypervolume_comparison_figure
from charts.pareto import fronts_overlay_figure
from charts.style import study_colors
from storage.studies import exports, queries
from storage.reader import Reader


@dataclass
class Comparison:
    table: pd.DataFrame
    figures: list[tuple[str, go.Figure]] = field(default_factory=list)   # (what it draws, figure)
    notes: list[str] = field(default_factory=list)


def comparison(reader: Reader, study_ids: list[str], max_front_points: int = 2000) -> Comparison:
    studies = {sid: queries.get_study(reader, sid) for sid in study_ids}
    spaces = {sid: ObjectiveSpace.of(exports.objective_names(s), s["objective_directions"]) for sid, s in studies.items()}
    table = queries.compare_studies(reader, study_ids)
    table.insert(2, "objective_space", [spaces[sid].label for sid in table["study_id"]])
    result = Comparison(table)
    colors = study_colors(study_ids)
    kinds = {sid: s["study_type"] for sid, s in studies.items()}
    runs = {sid: int(s["run_count"] or 0) for sid, s in studies.items()}
    for fitness, group in group_by_space({sid: spaces[sid].fitness for sid in study_ids}):
        curves, left_out = best_so_far_curves({sid: queries.get_convergence_history(reader, sid) for sid in group},
                                              kinds, runs)
        if curves:
            result.figures.append((f"best {fitness.label} so far", convergence_figure(
                curves, show=("best_so_far",), band=False, colors=colors, value_title=fitness.label,
                title=f"Best {fitness.label} so far")))
        result.notes.append(left_out_line(f"best-so-far chart of {fitness.label}", left_out))
    for space, group in group_by_space({sid: spaces[sid] for sid in study_ids if len(spaces[sid].names) >= 2}):
        fronts = {}
        for sid in group:
            front = exports.spread_columns(queries.get_pareto_front(reader, sid), studies[sid])
            if len(front) > max_front_points:  # an even sample along the first objective
                front = front.sort_values(space.names[0]).iloc[:: -(-len(front) // max_front_points)]
                result.notes.append(f"Front of {sid}: an even sample of {len(front):,} of its designs.")
            if not front.empty:
                fronts[sid] = front
        if fronts:
            result.figures.append((f"fronts of {space.label}", fronts_overlay_figure(
                fronts, space.names[0], space.names[1], colors, title=f"Pareto fronts: {space.label}",
                staircase=len(space.names) == 2)))
        result.notes.append(left_out_line(f"front overlay of {space.label}", {
            sid: why_left_out(kinds[sid], runs[sid]) for sid in group if sid not in fronts}))
        hv = compare_hypervolumes(space, {sid: queries.study_objectives(reader, sid) for sid in group},
                                  {sid: studies[sid]["reference_point"] for sid in group}, kinds, runs)
        if hv.curves:
            result.figures.append((f"hypervolume of {space.label}", hypervolume_comparison_figure(
                hv.curves, space.label, hv.reference.point_text, colors)))
            result.notes.append(f"Hypervolume of {space.label}: {hv.reference.describe()}")
        result.notes.append(left_out_line(f"hypervolume chart of {space.label}", hv.left_out))
    result.notes = [note for note in result.notes if note]
    return result
