"""Record any pymoo algorithm's run in the store: each evaluation once, one batch per generation.

``HiveRecorder`` is a pymoo ``Callback``. After each generation it logs what pymoo evaluated in it,
the initial population in generation 1 and each later generation's offspring (``algorithm.off``),
with ``log_study_runs``: decision variables ``X`` as ``parameter_vector``, objectives ``F`` as
``objectives`` (``fitness`` = the first objective), constraint values ``G`` / ``H`` and the
violation ``CV`` as ``constraint_violations``, and ``generation_number`` = pymoo's ``n_gen`` when the
individual was evaluated (1 = the initial population). An individual that survives into later
generations is not logged again: the recorder marks each logged individual with its run id, so the
study holds exactly ``algorithm.evaluator.n_eval`` runs. Infeasible individuals (``CV > 0``) are
stored with ``simulation_status = 'infeasible'``, so they never enter a front. For multi-objective
problems it also logs the non-dominated set of each generation's population as a ``pareto_fronts``
row (``generation_number`` set), the front the algorithm holds at that moment, by the survivors'
run ids.

pymoo minimizes every objective, so the study's directions are all ``minimize``. The study is
created on the first generation when it does not exist yet (``study_type='genetic_algorithm'``,
the problem's objective count, parameter names, population size and generation limit); an
existing study is appended to. ``HiveRecorder.complete(result)`` marks it completed once
``minimize`` returns, which derives Pareto flags, the final front, hypervolume and convergence.

Example (runs as is)::

    >>> from pymoo.algorithms.moo.nsga2 import NSGA2
    >>> from pymoo.optimize import minimize
    >>> from pymoo.problems import get_problem
    >>> from storage import DatabaseMetadataService
    >>> from integrations.pymoo_recorder import HiveRecorder
    >>> db = DatabaseMetadataService(":memory:")
    >>> recorder = HiveRecorder(db, "zdt1_demo", objective_names=["f1", "f2"])
    >>> res = minimize(get_problem("zdt1"), NSGA2(pop_size=20), ("n_gen", 5), seed=1, callback=recorder)
    >>> summary = recorder.complete(res)
    >>> summary["run_count"], summary["status"]
    (100, 'completed')
"""
from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pymoo.core.callback import Callback

from analysis import pareto
from storage.errors import DuplicateError, ValidationError


RUN_ID_KEY = "hive_run_id"  # set on each logged pymoo Individual: its run id in the store


def _evaluated_this_generation(algorithm) -> list:
    """What pymoo evaluated since the last generation: the offspring (the initial population in
    generation 1), then anything else new in the population; never an individual twice."""
    seen: set[int] = set()
    out = []
    for group in (algorithm.off, algorithm.pop):
        for ind in group if group is not None else ():
            if id(ind) not in seen and ind.F is not None:
                seen.add(id(ind))
                out.append(ind)
    return out


