"""Which chosen studies may share a chart, and their hypervolumes on one common reference point.

Two studies are comparable on fronts and hypervolume only when they share objective names and
directions, in order (their *objective space*); hypervolumes compare only on one common reference
point. A study's fitness is its first objective (the store fills a missing fitness from
``objectives[0]`` and ranks fitness in that objective's direction), so best-so-far curves and
fitness distributions share an axis only when the first objectives agree in name and direction.

Pure: studies come in as names, directions, numbers and the frames ``storage.studies.queries`` returns;
nothing here reads a database or draws.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import pareto
from analysis.directions import MAXIMIZE, validate_direction

_SHORT = {"minimize": "min", "maximize": "max"}


@dataclass(frozen=True)
class ObjectiveSpace:
    """Objective names and directions, in order: what two studies must share to be compared."""

    names: tuple[str, ...]
    directions: tuple[str, ...]

    def __post_init__(self):
        if len(self.names) != len(self.directions) or not self.names:
            raise ValueError(f"{len(self.names)} objective names for {len(self.directions)} directions")
        for position, direction in enumerate(self.directions):
            validate_direction(direction, f"directions[{position}]")

    @classmethod
    def of(cls, names: Sequence[str], directions: Sequence[str]) -> ObjectiveSpace:
        return cls(tuple(names), tuple(directions))

    @property
    def label(self) -> str:
        """``cost (min), co2 (min)``: names with their directions, for titles and tables."""
        return ", ".join(f"{name} ({_SHORT[d]})" for name, d in zip(self.names, self.directions))

    @property
    def slug(self) -> str:
        """``cost_min-co2_min``: the label as a file-name part."""
        text = "-".join(f"{name}_{_SHORT[d]}" for name, d in zip(self.names, self.directions))
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.-")[:80] or "objectives"

    @property
    def fitness(self) -> ObjectiveSpace:
        """The space a study's fitness lives in: its first objective."""
        return ObjectiveSpace(self.names[:1], self.directions[:1])

    def to_units(self, point_min) -> np.ndarray:
        """A point in minimization form back in the objectives' own units (maximized ones negated back)."""
        flip = np.array([d == MAXIMIZE for d in self.directions])
        return np.where(flip, -np.asarray(point_min, dtype=float), np.asarray(point_min, dtype=float))


def group_by_space(spaces: Mapping[str, ObjectiveSpace]) -> list[tuple[ObjectiveSpace, list[str]]]:
    """Study ids grouped by objective space: groups in the order of their first study, ids in the
    order given (``spaces`` maps study id to its space)."""
    groups: dict[ObjectiveSpace, list[str]] = {}
    for study_id, space in spaces.items():
        groups.setdefault(space, []).append(study_id)
    return list(groups.items())


def why_left_out(study_type: str, run_count: int, needs_generations: bool = False) -> str:
    """Why a study has nothing to draw on a chart: one phrase for the caption naming it."""
    if not run_count:
        return "no runs yet"
    if needs_generations and study_type == "monte_carlo":
        return "a Monte Carlo study has no generations"
    if needs_generations and study_type == "milp":
        return "a MILP's progress rows number solver events, not generations"
    if needs_generations:
        return "no successful run with finite values in any generation"
    return "no successful run with finite values"


def left_out_line(chart: str, reasons: Mapping[str, str]) -> str | None:
    """One caption line naming every study a chart leaves out, and why (None when none is)."""
    if not reasons:
        return None
    return f"Left out of the {chart}: " + "; ".join(f"{study_id} ({why})" for study_id, why in reasons.items()) + "."


