"""A batch of study runs as columns, the shape ``storage.studies.writer.insert_study_runs`` writes.

Records (a list of dicts) become columns here, and so do the batches optimizers hold as arrays: a
pandas DataFrame, a pyarrow Table, or a dict of equal-length columns (lists or numpy arrays), each
column named as a field of a run record. The rules are the record path's, field by field: a column
is checked by the pydantic type of its record field (a whole column in one call), so a batch given
either way is stored as the same rows, and a refusal names the same row, field and value.

Two shapes only columns have:
- ``parameter_vector`` and ``objectives`` may be 2-D arrays, one row per run;
- when the study names its parameters or objectives, one column per name (``x0``, ``cost``...),
  assembled into the vectors once the study has been read (``RunColumns.assemble``).

Missing values of pandas and pyarrow (``None``, ``NA``, ``NaT``, nulls) are missing; a float NaN is
a value, refused where the record path refuses it. An integer field with gaps is pandas' ``Int64``.
"""
from __future__ import annotations

import difflib
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic
from pydantic import ConfigDict, TypeAdapter

from ..errors import ValidationError
from ..jsonfields import short_repr
from .records import LIST_FIELDS, StudyRunRecord, coerce_list, describe_errors

WHAT = "study_runs"
NO_PARAMETERS: list = []  # shared by every run that has no parameters (never modified)
# The value of a field a record leaves out, where it is not None.
DEFAULTS: dict[str, Any] = {"parameter_vector": NO_PARAMETERS, "simulation_status": "success",
                            "is_pareto_optimal": False, "domination_count": 0}


def _field_types() -> dict[str, Any]:
    hints = typing.get_type_hints(StudyRunRecord, include_extras=True)
    return {name: typing.get_args(hint)[0] if typing.get_origin(hint) is typing.NotRequired else hint
            for name, hint in hints.items()}


FIELDS = _field_types()  # field -> its pydantic type, in the record's order
_STRICT = ConfigDict(strict=True)
_COLUMN_ADAPTERS: dict[str, TypeAdapter] = {}
_NUMBERS = TypeAdapter(list[float], config=_STRICT)


