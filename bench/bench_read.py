"""Read latency at 1,000,000 and 10,000,000 evaluations, through the public read path, on SQLite and
PostgreSQL; and a side-by-side with Optuna's RDB storage on the same workload.

Workload: the seed's shape, as in ``bench_write.py``. Studies of 50 individuals x 100 generations
(5,000 evaluations each; 200 studies make 1,000,000), 4 parameters, 2 objectives, logged through
``DatabaseMetadataService.log_study_runs`` in batches of 1,000 and marked completed (which derives
Pareto flags, the final front and the convergence rows). Each study's evaluations are generated on
the fly from a per-study seed, so a build never holds more than one study in memory and a rebuild
(or a resumed build) writes exactly the same numbers.

Measured, on one ``storage.reader.Reader`` per database through ``storage.studies.queries`` (what the
dashboard and ``hive-cli`` call): the median over --repeat calls on random studies, after one warm-up
call, of: list studies (the first page of 100, newest first, as the dashboard shows it), best designs (top 10), compare 5 studies, Pareto front,
convergence history, first page of runs (50 rows sorted by fitness), and a full study CSV export
(``storage.studies.exports.export_study_table(..., "runs", "csv", path)``).

    python bench/bench_read.py --keep /tmp/hive_bench                       # both sizes, both backends
    python bench/bench_read.py --keep /tmp/hive_bench --sizes 1000000 --backends sqlite
    python bench/bench_read.py --keep /tmp/hive_bench --build-only --backends postgresql

``--keep DIR`` keeps the SQLite files (``DIR/hive_read_<size>.db``) and the PostgreSQL databases
(``hive_read_bench_<size>``) and reuses them on the next run, so a second run only measures; an
interrupted build resumes where it stopped (batches are all-or-nothing). Without ``--keep`` everything
is built in temporary places and dropped at the end. After a PostgreSQL build the bench runs
``VACUUM (ANALYZE)``: the state autovacuum reaches on its own a little later, measured now.

The Optuna comparison records --optuna-studies studies of --optuna-trials trials (the same
workload) into a fresh SQLite file with ``Study.add_trials`` (one ``create_trial`` per evaluation: the
fastest public way to write finished trials) and into a fresh SQLite file of ours with
``log_study_runs``; it reports our throughput over Optuna's, and Optuna's time over ours to load a
whole study (``optuna.load_study(...).trials`` vs ``query_study_runs(..., limit=5000)``, every run with
decoded parameters and objectives) and its Pareto front (``optuna.load_study(...).best_trials`` vs
``get_pareto_front``).

Prints one table at the end and writes it as Markdown to bench/out/read_benchmark.md.
Needs bench/requirements-bench.txt (Optuna) on top of the project's requirements.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from storage import DatabaseMetadataService  # noqa: E402
from storage.studies import exports, queries
from storage import migrate  # noqa: E402
from storage.engine import create_engine, resolve_url  # noqa: E402
from storage.reader import Reader  # noqa: E402

POPULATION, GENERATIONS, PARAMETERS, BATCH = 50, 100, 4, 1000
STUDY_SIZE = POPULATION * GENERATIONS
SEED = 0
DEFAULT_PG_URL = "postgresql://hive:hive@localhost:5432/hive_test"
OUT = Path(__file__).resolve().parent / "out" / "read_benchmark.md"

# (key, label, goal in ms at the base size or None). The scaling goal: at a larger size no query may
# take more than SCALING_LIMIT times its figure at the base size.
QUERIES = [
    ("list", "list studies (first page of 100, newest first)", 20.0),
    ("top10", "best designs (top 10 of a study)", 10.0),
    ("compare", "compare 5 studies", 50.0),
    ("pareto", "Pareto front of a study", 20.0),
    ("convergence", "convergence history of a study", 10.0),
    ("page", "runs page (50 rows by fitness)", None),
    ("export", "study CSV export (5,000 runs)", None),
]
SCALING_LIMIT = 2.0
LOAD_SAMPLES: list[float] = []  # 1-minute load average after each query's measurements


# ------------------------------------------------------------------------------------- workload


def study_id(index: int) -> str:
    return f"ga_{index:05d}"


def study_record(index: int) -> dict:
    return {
        "study_id": study_id(index), "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
        "objective_directions": ["minimize", "minimize"], "population_size": POPULATION,
        "max_generations": GENERATIONS, "parameter_names": [f"x{i}" for i in range(PARAMETERS)],
        "status": "running",
    }


def study_evaluations(index: int) -> Iterator[tuple[int, list[float], list[float]]]:
    """(evaluation_number, parameters, objectives) of one study, the same on every call."""
    rng = random.Random(SEED * 1_000_003 + index)
    for e in range(STUDY_SIZE):
        x = [rng.uniform(0, 100) for _ in range(PARAMETERS)]
        s = sum(x)
        yield e, x, [s + rng.random(), 400 - s + rng.random()]


def study_batches(index: int, start: int = 0) -> Iterator[list[dict]]:
    """The study's ``log_study_runs`` batches, from evaluation ``start`` on (a resumed build)."""
    sid, batch = study_id(index), []
    for e, x, objectives in study_evaluations(index):
        if e < start:
            continue
        batch.append({"study_id": sid, "evaluation_number": e, "generation_number": e // POPULATION,
                      "parameter_vector": x, "objectives": objectives})
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