def best_so_far_curves(histories: Mapping[str, pd.DataFrame], study_types: Mapping[str, str],
                       run_counts: Mapping[str, int]) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Of ``storage.studies.queries.get_convergence_history`` frames, those that go on one best-so-far-per-
    generation chart, and why the others do not. A MILP's rows number its solver's progress events
    (its first incumbent can be far off), so its x axis is not generations."""
    curves, left_out = {}, {}
    for study_id, history in histories.items():
        if study_types[study_id] != "milp" and history["best_so_far"].notna().any():
            curves[study_id] = history
        else:
            left_out[study_id] = why_left_out(study_types[study_id], run_counts[study_id], needs_generations=True)
    return curves, left_out


@dataclass(frozen=True)
class CommonReference:
    """One reference point for a group's hypervolumes, in minimization form, and where it came from."""

    space: ObjectiveSpace
    point_min: np.ndarray
    declared: bool  # True: every study declared this point; False: the group's worst value per objective
    study_ids: tuple[str, ...]

    @property
    def point_text(self) -> str:
        """``Reference point cost = 1,500,000, co2 = 0.25``: the point in the objectives' own units."""
        values = zip(self.space.names, self.space.to_units(self.point_min))
        return "Reference point " + ", ".join(f"{name} = {_number(value)}" for name, value in values)

    def describe(self) -> str:
        """The caption under a hypervolume chart: the point and where it came from."""
        ids = ", ".join(self.study_ids)
        if self.declared:
            source = f"declared by {ids}" if len(self.study_ids) == 1 else f"declared alike by {ids}"
        elif len(self.study_ids) == 1:
            source = f"the worst value per objective of {ids}'s successful runs (it declares no reference point)"
        else:
            source = (f"the worst value per objective over the successful runs of {ids} "
                      "(they declare no common reference point)")
        return f"{self.point_text}: {source}."


def _number(value: float) -> str:
    """Whole numbers in full with thousands separators (1,500,000 reads better than 1.5e+06)."""
    return f"{value:,.0f}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:.6g}"


def common_reference_point(space: ObjectiveSpace, points_min: Mapping[str, np.ndarray],
                           declared: Mapping[str, Sequence[float] | None]) -> CommonReference | None:
    """The studies' shared reference point when every study in ``points_min`` declares the same one
    (``declared`` is in the objectives' own units), else the worst value per objective over all their
    finite points (minimization form). None when neither exists."""
    ids = tuple(points_min)
    stated = [declared.get(study_id) for study_id in ids]
    if stated and all(s is not None for s in stated):
        first = np.asarray(stated[0], dtype=float)
        if all(np.array_equal(np.asarray(s, dtype=float), first) for s in stated):
            return CommonReference(space, pareto.to_minimization([first], space.directions)[0], True, ids)
    points = [np.asarray(p, dtype=float).reshape(-1, len(space.names)) for p in points_min.values()]
    everything = np.vstack(points) if points else np.empty((0, len(space.names)))
    if not pareto.finite_rows(everything).any():
        return None
    return CommonReference(space, pareto.default_reference_point(everything), False, ids)


def generational_points(objectives: pd.DataFrame, m: int) -> tuple[np.ndarray, np.ndarray]:
    """From a ``storage.studies.queries.study_objectives`` frame: the minimization-form points of the
    successful runs that have a generation number, and those generation numbers."""
    if objectives.empty:
        return np.empty((0, m)), np.empty(0, dtype=np.int64)
    keep = objectives["valid"].to_numpy(bool) & objectives["generation_number"].notna().to_numpy()
    points = objectives.loc[keep, [f"min_{i}" for i in range(m)]].to_numpy(float)
    return points, objectives.loc[keep, "generation_number"].to_numpy(float).astype(np.int64)


@dataclass
class HypervolumeComparison:
    """Hypervolume per generation of several studies of one space, on one reference point."""

    reference: CommonReference | None
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # id -> (generations, hv)
    left_out: dict[str, str] = field(default_factory=dict)                         # id -> why not drawn


def compare_hypervolumes(space: ObjectiveSpace, objectives: Mapping[str, pd.DataFrame],
                         declared: Mapping[str, Sequence[float] | None], study_types: Mapping[str, str],
                         run_counts: Mapping[str, int]) -> HypervolumeComparison:
    """Each study's hypervolume of its front so far after each generation, every one on the same
    reference point (:func:`common_reference_point` over the studies drawn). ``objectives`` maps
    study id to its ``study_objectives`` frame; studies with no generational points are left out,
    with the reason."""
    m = len(space.names)
    drawn, left_out = {}, {}
    for study_id, frame in objectives.items():
        points, generations = generational_points(frame, m)
        if len(points):
            drawn[study_id] = (points, generations)
        else:
            left_out[study_id] = why_left_out(study_types[study_id], run_counts[study_id], needs_generations=True)
    reference = common_reference_point(space, {sid: p for sid, (p, _) in drawn.items()}, declared)
    if reference is None:  # nothing drawn: every study is in left_out
        return HypervolumeComparison(None, {}, left_out)
    curves = {sid: pareto.hypervolume_by_generation(points, generations, reference.point_min)
              for sid, (points, generations) in drawn.items()}
    return HypervolumeComparison(reference, curves, left_out)