@dataclass
class RunColumns:
    """``n`` runs: ``values`` holds each record field the batch gives (one value per run, the
    field's default where a record left it out); ``named`` holds columns that are no record field,
    to be read as the study's parameter or objective names."""

    n: int
    values: dict[str, list] = field(default_factory=dict)
    named: dict[str, list] = field(default_factory=dict)

    def get(self, name: str) -> list | None:
        return self.values.get(name)

    def where(self, index: int) -> str:
        return "study_run" if self.n == 1 else f"{WHAT}[{index}]"

    def assemble(self, studies: Mapping[str, Any]) -> None:
        """Named columns -> ``parameter_vector`` / ``objectives``, in the order the study names them.
        ``studies``: the batch's studies (``storage.studies.writer.StudyState``), all naming the same ones."""
        if not self.named:
            return
        first = next(iter(studies.values()))
        parameters, objectives = list(first.parameter_names or ()), list(first.objective_names or ())
        for study in studies.values():
            if list(study.parameter_names or ()) != parameters or list(study.objective_names or ()) != objectives:
                raise ValidationError(
                    f"{WHAT}: columns {list(self.named)} name parameters or objectives, but the batch's studies "
                    f"{sorted(studies)} name different ones; log each study's runs in a batch of its own; "
                    "nothing was written")
        unknown = [name for name in self.named if name not in parameters and name not in objectives]
        if unknown:
            known = list(FIELDS) + parameters + objectives
            close = difflib.get_close_matches(unknown[0], known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValidationError(
                f"{WHAT}: column {unknown[0]!r} is neither a field of a study run nor a parameter or objective "
                f"named by study {first.study_id!r} (parameters {parameters}, objectives {objectives}){hint}; "
                "nothing was written")
        for kind, names, target in (("parameter", parameters, "parameter_vector"),
                                    ("objective", objectives, "objectives")):
            given = [name for name in names if name in self.named]
            if not given:
                continue
            if target in self.values:
                raise ValidationError(f"{WHAT}: {target} is given twice, as column {target!r} and as columns "
                                      f"{given}; nothing was written")
            missing = [name for name in names if name not in self.named]
            if missing:
                raise ValidationError(
                    f"{WHAT}: no column {missing[0]!r}: study {first.study_id!r} names its {kind}s {names}; give "
                    f"a column for each of them (or one {target!r} column); nothing was written")
            columns = [self.named[name] for name in names]
            if target == "parameter_vector":
                for name, column in zip(names, columns):
                    bad = next((i for i, v in enumerate(column) if not math.isfinite(v)), None)
                    if bad is not None:
                        raise ValidationError(f"{self.where(bad)}: {name}={column[bad]!r}: Input should be a finite "
                                              "number (a parameter value); nothing was written")
            self.values[target] = [list(row) for row in zip(*columns)]
        self.named = {}


def is_columnar(data: Any) -> bool:
    """A batch given as columns (a dict of columns, a DataFrame, a pyarrow Table), not records."""
    return isinstance(data, Mapping) or _library_table(data) is not None


def from_records(records: list[dict]) -> RunColumns:
    """Validated records (``storage.studies.records``) as columns: the fields any record gives."""
    present = set().union(*records) if records else set()
    values = {name: [r.get(name, DEFAULTS.get(name)) for r in records] for name in FIELDS if name in present}
    return RunColumns(len(records), values)


def from_columns(data: Any) -> RunColumns:
    """Validate a columnar batch: every column the same length, each field by its record type."""
    raw = _raw_columns(data)
    if not raw:
        return RunColumns(0)
    lengths = {name: _length(name, column) for name, column in raw.items()}
    n = lengths.get("study_id", next(iter(lengths.values())))
    for name, length in lengths.items():
        if length != n:
            raise ValidationError(f"{WHAT}: column {name!r} has {length} values but column "
                                  f"{'study_id' if 'study_id' in lengths else next(iter(lengths))!r} has {n}; "
                                  "nothing was written")
    if n == 0:
        return RunColumns(0)
    if "study_id" not in raw:
        raise ValidationError(f"{WHAT}[0]: study_id: required field missing; nothing was written")
    result = RunColumns(n)
    problems: list[tuple[int, list[dict]]] = []  # (row, pydantic errors) of each refused column
    for name, column in raw.items():
        values = _python_values(name, column)
        try:
            if name in FIELDS:
                result.values[name] = _validated(name, values)
            else:
                result.named[name] = _NUMBERS.validate_python(values)
        except pydantic.ValidationError as exc:
            errors = exc.errors(include_url=False)
            for error in errors:
                row, *rest = error["loc"]
                error["loc"] = (row, name, *rest)
            problems.append((errors[0]["loc"][0], errors))
    if problems:
        # The record path names the first refused record: the lowest row of any column.
        problems.sort(key=lambda problem: problem[0])
        errors = [error for _, column_errors in problems for error in column_errors]
        raise ValidationError(describe_errors(errors, StudyRunRecord, WHAT, batch=True))
    return result


# --------------------------------------------------------------------------------- input shapes


def _library_table(data: Any) -> str | None:
    kind = type(data)
    library = kind.__module__.split(".", 1)[0]
    if (library, kind.__name__) in (("pandas", "DataFrame"), ("pyarrow", "Table")):
        return library
    return None


def _raw_columns(data: Any) -> dict[str, Any]:
    library = _library_table(data)
    if library == "pandas":
        names = list(data.columns)
        columns = {name: data.iloc[:, i] for i, name in enumerate(names)}
    elif library == "pyarrow":
        names = list(data.column_names)
        columns = {name: data.column(i) for i, name in enumerate(names)}
    else:
        names = list(data)
        columns = dict(data)
    for name in names:
        if not isinstance(name, str):
            raise ValidationError(f"{WHAT}: column {name!r}: column names are text (the record's field names)")
    if len(set(names)) != len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise ValidationError(f"{WHAT}: column {twice!r} appears twice; nothing was written")
    return columns


def _length(name: str, column: Any) -> int:
    try:
        if isinstance(column, (str, bytes, Mapping)):
            raise TypeError
        return len(column)
    except TypeError:  # a scalar, or a 0-d array
        raise ValidationError(
            f"{WHAT}: column {name}={short_repr(column)}: a column is a list or array of values, one per run "
            "(to log one run, use log_study_run); nothing was written") from None


def _python_values(name: str, column: Any) -> Any:
    """A column as a list of Python values; a 2-D numpy array of a vector field stays an array."""
    kind = type(column).__module__.split(".", 1)[0]
    if kind == "pandas":
        return _pandas_values(column)
    if kind == "pyarrow":
        return _arrow_values(name, column)
    ndim = getattr(column, "ndim", None)
    if ndim is not None and kind == "numpy":
        if ndim == 2 and name in ("parameter_vector", "objectives"):
            return column
        if ndim != 1:
            raise ValidationError(f"{WHAT}: column {name!r} is a {ndim}-D array; only parameter_vector and "
                                  "objectives may be 2-D (one row per run); nothing was written")
        if column.dtype.kind == "M":  # datetime64: datetime objects (NaT -> None), as a record gives them
            return column.astype("datetime64[us]").tolist()
        return column.tolist()
    return list(column)


def _pandas_values(series: Any) -> Any:
    if series.dtype.kind in "biuf" and type(series.dtype).__module__.startswith("numpy"):
        return series.to_numpy().tolist()
    if series.dtype.kind == "M" and getattr(series.dtype, "tz", None) is None:
        return series.to_numpy().astype("datetime64[us]").tolist()
    # Extension dtypes (Int64, boolean, string, tz-aware times) and objects: their missing -> None.
    return series.astype(object).where(series.notna(), None).tolist()


def _arrow_values(name: str, column: Any) -> Any:
    import pyarrow as pa

    kind = column.type
    if name in ("parameter_vector", "objectives") and (pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind)) \
            and pa.types.is_floating(kind.value_type) and column.null_count == 0:
        # Rows of one length: one 2-D array instead of a Python list per row.
        import numpy as np

        flat = column.combine_chunks()
        values = flat.flatten().to_numpy(zero_copy_only=False)
        n = len(flat)
        if n and len(values) % n == 0:
            width = len(values) // n
            offsets = None if pa.types.is_fixed_size_list(kind) else flat.offsets.to_numpy()
            if offsets is None or np.array_equal(offsets, np.arange(n + 1) * width):
                return values.reshape(n, width)
    if (pa.types.is_floating(kind) or pa.types.is_integer(kind)) and column.null_count == 0:
        return column.to_numpy().tolist()
    return column.to_pylist()


