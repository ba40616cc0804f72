"""The long reliability soak (run on demand; the fast cases live in tests/reliability/).

    python bench/soak.py                                  # everything that this machine can run
    python bench/soak.py --kills 100 --pg-url postgresql://hive:hive@localhost/hive_test --browsers 10 --minutes 2

1. SIGKILL: a writer is killed at a random moment inside a large batch, --kills times; after each
   kill the file passes PRAGMA integrity_check, the batch is entirely absent (rows are whole
   batches only) and the study accepts new writes.
2. PostgreSQL restart (needs --pg-url and the right to run pg_ctlcluster): writers with explicit
   evaluation numbers keep logging while the server restarts; a refused batch is retried, and a
   retry refused as a duplicate proves the batch had landed; afterwards every batch a writer saw
   committed is in the database.
3. Browser sessions: --browsers headless Chromium pages browse every dashboard page for --minutes;
   no error shown, no server exception; the server's peak memory is reported.
4. Hostile input: --examples hypothesis examples through the write API (stored exactly or refused).

Prints a table of figures: writes held, faults survived, inputs tried, rows lost (must be 0).
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage import DatabaseMetadataService  # noqa: E402

BATCH = 5_000
KILL_WORKER = """
import sys
from storage import DatabaseMetadataService
service = DatabaseMetadataService(sys.argv[1])
batch = [{"study_id": "k", "parameter_vector": [float(i), 1.0], "fitness": float(i)} for i in range(int(sys.argv[2]))]
print("ready", flush=True)
service.log_study_runs(batch)
print("committed", flush=True)
"""


def soak_kills(kills: int, directory: Path) -> dict:
    path = directory / "kills.db"
    with DatabaseMetadataService(path) as service:
        service.create_study({"study_id": "k", "study_type": "genetic_algorithm"})
    committed_rows, survived, lost = 0, 0, 0
    rng = random.Random(7)
    for i in range(kills):
        process = subprocess.Popen([sys.executable, "-c", KILL_WORKER, str(path), str(BATCH)], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
        time.sleep(rng.uniform(0.0, 0.35))  # a random moment: validation, insert or commit
        process.send_signal(signal.SIGKILL)
        out, _ = process.communicate(timeout=60)
        landed = "committed" in out
        con = sqlite3.connect(path)
        ok = con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute("SELECT COUNT(*) FROM study_runs").fetchone()[0]
        con.close()
        expected = committed_rows + (BATCH if landed else 0)
        whole = rows in (committed_rows, committed_rows + BATCH)  # all or nothing
        if not ok or not whole or (landed and rows != expected):
            lost += abs(rows - expected)
            raise SystemExit(f"kill {i}: integrity={ok} rows={rows} expected {expected}")
        committed_rows = rows
        with DatabaseMetadataService(path) as service:  # the study accepts writes after every kill
            service.log_study_run({"study_id": "k", "parameter_vector": [0.0, 0.0], "fitness": 0.0})
        committed_rows += 1
        survived += 1
    return {"scenario": f"SIGKILL during a {BATCH:,}-row batch", "writes held": f"{committed_rows:,} rows",
            "faults survived": f"{survived}/{kills}", "inputs tried": "-", "rows lost": lost}


RESTART_WRITER = """
import sys, time
from storage import DatabaseMetadataService, DuplicateError, HiveError
url, worker, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
service = DatabaseMetadataService(url)
committed, retries = 0, 0
for b in range(batches):
    rows = [{"study_id": "pg", "evaluation_number": (worker * batches + b) * 100 + i,
             "parameter_vector": [float(i)], "fitness": float(i)} for i in range(100)]
    while True:
        try:
            service.log_study_runs(rows)
            break
        except DuplicateError:
            break  # an earlier attempt had landed before the connection dropped
        except HiveError as error:
            retries += 1
            time.sleep(0.2)
    committed += 1