class HiveRecorder(Callback):
    """A pymoo callback that logs every generation's population into study ``study_id``.

    ``service``: a ``storage.DatabaseMetadataService``.
    ``parameter_names`` / ``objective_names``: default ``x0, x1, ...`` and ``f1, f2, ...``.
    ``reference_point``: optional, for hypervolumes (the study's ``reference_point``).
    ``study``: extra fields for ``create_study`` (``study_name``, ``description``,
    ``max_generations``, ``metadata_json``...), used only when the recorder creates the study.
    ``log_fronts``: log each generation's non-dominated set as a ``pareto_fronts`` row.

    After a run, ``last_generation`` and ``last_run_ids`` (aligned with ``result.pop``) say where
    the final population was stored, and ``evaluations`` how many runs were logged.

    Use one recorder per ``minimize`` run: generation numbers restart with every run.

    A recorder writes into a database, so copying it makes no sense: ``copy.deepcopy`` (which
    ``minimize`` applies to an algorithm constructed with ``callback=...``) returns the recorder
    itself, and the run is recorded once.
    """

    def __init__(
        self,
        service: Any,
        study_id: str,
        parameter_names: Sequence[str] | None = None,
        objective_names: Sequence[str] | None = None,
        *,
        reference_point: Sequence[float] | None = None,
        study: Mapping[str, Any] | None = None,
        log_fronts: bool = True,
    ):
        super().__init__()
        if not isinstance(study_id, str) or not study_id:
            raise ValidationError(f"study_id={study_id!r}: expected non-empty text")
        for label, names in (("parameter_names", parameter_names), ("objective_names", objective_names)):
            if names is not None and (isinstance(names, str) or not all(isinstance(n, str) for n in names)):
                raise ValidationError(f"{label}={names!r}: expected a list of names")
        if objective_names is not None and any("," in name for name in objective_names):
            # optimization_objective is stored as comma-separated names
            raise ValidationError(f"objective_names={list(objective_names)!r}: names cannot contain a comma")
        self.service = service
        self.study_id = study_id
        self.parameter_names = list(parameter_names) if parameter_names is not None else None
        self.objective_names = list(objective_names) if objective_names is not None else None
        self.reference_point = list(reference_point) if reference_point is not None else None
        self.study_fields = dict(study or {})
        self.log_fronts = log_fronts
        self.created_study = False
        self.metadata: dict = {}
        self.last_generation: int | None = None
        self.last_run_ids: list[str] = []
        self.evaluations = 0

    def __deepcopy__(self, memo: dict) -> HiveRecorder:
        return self

    # ------------------------------------------------------------------------------- pymoo hooks

    def initialize(self, algorithm) -> None:
        problem = algorithm.problem
        n_obj, n_var = int(problem.n_obj), int(problem.n_var)
        if self.objective_names is None:
            self.objective_names = [f"f{k + 1}" for k in range(n_obj)]
        if self.parameter_names is None:
            self.parameter_names = [f"x{i}" for i in range(n_var)]
        if len(self.objective_names) != n_obj:
            raise ValidationError(
                f"objective_names={self.objective_names!r} has {len(self.objective_names)} names but "
                f"the problem has n_obj={n_obj}"
            )
        if len(self.parameter_names) != n_var:
            raise ValidationError(
                f"parameter_names={self.parameter_names!r} has {len(self.parameter_names)} names but "
                f"the problem has n_var={n_var}"
            )
        record = {
            "study_id": self.study_id,
            "study_type": "genetic_algorithm",
            "optimization_objective": ",".join(self.objective_names),
            "objective_directions": ["minimize"] * n_obj,
            "parameter_names": self.parameter_names,
            "status": "running",
            "metadata_json": _run_metadata(algorithm),
        }
        pop_size = getattr(algorithm, "pop_size", None)
        if isinstance(pop_size, int) and not isinstance(pop_size, bool):
            record["population_size"] = pop_size
        max_generations = getattr(algorithm.termination, "n_max_gen", None)
        if isinstance(max_generations, int) and not isinstance(max_generations, bool) and max_generations > 0:
            record["max_generations"] = max_generations
        if self.reference_point is not None:
            record["reference_point"] = self.reference_point
        record.update(self.study_fields)
        try:
            self.service.create_study(record)
            self.created_study = True
            self.metadata = record["metadata_json"]
        except DuplicateError:
            pass  # the caller created it (or a previous run did): append to it

    def notify(self, algorithm) -> None:
        pop = algorithm.pop
        generation = int(algorithm.n_gen)
        if pop is None or len(pop) == 0:
            return
        fresh = [ind for ind in _evaluated_this_generation(algorithm) if ind.get(RUN_ID_KEY) is None]
        if fresh:
            for ind, run_id in zip(fresh, self._log(algorithm, generation, fresh)):
                ind.set(RUN_ID_KEY, run_id)
            self.evaluations += len(fresh)
        run_ids = [ind.get(RUN_ID_KEY) for ind in pop]
        self.last_generation, self.last_run_ids = generation, run_ids
        if self.log_fronts and algorithm.problem.n_obj >= 2 and None not in run_ids:
            F = np.asarray(pop.get("F"), dtype=np.float64).reshape(len(pop), -1)
            self._log_front(generation, F, np.asarray(pop.get("feas"), dtype=bool).reshape(-1), run_ids)

    def _log(self, algorithm, generation: int, individuals: list) -> list[str]:
        """One batch: the individuals pymoo evaluated in this generation."""
        X = np.array([ind.X for ind in individuals])
        if X.dtype == object:
            raise ValidationError(
                f"study_id={self.study_id!r}: generation {generation} has non-numeric decision variables "
                "(a mixed-variable problem); HiveRecorder stores numeric X only"
            )
        n = len(individuals)
        X = X.astype(np.float64).reshape(n, -1)
        F = np.array([ind.F for ind in individuals], dtype=np.float64).reshape(n, -1)
        feasible = np.array([bool(ind.feas) for ind in individuals])
        constrained = (algorithm.problem.n_ieq_constr + algorithm.problem.n_eq_constr) > 0
        # NaN cannot be stored as fitness; a NaN first objective becomes +inf (worst when minimizing),
        # while the objectives keep the NaN (excluded from fronts and statistics).
        fitness = np.where(np.isnan(F[:, 0]), np.inf, F[:, 0])
        # One batch of columns: the arrays pymoo holds, without a dict per individual.
        columns = {
            "study_id": [self.study_id] * n,
            "generation_number": [generation] * n,
            "parameter_vector": X,
            "objectives": F,
            "fitness": fitness,
            "simulation_status": np.where(feasible, "success", "infeasible"),
        }
        if constrained:
            columns["constraint_violations"] = [
                {"G": _json_numbers(ind.G), "H": _json_numbers(ind.H), "CV": _json_numbers(ind.CV)[0]}
                for ind in individuals
            ]
        return self.service.log_study_runs(columns)

    def _log_front(self, generation: int, F: np.ndarray, feasible: np.ndarray, run_ids: list[str]) -> None:
        valid = feasible & np.all(np.isfinite(F), axis=1)
        if not valid.any():
            return
        on_front = np.zeros(len(run_ids), dtype=bool)
        on_front[valid] = pareto.non_dominated_mask(F[valid])
        hypervolume = None
        if self.reference_point is not None:
            hypervolume = float(pareto.hypervolume(F[on_front], np.asarray(self.reference_point, dtype=np.float64)))
        self.service.log_pareto_front({
            "study_id": self.study_id,
            "generation_number": generation,
            "run_ids": [run_id for run_id, keep in zip(run_ids, on_front) if keep],
            # Given (possibly None) so the store does not reload the whole study for every generation.
            "hypervolume": hypervolume,
        })

    # ------------------------------------------------------------------------------------ finish

    def complete(self, result: Any = None) -> dict:
        """Mark the study completed (deriving Pareto flags, final front, hypervolume, convergence).

        ``result``: the ``pymoo.core.result.Result`` of ``minimize``; its ``exec_time`` becomes the
        study's ``execution_time_seconds``. Returns ``update_study_status``'s summary.
        """
        fields: dict[str, Any] = {}
        algorithm = getattr(result, "algorithm", None)
        evaluated = getattr(getattr(algorithm, "evaluator", None), "n_eval", None)
        if isinstance(evaluated, int) and evaluated != self.evaluations:
            warnings.warn(f"study_id={self.study_id!r}: pymoo evaluated {evaluated} individuals but the recorder saw "
                          f"{self.evaluations} (an algorithm that evaluates outside its offspring)", stacklevel=2)
        exec_time = getattr(result, "exec_time", None)
        if isinstance(exec_time, float) and math.isfinite(exec_time) and exec_time >= 0:
            fields["execution_time_seconds"] = exec_time
        if isinstance(evaluated, int):   # pymoo's own count, beside the study's other metadata
            metadata = self.metadata if self.created_study else _decoded(self.service.get_study(self.study_id)["metadata_json"])
            fields["metadata_json"] = {**(metadata if isinstance(metadata, dict) else {}), "pymoo_evaluations": evaluated}
        return self.service.update_study_status(self.study_id, "completed", **fields)


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _run_metadata(algorithm) -> dict:
    import pymoo

    problem = algorithm.problem
    metadata = {
        "source": "pymoo",
        "pymoo_version": pymoo.__version__,
        "algorithm": type(algorithm).__name__,
        "problem": type(problem).__name__,
        "n_var": int(problem.n_var),
        "n_obj": int(problem.n_obj),
        "n_ieq_constr": int(problem.n_ieq_constr),
        "n_eq_constr": int(problem.n_eq_constr),
        "generation_numbering": "pymoo n_gen (1 = initial population)",
    }
    if isinstance(algorithm.seed, int):
        metadata["seed"] = algorithm.seed
    for key in ("xl", "xu"):
        bounds = getattr(problem, key, None)
        if bounds is not None:
            metadata[key] = _json_numbers(bounds)
    return metadata


def _json_numbers(values: Any) -> list:
    """Numbers for a JSON field: standard JSON has no NaN or infinity, so those become null."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    return [float(v) if math.isfinite(v) else None for v in array.tolist()]