# ---------------------------------------------------------------------------------------- build


@dataclass
class Target:
    backend: str  # "sqlite" | "postgresql"
    size: int
    url: str
    sidecar: Path  # build times, kept beside the data

    @property
    def studies(self) -> int:
        return self.size // STUDY_SIZE

    @property
    def label(self) -> str:
        return f"{self.backend} {self.size:,}"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def upgrade_if_behind(target: Target) -> None:
    """A kept database made before a new migration: bring it to head (``hive-cli db upgrade``)."""
    engine = create_engine(resolve_url(target.url))
    try:
        with engine.connect() as conn:
            state = migrate.inspect_schema(conn)
        if state.kind == "behind":
            progress(f"[{target.label}] schema at {state.revision}, upgrading to {state.head}")
            migrate.upgrade(engine)
    finally:
        engine.dispose()


def build(target: Target) -> dict:
    """Create or complete the target's database; returns its build record (times of every session)."""
    upgrade_if_behind(target)
    service = DatabaseMetadataService(target.url)  # creates the schema in a new database
    try:
        reader = Reader(target.url)
        try:
            existing = {row.study_id: (row.status, int(row.run_count or 0))
                        for row in queries.list_studies(reader).itertuples()}
        finally:
            reader.close()
        unexpected = set(existing) - {study_id(i) for i in range(target.studies)}
        if unexpected:
            raise SystemExit(f"{target.label}: {target.url} holds studies this bench did not make "
                             f"({sorted(unexpected)[:3]}...); use another --keep directory or --rebuild")
        todo = [i for i in range(target.studies) if existing.get(study_id(i)) != ("completed", STUDY_SIZE)]
        record = _read_sidecar(target)
        if not todo:
            progress(f"[{target.label}] reusing {target.url if target.backend == 'sqlite' else _pg_name(target.url)}: "
                     f"{target.studies:,} completed studies")
            record["reused"] = True
            return record
        progress(f"[{target.label}] building {len(todo):,} of {target.studies:,} studies "
                 f"({len(todo) * STUDY_SIZE:,} evaluations) into {_where(target)}")
        log_s = complete_s = 0.0
        written = 0
        started = last_report = time.perf_counter()
        for done, index in enumerate(todo, 1):
            sid = study_id(index)
            status, start = existing.get(sid, (None, 0))
            if status is None:
                service.create_study(study_record(index))
            elif status == "completed":
                raise SystemExit(f"{target.label}: study {sid} is completed with {start} runs, not {STUDY_SIZE}; --rebuild")
            t0 = time.perf_counter()
            for batch in study_batches(index, start):
                service.log_study_runs(batch)
                written += len(batch)
            t1 = time.perf_counter()
            service.update_study_status(sid, "completed")
            t2 = time.perf_counter()
            log_s += t1 - t0
            complete_s += t2 - t1
            now = time.perf_counter()
            if now - last_report > 10 or done == len(todo):
                last_report = now
                elapsed = now - started
                eta = elapsed / done * (len(todo) - done)
                progress(f"[{target.label}] {done:,}/{len(todo):,} studies, {written:,} evaluations, "
                         f"{written / log_s:,.0f} evals/s logging, {complete_s / done * 1000:,.0f} ms/completion, "
                         f"elapsed {_duration(elapsed)}, ETA {_duration(eta)}")
        maintenance_s = 0.0
        if target.backend == "postgresql":
            t0 = time.perf_counter()
            progress(f"[{target.label}] VACUUM (ANALYZE)")
            engine = sa.create_engine(sa.make_url(target.url).set(drivername="postgresql+psycopg"),
                                      isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE)")
            engine.dispose()
            maintenance_s = time.perf_counter() - t0
        for key, value in (("evaluations", written), ("log_s", log_s), ("complete_s", complete_s),
                           ("vacuum_s", maintenance_s), ("total_s", time.perf_counter() - started)):
            record[key] = record.get(key, 0) + value
        record["sessions"] = record.get("sessions", 0) + 1
        record["bytes"] = disk_bytes(service)
        record["reused"] = False
        _write_sidecar(target, record)
        progress(f"[{target.label}] built in {_duration(record['total_s'])} "
                 f"({record['evaluations'] / record['log_s']:,.0f} evals/s logging, "
                 f"{record['evaluations'] / (record['log_s'] + record['complete_s']):,.0f} with completion), "
                 f"{record['bytes'] / 2**30:.2f} GiB")
        return record
    finally:
        service.close()