print(committed, retries, flush=True)
"""


def soak_pg_restart(admin_url: str, writers: int = 4, batches: int = 150) -> dict:
    """On a database of its own (created through ``admin_url``, dropped afterwards)."""
    import sqlalchemy as sa

    # A fresh connection for each statement: the restarts below end every open one.
    admin = sa.create_engine(sa.make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    name = f"hive_soak_{os.getpid()}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        return _pg_restart(sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False),
                           writers, batches)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _pg_restart(pg_url: str, writers: int, batches: int) -> dict:
    version = sorted(os.listdir("/usr/lib/postgresql"))[-1]
    with DatabaseMetadataService(pg_url) as service:
        service.create_study({"study_id": "pg", "study_type": "genetic_algorithm"})
    processes = [subprocess.Popen([sys.executable, "-c", RESTART_WRITER, pg_url, str(w), str(batches)], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(writers)]
    time.sleep(2)
    restarts = 0
    for _ in range(2):
        subprocess.run(["pg_ctlcluster", version, "main", "restart"], check=True)
        restarts += 1
        time.sleep(2)
    results = [p.communicate(timeout=600) for p in processes]
    retries = sum(int(out.split()[1]) for out, _ in results if out.strip())
    with DatabaseMetadataService(pg_url) as service:
        with service.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT COUNT(*) FROM study_runs WHERE study_id = 'pg'").scalar()
    expected = writers * batches * 100
    return {"scenario": f"PostgreSQL restarted x{restarts} under {writers} writers", "writes held": f"{rows:,} rows",
            "faults survived": f"{restarts} restarts, {retries} retried batches", "inputs tried": "-",
            "rows lost": expected - rows}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_kb(pid: int) -> int:
    total = 0
    for candidate in [pid] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        try:
            status = Path(f"/proc/{candidate}/status").read_text()
            parent = int(next(l.split()[1] for l in status.splitlines() if l.startswith("PPid:")))
            if candidate == pid or parent == pid:
                total += int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmRSS:")))
        except (FileNotFoundError, StopIteration, ProcessLookupError, PermissionError):
            continue
    return total


def soak_browsers(sessions: int, minutes: float, directory: Path) -> dict:
    from playwright.sync_api import sync_playwright

    database = directory / "dash.db"
    subprocess.run([sys.executable, "-m", "hive_cli", "demo", str(database)], cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    env = {**os.environ, "HIVE_DB_URL": str(database)}
    log = (directory / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    pages = [("", "Studies"), ("study?study=demo_nsga2_pop40", "Study detail"),
             ("compare?studies=demo_nsga2_pop40,demo_nsga2_pop80", "Compare studies"),
             ("convergence?studies=demo_nsga2_running", "Convergence"),
             ("pareto?study=demo_nsga3_three_objectives", "Pareto explorer"),
             ("sensitivity?study=demo_mc_fuel_and_capex", "Sensitivity & uncertainty"),
             ("prompts", "Prompt optimization"), ("data", "Data & export")]
    views, errors, peak = 0, 0, 0
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the dashboard did not start")
                time.sleep(0.5)
        args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
            tabs = [browser.new_page(viewport={"width": 1280, "height": 900}) for _ in range(sessions)]
            end = time.time() + minutes * 60
            step = 0
            while time.time() < end:
                expected = []
                for index, tab in enumerate(tabs):
                    path, title = pages[(step + index) % len(pages)]
                    tab.goto(f"http://127.0.0.1:{port}/{path}", wait_until="commit")
                    expected.append(title)
                for tab, title in zip(tabs, expected):
                    tab.wait_for_function(
                        "(title) => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state')"
                        " === 'notRunning' && document.querySelector('[data-testid=stMain] h1')?.textContent.trim() === title",
                        arg=title, timeout=60_000)
                    errors += tab.locator("[data-testid=stException], [data-testid=stAlertContentError], "
                                          "[data-testid=stDialog]").count()
                    views += 1
                peak = max(peak, _rss_kb(server.pid))
                step += 1
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        log.close()
    server_errors = (directory / "server.log").read_text().count("Traceback")
    return {"scenario": f"{sessions} browser sessions x {minutes:g} min", "writes held": "-",
            "faults survived": f"{views:,} page views, {errors + server_errors} errors",
            "inputs tried": f"peak server RSS {peak / 1024:,.0f} MiB", "rows lost": 0 if errors + server_errors == 0 else "errors!"}


def soak_hostile(examples: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests/reliability/test_hostile_input.py", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "HIVE_HOSTILE_EXAMPLES": str(examples)},
    )
    passed = result.returncode == 0
    return {"scenario": "hostile records through the write API", "writes held": "-", "faults survived": "-",
            "inputs tried": f"{examples:,} per property", "rows lost": 0 if passed else "FAILED: " + result.stdout[-300:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--pg-url", default=os.environ.get("HIVE_TEST_PG_URL"),
                        help="an account allowed to CREATE DATABASE; the soak works in a database of its own")
    parser.add_argument("--browsers", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=2)
    parser.add_argument("--examples", type=int, default=2000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        rows.append(soak_kills(args.kills, directory))
        if args.pg_url and shutil.which("pg_ctlcluster"):
            rows.append(soak_pg_restart(args.pg_url))
        if args.browsers and Path("/usr/bin/chromium").exists():
            rows.append(soak_browsers(args.browsers, args.minutes, directory))
        rows.append(soak_hostile(args.examples))
    headers = ["scenario", "writes held", "faults survived", "inputs tried", "rows lost"]
    widths = [max(len(str(r[h])) for r in rows + [dict(zip(headers, headers))]) for h in headers]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for row in rows:
        print("  ".join(str(row[h]).ljust(w) for h, w in zip(headers, widths)))
    if any(row["rows lost"] not in (0, "0") for row in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
