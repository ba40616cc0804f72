"""Solve a MILP with HiGHS (``highspy``) and record it as a ``milp`` study.

``solve_and_record`` solves a model built with highspy's modelling API and stores

- its progress: one ``convergence_metrics`` row per solver event that changed the incumbent or
  the dual bound (HiGHS's improving-solution and MIP-logging callbacks), plus a final row from
  the solver's own summary: ``best_fitness`` = incumbent objective (NULL before the first one),
  ``dual_bound``, ``relative_gap`` (HiGHS's ``mip_gap``; NULL while infinite), and
  ``elapsed_seconds``; ``generation_number`` numbers the events 0, 1, 2, ... Rows are written
  every ``flush_seconds`` during the solve, so a long solve shows its progress while it runs;
- the final solution as the study's run: ``parameter_vector`` = every variable's value,
  ``fitness`` = the objective value, ``solver_time_seconds`` = HiGHS's run time;
- the study's status: ``completed`` when HiGHS returned a solution (optimal, or stopped at a limit
  with an incumbent; the last row's gap says how good), ``failed`` when it found none.

Example (runs as is)::

    >>> import highspy
    >>> from storage import DatabaseMetadataService
    >>> from integrations.highs_milp import solve_and_record
    >>> h = highspy.Highs()
    >>> h.silent()
    >>> x = [h.addBinary(obj=v, name=f"take_{i}") for i, v in enumerate([10.0, 13.0, 7.0, 8.0])]
    >>> _ = h.addConstr(4 * x[0] + 6 * x[1] + 3 * x[2] + 5 * x[3] <= 10)
    >>> h.setMaximize()
    >>> db = DatabaseMetadataService(":memory:")
    >>> result = solve_and_record(db, "knapsack", h, objective_name="value")
    >>> result.model_status, result.objective, result.values
    ('Optimal', 23.0, [1.0, 1.0, 0.0, 0.0])
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import highspy

from storage.errors import ValidationError

DEFAULT_FLUSH_SECONDS = 5.0


@dataclass
class MilpResult:
    """What ``solve_and_record`` stored, for the caller's convenience."""

    study_id: str
    model_status: str  # HiGHS's model status text ("Optimal", "Time limit reached", "Infeasible"...)
    objective: float | None  # None when HiGHS returned no solution
    dual_bound: float | None
    relative_gap: float | None
    values: list[float] | None  # variable values, in column order
    run_id: str | None
    progress: list[dict] = field(default_factory=list)  # the convergence rows written


class _ProgressLog:
    """Collects progress events from HiGHS callbacks and writes them in batches.

    Callbacks run inside the solver; an exception must not unwind through HiGHS, so a failed
    write is kept and re-raised by ``finish`` after the solve.
    """

    def __init__(self, service: Any, study_id: str, flush_seconds: float):
        self.service = service
        self.study_id = study_id
        self.flush_seconds = flush_seconds
        self.rows: list[dict] = []
        self.pending: list[dict] = []
        self.last_state: tuple | None = None
        self.last_flush = time.monotonic()
        self.error: BaseException | None = None

    def on_event(self, event) -> None:
        out = event.data_out
        self.add(out.mip_primal_bound, out.mip_dual_bound, out.mip_gap, out.running_time, final=False)
        if self.pending and time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def add(self, incumbent: float, dual_bound: float, gap: float, elapsed: float, final: bool) -> None:
        state = (_finite(incumbent), _finite(dual_bound))
        if state == self.last_state and not final:
            return  # a log line that changed neither bound adds nothing to the progress curve
        self.last_state = state
        row = {
            "study_id": self.study_id,
            "generation_number": len(self.rows),
            "best_fitness": state[0],
            "dual_bound": state[1],
            "relative_gap": _finite(gap) if gap is not None and gap >= 0 else None,
            "elapsed_seconds": max(0.0, float(elapsed)),
        }
        self.rows.append(row)
        self.pending.append(row)

    def flush(self) -> None:
        if self.error is not None or not self.pending:
            return
        try:
            self.service.log_convergence_metrics(self.pending)
        except Exception as error:  # noqa: BLE001 - re-raised by finish(), outside the solver
            self.error = error
        self.pending = []
        self.last_flush = time.monotonic()

    def finish(self) -> None:
        self.flush()
        if self.error is not None:
            raise self.error


