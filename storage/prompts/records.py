"""The shapes of prompt-optimization records, validated by pydantic before anything is written.

Strict, like ``storage.studies.records``: ``"0.5"`` is not a score, ``True`` is not a count, unknown keys
are refused with a suggestion (a typo such as ``num_candiates`` must not vanish into a config).
Every refusal is ``storage.errors.ValidationError`` naming the record, the field and the value.

Scores are in [0, 1] and stored exact to 4 decimals (see ``storage.schema``); a score with more
decimals (an average such as 2/3) is rounded half away from zero, as PostgreSQL's NUMERIC(7,4)
itself rounds, so both backends store the same value. Timestamps are datetimes or ISO 8601 text,
stored as UTC text to the millisecond.
"""
from __future__ import annotations

import difflib
import re
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal, Union

import pydantic
from pydantic import AfterValidator, AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from ..engine import PROJECT_ID_PATTERN
from ..errors import ValidationError
from ..jsonfields import encode_json, short_repr
from ..schema import EVALUATION_KINDS, OPTIMIZER_TYPES, RUN_STATUSES

MAX_NAME_LENGTH = 1_000
MAX_TEXT_LENGTH = 100_000
MAX_TAGS = 64
MAX_PAGE = 1_000

_NO_NUL = r"^[^\x00]*$"
# Project ids travel in a libpq ``options`` string (``-c app.project_id=...``): a safe alphabet.
RUN_ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,200}$"

ProjectId = Annotated[str, StringConstraints(pattern=PROJECT_ID_PATTERN)]
RunId = Annotated[str, StringConstraints(pattern=RUN_ID_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, pattern=_NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH, pattern=_NO_NUL)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_NO_NUL)]
Count = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegative = Annotated[float, AllowInfNan(False), Field(ge=0)]
OptimizerType = Literal[OPTIMIZER_TYPES]  # type: ignore[valid-type]
RunStatus = Literal[RUN_STATUSES]  # type: ignore[valid-type]
EvaluationKind = Literal[EVALUATION_KINDS]  # type: ignore[valid-type]
FINISHED_STATUSES = ("completed", "failed", "cancelled")

_FOUR_PLACES = Decimal("0.0001")


def round_score(value: float) -> float:
    """The 4-decimal value both backends store: half away from zero, like NUMERIC(7,4)."""
    return float(Decimal(repr(value)).quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP))


def _score_in_range(value: float) -> float:
    rounded = round_score(value)
    if not 0.0 <= rounded <= 1.0:
        raise ValueError("a score must be within [0, 1]")
    return rounded


Score = Annotated[float, AllowInfNan(False), AfterValidator(_score_in_range)]


