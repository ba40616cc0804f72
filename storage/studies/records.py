"""The shapes of the records optimizers hand to the store, validated by pydantic (strict).

Strict means a value is stored as given or refused: ``"1.5"`` is not a number, ``True`` is not an
integer, unknown keys are refused (a typo such as ``fitnes`` must not vanish silently). Every
refusal becomes ``storage.errors.ValidationError`` naming the record, the field and the value.

Non-finite numbers, one rule per field:
- ``fitness``: finite, +inf or -inf, stored natively; NaN is refused (SQLite cannot store a NaN
  REAL, it would become NULL). When ``fitness`` is omitted it is ``objectives[0]``.
- ``objectives``: anything, NaN and infinities included (see ``storage.jsonfields``).
- ``parameter_vector``, ``reference_point``, timings, progress: finite only.

JSON list fields also accept JSON text (the seed passes ``json.dumps(...)``) and numpy arrays.
"""
from __future__ import annotations

import difflib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic
from pydantic import AllowInfNan, ConfigDict, Field, StringConstraints, TypeAdapter, with_config
from typing_extensions import NotRequired, TypedDict

from ..errors import ValidationError
from ..jsonfields import parse_number_list, short_repr
from ..schema import DECISION_METHODS, SIMULATION_STATUSES, STUDY_STATUSES, STUDY_TYPES
from ..timestamps import format_timestamp, parse_timestamp

MAX_ID_LENGTH = 200
MAX_NAME_LENGTH = 1_000
MAX_TEXT_LENGTH = 100_000

_NO_NUL = r"^[^\x00]*$"
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=_NO_NUL)]
Name = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH, pattern=_NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH, pattern=_NO_NUL)]
Count = Annotated[int, Field(ge=0, le=2_147_483_647)]  # INTEGER columns are 32-bit on PostgreSQL
Finite = Annotated[float, AllowInfNan(False)]
Duration = Annotated[float, AllowInfNan(False), Field(ge=0)]
Percent = Annotated[float, AllowInfNan(False), Field(ge=0, le=100)]
StudyType = Literal[STUDY_TYPES]  # type: ignore[valid-type]
StudyStatus = Literal[STUDY_STATUSES]  # type: ignore[valid-type]
SimulationStatus = Literal[SIMULATION_STATUSES]  # type: ignore[valid-type]
Direction = Literal["minimize", "maximize"]
DecisionMethod = Literal[DECISION_METHODS]  # type: ignore[valid-type]
RunState = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=_NO_NUL)]

STRICT = ConfigDict(strict=True, extra="forbid")


@with_config(STRICT)
class StudyRecord(TypedDict):
    study_id: Identifier
    study_type: StudyType
    study_name: NotRequired[Name | None]
    description: NotRequired[Text | None]
    base_system_config_path: NotRequired[Text | None]
    optimization_objective: NotRequired[Text | None]
    optimization_constraints: NotRequired[Any]
    population_size: NotRequired[Count | None]
    max_generations: NotRequired[Count | None]
    max_evaluations: NotRequired[Count | None]
    status: NotRequired[StudyStatus]
    progress_percent: NotRequired[Percent | None]
    metadata_json: NotRequired[Any]
    objective_directions: NotRequired[list[Direction] | None]
    reference_point: NotRequired[list[Finite] | None]
    parameter_names: NotRequired[list[Name] | None]
    parameter_choices: NotRequired[dict[Name, list[Any]] | None]
    created_at: NotRequired[Any]
    experiment: NotRequired[Any]  # checked by storage.studies.labels (short text)
    labels: NotRequired[Any]      # checked by storage.studies.labels (an object of short text or numbers)


@with_config(STRICT)
class StudyRunRecord(TypedDict):
    study_id: Identifier
    run_id: NotRequired[Identifier | None]
    evaluation_number: NotRequired[Count | None]
    generation_number: NotRequired[Count | None]
    parameter_vector: NotRequired[list[Finite]]  # omitted: a run without parameters (stored as [])
    parameter_names: NotRequired[list[Name] | None]
    fitness: NotRequired[float | None]
    objectives: NotRequired[list[float] | dict[Name, float] | None]  # a dict names each value
    constraint_violations: NotRequired[Any]
    simulation_run_id: NotRequired[Identifier | None]
    simulation_status: NotRequired[SimulationStatus]
    evaluation_time_seconds: NotRequired[Duration | None]
    solver_time_seconds: NotRequired[Duration | None]
    is_pareto_optimal: NotRequired[bool]
    domination_count: NotRequired[Count]
    metadata_json: NotRequired[Any]
    run_state: NotRequired[RunState | None]
    created_at: NotRequired[Any]


