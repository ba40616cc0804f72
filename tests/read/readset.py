"""The read tests' dataset: raw values generated here, written through the write API, and the
independent expectations (brute force / numpy / plain Python) the queries are checked against.

Nothing in this module reads back through ``storage``: expectations come from the raw Python values
kept in ``Dataset``, never from the code under test.
"""
from __future__ import annotations

import csv
import io
import itertools
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pytest

# ---------------------------------------------------------------------------------------- raw data


@dataclass
class Run:
    run_id: str
    evaluation_number: int
    generation: int | None
    params: list[float]
    fitness: float
    objectives: list[float] | None
    status: str = "success"
    eval_time: float | None = None
    sim: dict | None = None  # KPIs of the linked simulation run


@dataclass
class Study:
    study_id: str
    study_type: str
    status: str  # final status
    created_at: str
    name: str | None = None
    description: str | None = None
    directions: list[str] = field(default_factory=lambda: ["minimize"])
    objective_names: list[str] | None = None
    param_names: list[str] | None = None
    reference_point: list[float] | None = None
    execution_time: float | None = None
    runs: list[Run] = field(default_factory=list)
    logged_convergence: dict[int, dict] = field(default_factory=dict)
    uncertainty: list[dict] = field(default_factory=list)
    sensitivity: list[dict] = field(default_factory=list)

    @property
    def maximize(self) -> bool:
        return self.directions[0] == "maximize"

    @property
    def n_objectives(self) -> int:
        return len(self.directions)

    def run(self, run_id: str) -> Run:
        return next(r for r in self.runs if r.run_id == run_id)


@dataclass
class Dataset:
    backend: str
    url: str
    studies: dict[str, Study]

    def __getitem__(self, study_id: str) -> Study:
        return self.studies[study_id]


KPI_NAMES = ("total_cost", "co2_emissions", "renewable_fraction", "self_sufficiency_rate")

# Values in the formula study whose CSV form is written out by hand (what a spreadsheet must see).
FORMULA_RUN_IDS = {
    "=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
    "+1+1": "'+1+1",
    "-1+1": "'-1+1",
    "@SUM(A1)": "'@SUM(A1)",
    "\tTAB": "'\tTAB",
    "   =lead": "'   =lead",
    "ok\n=2+2": "ok\n'=2+2",
    "-2.5": "-2.5",
    " -3e2 ": " -3e2 ",
    "plain id": "plain id",
}
# A cell starting with a carriage return is prefixed like one starting with a tab (module docstring of
# storage.studies.exports); a CR later in the cell only needs the line after it checked.
CR_RUN_IDS = {"ok\rfine": "ok\rfine", "\rCR": "'\rCR", "x\r=1+1": "x\r'=1+1"}
FORMULA_STUDY_NAME = '=HYPERLINK("http://evil.example","click")'
FORMULA_STUDY_NAME_SAFE = "'" + FORMULA_STUDY_NAME
FORMULA_DESCRIPTION = "notes first\n  @SUM(1+1)\nlast line"
FORMULA_DESCRIPTION_SAFE = "notes first\n'  @SUM(1+1)\nlast line"
FORMULA_OBJECTIVES = ["=cost", "@co2"]
FORMULA_OBJECTIVES_SAFE = ["'=cost", "'@co2"]
FORMULA_PARAMS = ["-p0", "@p1"]
FORMULA_SENS_PARAMS = {"=p0": "'=p0", "+p1": "'+p1", "\tp2": "'\tp2", "  @p3": "'  @p3", "-2.5": "-2.5"}


def _r1(x: float) -> float:
    return float(round(x, 1))


