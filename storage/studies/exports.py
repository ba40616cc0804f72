"""Exports: a study's table as CSV, Parquet or JSON, and CSV that is safe to open in a spreadsheet.

Tables: ``runs`` (one row per evaluation, parameters and objectives spread into named columns),
``convergence``, ``pareto``, ``uncertainty``, ``sensitivity``. Large studies stream in pages
(keyset on evaluation_number), so memory stays flat and a progress callback can report.

CSV cells: a text cell whose first non-blank character, on any of its lines, is ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is prefixed with ``'`` on that line, so no spreadsheet runs
it as a formula (OWASP "CSV injection"). Numbers, including text that is a plain number such as
``-2.5``, are never altered.
"""
from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from . import queries
from .designs import names_of_run
from ..errors import HiveError, ValidationError
from ..reader import Reader

EXPORT_TABLES = ("runs", "convergence", "pareto", "uncertainty", "sensitivity")
EXPORT_FORMATS = ("csv", "parquet", "json")
PAGE_ROWS = 50_000
# RFC 4180 line ends: with them, a text cell holding a bare carriage return gets quoted (with "\n"
# alone it would not be, and readers would split the row there).
CSV_LINE_END = "\r\n"

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def neutralize_cell(value):
    """Spreadsheet-safe text; anything that is not text is returned unchanged."""
    if not isinstance(value, str) or not value or _PLAIN_NUMBER.match(value):
        return value
    if value.startswith(("\t", "\r")):
        value = "'" + value
    lines = re.split(r"(\r\n|\n|\r)", value)
    changed = False
    for i in range(0, len(lines), 2):  # even items are lines, odd items the separators
        line = lines[i]
        if line.lstrip(" ").startswith(_TRIGGERS) or line.startswith(("\t", "\r")):
            lines[i] = "'" + line
            changed = True
    return "".join(lines) if changed else value



def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (and column names) are neutralized; numeric columns are untouched."""
    # Built in one go, not column by column: assigning 600 columns one at a time costs seconds.
    columns = {position: pd.Series([neutralize_cell(_jsonable(v)) for v in values], index=frame.index, dtype=object)
               if values.dtype == object or pd.api.types.is_string_dtype(values) else values   # numbers as they were
               for position, (_, values) in enumerate(frame.items())}
    out = pd.DataFrame(columns, index=frame.index)
    out.columns = [neutralize_cell(str(c)) for c in frame.columns]
    return out


def to_safe_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes for a download button: neutralized text, floats written exactly (shortest repr)."""
    buffer = io.StringIO()
    safe_frame(frame).to_csv(buffer, index=False, lineterminator=CSV_LINE_END)
    return buffer.getvalue().encode("utf-8")


def _jsonable(value):
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, allow_nan=True)
    return value


# ------------------------------------------------------------------------------------ tables


def study_table_pages(reader: Reader, study_id: str, table: str) -> Iterator[pd.DataFrame]:
    """The export table in pages, in a stable order."""
    if table not in EXPORT_TABLES:
        raise ValidationError(f"table={table!r}: one of {', '.join(EXPORT_TABLES)}")
    study = queries.get_study(reader, study_id)
    if table == "runs":
        yield from _run_pages(reader, study)
    elif table == "convergence":
        yield queries.get_convergence_history(reader, study_id)
    elif table == "pareto":
        yield spread_columns(queries.get_pareto_front(reader, study_id), study)
    elif table == "uncertainty":
        yield queries.get_uncertainty_summary(reader, study_id)
    else:
        yield queries.get_sensitivity_rankings(reader, study_id, limit=None)


def study_table_frame(reader: Reader, study_id: str, table: str) -> pd.DataFrame:
    """The whole export table as one frame."""
    pages = list(study_table_pages(reader, study_id, table))
    return pd.concat(pages, ignore_index=True) if len(pages) > 1 else pages[0]


def study_table_preview(reader: Reader, study_id: str, table: str, rows: int) -> tuple[pd.DataFrame, int]:
    """The first ``rows`` rows of an export table, in its export order, and how many rows it has: a
    study's runs are counted and their first page read, not the whole table (2 s at 100,000 runs)."""
    if table != "runs":
        frame = study_table_frame(reader, study_id, table)
        return frame.head(rows), len(frame)
    first = next(_run_pages(reader, queries.get_study(reader, study_id), page_rows=rows))
    return first, queries.count_study_runs(reader, study_id)


