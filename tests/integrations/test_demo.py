"""``hive-cli demo`` on a fresh SQLite file and a fresh PostgreSQL database: the studies it promises,
checked with plain SQL; a second run changes nothing.

The command runs in-process through click's test runner (the same ``hive-cli`` command group, argument
parsing and error handling as the installed script): a subprocess would spend more time importing
pymoo, SALib and HiGHS again than the demo takes to run.
"""
from __future__ import annotations

import json

import numpy as np
import sqlalchemy as sa
from click.testing import CliRunner

from conftest import plain_engine
from hive_cli.main import cli

STUDIES = {
    # study_id: (type, status, runs); None: as many as pymoo evaluated (its own count, in the metadata)
    "demo_nsga2_pop40": ("genetic_algorithm", "completed", None),
    "demo_nsga2_pop80": ("genetic_algorithm", "completed", None),
    "demo_nsga3_three_objectives": ("genetic_algorithm", "completed", None),
    "demo_nsga2_running": ("genetic_algorithm", "running", None),
    "demo_mc_fuel_and_capex": ("monte_carlo", "completed", 256 * (7 + 2)),   # SALib's Saltelli design, N (D + 2)
    "demo_milp_expansion": ("milp", "completed", 1),
}
# The experiment: 3 algorithms x 5 seeds on ZDT1, each study pymoo's own count of evaluations.
EXPERIMENT = {f"zdt1_{key}_seed{seed}": (algorithm, seed)
              for key, algorithm in (("nsgaii", "NSGA-II"), ("smsemoa", "SMS-EMOA"), ("random_search", "random search"))
              for seed in range(1, 6)}
STUDIES.update({study_id: ("genetic_algorithm", "completed", None) for study_id in EXPERIMENT})


def hive_cli(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def query(url: str, statement: str) -> list[dict]:
    engine = plain_engine(sa.make_url(url).set(drivername="postgresql+psycopg") if url.startswith("postgresql") else url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(statement))]
    finally:
        engine.dispose()


