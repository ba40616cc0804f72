"""The demo data set: a set of studies on one island-microgrid design problem (``hive-cli demo``).

Every study is produced by the real integrations on the model of ``integrations.microgrid``:

==============================  =========================================================
``demo_nsga2_pop40``            NSGA-II, population 40, 30 generations: cost vs CO2
``demo_nsga2_pop80``            NSGA-II, population 80, 30 generations: same problem, to compare
``demo_nsga3_three_objectives`` NSGA-III, 91 reference directions, 30 generations: cost, CO2,
                                unserved energy
``demo_nsga2_running``          NSGA-II stopped after 15 of 60 generations: status running, 25 %
``demo_mc_fuel_and_capex``      Monte Carlo (Saltelli design, 256 base samples, 7 uncertain
                                inputs) of the planners' favourite design: cost and renewable
                                share, with uncertainty and sensitivity results
``demo_milp_expansion``         HiGHS capacity expansion MILP (integer unit counts) with its
                                incumbent / bound / gap progress
``zdt1_<algorithm>_seed<k>``    experiment ``zdt1 algorithms``: NSGA-II, SMS-EMOA and random
                                search with one budget (20 x 30 evaluations) on ZDT1 (10
                                variables), seeds 1 to 5 each; labels ``algorithm`` and ``seed``
==============================  =========================================================

plus hourly re-simulations (``simulation_runs`` with cost, CO2, renewable fraction and
self-sufficiency KPIs) of five Pareto-optimal designs of ``demo_nsga2_pop40`` and of the MILP's
design, each linked to its study run.

Deterministic: fixed seeds everywhere (timestamps and measured times aside). A study that already
exists is left as it is and reported as skipped, so running the demo twice is harmless.

Use (a few seconds; ``tests/integrations/test_demo.py`` runs it on both backends)::

    hive-cli demo results.db                     # or: hive-cli --db postgresql://... demo

    from storage import DatabaseMetadataService
    from integrations.demo import build_demo
    with DatabaseMetadataService("results.db") as db:
        study_ids = build_demo(db, report=print)
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from analysis import pareto
from storage.errors import DuplicateError

from . import microgrid
from .highs_milp import solve_and_record
from .monte_carlo import run_monte_carlo
from .pymoo_recorder import HiveRecorder

SEED = 1
SITE_SEED = 2024
GA_GENERATIONS = 30
REFERENCE_2D = [1.5e6, 1500.0]  # $/year, t CO2/year: the same for both NSGA-II runs, so hypervolumes compare
REFERENCE_3D = [1.5e6, 1500.0, 100.0]
FAVOURED_DESIGN = {"pv_kw": 1000.0, "wind_kw": 500.0, "battery_kwh": 2000.0, "diesel_kw": 400.0}
OBJECTIVES_2D = ["annual_cost_usd", "co2_t_per_year"]
OBJECTIVES_3D = ["annual_cost_usd", "co2_t_per_year", "unserved_energy_pct"]

STUDY_IDS = (
    "demo_nsga2_pop40",
    "demo_nsga2_pop80",
    "demo_nsga3_three_objectives",
    "demo_nsga2_running",
    "demo_mc_fuel_and_capex",
    "demo_milp_expansion",
)
# The experiment: algorithms compared across seeds on one problem and one evaluation budget.
EXPERIMENT = "zdt1 algorithms"
EXPERIMENT_ALGORITHMS = ("NSGA-II", "SMS-EMOA", "random search")
EXPERIMENT_SEEDS = (1, 2, 3, 4, 5)
EXPERIMENT_POPULATION, EXPERIMENT_GENERATIONS, ZDT1_VARIABLES = 20, 30, 10
EXPERIMENT_STUDY_IDS = tuple(f"zdt1_{a.lower().replace(' ', '_').replace('-', '')}_seed{k}"
                             for a in EXPERIMENT_ALGORITHMS for k in EXPERIMENT_SEEDS)
_METADATA = {"demo": True, "scenario": "island microgrid: PV, wind, battery, diesel (integrations.microgrid)"}


def build_demo(service: Any, report: Callable[[str], None] | None = None) -> list[str]:
    """Fill ``service``'s database with the demo studies; returns their ids (see the module docstring).

    ``report`` receives one line per study (created, or skipped because it exists).
    """
    say = report or (lambda line: None)
    site = microgrid.synthetic_site(SITE_SEED)
    builders = (
        # The experiment first: the microgrid studies are then the most recently updated, which the
        # dashboard's pages open on.
        lambda: _experiment(service, say),
        lambda: _nsga2_pair(service, site, say),
        lambda: _nsga3(service, site, say),
        lambda: _running(service, site, say),
        lambda: _monte_carlo(service, site, say),
        lambda: _milp(service, site, say),
    )
    for build in builders:
        build()
    return list(EXPERIMENT_STUDY_IDS) + list(STUDY_IDS)


# -------------------------------------------------------------------------------- GA studies


def _create(service: Any, record: dict, say: Callable[[str], None]) -> bool:
    """Create a study; False (and a report line) when it exists already."""
    try:
        service.create_study(record)
        return True
    except DuplicateError:
        say(f"{record['study_id']}: exists, skipped")
        return False


def _ga_record(study_id: str, name: str, description: str, n_obj: int, pop_size: int, max_generations: int) -> dict:
    return {
        "study_id": study_id,
        "study_type": "genetic_algorithm",
        "study_name": name,
        "description": description,
        "optimization_objective": ",".join(OBJECTIVES_2D if n_obj == 2 else OBJECTIVES_3D),
        "objective_directions": ["minimize"] * n_obj,
        "reference_point": REFERENCE_2D if n_obj == 2 else REFERENCE_3D,
        "parameter_names": list(microgrid.DESIGN_NAMES),
        "population_size": pop_size,
        "max_generations": max_generations,
        "status": "running",
        "base_system_config_path": "demo/island_microgrid.yaml",
        "metadata_json": _METADATA | {"algorithm": "NSGA2" if n_obj == 2 else "NSGA3", "seed": SEED},
    }


def _run_ga(service: Any, study_id: str, problem, algorithm, generations: int, reference: list[float]):
    from pymoo.optimize import minimize

    names = OBJECTIVES_2D if problem.n_obj == 2 else OBJECTIVES_3D
    recorder = HiveRecorder(service, study_id, list(microgrid.DESIGN_NAMES), names, reference_point=reference)
    result = minimize(problem, algorithm, ("n_gen", generations), seed=SEED, callback=recorder)
    return recorder, result


def _nsga2_pair(service: Any, site: microgrid.Site, say: Callable[[str], None]) -> None:
    from pymoo.algorithms.moo.nsga2 import NSGA2

    problem = microgrid.microgrid_problem(site, n_obj=2)
    for pop_size in (40, 80):
        study_id = f"demo_nsga2_pop{pop_size}"
        record = _ga_record(
            study_id, f"Island microgrid sizing, NSGA-II pop {pop_size}",
            f"Cost (with lost load at $5/kWh) vs CO2 of PV, wind, battery and diesel sizes; NSGA-II with "
            f"population {pop_size} for {GA_GENERATIONS} generations (compare with the other population size).",
            2, pop_size, GA_GENERATIONS,
        )
        if not _create(service, record, say):
            continue
        recorder, result = _run_ga(service, study_id, problem, NSGA2(pop_size=pop_size), GA_GENERATIONS, REFERENCE_2D)
        recorder.complete(result)
        say(f"{study_id}: {recorder.evaluations} runs, completed")
        if pop_size == 40:
            _link_front_simulations(service, site, study_id, recorder, result)


def _nsga3(service: Any, site: microgrid.Site, say: Callable[[str], None]) -> None:
    from pymoo.algorithms.moo.nsga3 import NSGA3
    from pymoo.util.ref_dirs import get_reference_directions

    study_id = "demo_nsga3_three_objectives"
    directions = get_reference_directions("das-dennis", 3, n_partitions=12)  # 91 directions
    pop_size = 92
    record = _ga_record(
        study_id, "Island microgrid sizing, three objectives (NSGA-III)",
        "Annual cost (without lost load), CO2 and unserved energy as separate objectives; NSGA-III with "
        f"{len(directions)} Das-Dennis reference directions.",
        3, pop_size, GA_GENERATIONS,
    )
    if not _create(service, record, say):
        return
    problem = microgrid.microgrid_problem(site, n_obj=3)
    recorder, result = _run_ga(
        service, study_id, problem, NSGA3(ref_dirs=directions, pop_size=pop_size), GA_GENERATIONS, REFERENCE_3D
    )
    recorder.complete(result)
    say(f"{study_id}: {recorder.evaluations} runs, completed")


def _running(service: Any, site: microgrid.Site, say: Callable[[str], None]) -> None:
    from pymoo.algorithms.moo.nsga2 import NSGA2

    study_id = "demo_nsga2_running"
    planned, done = 60, 15
    record = _ga_record(
        study_id, "Island microgrid sizing, long NSGA-II run (in progress)",
        f"NSGA-II with population 40 planned for {planned} generations; stopped after {done} so the study "
        "shows as running.",
        2, 40, planned,
    )
    if not _create(service, record, say):
        return
    recorder, result = _run_ga(service, study_id, microgrid.microgrid_problem(site, n_obj=2), NSGA2(pop_size=40), done,
                               REFERENCE_2D)
    metadata = _METADATA | {"algorithm": "NSGA2", "seed": SEED, "pymoo_evaluations": result.algorithm.evaluator.n_eval}
    service.update_study_status(study_id, "running", progress_percent=100.0 * done / planned, metadata_json=metadata)
    say(f"{study_id}: {recorder.evaluations} runs, running at {100.0 * done / planned:.0f} %")


# ---------------------------------------------------------------------------------- simulations


def _simulation_record(site: microgrid.Site, design: np.ndarray, run_id: str, name: str, study_id: str) -> dict:
    started = time.perf_counter()
    result = microgrid.simulate(site, *design)
    elapsed = time.perf_counter() - started
    return {
        "run_id": f"sim_{run_id}",
        "run_name": name,
        "system_config_path": "demo/island_microgrid.yaml",
        "status": "completed",
        "execution_time_seconds": elapsed,
        "total_cost": float(result["annual_cost_with_lost_load"]),
        "co2_emissions": float(result["co2_t"]),
        "renewable_fraction": float(result["renewable_fraction"]),
        "self_sufficiency_rate": float(result["self_sufficiency"]),
        "metadata_json": {
            "model": "hourly rule-based dispatch, four representative weeks",
            "design": dict(zip(microgrid.DESIGN_NAMES, (float(v) for v in design))),
            "unserved_kwh_per_year": float(result["unserved_kwh"]),
            "curtailed_kwh_per_year": float(result["curtailed_kwh"]),
        },
        "study_id": study_id,
        "study_run_id": run_id,
    }


def _link_front_simulations(service: Any, site: microgrid.Site, study_id: str, recorder: HiveRecorder, result) -> None:
    """Re-simulate five designs spread along the final front and link them to their runs."""
    F = result.pop.get("F")
    X = result.pop.get("X")
    front = np.flatnonzero(pareto.non_dominated_mask(F))
    front = front[np.argsort(F[front, 0], kind="stable")]
    picks = front[np.unique(np.linspace(0, front.size - 1, num=min(5, front.size)).round().astype(int))]
    for rank, index in enumerate(picks):
        run_id = recorder.last_run_ids[index]
        service.log_simulation_run(
            _simulation_record(site, X[index], run_id, f"front design {rank + 1} of {picks.size} (by cost)", study_id)
        )


# ---------------------------------------------------------------------------------- Monte Carlo


def _monte_carlo(service: Any, site: microgrid.Site, say: Callable[[str], None]) -> None:
    study_id = "demo_mc_fuel_and_capex"
    design = FAVOURED_DESIGN
    parameters = {
        "fuel_price_usd_per_litre": stats.triang(0.4, loc=0.9, scale=1.0),
        "pv_capex_usd_per_kw": (700.0, 1100.0),
        "wind_capex_usd_per_kw": (1100.0, 1700.0),
        "battery_capex_usd_per_kwh": (250.0, 450.0),
        "discount_rate": (0.04, 0.10),
        "load_scale": stats.norm(1.0, 0.07),
        "wind_resource_scale": (0.8, 1.1),
    }

    def evaluate(samples: dict) -> np.ndarray:
        economics = microgrid.economics_with(
            fuel_price=samples["fuel_price_usd_per_litre"],
            pv_capex=samples["pv_capex_usd_per_kw"],
            wind_capex=samples["wind_capex_usd_per_kw"],
            battery_capex=samples["battery_capex_usd_per_kwh"],
            discount_rate=samples["discount_rate"],
        )
        result = microgrid.simulate(
            site, design["pv_kw"], design["wind_kw"], design["battery_kwh"], design["diesel_kw"], economics,
            load_scale=samples["load_scale"], wind_scale=samples["wind_resource_scale"],
        )
        return np.column_stack([result["annual_cost_with_lost_load"], result["renewable_fraction"]])

    try:
        analysis = run_monte_carlo(
            service, study_id, parameters, evaluate, 256, method="saltelli", seed=SEED,
            objective_names=["annual_cost_usd", "renewable_fraction"],
            objective_directions=["minimize", "maximize"], vectorized=True,
            study={
                "study_name": "Favoured design under fuel, capex, demand and wind uncertainty",
                "description": "Saltelli design (256 base samples) over seven uncertain inputs for the design "
                               + ", ".join(f"{k}={v:g}" for k, v in design.items()) + ".",
                "base_system_config_path": "demo/island_microgrid.yaml",
                "metadata_json": _METADATA | {"design": design},
            },
        )
    except DuplicateError:
        say(f"{study_id}: exists, skipped")
        return
    runs = analysis["uncertainty"][0]["sample_count"] + analysis["uncertainty"][0]["excluded_count"]
    say(f"{study_id}: {runs} runs, uncertainty and sensitivity stored, completed")


# ----------------------------------------------------------------------------------------- MILP


def _milp(service: Any, site: microgrid.Site, say: Callable[[str], None]) -> None:
    study_id = "demo_milp_expansion"
    highs, units = microgrid.expansion_milp(site)
    try:
        result = solve_and_record(
            service, study_id, highs, objective_name="annual_cost_usd",
            study={
                "study_name": "Island microgrid capacity expansion (MILP, HiGHS)",
                "description": "Integer numbers of 100 kW PV blocks, 250 kW turbines, 500 kWh battery containers "
                               "and 100 kW gensets; hourly dispatch over four representative days; CO2 cap 400 t/year.",
                "base_system_config_path": "demo/island_microgrid.yaml",
                "metadata_json": _METADATA,
            },
        )
    except DuplicateError:
        say(f"{study_id}: exists, skipped")
        return
    if result.run_id is not None:
        counts = np.array([result.values[unit.index] for unit in units])
        sizes = np.array([unit[1] for unit in microgrid.MILP_UNITS])
        design = np.round(counts) * sizes
        service.log_simulation_run(
            _simulation_record(site, design, result.run_id, "MILP design, full-year hourly check", study_id)
        )
    say(f"{study_id}: {result.model_status}, {len(result.progress)} progress rows, completed")


# ----------------------------------------------------------------------------------- experiment


def _experiment_algorithm(name: str):
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.algorithms.moo.sms import SMSEMOA
    from pymoo.algorithms.soo.nonconvex.random_search import RandomSearch

    if name == "NSGA-II":
        return NSGA2(pop_size=EXPERIMENT_POPULATION)
    if name == "SMS-EMOA":
        return SMSEMOA(pop_size=EXPERIMENT_POPULATION)
    return RandomSearch(n_points_per_iteration=EXPERIMENT_POPULATION)   # the baseline: same budget, no search


def _experiment(service: Any, say: Callable[[str], None]) -> None:
    """Three algorithms x five seeds on ZDT1, one study each, in experiment ``EXPERIMENT``."""
    from pymoo.optimize import minimize
    from pymoo.problems import get_problem

    problem = get_problem("zdt1", n_var=ZDT1_VARIABLES)
    made = 0
    for study_id, (algorithm, seed) in zip(EXPERIMENT_STUDY_IDS, ((a, k) for a in EXPERIMENT_ALGORITHMS
                                                                   for k in EXPERIMENT_SEEDS)):
        record = {
            "study_id": study_id, "study_type": "genetic_algorithm", "study_name": f"ZDT1, {algorithm}, seed {seed}",
            "description": f"{algorithm} on ZDT1 ({ZDT1_VARIABLES} variables) with {EXPERIMENT_POPULATION} x "
                           f"{EXPERIMENT_GENERATIONS} evaluations, seed {seed}: one run of experiment {EXPERIMENT!r}.",
            "optimization_objective": "f1,f2", "objective_directions": ["minimize", "minimize"],
            "parameter_names": [f"x{i + 1}" for i in range(ZDT1_VARIABLES)], "status": "running",
            "experiment": EXPERIMENT, "labels": {"algorithm": algorithm, "seed": seed},
            "metadata_json": {"demo": True, "problem": "ZDT1", "algorithm": algorithm, "seed": seed},
        }
        if not _create(service, record, say):
            continue
        recorder = HiveRecorder(service, study_id, objective_names=["f1", "f2"])
        recorder.complete(minimize(problem, _experiment_algorithm(algorithm), ("n_gen", EXPERIMENT_GENERATIONS),
                                   seed=seed, callback=recorder))
        made += 1
    if made:
        say(f"experiment {EXPERIMENT!r}: {made} studies ({', '.join(EXPERIMENT_ALGORITHMS)} x seeds "
            f"{EXPERIMENT_SEEDS[0]}-{EXPERIMENT_SEEDS[-1]}), completed")