def disk_bytes(service: DatabaseMetadataService) -> int:
    if service.url.get_backend_name() == "sqlite":
        with service.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(service.url.database)
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with service.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar())


def _where(target: Target) -> str:
    return target.url if target.backend == "sqlite" else f"PostgreSQL database {_pg_name(target.url)}"


def _pg_name(url: str) -> str:
    return sa.make_url(url).database


def _read_sidecar(target: Target) -> dict:
    try:
        return json.loads(target.sidecar.read_text())
    except (OSError, ValueError):
        return {}


def _write_sidecar(target: Target, record: dict) -> None:
    target.sidecar.parent.mkdir(parents=True, exist_ok=True)
    target.sidecar.write_text(json.dumps(record, indent=1))


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m{seconds % 60:02d}s" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class Places:
    """Where each target lives: kept (--keep DIR, fixed names) or temporary (dropped at the end)."""

    def __init__(self, keep: str | None, pg_url: str, rebuild: bool):
        self.keep = Path(keep).resolve() if keep else None
        self.pg_url = pg_url
        self.rebuild = rebuild
        self._tmp = None if self.keep else tempfile.TemporaryDirectory(prefix="hive_bench_read_")
        self.root = self.keep or Path(self._tmp.name)
        self.root.mkdir(parents=True, exist_ok=True)
        self._temporary_pg: list[str] = []

    def target(self, backend: str, size: int) -> Target:
        if backend == "sqlite":
            path = self.root / f"hive_read_{size}.db"
            if self.rebuild or not path.exists():
                for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}.build.json")):
                    p.unlink(missing_ok=True)
            return Target(backend, size, str(path), Path(f"{path}.build.json"))
        name = f"hive_read_bench_{size}" if self.keep else f"hive_read_bench_{os.getpid()}_{size}"
        with self._admin() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if exists and (self.rebuild or not self.keep):
                conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        sidecar = self.root / f"postgresql_{name}.build.json"
        if self.rebuild or not exists:
            sidecar.unlink(missing_ok=True)
        if not self.keep:
            self._temporary_pg.append(name)
        url = sa.make_url(self.pg_url).set(database=name).render_as_string(hide_password=False)
        return Target(backend, size, url, sidecar)

    @contextmanager
    def _admin(self):
        engine = sa.create_engine(sa.make_url(self.pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def close(self) -> None:
        if self._temporary_pg:
            with self._admin() as conn:
                for name in self._temporary_pg:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if self._tmp is not None:
            self._tmp.cleanup()


# -------------------------------------------------------------------------------------- measure


@dataclass
class Timing:
    samples_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p90(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def read_cases(target: Target, reader: Reader, rng: random.Random, export_path: Path) -> dict[str, tuple[Callable, Callable]]:
    """Per query: (call, pick) where pick() draws the random argument outside the timed part. Every
    result is checked, so a fast wrong answer cannot pass."""
    ids = [study_id(i) for i in range(target.studies)]

    def list_all(_):
        # What a list view shows: a page, newest first (listing every study grows with their number).
        frame = queries.list_studies(reader, limit=100)
        assert len(frame) == min(100, target.studies), len(frame)
        assert list(frame["created_at"]) == sorted(frame["created_at"], reverse=True)

    def top10(sid):
        frame = queries.get_best_designs(reader, sid, 10)
        assert len(frame) == 10 and frame["fitness"].is_monotonic_increasing

    def compare(sids):
        frame = queries.compare_studies(reader, sids)
        assert list(frame["study_id"]) == sids and (frame["run_count"] == STUDY_SIZE).all()
        assert (frame["pareto_count"] > 0).all()

    def pareto(sid):
        frame = queries.get_pareto_front(reader, sid)
        assert len(frame) > 0 and frame["is_pareto_optimal"].all()

    def convergence(sid):
        frame = queries.get_convergence_history(reader, sid)
        assert len(frame) == GENERATIONS and frame["hypervolume"].notna().all()

    def page(sid):
        frame = queries.query_study_runs(reader, sid, sort="fitness", limit=50)
        assert len(frame) == 50 and frame["fitness"].is_monotonic_increasing

    def export(sid):
        rows = exports.export_study_table(reader, sid, "runs", "csv", export_path)
        assert rows == STUDY_SIZE, rows

    return {
        "list": (list_all, lambda: None),
        "top10": (top10, lambda: rng.choice(ids)),
        "compare": (compare, lambda: rng.sample(ids, min(5, len(ids)))),
        "pareto": (pareto, lambda: rng.choice(ids)),
        "convergence": (convergence, lambda: rng.choice(ids)),
        "page": (page, lambda: rng.choice(ids)),
        "export": (export, lambda: rng.choice(ids)),
    }


def measure(targets: list[Target], repeat: int, scratch: Path) -> dict[tuple[str, int], dict[str, Timing]]:
    """Median latency of each read, one Reader per database. The repetitions of a query are
    interleaved across the databases, so a change in machine load hits every size and backend
    alike instead of skewing the 10M / 1M ratio."""
    readers, cases = {}, {}
    try:
        for target in targets:
            key = (target.backend, target.size)
            readers[key] = Reader(target.url)
            rng = random.Random(f"reads:{target.backend}:{target.size}")
            cases[key] = read_cases(target, readers[key], rng, scratch / f"export_{target.backend}_{target.size}.csv")
        results: dict[tuple[str, int], dict[str, Timing]] = {key: {} for key in cases}
        for query, _label, _goal in QUERIES:
            for key in cases:  # warm-up: pooled connection, statement caches, first pages
                call, pick = cases[key][query]
                call(pick())
                results[key][query] = Timing()
            for _ in range(repeat):
                for key in cases:
                    call, pick = cases[key][query]
                    argument = pick()
                    t0 = time.perf_counter()
                    call(argument)
                    results[key][query].samples_ms.append((time.perf_counter() - t0) * 1000)
            LOAD_SAMPLES.append(os.getloadavg()[0])
            for key in cases:
                timing = results[key][query]
                progress(f"[{key[0]} {key[1]:,}] {query:<12} median {timing.median:9.2f} ms  p90 {timing.p90:9.2f} ms")
        return results
    finally:
        for reader in readers.values():
            reader.close()
        for path in scratch.glob("export_*.csv"):
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------- optuna


def optuna_comparison(studies: int, trials: int, repeat: int, scratch: Path) -> dict:
    import optuna
    from optuna.distributions import FloatDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if trials > STUDY_SIZE:
        raise SystemExit(f"--optuna-trials: at most {STUDY_SIZE}")
    directory = Path(tempfile.mkdtemp(prefix="optuna_", dir=scratch))
    try:
        # Ours: the same evaluations, logged in batches of 1,000, then completed.
        ours_url = str(directory / "hive.db")
        service = DatabaseMetadataService(ours_url)
        batches = [[run for batch in study_batches(i) for run in batch][:trials] for i in range(studies)]
        for i in range(studies):
            service.create_study(study_record(i))
        t0 = time.perf_counter()
        for runs in batches:
            for start in range(0, len(runs), BATCH):
                service.log_study_runs(runs[start:start + BATCH])
        ours_log_s = time.perf_counter() - t0
        for i in range(studies):
            service.update_study_status(study_id(i), "completed")
        ours_total_s = time.perf_counter() - t0
        service.close()
        del batches

        # Optuna: one FrozenTrial per evaluation (built before timing, like our dicts), add_trials.
        optuna_url = f"sqlite:///{directory / 'optuna.db'}"
        distributions = {f"x{k}": FloatDistribution(0.0, 100.0) for k in range(PARAMETERS)}
        optuna_s = 0.0
        for i in range(studies):
            study = optuna.create_study(study_name=study_id(i), storage=optuna_url, directions=["minimize", "minimize"])
            frozen = [
                optuna.trial.create_trial(params={f"x{k}": v for k, v in enumerate(x)}, distributions=distributions, values=objectives)
                for e, x, objectives in study_evaluations(i) if e < trials
            ]
            t0 = time.perf_counter()
            study.add_trials(frozen)
            optuna_s += time.perf_counter() - t0
            progress(f"[optuna] study {i + 1}/{studies}: {len(frozen):,} trials, {len(frozen) / (time.perf_counter() - t0):,.0f} trials/s")
        evaluations = studies * trials

        # Reads: ours on one Reader (as the dashboard keeps it), Optuna as a user loads a study.
        reader = Reader(ours_url)
        try:
            def ours_load(sid):
                frame = queries.query_study_runs(reader, sid, limit=trials)
                assert len(frame) == trials

            def ours_front(sid):
                return len(queries.get_pareto_front(reader, sid))

            def optuna_load(sid):
                assert len(optuna.load_study(study_name=sid, storage=optuna_url).trials) == trials

            def optuna_front(sid):
                return len(optuna.load_study(study_name=sid, storage=optuna_url).best_trials)

            reader_open = Timing()
            for _ in range(repeat):
                t0 = time.perf_counter()
                Reader(ours_url).close()
                reader_open.samples_ms.append((time.perf_counter() - t0) * 1000)
            timings = {}
            for key, call in (("ours_load", ours_load), ("ours_front", ours_front),
                              ("optuna_load", optuna_load), ("optuna_front", optuna_front)):
                call(study_id(0))
                timing = Timing()
                for r in range(repeat):
                    t0 = time.perf_counter()
                    call(study_id(r % studies))
                    timing.samples_ms.append((time.perf_counter() - t0) * 1000)
                timings[key] = timing
                progress(f"[optuna] {key:<13} median {timing.median:9.2f} ms")
            front_sizes = [(ours_front(study_id(i)), optuna_front(study_id(i))) for i in range(studies)]
            if any(a != b for a, b in front_sizes):
                raise SystemExit(f"Pareto fronts differ (ours, optuna): {front_sizes}")
        finally:
            reader.close()
        return {
            "studies": studies, "trials": trials,
            "ours_log_rate": evaluations / ours_log_s, "ours_total_rate": evaluations / ours_total_s,
            "optuna_rate": evaluations / optuna_s, "reader_open_ms": reader_open.median,
            "front_sizes": [a for a, _ in front_sizes], **{k: v.median for k, v in timings.items()},
        }
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# ---------------------------------------------------------------------------------------- report


def _ms(value: float) -> str:
    return f"{value:,.1f}" if value >= 100 else f"{value:.2f}"


def render(sizes: list[int], backends: list[str], results: dict, builds: dict, optuna_result: dict | None,
           repeat: int, environment: str) -> str:
    base, larger = sizes[0], sizes[1:]
    header = ["backend", "query", f"{base:,} ms (median)", f"goal at {base:,}"]
    for size in larger:
        header += [f"{size:,} ms (median)", f"x vs {base:,} (goal <= {SCALING_LIMIT:g}x)"]
    lines = [
        "# Read benchmark",
        "",
        f"{environment}. Median of {repeat} calls on random studies after one warm-up, one `Reader` per "
        f"database, through `storage.studies.queries` / `storage.studies.exports`. Studies of {POPULATION} x {GENERATIONS} "
        f"evaluations, {PARAMETERS} parameters, 2 objectives, completed.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    failures = []
    for backend in backends:
        for key, label, goal in QUERIES:
            row = [backend, label]
            first = results.get((backend, base), {}).get(key)
            if first is None:
                row += ["-", "-"]
            else:
                row.append(_ms(first.median))
                if goal is None:
                    row.append("-")
                else:
                    ok = first.median < goal
                    row.append(f"< {goal:g} ms {'PASS' if ok else 'FAIL'}")
                    if not ok:
                        failures.append(f"{backend} {base:,} {label}: {first.median:.2f} ms (goal < {goal:g} ms)")
            for size in larger:
                timing = results.get((backend, size), {}).get(key)
                if timing is None:
                    row += ["-", "-"]
                    continue
                row.append(_ms(timing.median))
                if first is None:
                    row.append("-")
                else:
                    ratio = timing.median / first.median
                    ok = ratio <= SCALING_LIMIT
                    row.append(f"{ratio:.2f}x {'PASS' if ok else 'FAIL'}")
                    if not ok:
                        failures.append(f"{backend} {size:,} {label}: {ratio:.2f}x its {base:,} figure")
            lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Builds (through `log_study_runs` in batches of 1,000, then `update_study_status(..., 'completed')`):", ""]
    lines += ["| database | evaluations | build time | evals/s logging | evals/s with completion | size on disk | bytes/evaluation |",
              "|---|---|---|---|---|---|---|"]
    for (backend, size), record in builds.items():
        if not record.get("evaluations"):
            lines.append(f"| {backend} {size:,} | {size:,} | (not recorded) | | | | |")
            continue
        note = " (reused)" if record.get("reused") else ""
        extra = f", incl. VACUUM ANALYZE {_duration(record['vacuum_s'])}" if record.get("vacuum_s") else ""
        lines.append(
            f"| {backend} {size:,} | {record['evaluations']:,} | {_duration(record['total_s'])}{extra}{note} | "
            f"{record['evaluations'] / record['log_s']:,.0f} | "
            f"{record['evaluations'] / (record['log_s'] + record['complete_s']):,.0f} | "
            f"{record['bytes'] / 2**30:.2f} GiB | {record['bytes'] / size:,.0f} |"
        )
    if optuna_result:
        o = optuna_result
        lines += [
            "",
            f"Against Optuna {o['optuna_version']} RDB storage on SQLite ({o['studies']} studies x {o['trials']:,} trials, "
            "same evaluations; Pareto fronts identical in size: "
            f"{', '.join(str(n) for n in o['front_sizes'])}):",
            "",
            "| measure | ours | Optuna | ratio (ours better by) |",
            "|---|---|---|---|",
            f"| write, evaluations/s (ours: `log_study_runs` x1,000; Optuna: `add_trials`) | {o['ours_log_rate']:,.0f} | "
            f"{o['optuna_rate']:,.1f} | {o['ours_log_rate'] / o['optuna_rate']:,.0f}x |",
            f"| write incl. our completion step (Pareto flags, front, convergence) | {o['ours_total_rate']:,.0f} | "
            f"{o['optuna_rate']:,.1f} | {o['ours_total_rate'] / o['optuna_rate']:,.0f}x |",
            f"| load a {o['trials']:,}-trial study, ms (ours: `query_study_runs(limit={o['trials']})`; "
            f"Optuna: `load_study(...).trials`) | {_ms(o['ours_load'])} | {_ms(o['optuna_load'])} | "
            f"{o['optuna_load'] / o['ours_load']:,.1f}x |",
            f"| same, ours including opening a `Reader` ({_ms(o['reader_open_ms'])} ms) | "
            f"{_ms(o['ours_load'] + o['reader_open_ms'])} | {_ms(o['optuna_load'])} | "
            f"{o['optuna_load'] / (o['ours_load'] + o['reader_open_ms']):,.1f}x |",
            f"| its Pareto front, ms (ours: `get_pareto_front`; Optuna: `load_study(...).best_trials`) | "
            f"{_ms(o['ours_front'])} | {_ms(o['optuna_front'])} | {o['optuna_front'] / o['ours_front']:,.0f}x |",
        ]
    lines += ["", "Goals missed: none" if not failures else "Goals missed:", "", *[f"- {f}" for f in failures], ""]
    return "\n".join(lines)


def environment_line(backends: list[str], pg_url: str) -> str:
    parts = [f"{os.cpu_count()} cores", f"Python {platform.python_version()}", f"SQLite {sqlite3.sqlite_version}"]
    if LOAD_SAMPLES:  # other work on the machine shows up in every figure; say how much there was
        parts.append(f"1-minute load average while measuring {min(LOAD_SAMPLES):.1f} to {max(LOAD_SAMPLES):.1f}")
    if "postgresql" in backends:
        try:
            engine = sa.create_engine(sa.make_url(pg_url).set(drivername="postgresql+psycopg"))
            with engine.connect() as conn:
                parts.append("PostgreSQL " + conn.execute(sa.text("SHOW server_version")).scalar().split()[0])
            engine.dispose()
        except Exception:  # noqa: BLE001 - informational only
            pass
    return ", ".join(parts)


# ------------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,10000000", help="evaluations per database, comma-separated "
                        f"(multiples of {STUDY_SIZE:,}; the smallest is the base of the goals)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--pg-url", default=os.environ.get("HIVE_BENCH_PG_URL") or os.environ.get("HIVE_TEST_PG_URL") or DEFAULT_PG_URL,
                        help="PostgreSQL URL of an account allowed to CREATE DATABASE")
    parser.add_argument("--keep", metavar="DIR", help="keep and reuse the built databases (SQLite files in DIR, "
                        "PostgreSQL databases hive_read_bench_<size>)")
    parser.add_argument("--rebuild", action="store_true", help="with --keep: drop and rebuild the databases")
    parser.add_argument("--build-only", action="store_true", help="build (or complete) the databases, measure nothing")
    parser.add_argument("--repeat", type=int, default=20, help="calls per query (after one warm-up); default 20")
    parser.add_argument("--optuna-studies", type=int, default=2, help="studies for the Optuna comparison (0: skip)")
    parser.add_argument("--optuna-trials", type=int, default=STUDY_SIZE, help="trials per Optuna study")
    parser.add_argument("--out", default=str(OUT), help=f"Markdown report (default {OUT})")
    args = parser.parse_args()

    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    if not sizes or any(s <= 0 or s % STUDY_SIZE for s in sizes):
        parser.error(f"--sizes: positive multiples of {STUDY_SIZE:,}")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - {"sqlite", "postgresql"}:
        parser.error("--backends: sqlite, postgresql or both")
    if args.repeat < 1:
        parser.error("--repeat: at least 1")

    places = Places(args.keep, args.pg_url, args.rebuild)
    results: dict[tuple[str, int], dict[str, Timing]] = {}
    builds: dict[tuple[str, int], dict] = {}
    optuna_result = None
    try:
        with tempfile.TemporaryDirectory(prefix="hive_bench_scratch_") as scratch:
            targets = []
            for backend in backends:
                for size in sizes:
                    target = places.target(backend, size)
                    builds[(backend, size)] = build(target)
                    targets.append(target)
            if not args.build_only:
                results = measure(targets, args.repeat, Path(scratch))
            if not args.build_only and args.optuna_studies > 0:
                import optuna

                optuna_result = optuna_comparison(args.optuna_studies, args.optuna_trials, min(args.repeat, 5), Path(scratch))
                optuna_result["optuna_version"] = optuna.__version__
    finally:
        places.close()
    if args.build_only:
        return
    report = render(sizes, backends, results, builds, optuna_result, args.repeat, environment_line(backends, args.pg_url))
    print(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    progress(f"written to {out}")


if __name__ == "__main__":
    main()