@with_config(STRICT)
class SimulationRunRecord(TypedDict):
    run_id: NotRequired[Identifier | None]
    run_name: NotRequired[Name | None]
    system_config_path: NotRequired[Text | None]
    status: NotRequired[Name | None]
    start_time: NotRequired[Any]
    end_time: NotRequired[Any]
    execution_time_seconds: NotRequired[float | None]
    total_cost: NotRequired[float | None]
    co2_emissions: NotRequired[float | None]
    renewable_fraction: NotRequired[float | None]
    self_sufficiency_rate: NotRequired[float | None]
    results_path: NotRequired[Text | None]
    metadata_json: NotRequired[Any]
    study_id: NotRequired[Identifier | None]
    study_run_id: NotRequired[Identifier | None]
    created_at: NotRequired[Any]


@with_config(STRICT)
class ConvergenceRecord(TypedDict):
    study_id: Identifier
    generation_number: Count
    best_fitness: NotRequired[Finite | None]
    average_fitness: NotRequired[Finite | None]
    worst_fitness: NotRequired[Finite | None]
    fitness_std_dev: NotRequired[Annotated[float, AllowInfNan(False), Field(ge=0)] | None]
    population_diversity: NotRequired[Finite | None]
    stagnation_count: NotRequired[Count | None]
    generation_time_seconds: NotRequired[Duration | None]
    evaluations_in_generation: NotRequired[Count | None]
    hypervolume: NotRequired[Annotated[float, AllowInfNan(False), Field(ge=0)] | None]
    dual_bound: NotRequired[Finite | None]
    relative_gap: NotRequired[Annotated[float, AllowInfNan(False), Field(ge=0)] | None]
    elapsed_seconds: NotRequired[Duration | None]


@with_config(STRICT)
class ParetoFrontRecord(TypedDict):
    study_id: Identifier
    run_ids: list[Identifier]
    generation_number: NotRequired[Count | None]
    front_size: NotRequired[Count | None]
    hypervolume: NotRequired[Annotated[float, AllowInfNan(False), Field(ge=0)] | None]


@with_config(STRICT)
class UncertaintyRecord(TypedDict):
    study_id: Identifier
    objective_name: NotRequired[Name | None]
    target_solution_id: NotRequired[Identifier | None]
    mean_value: NotRequired[Finite | None]
    median_value: NotRequired[Finite | None]
    std_dev: NotRequired[Annotated[float, AllowInfNan(False), Field(ge=0)] | None]
    percentile_5: NotRequired[Finite | None]
    percentile_25: NotRequired[Finite | None]
    percentile_50: NotRequired[Finite | None]
    percentile_75: NotRequired[Finite | None]
    percentile_95: NotRequired[Finite | None]
    var_95: NotRequired[Finite | None]
    cvar_95: NotRequired[Finite | None]
    sample_count: NotRequired[Count | None]
    excluded_count: NotRequired[Count | None]


@with_config(STRICT)
class SensitivityRecord(TypedDict):
    study_id: Identifier
    parameter_name: Name
    analysis_id: NotRequired[Count | None]
    parameter_index: NotRequired[Count | None]
    objective_name: NotRequired[Name | None]
    correlation_coefficient: NotRequired[Finite | None]
    rank_correlation: NotRequired[Finite | None]
    sobol_first_order: NotRequired[Finite | None]
    sobol_first_order_conf: NotRequired[Finite | None]
    sobol_total: NotRequired[Finite | None]
    sobol_total_conf: NotRequired[Finite | None]
    importance_rank: NotRequired[Annotated[int, Field(ge=1, le=2_147_483_647)] | None]


@with_config(STRICT)
class DecisionRecord(TypedDict):
    """The design a team chose on a study's front (``record_decision``); ``decided_at`` is the store's."""

    study_id: Identifier
    run_id: Identifier
    method: DecisionMethod
    settings: NotRequired[dict[str, Any] | None]
    rationale: NotRequired[Text | None]
    decided_by: NotRequired[Name | None]


@with_config(STRICT)
class IntermediateValuesKey(TypedDict):
    study_id: Identifier
    run_id: Identifier


_STEP_VALUES = TypeAdapter(list[tuple[Count, float]], config=ConfigDict(strict=True))


def validate_intermediate_values(values: Any) -> list[tuple[int, float]]:
    """``[(step, value), ...]`` or ``{step: value}``: steps are counts, values any float (NaN too)."""
    if isinstance(values, dict):
        values = list(values.items())
    elif isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValidationError(f"intermediate_values: expected [(step, value), ...], got {type(values).__name__}; "
                              "nothing was written")
    else:
        values = [tuple(v) if isinstance(v, list) else v for v in values]
    try:
        return _STEP_VALUES.validate_python(values)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = "".join(f"[{part}]" for part in first["loc"] if isinstance(part, int))
        raise ValidationError(f"intermediate_values{where}={short_repr(first.get('input'))}: {first['msg']}; "
                              "nothing was written") from None


@with_config(STRICT)
class StudyStatusFields(TypedDict, total=False):
    """Fields ``update_study_status`` may set besides the status itself."""

    progress_percent: Percent | None
    best_fitness: float | None
    best_solution_id: Identifier | None
    completed_at: Any
    execution_time_seconds: Duration | None
    description: Text | None
    metadata_json: Any
    reference_point: list[Finite] | None