# ------------------------------------------------------------------------------------ validation


def _adapter(name: str) -> TypeAdapter:
    adapter = _COLUMN_ADAPTERS.get(name)
    if adapter is None:
        adapter = _COLUMN_ADAPTERS[name] = TypeAdapter(list[FIELDS[name]], config=_STRICT)
    return adapter


def _validated(name: str, values: Any) -> list:
    """One field's column, by the record field's type; a numeric 2-D array is checked by numpy."""
    if hasattr(values, "ndim"):
        if values.dtype.kind in "iuf":
            floats = values.astype("float64", copy=False)
            if name == "parameter_vector":
                _check_finite(floats)
            return floats.tolist()
        values = values.tolist()
    if name in DEFAULTS and any(v is None for v in values):  # a missing value: what the record path's omitted field means
        default = DEFAULTS[name]
        values = [default if v is None else v for v in values]
    if name in LIST_FIELDS and any(type(v) is not list and v is not None for v in values):
        values = [v if type(v) is list or v is None else coerce_list(name, v) for v in values]
    return _adapter(name).validate_python(values)


def _check_finite(floats: Any) -> None:
    import numpy as np

    finite = np.isfinite(floats)
    if not finite.all():
        row, column = (int(i[0]) for i in np.nonzero(~finite))
        error = {"type": "finite_number", "loc": (row, "parameter_vector", column), "input": float(floats[row, column]),
                 "msg": "Input should be a finite number"}
        raise ValidationError(describe_errors([error], StudyRunRecord, WHAT, batch=True))