def _timestamp(value: Any) -> str:
    """A datetime or ISO 8601 text -> 'YYYY-MM-DD HH:MM:SS.fff' in UTC (naive means UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("not an ISO 8601 timestamp") from None
    if not isinstance(value, datetime):
        raise ValueError("expected a datetime or ISO 8601 text")
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"


Timestamp = Annotated[str, BeforeValidator(_timestamp)]


def _json_value(value: Any) -> Any:
    """Standard JSON only: no NaN/inf, NUL characters or lone surrogates; depth and size capped."""
    try:
        encode_json("json", [value])  # wrapped: a bare str would be taken for JSON text
    except ValidationError as error:
        raise ValueError(str(error).split(": ", 1)[-1]) from None
    return value


JsonValue = Annotated[Any, AfterValidator(_json_value)]


def _unique_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))  # first occurrence wins, order kept


Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique_tags)]

STRICT = ConfigDict(strict=True, extra="forbid")


class _Record(BaseModel):
    model_config = STRICT


# ------------------------------------------------------------------------------------ configs


class _OptimizerConfig(_Record):
    """Keys every optimizer config may carry: what ran and how it was scored."""

    model: Name | None = None
    prompt_model: Name | None = None
    task_model: Name | None = None
    metric: Name | None = None
    seed: int | None = None
    num_threads: PositiveInt | None = None
    max_errors: Count | None = None
    metric_threshold: Annotated[float, AllowInfNan(False)] | None = None


class BootstrapFewShotConfig(_OptimizerConfig):
    max_bootstrapped_demos: Count | None = None
    max_labeled_demos: Count | None = None
    max_rounds: PositiveInt | None = None


class BootstrapRandomSearchConfig(BootstrapFewShotConfig):
    num_candidate_programs: PositiveInt | None = None
    stop_at_score: Annotated[float, AllowInfNan(False)] | None = None


class MIPROv2Config(_OptimizerConfig):
    auto: Literal["light", "medium", "heavy"] | None = None
    num_candidates: PositiveInt | None = None
    num_trials: PositiveInt | None = None
    max_bootstrapped_demos: Count | None = None
    max_labeled_demos: Count | None = None
    init_temperature: NonNegative | None = None
    minibatch: bool | None = None
    minibatch_size: PositiveInt | None = None
    minibatch_full_eval_steps: PositiveInt | None = None
    program_aware_proposer: bool | None = None
    data_aware_proposer: bool | None = None
    tip_aware_proposer: bool | None = None
    fewshot_aware_proposer: bool | None = None
    view_data_batch_size: PositiveInt | None = None


# Typed configs by optimizer; the others (copro, gepa, custom) take any JSON object.
CONFIG_MODELS: dict[str, type[BaseModel]] = {
    "miprov2": MIPROv2Config,
    "bootstrap_fewshot": BootstrapFewShotConfig,
    "bootstrap_fewshot_random_search": BootstrapRandomSearchConfig,
}

JsonObject = Annotated[dict[str, JsonValue], AfterValidator(_json_value)]


# --------------------------------------------------------------------------------------- runs


class _RunFields(_Record):
    description: Text | None = None
    config: JsonObject | None = None
    metadata: JsonObject | None = None
    tags: Tags | None = None
    task_name: Name | None = None
    dataset_name: Name | None = None
    model_name: Name | None = None
    prompt_model_name: Name | None = None
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    baseline_score: Score | None = None
    final_score: Score | None = None
    iterations_planned: Count | None = None
    samples_evaluated: Count | None = None
    samples_successful: Count | None = None
    samples_failed: Count | None = None
    # Usage spent outside the iterations (an optimizer's setup, or a whole run no iteration can be
    # credited with); the database adds it to the iterations' sums in the run's totals.
    unattributed_prompt_tokens: Count | None = None
    unattributed_completion_tokens: Count | None = None
    unattributed_cost: NonNegative | None = None
    error_message: Text | None = None

    @pydantic.model_validator(mode="after")
    def _coherent(self):
        if self.start_time and self.end_time and self.end_time < self.start_time:
            raise ValueError(f"end_time={self.end_time!r} is before start_time={self.start_time!r}")
        counts = (self.samples_evaluated, self.samples_successful, self.samples_failed)
        if all(c is not None for c in counts) and counts[0] < counts[1] + counts[2]:
            raise ValueError(
                f"samples_evaluated={counts[0]} is less than samples_successful + samples_failed = {counts[1] + counts[2]}"
            )
        return self


class RunCreate(_RunFields):
    """A new run. ``config`` is checked against the optimizer's typed config when there is one."""

    name: Name
    optimizer_type: OptimizerType
    id: RunId | None = None
    status: RunStatus = "pending"

    @pydantic.model_validator(mode="after")
    def _typed_config(self):
        _check_config(self.optimizer_type, self.config)
        return self


class RunUpdate(_RunFields):
    """Changes to a run; only the fields given are written."""

    name: Name | None = None
    status: RunStatus | None = None


class ProgressUpdate(_Record):
    status: RunStatus | None = None
    iterations_planned: Count | None = None
    samples_evaluated: Count | None = None
    samples_successful: Count | None = None
    samples_failed: Count | None = None


def _check_config(optimizer_type: str, config: dict | None) -> None:
    shape = CONFIG_MODELS.get(optimizer_type)
    if shape is None or config is None:
        return
    try:
        shape.model_validate(config)
    except pydantic.ValidationError as exc:
        # Re-raised inside the run's validation: the message then reads "config.<key>=...".
        first = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in first["loc"])
        value = first.get("input")
        if first["type"] == "extra_forbidden":
            known = list(shape.model_fields)
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
            raise ValueError(f"config.{key}={short_repr(value)}: unknown key for {optimizer_type} ({hint})") from None
        raise ValueError(f"config.{key}={short_repr(value)}: {first['msg']} ({optimizer_type} config)") from None


# --------------------------------------------------------------------------- iterations, samples