def solve_and_record(
    service: Any,
    study_id: str,
    highs: highspy.Highs,
    *,
    objective_name: str = "objective",
    variable_names: Sequence[str] | None = None,
    study: Mapping[str, Any] | None = None,
    flush_seconds: float = DEFAULT_FLUSH_SECONDS,
) -> MilpResult:
    """Solve ``highs`` (a model with variables and constraints) and record it as study ``study_id``.

    ``variable_names``: default the model's column names (``x0, x1, ...`` where unnamed).
    ``study``: extra ``create_study`` fields (``study_name``, ``description``, ``metadata_json``...).
    The study is created here (an existing ``study_id`` raises ``DuplicateError``). Returns a
    ``MilpResult``. HiGHS's own options (time limit, ``mip_rel_gap``, threads...) are the caller's;
    only MIP logging is switched on for the solve (without console output when it was off), since
    HiGHS reports its bound updates through the logging callback, and restored afterwards.
    """
    if not isinstance(highs, highspy.Highs):
        raise ValidationError(f"highs={highs!r}: expected a highspy.Highs model")
    n = int(highs.numVariables)
    if n == 0:
        raise ValidationError(f"study_id={study_id!r}: the HiGHS model has no variables; build it before solving")
    if variable_names is not None:
        names = list(variable_names)
    else:
        # A model built without names reports none at all (not n empty names).
        model_names = list(highs.allVariableNames())
        model_names = model_names if len(model_names) == n else [""] * n
        names = [name or f"x{i}" for i, name in enumerate(model_names)]
    if len(names) != n:
        raise ValidationError(f"variable_names has {len(names)} names but the model has {n} variables")
    sense = highs.getObjectiveSense()[1]
    direction = "maximize" if sense == highspy.ObjSense.kMaximize else "minimize"
    lp = highs.getLp()
    n_integer = sum(1 for kind in lp.integrality_ if kind != highspy.HighsVarType.kContinuous)
    extra = dict(study or {})
    metadata = {
        "solver": "HiGHS",
        "solver_version": f"{highs.versionMajor()}.{highs.versionMinor()}.{highs.versionPatch()}",
        "num_variables": n,
        "num_integer_variables": n_integer,
        "num_constraints": int(highs.numConstrs),
        **dict(extra.pop("metadata_json", None) or {}),
    }
    service.create_study({
        "study_id": study_id,
        "study_type": "milp",
        "optimization_objective": objective_name,
        "objective_directions": [direction],
        "parameter_names": names,
        "status": "running",
        **extra,
        "metadata_json": metadata,
    })

    progress = _ProgressLog(service, study_id, flush_seconds)
    restore = _enable_quiet_logging(highs)
    highs.cbMipImprovingSolution.subscribe(progress.on_event)
    highs.cbMipLogging.subscribe(progress.on_event)
    try:
        highs.solve()
    finally:
        highs.cbMipImprovingSolution.unsubscribe(progress.on_event)
        highs.cbMipLogging.unsubscribe(progress.on_event)
        restore()

    info = highs.getInfo()
    status_text = highs.modelStatusToString(highs.getModelStatus())
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    objective = float(info.objective_function_value) if has_solution else None
    run_time = float(highs.getRunTime())
    is_mip = n_integer > 0
    dual_bound = float(info.mip_dual_bound) if is_mip else objective
    gap = float(info.mip_gap) if is_mip else (0.0 if has_solution else None)
    progress.add(objective if objective is not None else math.inf, dual_bound, gap, run_time, final=True)
    progress.finish()

    values = None
    run_id = None
    if has_solution:
        values = [float(v) for v in highs.getSolution().col_value]
        run_id = service.log_study_run({
            "study_id": study_id,
            "parameter_vector": values,
            "objectives": [objective],
            "fitness": objective,
            "solver_time_seconds": run_time,
            "metadata_json": {"model_status": status_text},
        })
    metadata["model_status"] = status_text
    service.update_study_status(
        study_id,
        "completed" if has_solution else "failed",
        execution_time_seconds=run_time,
        metadata_json=metadata,
    )
    last = progress.rows[-1]
    return MilpResult(
        study_id=study_id,
        model_status=status_text,
        objective=objective,
        dual_bound=last["dual_bound"],
        relative_gap=last["relative_gap"],
        values=values,
        run_id=run_id,
        progress=progress.rows,
    )


def _enable_quiet_logging(highs: highspy.Highs):
    """HiGHS calls the MIP-logging callback only when output is on: switch it on without console
    output if the caller had silenced the model; returns a function restoring the options."""
    output_flag = highs.getOptionValue("output_flag")[1]
    to_console = highs.getOptionValue("log_to_console")[1]
    if output_flag:
        return lambda: None
    highs.setOptionValue("log_to_console", False)
    highs.setOptionValue("output_flag", True)

    def restore() -> None:
        highs.setOptionValue("output_flag", output_flag)
        highs.setOptionValue("log_to_console", to_console)

    return restore


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
