"""Write throughput and size on disk, through the public write API, for SQLite and PostgreSQL.

Workload: the seed's shape. Studies of 50 individuals x 100 generations (5,000 evaluations each),
4 parameters (names declared once on the study), 2 objectives, logged with ``log_study_runs`` in
batches of 1,000; each study is then marked completed, which derives Pareto flags, the final front
with its hypervolume and 100 convergence rows.

    python bench/bench_write.py                      # SQLite, 20 studies (100,000 evaluations)
    python bench/bench_write.py --studies 40 --pg-url postgresql://user:pw@localhost/db

Prints evaluations per second (logging alone, and including completion) and bytes on disk per
evaluation (SQLite: file after a WAL checkpoint; PostgreSQL: pg_total_relation_size of every table).
Each backend runs --repeat times on a fresh database; the median is reported.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from storage import DatabaseMetadataService  # noqa: E402

POPULATION, GENERATIONS, PARAMETERS, BATCH = 50, 100, 4, 1000


def workload(studies: int, seed: int = 0) -> list[tuple[str, list[dict]]]:
    rng = random.Random(seed)
    plan = []
    for s in range(studies):
        study_id = f"ga_{s:03d}"
        runs = []
        for e in range(POPULATION * GENERATIONS):
            x = [rng.uniform(0, 100) for _ in range(PARAMETERS)]
            runs.append({
                "study_id": study_id,
                "evaluation_number": e,
                "generation_number": e // POPULATION,
                "parameter_vector": x,
                "objectives": [sum(x) + rng.random(), 400 - sum(x) + rng.random()],
            })
        plan.append((study_id, runs))
    return plan


def run_once(url: str, plan) -> dict:
    service = DatabaseMetadataService(url)
    for study_id, _ in plan:
        service.create_study({
            "study_id": study_id, "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
            "population_size": POPULATION, "max_generations": GENERATIONS,
            "parameter_names": [f"x{i}" for i in range(PARAMETERS)], "status": "running",
        })
    evaluations = sum(len(runs) for _, runs in plan)
    started = time.perf_counter()
    for _, runs in plan:
        for i in range(0, len(runs), BATCH):
            service.log_study_runs(runs[i:i + BATCH])
    logged = time.perf_counter() - started
    for study_id, _ in plan:
        service.update_study_status(study_id, "completed")
    total = time.perf_counter() - started
    size = disk_bytes(service)
    service.close()
    return {"log_rate": evaluations / logged, "total_rate": evaluations / total, "bytes": size / evaluations}


def disk_bytes(service: DatabaseMetadataService) -> int:
    if service.url.get_backend_name() == "sqlite":
        with service.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(service.url.database)
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with service.engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )).scalar()


def fresh_sqlite(directory: Path, i: int) -> str:
    return str(directory / f"bench_{i}.db")


def fresh_postgres(admin_url: str, i: int) -> str:
    admin = sa.create_engine(sa.make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"hive_bench_{os.getpid()}_{i}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres(admin_url: str, url: str) -> None:
    admin = sa.create_engine(sa.make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=20, help="studies of 5,000 evaluations (default 20)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("HIVE_BENCH_PG_URL"), help="PostgreSQL admin URL (CREATE DATABASE)")
    args = parser.parse_args()
    plan = workload(args.studies)
    evaluations = sum(len(r) for _, r in plan)
    print(f"workload: {args.studies} studies x {POPULATION * GENERATIONS:,} evaluations = {evaluations:,}; "
          f"{PARAMETERS} parameters, 2 objectives, batches of {BATCH:,}; median of {args.repeat}")
    print(f"{'backend':<12}{'evals/s (logging)':>20}{'evals/s (with completion)':>28}{'bytes/eval':>12}")
    backends = [("sqlite", None)] + ([("postgresql", args.pg_url)] if args.pg_url else [])
    with tempfile.TemporaryDirectory() as tmp:
        for backend, admin_url in backends:
            results = []
            for i in range(args.repeat):
                url = fresh_sqlite(Path(tmp), i) if backend == "sqlite" else fresh_postgres(admin_url, i)
                try:
                    results.append(run_once(url, plan))
                finally:
                    if backend == "postgresql":
                        drop_postgres(admin_url, url)
            median = {k: statistics.median(r[k] for r in results) for k in results[0]}
            print(f"{backend:<12}{median['log_rate']:>20,.0f}{median['total_rate']:>28,.0f}{median['bytes']:>12,.0f}")


if __name__ == "__main__":
    main()