def _run_pages(reader: Reader, study: dict, page_rows: int | None = None) -> Iterator[pd.DataFrame]:
    page_rows = page_rows or PAGE_ROWS  # read when called: tests shrink the module's page size
    study_id = study["study_id"]
    last = -1
    while True:
        page = queries.query_study_runs(
            reader, study_id, queries.RunFilter(), sort="evaluation_number", limit=page_rows,
            offset=0, with_kpis=True, after_evaluation=last,
        )
        if page.empty:
            if last == -1:
                yield page  # a study without runs still exports its header
            return
        last = int(page["evaluation_number"].iloc[-1])
        yield spread_columns(page, study)
        if len(page) < page_rows:
            return


def objective_names(study: dict) -> list[str]:
    directions = study.get("objective_directions") or ["minimize"]
    named = [n.strip() for n in (study.get("optimization_objective") or "").split(",") if n.strip()]
    if len(named) == len(directions):
        return named
    return [f"objective_{i + 1}" for i in range(len(directions))]


def parameter_names(study: dict, width: int) -> list[str]:
    names = study.get("parameter_names")
    if names and len(names) == width:
        return list(names)
    return names_of_run(width, None, names)


def spread_columns(frame: pd.DataFrame, study: dict) -> pd.DataFrame:
    """parameter_vector / objectives lists -> one column each, named after the study's names.

    Parameters become ``param:<name>``: each value under its own name, the union of the names the
    runs have (a run of a conditional search space leaves the others blank), categorical values as
    their choice's label. Linked simulation KPIs become ``sim:<kpi>``; objectives keep their own
    names (an objective may share a KPI's name, such as renewable_fraction). The new columns are
    built as one block (a MILP study may have hundreds of parameters)."""
    if frame.empty:
        return frame
    out = frame.rename(columns={k: f"sim:{k}" for k in queries.SIMULATION_KPIS if k in frame.columns})
    blocks = []
    if "objectives" in out:
        names = objective_names(study)
        values = [v if isinstance(v, list) and len(v) == len(names) else [math.nan] * len(names) for v in out["objectives"]]
        blocks.append(pd.DataFrame(values, columns=names, index=out.index, dtype=float))
        out = out.drop(columns=["objectives"])
    if "parameter_vector" in out:
        vectors = [v if isinstance(v, list) else [] for v in out["parameter_vector"]]
        own = [n if isinstance(n, list) else None for n in out["parameter_names"]] if "parameter_names" in out else None
        blocks.append(_parameter_block(vectors, own, study, out.index))
        out = out.drop(columns=[c for c in ("parameter_vector", "parameter_names") if c in out])
    return pd.concat([out, *blocks], axis=1) if blocks else out


def _parameter_block(vectors: list[list], own: list | None, study: dict, index) -> pd.DataFrame:
    study_names = study.get("parameter_names")
    width = max(map(len, vectors), default=0)
    if (own is None or all(n is None for n in own)) and all(len(v) == width for v in vectors):
        names = parameter_names(study, width)   # every run has every parameter: one block, by position
        block = pd.DataFrame(vectors, columns=[f"param:{n}" for n in names], index=index, dtype=float)
    else:
        columns: dict[str, list] = {n: [] for n in (study_names or [])}
        for row, values in enumerate(vectors):
            for name, value in zip(names_of_run(len(values), own[row] if own else None, study_names), values):
                column = columns.setdefault(name, [])
                column.extend([math.nan] * (row - len(column)))
                column.append(value)
        for column in columns.values():
            column.extend([math.nan] * (len(vectors) - len(column)))
        used = {n: v for n, v in columns.items() if any(x == x for x in v)} or columns
        block = pd.DataFrame({f"param:{n}": v for n, v in used.items()}, index=index, dtype=float)
    for name, labels in (study.get("parameter_choices") or {}).items():
        column = f"param:{name}"
        if column in block:
            block[column] = [_label(labels, v) for v in block[column]]
    return block


def _label(labels: list, value: float):
    """The categorical choice a stored index stands for; blank where the run has no value."""
    if value != value:
        return None
    index = int(value)
    return str(labels[index]) if index == value and 0 <= index < len(labels) else value