_ADAPTERS: dict[type, TypeAdapter] = {}
_LIST_ADAPTERS: dict[type, TypeAdapter] = {}

# Fields that hold JSON lists and so may arrive as JSON text or numpy arrays.
LIST_FIELDS = ("parameter_vector", "parameter_names", "objectives", "objective_directions", "reference_point", "run_ids")


def validate_one(shape: type, record: Any, what: str) -> dict:
    adapter = _ADAPTERS.get(shape) or _ADAPTERS.setdefault(shape, TypeAdapter(shape))
    try:
        return adapter.validate_python(_coerce_lists(record))
    except pydantic.ValidationError as exc:
        raise ValidationError(_describe(exc, shape, what)) from None


def validate_many(shape: type, records: Any, what: str) -> list[dict]:
    if isinstance(records, (str, bytes)) or not hasattr(records, "__iter__"):
        raise ValidationError(f"{what}: expected a list of records, got {type(records).__name__}")
    adapter = _LIST_ADAPTERS.get(shape) or _LIST_ADAPTERS.setdefault(shape, TypeAdapter(list[shape]))
    try:
        return adapter.validate_python([_coerce_lists(r) for r in records])
    except pydantic.ValidationError as exc:
        raise ValidationError(_describe(exc, shape, what, batch=True)) from None


def _coerce_lists(record: Any) -> Any:
    """JSON text and numpy arrays in list fields become lists; the caller's dict is never modified."""
    if not isinstance(record, dict):
        return record
    changed = None
    for field in LIST_FIELDS:
        value = record.get(field)
        if value is None or type(value) is list:
            continue
        parsed = coerce_list(field, value)
        if parsed is value:
            continue
        if changed is None:
            changed = dict(record)
        changed[field] = parsed
    return record if changed is None else changed


def coerce_list(field: str, value: Any) -> Any:
    """One list field's value: JSON text, a numpy array or a tuple -> a list; anything else as given."""
    if isinstance(value, str):
        if field in ("parameter_names", "objective_directions", "run_ids"):
            return _parse_json_list(field, value)
        return parse_number_list(field, value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


def _parse_json_list(field: str, text: str) -> list:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"{field}={text[:80]!r}: not valid JSON ({exc})") from None
    if not isinstance(value, list):
        raise ValidationError(f"{field}={text[:80]!r}: expected a JSON array")
    return value


def _describe(exc: pydantic.ValidationError, shape: type, what: str, batch: bool = False) -> str:
    return describe_errors(exc.errors(include_url=False), shape, what, batch)


def describe_errors(errors: list[dict], shape: type, what: str, batch: bool = False) -> str:
    """pydantic's errors (the first named, the rest counted) as the store's message: record, field, value."""
    first = errors[0]
    loc = list(first["loc"])
    prefix = what
    if batch and loc and isinstance(loc[0], int):
        prefix = f"{what}[{loc.pop(0)}]"
    field = _loc_text(loc)
    kind = first["type"]
    value = first.get("input")
    if kind == "missing":
        detail = f"{field}: required field missing"
    elif kind == "extra_forbidden":
        known = list(getattr(shape, "__annotations__", {}))
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known fields: {', '.join(known)})"
        detail = f"{field}={short_repr(value)}: unknown field{hint}"
    elif kind == "string_unicode":
        detail = f"{field}={short_repr(value)}: text is not valid Unicode (lone surrogate)"
    elif kind == "string_pattern_mismatch":
        detail = f"{field}={short_repr(value)}: text contains a NUL character"
    else:
        detail = f"{field}={short_repr(value)}: {first['msg']}"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{prefix}: {detail}{more}; nothing was written"


def _loc_text(loc: list) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in ("list[float]", "int", "float", "str", "function-after", "constrained-str"):
            continue
        else:
            text += ("." if text else "") + str(part)
    return text or "record"


def normalize_timestamp(field: str, value: Any) -> str | None:
    """A datetime or ISO 8601 text -> the store's UTC timestamp text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, str):
        try:
            return format_timestamp(parse_timestamp(value))
        except ValueError:
            raise ValidationError(f"{field}={short_repr(value)}: not an ISO 8601 timestamp") from None
    raise ValidationError(f"{field}={short_repr(value)}: expected a datetime or ISO 8601 text")


def check_fitness(where: str, fitness: float | None, objectives: list[float] | None) -> float:
    """The fitness to store: given, or objectives[0]; NaN is refused (see module docstring)."""
    if fitness is None:
        if not objectives:
            raise ValidationError(f"{where}: fitness: required field missing (or give objectives)")
        fitness = objectives[0]
        if fitness != fitness:
            raise ValidationError(
                f"{where}: fitness: objectives[0] is NaN and NaN cannot be stored as fitness; "
                "give fitness explicitly (for a failed evaluation, simulation_status='failed' and fitness=inf)"
            )
        return fitness
    if fitness != fitness:
        raise ValidationError(
            f"{where}: fitness=nan: NaN cannot be stored as fitness; for a failed evaluation use "
            "simulation_status='failed' with fitness=inf (or -inf when maximizing)"
        )
    return fitness