def generate() -> dict[str, Study]:
    """Every study's raw values (deterministic)."""
    rng = np.random.default_rng(20240607)
    studies: dict[str, Study] = {}

    # --- GA, one objective, minimize: ties, failed (inf) and infeasible runs, missing timings, KPIs.
    s = Study("ga_min", "genetic_algorithm", "completed", "2024-01-10 08:00:00", name="Cost 100% renewable",
              description="grid a_b variant", objective_names=["total_cost"],
              param_names=["pv_kw", "battery_kwh", "wind_kw", "diesel_kw"], execution_time=321.5)
    for k in range(42):
        gen = k // 7
        fitness = _r1(10 + 6 * rng.random() - 0.8 * gen)
        status = "success"
        if k in (5, 17, 30):
            status, fitness = "failed", math.inf
        elif k == 11:
            status, fitness = "infeasible", 0.5
        eval_time = None if k % 3 == 0 else float(round(rng.uniform(0.1, 2.0), 3))
        params = [float(round(v, 2)) for v in rng.uniform(0, 100, 4)]
        s.runs.append(Run(f"ga_min:{k}", k, gen, params, fitness, None, status, eval_time))
    s.runs[20].fitness = s.runs[13].fitness = s.runs[40].fitness  # exact ties across generations
    ok = sorted((r for r in s.runs if r.status == "success"), key=lambda r: (r.fitness, r.evaluation_number))
    for r in ok[:3] + [s.runs[1], s.runs[11]]:
        r.sim = {"total_cost": r.fitness * 1000.0 + 0.25, "co2_emissions": 40.0 + r.evaluation_number,
                 "renewable_fraction": 0.5, "self_sufficiency_rate": 0.125 * (r.evaluation_number % 8)}
    studies[s.study_id] = s

    # --- GA, one objective, maximize: a failed run with the nominally best fitness, -inf, and a
    # generation in which every run failed.
    s = Study("ga_max", "genetic_algorithm", "completed", "2024-02-15 12:00:00", name="Renewable axb",
              description="1000 runs maximize", directions=["maximize"], objective_names=["renewable_fraction"],
              param_names=["a", "b", "c"], execution_time=60.0)
    for k in range(27):
        gen = k // 6 if k < 24 else 4
        fitness = float(round(rng.uniform(0.2, 0.9) + 0.02 * gen, 2))
        status = "success"
        if k == 7:
            status, fitness = "failed", 99.0
        elif k == 13 or gen == 4:
            status, fitness = "failed", -math.inf
        params = [float(round(v, 3)) for v in rng.uniform(-1, 1, 3)]
        s.runs.append(Run(f"ga_max:{k}", k, gen, params, fitness, [fitness], status))
    s.runs[2].fitness = s.runs[2].objectives[0] = s.runs[9].fitness
    studies[s.study_id] = s

    # --- two objectives, mixed directions (cost min, renewables max): grid values with ties and
    # exact duplicates, a failed dominating run, a NaN objective and an infinite one.
    s = Study("mo_mixed", "genetic_algorithm", "completed", "2024-03-01 00:00:00", name="Pareto mixed",
              directions=["minimize", "maximize"], objective_names=["total_cost", "renewable_fraction"],
              param_names=["x0", "x1"], execution_time=999.0)
    for k in range(36):
        gen = k // 9
        cost = float(rng.integers(10, 21))
        ren = float(rng.integers(1, 10)) / 10
        s.runs.append(Run(f"mo_mixed:{k}", k, gen, [float(round(v, 3)) for v in rng.random(2)], cost, [cost, ren]))
    extra = [
        ([9.0, 0.3], "success", None), ([9.0, 0.3], "success", None),  # duplicates, both on the front
        ([9.0, 0.2], "success", None),  # ties the first objective, dominated
        ([21.0, 0.99], "success", None),  # best renewables
        ([1.0, 1.0], "failed", None),  # would dominate everything, but failed
        ([math.nan, 0.995], "success", 15.0),  # NaN objective: never on the front
        ([math.inf, 0.999], "success", None),  # infinite objective: never on the front
    ]
    for objectives, status, fitness in extra:
        k = len(s.runs)
        f = objectives[0] if fitness is None else fitness
        # each a design of its own (equal objectives, different parameters: two designs on the front)
        s.runs.append(Run(f"mo_mixed:{k}", k, 3, [0.5, 0.5 + k / 1000], f, objectives, status))
    s.runs[30].objectives = list(s.runs[4].objectives)  # a duplicate inside the random cloud
    s.runs[30].fitness = s.runs[30].objectives[0]
    studies[s.study_id] = s

    # --- two objectives, running: front and convergence computed live; generation 0 logged by the
    # optimizer (used as stored), the others computed.
    s = Study("mo_live", "genetic_algorithm", "running", "2024-03-20 10:00:00", name="live pareto monitor",
              directions=["minimize", "minimize"], objective_names=["cost", "co2"], param_names=["u", "v", "w"],
              reference_point=[100.0, 100.0])
    for k in range(24):
        gen = k // 8
        objectives = [float(rng.integers(10, 61)), float(rng.integers(10, 61))]
        status = "failed" if k == 10 else "success"
        fitness = math.inf if status == "failed" else objectives[0]
        s.runs.append(Run(f"mo_live:{k}", k, gen, [float(round(v, 2)) for v in rng.uniform(0, 5, 3)], fitness,
                          objectives, status))
    s.runs[10].objectives = [0.0, 0.0]  # failed, would dominate everything
    s.logged_convergence[0] = {"best_fitness": 11.0, "average_fitness": 30.5, "worst_fitness": 58.0,
                               "fitness_std_dev": 4.25, "evaluations_in_generation": 8, "stagnation_count": 0}
    studies[s.study_id] = s

    # --- Monte Carlo: runs without generations, uncertainty and sensitivity logged directly.
    s = Study("mc_study", "monte_carlo", "completed", "2024-04-01 09:30:00", name="Étude Monte Carlo",
              description="uncertainty of the baseline", objective_names=["total_cost"],
              param_names=["load", "price", "wind", "sun"], execution_time=12.0)
    for k in range(10):
        s.runs.append(Run(f"mc_study:{k}", k, None, [float(round(v, 3)) for v in rng.random(4)],
                          float(round(rng.normal(100, 10), 3)), None))
    samples = {"total_cost": rng.normal(1e6, 5e4, 2000), "co2": rng.lognormal(5, 0.3, 1000)}
    for objective, target in (("total_cost", None), ("co2", None), ("total_cost", "mc_study:3")):
        x = samples[objective] * (1.01 if target else 1.0)
        p = {q: float(np.percentile(x, q)) for q in (5, 25, 50, 75, 95)}
        tail = x[x >= p[95]]
        s.uncertainty.append({
            "objective_name": objective, "target_solution_id": target, "mean_value": float(x.mean()),
            "median_value": float(np.median(x)), "std_dev": float(x.std(ddof=1)), "percentile_5": p[5],
            "percentile_25": p[25], "percentile_50": p[50], "percentile_75": p[75], "percentile_95": p[95],
            "var_95": p[95], "cvar_95": float(tail.mean()), "sample_count": int(x.size), "excluded_count": 3,
        })
    for objective in ("total_cost", "co2"):
        totals = rng.random(4)
        ranks = np.argsort(np.argsort(-totals)) + 1
        for index, name in enumerate(s.param_names):
            s.sensitivity.append({
                "objective_name": objective, "parameter_name": name, "parameter_index": index,
                "correlation_coefficient": float(round(rng.uniform(-1, 1), 4)),
                "rank_correlation": float(round(rng.uniform(-1, 1), 4)),
                "sobol_first_order": float(round(totals[index] * 0.8, 4)), "sobol_first_order_conf": 0.01,
                "sobol_total": float(round(totals[index], 4)), "sobol_total_conf": 0.02,
                "importance_rank": int(ranks[index]),
            })
    rng.shuffle(s.sensitivity)  # logged out of order
    studies[s.study_id] = s

    studies["milp_1"] = Study("milp_1", "milp", "pending", "2024-04-05 00:00:00", name="MILP under_score")
    studies["sim_failed"] = Study("sim_failed", "single_simulation", "failed", "2023-12-31 23:59:59",
                                  name="old simulation", description="config at C:\\configs\\base.yaml")

    # --- a finite fitness beyond 1e308 (still finite: it belongs in the average).
    s = Study("edge_big", "genetic_algorithm", "running", "2024-05-01 00:00:00", name="edge values")
    s.runs = [Run("edge_big:0", 0, None, [1.0], 1.5e308, None), Run("edge_big:1", 1, None, [2.0], 3.0, None)]
    studies[s.study_id] = s

    # --- the freshness test adds runs to this one from another process.
    s = Study("fresh_live", "genetic_algorithm", "running", "2024-05-01 00:00:00", name="fresh",
              directions=["minimize", "minimize"], objective_names=["f1", "f2"], param_names=["p"])
    s.runs = [Run(f"fresh_live:{k}", k, 0, [float(k)], float(v[0]), [float(v[0]), float(v[1])])
              for k, v in enumerate([(5, 5), (4, 6), (6, 4), (7, 7)])]
    studies[s.study_id] = s

    # --- spreadsheet formulas everywhere text can carry them.
    s = Study("fx_formula", "genetic_algorithm", "running", "2024-05-03 00:00:00", name=FORMULA_STUDY_NAME,
              description=FORMULA_DESCRIPTION, directions=["minimize", "minimize"],
              objective_names=FORMULA_OBJECTIVES, param_names=FORMULA_PARAMS)
    for k, run_id in enumerate(FORMULA_RUN_IDS):
        fitness = -2.5 if k == 0 else float(k)
        s.runs.append(Run(run_id, k, 0, [float(k), -2.5], fitness, [fitness, float(10 - k)]))
    s.uncertainty.append({"objective_name": "=cost", "mean_value": -2.5, "sample_count": 5})
    for index, name in enumerate(FORMULA_SENS_PARAMS):
        s.sensitivity.append({"objective_name": "@co2", "parameter_name": name, "parameter_index": index,
                              "sobol_total": -2.5 + index, "importance_rank": index + 1})
    studies[s.study_id] = s

    # --- carriage returns inside text cells (kept apart: they break the CSV rows of a whole table).
    s = Study("fx_cr", "genetic_algorithm", "running", "2024-05-04 00:00:00", name="carriage return runs")
    s.runs = [Run("fx_cr:best", 0, 0, [0.0], -1.0, None)]  # the best run (named in list-studies) is plain
    s.runs += [Run(run_id, k + 1, 0, [float(k)], float(k), None) for k, run_id in enumerate(CR_RUN_IDS)]
    studies[s.study_id] = s
    return studies