def test_demo_fills_a_fresh_database_and_a_second_run_is_harmless(empty_db_url):
    first = hive_cli("demo", empty_db_url)
    assert first.exit_code == 0, first.output

    studies = {r["study_id"]: r for r in query(empty_db_url, "SELECT * FROM studies")}
    expected = {k: (t, s, n if n is not None else json.loads(studies[k]["metadata_json"])["pymoo_evaluations"])
                for k, (t, s, n) in STUDIES.items()}
    assert {k: (v["study_type"], v["status"], v["run_count"]) for k, v in studies.items()} == expected
    runs = {r["study_id"]: r["n"] for r in query(empty_db_url, "SELECT study_id, COUNT(*) AS n FROM study_runs GROUP BY study_id")}
    assert runs == {k: v[2] for k, v in expected.items()}
    # each evaluation once: pymoo evaluated distinct designs here, and each is one run
    designs = {r["study_id"]: r["n"] for r in query(
        empty_db_url, "SELECT study_id, COUNT(DISTINCT design_key) AS n FROM study_runs GROUP BY study_id")}
    assert all(designs[k] == runs[k] for k, v in STUDIES.items() if v[2] is None)

    # The two NSGA-II studies solve the same problem with different population sizes, comparably.
    pair = [studies["demo_nsga2_pop40"], studies["demo_nsga2_pop80"]]
    assert [s["population_size"] for s in pair] == [40, 80]
    assert len({(s["optimization_objective"], s["parameter_names"], s["reference_point"]) for s in pair}) == 1
    assert len(json.loads(studies["demo_nsga3_three_objectives"]["objective_directions"])) == 3
    running = studies["demo_nsga2_running"]
    assert (running["progress_percent"], running["max_generations"], running["completed_at"]) == (25.0, 60, None)

    fronts = {r["study_id"]: r for r in query(
        empty_db_url, "SELECT study_id, front_size, hypervolume FROM pareto_fronts WHERE generation_number IS NULL"
    )}
    for study_id in ("demo_nsga2_pop40", "demo_nsga2_pop80", "demo_nsga3_three_objectives"):
        assert fronts[study_id]["front_size"] > 0 and fronts[study_id]["hypervolume"] > 0
    convergence = {r["study_id"]: r["n"] for r in query(
        empty_db_url, "SELECT study_id, COUNT(*) AS n FROM convergence_metrics GROUP BY study_id"
    )}
    assert convergence["demo_nsga2_pop40"] == 30 and convergence["demo_milp_expansion"] >= 2

    # Monte Carlo: one uncertainty row per objective, one sensitivity row per (objective, input), linked.
    uncertainty = query(empty_db_url, "SELECT * FROM uncertainty_analysis ORDER BY objective_name")
    assert [(r["study_id"], r["objective_name"], r["sample_count"]) for r in uncertainty] == [
        ("demo_mc_fuel_and_capex", "annual_cost_usd", 2304), ("demo_mc_fuel_and_capex", "renewable_fraction", 2304)
    ]
    sensitivity = query(
        empty_db_url,
        "SELECT s.objective_name, s.sobol_total, s.importance_rank, u.objective_name AS linked "
        "FROM sensitivity_analysis s JOIN uncertainty_analysis u ON u.analysis_id = s.analysis_id",
    )
    assert len(sensitivity) == 14 and all(r["objective_name"] == r["linked"] for r in sensitivity)
    assert all(r["sobol_total"] is not None and r["importance_rank"] >= 1 for r in sensitivity)

    # MILP progress ends with a closed gap; its best run is the solution.
    milp = query(empty_db_url, "SELECT * FROM convergence_metrics WHERE study_id = 'demo_milp_expansion' ORDER BY generation_number")
    assert milp[-1]["relative_gap"] <= 1e-6 and milp[-1]["best_fitness"] == studies["demo_milp_expansion"]["best_fitness"]

    # Simulation runs with KPIs, each linked to an existing study run that links back.
    linked = query(
        empty_db_url,
        "SELECT s.total_cost, s.co2_emissions, s.renewable_fraction, s.self_sufficiency_rate, r.study_id, "
        "r.simulation_run_id = s.run_id AS back FROM simulation_runs s JOIN study_runs r ON r.run_id = s.study_run_id",
    )
    assert len(linked) == 6 and all(r["back"] for r in linked)
    assert {r["study_id"] for r in linked} == {"demo_nsga2_pop40", "demo_milp_expansion"}
    assert all(r["total_cost"] > 0 and 0 <= r["renewable_fraction"] <= 1 and 0 < r["self_sufficiency_rate"] <= 1 for r in linked)

    # The experiment: its studies carry experiment and labels; with one budget of 20 x 30 evaluations,
    # NSGA-II and SMS-EMOA beat random search in every seed (hypervolume by pymoo's own indicator on the
    # stored objectives, on the worst value of each objective over the experiment's runs).
    labelled = {r["study_id"]: (r["experiment"], json.loads(r["labels"])) for r in query(
        empty_db_url, "SELECT study_id, experiment, labels FROM studies WHERE experiment IS NOT NULL")}
    assert labelled == {sid: ("zdt1 algorithms", {"algorithm": a, "seed": k}) for sid, (a, k) in EXPERIMENT.items()}
    assert all(studies[sid]["run_count"] == 600 for sid in EXPERIMENT)
    from pymoo.indicators.hv import HV

    points: dict = {}
    for row in query(empty_db_url, "SELECT r.study_id, r.objectives FROM study_runs r JOIN studies s "
                                   "ON s.study_id = r.study_id WHERE s.experiment IS NOT NULL"):
        points.setdefault(row["study_id"], []).append(json.loads(row["objectives"]))
    points = {sid: np.array(p, dtype=float) for sid, p in points.items()}
    hv = HV(ref_point=np.vstack(list(points.values())).max(axis=0))
    volumes = {algorithm: [hv(points[sid]) for sid, (a, _) in EXPERIMENT.items() if a == algorithm]
               for algorithm in ("NSGA-II", "SMS-EMOA", "random search")}
    assert max(volumes["random search"]) < min(volumes["NSGA-II"] + volumes["SMS-EMOA"])

    second = hive_cli("demo", empty_db_url)
    assert second.exit_code == 0, second.output
    assert second.output.count("exists, skipped") == len(STUDIES)
    assert query(empty_db_url, "SELECT COUNT(*) AS n FROM study_runs")[0]["n"] == sum(v[2] for v in expected.values())
    assert query(empty_db_url, "SELECT COUNT(*) AS n FROM simulation_runs")[0]["n"] == 6
