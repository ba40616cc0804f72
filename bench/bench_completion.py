"""How long marking a study completed takes: ``update_study_status(study_id, "completed")``, which
derives Pareto flags and domination counts of every run, the final front with its hypervolume and
the convergence rows (with hypervolume by generation), in one transaction.

Three study shapes, each logged through the columnar path into a fresh database:
- 5,000 evaluations, 2 objectives (the seed's 50 x 100 GA);
- 1,000,000 evaluations, 2 objectives (1,000 x 1,000);
- 100,000 evaluations, 3 objectives (1,000 x 100).

Beside each: the raw floor of the same run, the driver alone reading the columns completion reads
(``SELECT ... FROM study_runs WHERE study_id = ?``, every row fetched). Goals (issue #14): under
50 ms, 5 s and 5 s.

    python bench/bench_completion.py [--pg-url postgresql://user:pw@localhost/db] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_write import drop_postgres, fresh_postgres  # noqa: E402
from storage import DatabaseMetadataService  # noqa: E402

SHAPES = [  # (label, population, generations, objectives, goal in s)
    ("5,000 evaluations, 2 objectives", 50, 100, 2, 0.05),
    ("1,000,000 evaluations, 2 objectives", 1_000, 1_000, 2, 5.0),
    ("100,000 evaluations, 3 objectives", 1_000, 100, 3, 5.0),
]
READ = ("SELECT run_id, generation_number, fitness, objectives, parameter_vector, simulation_status, "
        "is_pareto_optimal, domination_count, design_key, parameter_names FROM study_runs WHERE study_id = ")


def log_study(service: DatabaseMetadataService, study_id: str, population: int, generations: int, m: int) -> None:
    """A GA-like study: objectives on a noisy trade-off that improves with the generation."""
    rng = np.random.default_rng(abs(hash(study_id)) % 2**32)
    names = ["cost", "co2", "risk"][:m]
    service.create_study({"study_id": study_id, "study_type": "genetic_algorithm",
                          "optimization_objective": ",".join(names), "objective_directions": ["minimize"] * m,
                          "population_size": population, "max_generations": generations,
                          "parameter_names": ["x0", "x1", "x2", "x3"], "status": "running"})
    per_batch = max(1, 100_000 // population)  # generations per batch
    for first in range(0, generations, per_batch):
        gens = np.repeat(np.arange(first, min(generations, first + per_batch)), population)
        n = len(gens)
        X = rng.random((n, 4))
        direction = rng.dirichlet(np.ones(m), n)
        F = direction * (1 + 5 / (1 + gens[:, None])) + 0.01 * rng.random((n, m))
        service.log_study_runs({"study_id": [study_id] * n, "generation_number": gens,
                                "evaluation_number": first * population + np.arange(n),
                                "parameter_vector": X, "objectives": F})


def raw_read(url: str, backend: str, study_id: str) -> float:
    if backend == "sqlite":
        conn = sqlite3.connect(sa.make_url(url).database)
        started = time.perf_counter()
        conn.execute(READ + "?", (study_id,)).fetchall()
        elapsed = time.perf_counter() - started
        conn.close()
        return elapsed
    import psycopg

    # in the project the rows belong to: row-level security shows a connection without one nothing
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, options="-c app.project_id=default") as conn:
        started = time.perf_counter()
        conn.execute(READ + "%s", (study_id,)).fetchall()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="studies of each shape (the median is printed)")
    parser.add_argument("--pg-url", default=os.environ.get("HIVE_BENCH_PG_URL"), help="PostgreSQL admin URL")
    parser.add_argument("--skip-large", action="store_true", help="only the 5,000-evaluation shape")
    args = parser.parse_args()
    print(f"median of {args.repeat}; load {os.getloadavg()[0]:.1f}")
    print(f"{'backend':<12}{'study':<40}{'completion':>12}{'raw read':>10}{'goal':>8}")
    backends = [("sqlite", None)] + ([("postgresql", args.pg_url)] if args.pg_url else [])
    shapes = SHAPES[:1] if args.skip_large else SHAPES
    with tempfile.TemporaryDirectory() as tmp:
        for backend, admin_url in backends:
            url = f"sqlite:///{tmp}/completion.db" if backend == "sqlite" else fresh_postgres(admin_url, 0)
            service = DatabaseMetadataService(url)
            try:
                for label, population, generations, m, goal in shapes:
                    times, reads = [], []
                    for r in range(args.repeat):
                        study_id = f"{population}x{generations}x{m}_{r}"
                        log_study(service, study_id, population, generations, m)
                        reads.append(raw_read(url, backend, study_id))
                        started = time.perf_counter()
                        service.update_study_status(study_id, "completed")
                        times.append(time.perf_counter() - started)
                    print(f"{backend:<12}{label:<40}{statistics.median(times):>11.3f}s{statistics.median(reads):>9.3f}s"
                          f"{goal:>7.2f}s")
            finally:
                service.close()
                if backend == "postgresql":
                    drop_postgres(admin_url, url)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
