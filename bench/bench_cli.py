"""Start-up and chart times of the command line and the store, each beside baselines measured in the
same run (a bare interpreter, SQLAlchemy and pandas alone), so the figures read against this machine.

Measured, each a fresh process, median (and fastest) of --repeat runs:

- ``python -c "pass"``, ``import sqlalchemy``, ``import pandas``: the floor.
- ``import storage``; ``from storage import DatabaseMetadataService`` (what writing needs: SQLAlchemy,
  alembic, pydantic); ``import storage.studies.queries`` (what reading needs: pandas too).
- ``hive-cli --help``; ``hive-cli query list-studies --help`` (the start of a command: everything the
  CLI loads before the command's own work); ``hive-cli query list-studies`` on the demo database
  (the whole command, reads included).
- ``hive-cli query compare --output x.png`` on three demo studies (five PNGs): the first PNG (from
  the table on stdout to the first ``wrote`` line on stderr: charts built, Chromium started and
  plotly.js loaded in it, the PNG drawn) and each later PNG (the time between ``wrote`` lines), and
  the same command writing HTML for reference.
- The first DuckDB query of a process: the first ``Reader(file).analytics("SELECT 1")`` call on the
  SQLite demo file (it starts the DuckDB child process), and the same timed from before
  ``import storage.reader``, timed inside a fresh process.

    python bench/bench_cli.py                      # builds the demo database in a temporary folder
    python bench/bench_cli.py --db /tmp/demo.db    # reuses (or builds) this demo database

Run it on an idle machine: the load average is printed beside the figures.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
HIVE_CLI = str(Path(PYTHON).with_name("hive-cli"))  # the console script `pip install -e .` made
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
ENV.pop("HIVE_DB_URL", None)
COMPARED = "demo_nsga2_pop40,demo_nsga2_pop80,demo_nsga3_three_objectives"

FIRST_DUCKDB_QUERY = """
import sys, time
started = time.perf_counter()
from storage.reader import Reader
reader = Reader(sys.argv[1])
called = time.perf_counter()
reader.analytics("SELECT 1")
done = time.perf_counter()
print(done - called, done - started)
reader.close()
"""


def wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, cwd=REPO)
    return time.perf_counter() - started


def inside(argv: list[str]) -> list[float]:
    """The times the process measured itself and printed."""
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=ENV, cwd=REPO).stdout
    return [float(t) for t in out.split()]


def chart_times(db: str, suffix: str, work: Path) -> tuple[float, float, list[float]]:
    """One ``query compare --output``: (whole command, first chart after the table, each later chart)."""
    argv = [HIVE_CLI, "--db", db, "query", "compare", "--study-ids", COMPARED, "--output", str(work / f"cmp{suffix}")]
    started = time.perf_counter()
    # stderr into stdout, line by line, so each line's arrival time is known (click flushes each line).
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                            env=ENV, cwd=REPO)
    table_done, wrote = None, []
    for line in proc.stdout:
        now = time.perf_counter()
        if line.startswith("wrote "):
            wrote.append(now)
        elif wrote == []:
            table_done = now  # the last table line before the first chart
    assert proc.wait() == 0 and len(wrote) >= 2, f"{argv} failed"
    total = time.perf_counter() - started
    return total, wrote[0] - table_done, [b - a for a, b in zip(wrote, wrote[1:])]


def ensure_demo(db: Path) -> None:
    if not db.exists():
        print(f"building the demo database {db} (hive-cli demo, ~20 s)...", flush=True)
        subprocess.run([HIVE_CLI, "demo", str(db)], check=True, stdout=subprocess.DEVNULL, env=ENV, cwd=REPO)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="Demo database to use (built with hive-cli demo when missing).")
    parser.add_argument("--repeat", type=int, default=7, help="Runs per start-up figure (median reported).")
    parser.add_argument("--png-repeat", type=int, default=3, help="Runs of the PNG command.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        work = Path(tmp)
        db = args.db or work / "demo.db"
        ensure_demo(db)
        load_before = load()
        rows: list[tuple[str, list[float], str]] = []

        def measure(label: str, argv: list[str], goal: str = "", timer=wall, repeat: int = args.repeat) -> None:
            timer(argv)  # warm-up: .pyc files, the OS's file cache
            rows.append((label, [timer(argv) for _ in range(repeat)], goal))
            print(f"  {label}: {statistics.median(rows[-1][1]):.2f} s", flush=True)

        measure('baseline: python -c "pass"', [PYTHON, "-c", "pass"])
        measure("baseline: python -c \"import sqlalchemy\"", [PYTHON, "-c", "import sqlalchemy"])
        measure("baseline: python -c \"import pandas\"", [PYTHON, "-c", "import pandas"])
        measure('python -c "import storage"', [PYTHON, "-c", "import storage"], "< 0.3 s")
        measure("from storage import DatabaseMetadataService", [PYTHON, "-c", "from storage import "
                "DatabaseMetadataService"])
        measure('python -c "import storage.studies.queries"', [PYTHON, "-c", "import storage.studies.queries"])
        measure("hive-cli --help", [HIVE_CLI, "--help"], "< 0.5 s")
        measure("hive-cli query list-studies --help (start of a command)",
                [HIVE_CLI, "query", "list-studies", "--help"], "< 0.5 s")
        measure("hive-cli query list-studies (demo database, whole command)",
                [HIVE_CLI, "--db", str(db), "query", "list-studies"])
        duck = [PYTHON, "-c", FIRST_DUCKDB_QUERY, str(db)]
        inside(duck)  # warm-up
        firsts = [inside(duck) for _ in range(args.repeat)]
        rows.append(("first DuckDB query of a process: the first Reader.analytics call (SQLite file)",
                     [f[0] for f in firsts], "< 1 s"))
        rows.append(("the same, from before `import storage.reader` (imports and Reader included)",
                     [f[1] for f in firsts], ""))

        pngs = [chart_times(str(db), ".png", work) for _ in range(args.png_repeat)]
        htmls = [chart_times(str(db), ".html", work) for _ in range(args.png_repeat)]
        rows.append(("compare, 5 PNGs: first PNG (after the table)", [p[1] for p in pngs], ""))
        rows.append(("compare, 5 PNGs: each later PNG", [t for p in pngs for t in p[2]], "< 3 s"))
        rows.append(("compare, 5 PNGs: whole command", [p[0] for p in pngs], ""))
        rows.append(("compare, 5 HTML files: whole command (reference)", [h[0] for h in htmls], ""))
        load_after = load()

    print(f"\n{time.strftime('%Y-%m-%d')}, load average (1, 5, 15 min) {load_before} before, {load_after} after; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cores\n")
    print("| what | median | fastest | goal |")
    print("|---|---|---|---|")
    for label, times, goal in rows:
        print(f"| {label} | {statistics.median(times):.2f} s | {min(times):.2f} s | {goal} |")


if __name__ == "__main__":
    main()