def write(service, studies: dict[str, Study]) -> None:
    """Everything through the public write API."""
    for s in studies.values():
        record = {"study_id": s.study_id, "study_type": s.study_type, "created_at": s.created_at}
        if s.name is not None:
            record["study_name"] = s.name
        if s.description is not None:
            record["description"] = s.description
        if s.objective_names:
            record["optimization_objective"] = ",".join(s.objective_names)
        if s.study_type in ("genetic_algorithm", "monte_carlo"):
            record["objective_directions"] = s.directions
        if s.param_names:
            record["parameter_names"] = s.param_names
        if s.reference_point:
            record["reference_point"] = s.reference_point
        if s.status == "failed" or (s.status == "pending"):
            record["status"] = s.status
        if s.study_id == "fx_formula":
            record["metadata_json"] = {"note": "=1+1"}
        service.create_study(record)
        if s.runs:
            batch = []
            for r in s.runs:
                row = {"study_id": s.study_id, "run_id": r.run_id, "evaluation_number": r.evaluation_number,
                       "parameter_vector": r.params, "fitness": r.fitness, "simulation_status": r.status}
                if r.generation is not None:
                    row["generation_number"] = r.generation
                if r.objectives is not None:
                    row["objectives"] = r.objectives
                if r.eval_time is not None:
                    row["evaluation_time_seconds"] = r.eval_time
                if s.study_id == "fx_formula":
                    row["metadata_json"] = {"note": "=1+1"} if r.evaluation_number % 2 else -2.5
                batch.append(row)
            service.log_study_runs(batch[: len(batch) // 2])
            service.log_study_runs(batch[len(batch) // 2:])
        for r in s.runs:
            if r.sim is not None:
                service.log_simulation_run({"run_id": f"sim-{r.run_id}", "run_name": f"sim of {r.run_id}",
                                            "study_run_id": r.run_id, **r.sim})
        for generation, row in s.logged_convergence.items():
            service.log_convergence_metrics({"study_id": s.study_id, "generation_number": generation, **row})
        for row in s.uncertainty:
            service.log_uncertainty_analysis({"study_id": s.study_id, **row})
        if s.sensitivity:
            service.log_sensitivity_analysis([{"study_id": s.study_id, **row} for row in s.sensitivity])
        if s.status == "completed":
            service.update_study_status(s.study_id, "completed", execution_time_seconds=s.execution_time)


# ------------------------------------------------------------------------------- expectations


def to_min(objectives: list[float], directions: list[str]) -> list[float]:
    return [-v if d == "maximize" else v for v, d in zip(objectives, directions)]


def valid_runs(study: Study) -> list[Run]:
    """Runs that take part in dominance: successful with every objective finite."""
    return [r for r in study.runs if r.status == "success" and r.objectives is not None
            and all(math.isfinite(v) for v in r.objectives)]


def dominates(a: list[float], b: list[float]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def brute_front(study: Study, runs: list[Run] | None = None) -> set[str]:
    runs = valid_runs(study) if runs is None else runs
    points = {r.run_id: to_min(r.objectives, study.directions) for r in runs}
    return {rid for rid, p in points.items() if not any(dominates(q, p) for q in points.values())}


def brute_domination_count(study: Study, run: Run) -> int | None:
    valid = valid_runs(study)
    if run not in valid:
        return None
    p = to_min(run.objectives, study.directions)
    return sum(dominates(to_min(q.objectives, study.directions), p) for q in valid)


def hypervolume_2d(points: list[list[float]], reference: list[float]) -> float:
    """Area dominated by ``points`` (minimization) inside the box below ``reference``, by summing the
    cells of the grid made by every coordinate: brute force, no sorting cleverness."""
    xs = sorted({p[0] for p in points if p[0] < reference[0]} | {reference[0]})
    ys = sorted({p[1] for p in points if p[1] < reference[1]} | {reference[1]})
    area = 0.0
    for x0, x1 in itertools.pairwise(xs):
        for y0, y1 in itertools.pairwise(ys):
            if any(p[0] <= x0 and p[1] <= y0 for p in points):
                area += (x1 - x0) * (y1 - y0)
    return area


def reference_min(study: Study) -> list[float]:
    if study.reference_point is not None:
        return to_min(study.reference_point, study.directions)
    points = [to_min(r.objectives, study.directions) for r in valid_runs(study)]
    return [max(p[i] for p in points) for i in range(study.n_objectives)]


def best_designs(study: Study, limit: int) -> list[Run]:
    ok = [r for r in study.runs if r.status == "success"]
    sign = -1 if study.maximize else 1
    return sorted(ok, key=lambda r: (sign * r.fitness, r.evaluation_number))[:limit]


def best_fitness(study: Study) -> float | None:
    ok = [r.fitness for r in study.runs if r.status == "success"]
    if not ok:
        return None
    return max(ok) if study.maximize else min(ok)


def avg_finite_successful(study: Study) -> float | None:
    values = [r.fitness for r in study.runs if r.status == "success" and math.isfinite(r.fitness)]
    return sum(values) / len(values) if values else None


def convergence(study: Study) -> list[dict]:
    """Per generation, from the raw runs: best/avg/worst/std (ddof 0) of finite successful fitness,
    all evaluations, diversity (parameters scaled by their range over every run with a generation),
    stagnation, hypervolume of the front so far (multi-objective), best so far carried forward."""
    runs = [r for r in study.runs if r.generation is not None]
    generations = sorted({r.generation for r in runs})
    params = np.array([r.params for r in runs], dtype=float)
    low, span = params.min(axis=0), params.max(axis=0) - params.min(axis=0)
    scaled = np.where(span > 0, (params - low) / np.where(span > 0, span, 1), 0.0)
    rows, best_so_far, last_improved = [], None, None
    pick = max if study.maximize else min
    for index, g in enumerate(generations):
        mine = [i for i, r in enumerate(runs) if r.generation == g]
        values = np.array([runs[i].fitness for i in mine if runs[i].status == "success"
                           and math.isfinite(runs[i].fitness)], dtype=float)
        row = {"generation_number": g, "evaluations_in_generation": len(mine)}
        if values.size:
            row.update(best_fitness=pick(values), worst_fitness=(min if study.maximize else max)(values),
                       average_fitness=float(values.mean()), fitness_std_dev=float(values.std()))
            if best_so_far is None or (values.max() > best_so_far if study.maximize else values.min() < best_so_far):
                best_so_far, last_improved = float(pick(values)), index
        else:
            row.update(best_fitness=None, worst_fitness=None, average_fitness=None, fitness_std_dev=None)
        row["best_so_far"] = best_so_far
        row["stagnation_count"] = None if last_improved is None else index - last_improved
        block = scaled[mine]
        row["population_diversity"] = float(np.linalg.norm(block - block.mean(axis=0), axis=1).mean())
        if study.n_objectives >= 2:
            so_far = [r for r in valid_runs(study) if r.generation <= g]
            points = [to_min(r.objectives, study.directions) for r in so_far]
            row["hypervolume"] = hypervolume_2d(points, reference_min(study)) if points else None
        rows.append(row)
    return rows


def runs_sorted(runs: list[Run], key: str, descending: bool) -> list[Run]:
    """The documented order: by the column, then evaluation_number, both in the same direction."""
    attribute = {"evaluation_number": "evaluation_number", "generation_number": "generation",
                 "fitness": "fitness", "evaluation_time_seconds": "eval_time"}[key]
    present = [r for r in runs if getattr(r, attribute) is not None]
    missing = [r for r in runs if getattr(r, attribute) is None]
    present.sort(key=lambda r: (getattr(r, attribute), r.evaluation_number), reverse=descending)
    missing.sort(key=lambda r: r.evaluation_number, reverse=descending)
    return present + missing  # missing values last, in both directions


# ------------------------------------------------------------------------------------ CSV safety

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def unsafe_cells(rows: list[list[str]]) -> list[str]:
    """Cells a spreadsheet would run as a formula: a line (of the cell) starting, after spaces, with
    a trigger; text that is a plain number and numeric output (inf/nan) are allowed."""
    bad = []
    for row in rows:
        for cell in row:
            if PLAIN_NUMBER.match(cell) or cell in ("inf", "-inf", "nan"):
                continue
            if cell.startswith(("\t", "\r")):
                bad.append(cell)
                continue
            for line in re.split(r"\r\n|\n|\r", cell):
                if line.lstrip(" ").startswith(TRIGGERS):
                    bad.append(cell)
                    break
    return bad


# ------------------------------------------------------------------------------------ fixtures


def local_fixtures():
    """``ds``, ``svc`` and ``reader`` for one test module (aliases of readplugin's session fixtures)."""

    @pytest.fixture(scope="session", name="ds")
    def ds(read_ds):
        return read_ds

    @pytest.fixture(scope="session", name="svc")
    def svc(read_svc):
        return read_svc

    @pytest.fixture(scope="session", name="reader")
    def reader(read_reader):
        return read_reader

    return ds, svc, reader
