"""An experiment read and analysed: what the Experiments page, ``hive-cli query experiment`` and the
report show, computed once here (like ``storage.studies.monte_carlo`` for Monte Carlo studies).

The studies of one experiment are grouped by one of their labels (``by``, e.g. ``algorithm``); the
numbers come from ``analysis.experiments`` (see its docstring for every definition). Which studies
take part, and why others do not, is said in ``left_out``:
- the experiment's objective space is that of most of its studies (names and directions, in order);
  a study of another space is left out, as is one without the ``by`` label or without a successful
  run with finite objectives;
- multi-objective: every study's final hypervolume is measured on one reference point, the one all
  of them declare, else the worst value per objective over all their successful runs (stated in
  ``reference_text``); single objective: the best fitness, better by the objective's direction.

Every study's runs are read once (``queries.study_objectives``), so an experiment of very large
studies takes as long as reading them.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import experiments as stats
from analysis import pareto
from analysis.comparison import CommonReference, ObjectiveSpace, common_reference_point, generational_points, why_left_out

from . import queries
from ..errors import ValidationError
from .exports import objective_names
from ..reader import Reader

PREFERRED_GROUPING = ("algorithm", "optimizer", "sampler", "method")


@dataclass
class ExperimentAnalysis:
    experiment: str
    by: str                              # the label the studies are grouped by
    label_names: list[str]               # every label the experiment's studies carry
    space: ObjectiveSpace
    measure: str                         # "hypervolume" or "best_fitness"
    measure_title: str                   # what the measure is, in words, for tables and axes
    larger_is_better: bool
    reference: CommonReference | None    # multi-objective: the common reference point
    reference_text: str | None
    studies: pd.DataFrame                # one row per study that takes part
    groups: pd.DataFrame                 # analysis.experiments.group_summary
    pairs: pd.DataFrame                  # analysis.experiments.pairwise_comparisons
    convergence: pd.DataFrame            # analysis.experiments.median_curves
    convergence_title: str
    surfaces_min: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # group -> level -> points (min form)
    sets_min: dict[str, list[np.ndarray]] = field(default_factory=dict)           # group -> each run's set (min form)
    left_out: dict[str, str] = field(default_factory=dict)                    # study id -> why not compared

    @property
    def group_names(self) -> list[str]:
        return self.groups["group"].tolist()

    def surface(self, group: str, level: str) -> np.ndarray:
        """One attainment surface's points in the objectives' own units."""
        return self.space.to_units(self.surfaces_min[group][level]).reshape(-1, 2)

    def difference_min(self, group_a: str, group_b: str) -> pd.DataFrame:
        """``analysis.experiments.attainment_difference`` of two groups, in minimization form (for charts)."""
        for group in (group_a, group_b):
            if group not in self.sets_min:
                raise ValidationError(f"group={group!r}: not a group of {self.by} with attainment sets "
                                      f"(groups: {', '.join(self.sets_min)})")
        try:
            return stats.attainment_difference(self.sets_min[group_a], self.sets_min[group_b])
        except ValueError as error:
            raise ValidationError(f"attainment difference of {group_a!r} and {group_b!r}: {error}") from None

    def attainment_difference(self, group_a: str, group_b: str) -> pd.DataFrame:
        """The same rectangles in the objectives' own units (a maximized objective's corners negated back,
        ``x0 <= x1`` and ``y0 <= y1`` kept)."""
        frame = self.difference_min(group_a, group_b)
        for axis, direction in zip(("x", "y"), self.space.directions):
            if direction == "maximize":
                frame[[f"{axis}0", f"{axis}1"]] = -frame[[f"{axis}1", f"{axis}0"]].to_numpy()
        return frame


def _group_name(value) -> str:
    return value if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)


def _sort_key(value):
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def grouping(frame: pd.DataFrame, by: str | None, experiment: str) -> tuple[str, list[str]]:
    """The label to group by (``by``, checked, or the default: see ``experiment_analysis``) and every label
    the studies of ``frame`` (``queries.experiment_studies``) carry."""
    names = list(dict.fromkeys(name for labels in frame["labels"] for name in labels))
    if by is not None:
        if by not in names:
            have = f"its labels: {', '.join(names)}" if names else "its studies have no labels"
            raise ValidationError(f"by={by!r}: no study of experiment {experiment!r} has this label ({have})")
        return by, names
    if not names:
        raise ValidationError(f"experiment {experiment!r}: its studies have no labels to group them by; give each "
                              'study labels when creating it, e.g. labels={"algorithm": "NSGA-II", "seed": 1}')
    varying = [n for n in names if len({str(labels.get(n)) for labels in frame["labels"]}) > 1]
    preferred = [n for n in PREFERRED_GROUPING if n in names]
    return (preferred or [n for n in varying if n != "seed"] or varying or names)[0], names


def experiment_analysis(reader: Reader, experiment: str, by: str | None = None) -> ExperimentAnalysis:
    """Read experiment ``experiment``'s studies and compare them grouped by label ``by`` (default:
    ``algorithm`` when the studies have it, else the first label whose values differ)."""
    frame = queries.experiment_studies(reader, experiment)
    by, label_names = grouping(frame, by, experiment)
    studies = {row["study_id"]: row for row in frame.to_dict("records")}
    spaces = {sid: ObjectiveSpace.of(objective_names(s), s["objective_directions"]) for sid, s in studies.items()}
    counts = Counter(spaces.values())
    space = max(counts, key=lambda s: (counts[s], -list(spaces.values()).index(s)))
    left_out: dict[str, str] = {}
    for sid, s in studies.items():
        if spaces[sid] != space:
            left_out[sid] = f"its objectives {spaces[sid].label} are not the experiment's {space.label}"
        elif by not in s["labels"]:
            left_out[sid] = f"it has no label {by!r}"

    m = len(space.names)
    points: dict[str, np.ndarray] = {}
    generations: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    histories: dict[str, pd.DataFrame] = {}
    for sid, s in studies.items():
        if sid in left_out:
            continue
        if m >= 2:
            objectives = queries.study_objectives(reader, sid)
            valid = objectives["valid"].to_numpy(bool) if len(objectives) else np.zeros(0, bool)
            study_points = objectives.loc[valid, [f"min_{i}" for i in range(m)]].to_numpy(float)
            if not len(study_points):
                left_out[sid] = why_left_out(s["study_type"], int(s["run_count"] or 0))
                continue
            points[sid] = study_points
            generations[sid] = generational_points(objectives, m)
        else:
            if s["best_fitness"] is None or not np.isfinite(s["best_fitness"]):
                left_out[sid] = why_left_out(s["study_type"], int(s["run_count"] or 0))
                continue
            histories[sid] = queries.get_convergence_history(reader, sid)

    included = [sid for sid in studies if sid not in left_out]
    values_by_sort = {sid: studies[sid]["labels"][by] for sid in included}
    ordered = sorted(dict.fromkeys(values_by_sort.values()), key=_sort_key)
    group_of = {sid: _group_name(values_by_sort[sid]) for sid in sorted(included, key=lambda s: (
        ordered.index(values_by_sort[s]), s))}

    reference = reference_text = None
    hypervolumes: dict[str, float] = {}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if m >= 2 and points:
        reference = common_reference_point(space, points, {sid: studies[sid]["reference_point"] for sid in points})
        hypervolumes = stats.final_hypervolumes(points, reference.point_min)
        source = ("declared alike by every study" if reference.declared else
                  f"the worst value per objective over the successful runs of the experiment's {len(points)} studies "
                  "(they declare no common reference point)")
        reference_text = f"{reference.point_text}: {source}."
        for sid, (gen_points, gens) in generations.items():
            if len(gen_points):
                curves[sid] = pareto.hypervolume_by_generation(gen_points, gens, reference.point_min)
        measure, title, larger = "hypervolume", "Final hypervolume", True
        convergence_title = "Hypervolume of the front so far"
    else:
        measure, larger = "best_fitness", space.directions[0] == "maximize"
        title = f"Best {space.fitness.label}"
        convergence_title = f"Best {space.fitness.label} so far"
        for sid, history in histories.items():
            known = history[history["best_so_far"].notna()]
            if len(known):
                curves[sid] = (known["generation_number"].to_numpy(float), known["best_so_far"].to_numpy(float))

    rows = []
    for sid in group_of:
        s = studies[sid]
        rows.append({"study_id": sid, "group": group_of[sid], **{f"label:{n}": s["labels"].get(n) for n in label_names},
                     "status": s["status"], "runs": int(s["run_count"] or 0), "best_fitness": s["best_fitness"],
                     **({"hypervolume": hypervolumes.get(sid)} if m >= 2 else {})})
    table = pd.DataFrame(rows)
    values = hypervolumes if m >= 2 else {sid: studies[sid]["best_fitness"] for sid in group_of}
    by_group = stats.group_values(values, group_of)

    analysis = ExperimentAnalysis(
        experiment=experiment, by=by, label_names=label_names, space=space, measure=measure, measure_title=title,
        larger_is_better=larger, reference=reference, reference_text=reference_text, studies=table,
        groups=stats.group_summary(by_group), pairs=stats.pairwise_comparisons(by_group, larger),
        convergence=stats.median_curves(curves, group_of), convergence_title=convergence_title, left_out=left_out)
    if m == 2:
        for group in analysis.group_names:
            sets = [stats.non_dominated(points[sid]) for sid, g in group_of.items() if g == group]
            analysis.sets_min[group] = sets
            analysis.surfaces_min[group] = stats.attainment_surfaces(sets)
    return analysis