class IterationRecord(_Record):
    """One trial: the candidate it evaluated (instructions, demo sets) and how it scored."""

    iteration: Count
    score: Score | None = None
    evaluation_kind: EvaluationKind = "full"
    instructions: JsonValue = None
    demo_set_ids: JsonValue = None
    params: JsonObject | None = None
    batch_size: Count | None = None
    prompt_tokens: Count = 0
    completion_tokens: Count = 0
    cost: NonNegative = 0.0
    latency_ms: NonNegative | None = None


class SampleRecord(_Record):
    """One example evaluated in one iteration."""

    iteration: Count
    sample_index: Count
    input: JsonValue = None
    output: JsonValue = None
    expected: JsonValue = None
    score: Score | None = None
    success: bool = True
    error: Text | None = None
    latency_ms: NonNegative | None = None
    prompt_tokens: Count = 0
    completion_tokens: Count = 0


# ------------------------------------------------------------------------------------ filters

ConfigKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,100}(\.[A-Za-z0-9_-]{1,100}){0,7}$")]
ConfigScalar = Union[bool, int, Annotated[float, AllowInfNan(False)], Annotated[str, StringConstraints(max_length=10_000, pattern=_NO_NUL)], None]
SCORE_FIELDS = ("final_score", "best_score", "baseline_score", "improvement")


class RunFilters(_Record):
    """What ``list_runs`` may filter on; results are newest first.

    ``config``: keys (dotted for nested objects, e.g. ``"miprov2.num_candidates"``) that must equal
    the given JSON scalar. ``tags_all``: every tag present; ``tags_any``: at least one. Score range
    bounds are inclusive and apply to ``score_field``. ``cursor``: the ``next_cursor`` of the
    previous page (keyset pagination); ``offset`` also works for small pages.
    """

    status: list[RunStatus] | None = None
    optimizer_type: list[OptimizerType] | None = None
    tags_all: list[Tag] | None = None
    tags_any: list[Tag] | None = None
    config: dict[ConfigKey, ConfigScalar] | None = None
    created_after: Timestamp | None = None
    created_before: Timestamp | None = None
    score_field: Literal[SCORE_FIELDS] = "final_score"  # type: ignore[valid-type]
    score_min: Annotated[float, AllowInfNan(False)] | None = None
    score_max: Annotated[float, AllowInfNan(False)] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 50
    offset: Count = 0
    cursor: Annotated[str, StringConstraints(max_length=300)] | None = None

    @pydantic.field_validator("status", "optimizer_type", "tags_all", "tags_any", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, str) else value


CURSOR_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{3})?)\|([A-Za-z0-9_.:@-]{1,200})$")


# --------------------------------------------------------------------------------- validation


def validate(shape: type[BaseModel], record: Any, what: str) -> BaseModel:
    if isinstance(record, shape):
        return record
    if not isinstance(record, dict):
        raise ValidationError(f"{what}: expected a dict of fields, got {type(record).__name__}; nothing was written")
    try:
        return shape.model_validate(record)
    except pydantic.ValidationError as exc:
        raise ValidationError(describe(exc, shape, what)) from None


def validate_many(shape: type[BaseModel], records: Any, what: str) -> list[BaseModel]:
    if isinstance(records, (str, bytes, dict)) or not hasattr(records, "__iter__"):
        raise ValidationError(f"{what}: expected a list of records, got {type(records).__name__}; nothing was written")
    return [validate(shape, record, f"{what}[{i}]") for i, record in enumerate(records)]


def describe(exc: pydantic.ValidationError, shape: type[BaseModel], what: str) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and ("[" in p or p in _NOISE))]
    field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[") or "record"
    kind = first["type"]
    value = first.get("input")
    message = first["msg"].removeprefix("Value error, ")
    if kind == "missing":
        detail = f"{field}: required field missing"
    elif kind == "extra_forbidden":
        known = list(shape.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known fields: {', '.join(known)})"
        detail = f"{field}={short_repr(value)}: unknown field{hint}"
    elif kind == "string_pattern_mismatch" and "\x00" in str(value):
        detail = f"{field}={short_repr(value)}: text contains a NUL character"
    elif kind == "value_error" and not loc:
        detail = message  # a whole-record rule; the message names its fields and values
    elif kind == "value_error" and message.startswith("config."):
        detail = message
    else:
        detail = f"{field}={short_repr(value)}: {message}"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{what}: {detail}{more}; nothing was written"


_NOISE = {"function-after", "function-before", "constrained-str", "list", "dict", "int", "float", "str", "bool", "none"}