def chosen_designs(reader: Reader, study_ids: list[str], top_n: int = 10) -> pd.DataFrame:
    """What a comparison hands on, in one table: each chosen study's Pareto front (two or more
    objectives) or its best ``top_n`` designs by fitness (one objective), each design once. Columns:
    ``study_id``, ``selection`` (which of the two), the run, each study's objectives and parameters
    under their names (the union over the studies, blank where a study has no such column), and
    ``evaluations`` (how often the design was evaluated)."""
    frames, objectives = [], []
    for study_id in study_ids:
        study = queries.get_study(reader, study_id)
        objectives += [n for n in objective_names(study) if n not in objectives]
        if len(study["objective_directions"]) >= 2:
            frame, selection = queries.get_pareto_front(reader, study_id), "Pareto front"
        else:
            frame, selection = queries.get_best_designs(reader, study_id, top_n), f"best {top_n} by fitness"
        frame = spread_columns(frame, study)
        frame.insert(0, "selection", selection)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["study_id", "selection"])
    table = pd.concat(frames, ignore_index=True)
    parameters = [c for c in table.columns if c.startswith("param:")]
    kpis = [c for c in table.columns if c.startswith("sim:")]
    leading = ["study_id", "selection", "run_id", "evaluation_number", "generation_number", *objectives, "fitness",
               "evaluations", *parameters, *kpis]
    dropped = {"parameter_vector", "parameter_names", "objectives", "is_pareto_optimal", "domination_count",
               "metadata_json", "simulation_run_id"}
    rest = [c for c in table.columns if c not in leading and c not in dropped]
    return table[[c for c in leading if c in table.columns] + rest]


def export_study_table(
    reader: Reader,
    study_id: str,
    table: str,
    output_format: str,
    path: str | Path,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the table to ``path``; returns the number of rows. ``progress`` gets rows per page.

    Written to ``<path>.partial`` and renamed at the end, so a failed export leaves no file."""
    if output_format not in EXPORT_FORMATS:
        raise ValidationError(f"format={output_format!r}: one of {', '.join(EXPORT_FORMATS)}")
    if table not in EXPORT_TABLES:
        raise ValidationError(f"table={table!r}: one of {', '.join(EXPORT_TABLES)}")
    study = queries.get_study(reader, study_id)  # an unknown study fails before any file exists
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    writers = {"csv": _write_csv, "json": _write_json, "parquet": _write_parquet}
    try:
        rows = writers[output_format](study_table_pages(reader, study_id, table), partial, progress,
                                      set(objective_names(study)))
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise HiveError(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return rows


def _write_csv(pages, path: Path, progress, _objectives) -> int:
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        for page in pages:
            safe_frame(page).to_csv(handle, index=False, header=rows == 0, lineterminator=CSV_LINE_END)
            rows += len(page)
            if progress:
                progress(len(page))
    return rows


def _write_json(pages, path: Path, progress, objectives: set[str]) -> int:
    rows = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for page in pages:
            for record in page.astype(object).to_dict("records"):
                handle.write(("," if rows else "") + json.dumps(_plain(record, objectives), ensure_ascii=False))
                rows += 1
            if progress:
                progress(len(page))
        handle.write("]\n")
    return rows


def _write_parquet(pages, path: Path, progress, objectives: set[str]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, writer = 0, None
    try:
        for page in pages:
            page = page.map(_jsonable) if not page.empty else page
            arrow = pa.Table.from_pandas(page, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, _settled_schema(arrow.schema, objectives))
            writer.write_table(arrow.cast(writer.schema))
            rows += len(page)
            if progress:
                progress(len(page))
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        pd.DataFrame().to_parquet(path)
    return rows


_NUMERIC_RUN_COLUMNS = {"fitness", "evaluation_time_seconds", "solver_time_seconds", "domination_count",
                        "generation_number", "evaluation_number"}


def _settled_schema(schema, objectives: set[str]):
    """A column that is empty on the first page has no type yet; give it the one later pages need
    (a number for parameters, objectives, KPIs and timings, text otherwise)."""
    import pyarrow as pa

    fields = []
    for field in schema:
        if pa.types.is_null(field.type):
            numeric = (field.name in _NUMERIC_RUN_COLUMNS or field.name in objectives
                       or field.name.startswith(("param:", "sim:")))
            field = field.with_type(pa.float64() if numeric else pa.large_string())
        fields.append(field)
    return pa.schema(fields, metadata=schema.metadata)


def _plain(record: dict, nan_columns: set[str]) -> dict:
    """JSON-safe values: a missing value is null; a NaN objective and the infinities are the strings
    the store uses for them ("NaN", "Infinity", "-Infinity")."""
    out = {}
    for key, value in record.items():
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            if value != value:
                value = "NaN" if key in nan_columns else None
            else:
                value = "Infinity" if value > 0 else "-Infinity"
        elif value is pd.NA or value is pd.NaT:
            value = None
        out[key] = value
    return out
