"""Dashboard speed in a real browser on 1,000,000 evaluations: every page's first complete render, and
the Pareto explorer's selection update.

Workload: 100 genetic-algorithm studies of 10,000 evaluations (100 individuals x 100 generations),
4 parameters, 2 objectives (a ZDT1-like trade-off that converges over the generations), logged through
``DatabaseMetadataService.log_study_runs`` in batches of 1,000 and marked completed (Pareto flags, the
final front, convergence rows). Generated per study from a fixed seed, so a rebuild writes the same
numbers. ``--keep PATH`` keeps the SQLite file and reuses it (a build interrupted midway resumes with
the first study that is not completed).

Measured: ``streamlit run app.py`` on that file (``HIVE_DB_URL``), Debian's Chromium through Playwright.
After a warm-up (every page opened once), for every page, --repeat times each:

- click: from another page, a click on the page's sidebar link (client-side navigation) until the
  render is complete;
- load: a full page load of the page's URL (new websocket session) until the render is complete.

A render is complete when ``[data-testid="stApp"]`` has ``data-test-script-state="notRunning"``, the
page's ``h1`` is the page title, every ``stPlotlyChart`` holds a ``.main-svg``, every visible
``stDataFrame`` has its canvas and no visible skeleton remains, held for 250 ms; the time reported is
the first poll (every 50 ms) of that stable state. To tell server time from browser time, the server
is started through a small wrapper (``SERVER_WRAPPER``: Streamlit's own CLI, with each script run's
start and end appended to a log in wall-clock time, the clock of the page's ``performance.timeOrigin``;
the page's main thread may be busy drawing, so nothing observed in the page can date the server's
work). "server" is from the click (or the navigation start) to the end of the last script run before
the render completed, split into "script" (the page code) and "post" (Streamlit's post-run work, such
as its ``gc.collect(2)``); "browser" is the rest (decoding the deltas, React, plotly drawing; WebGL
traces are drawn by SwiftShader on the CPU, since Chromium runs with --disable-gpu). For full loads
"boot" is navigation start to the script run's start (page, cached JS bundle, websocket, session).

Selection: on the Pareto explorer of one study, a box drag over the lower-left part of the chart (the
front); the time from the mouse button's release to the selected-designs table showing its rows (the
table's canvas drawn, script finished).

Goals: every page < 2 s (both ways), selection < 1 s. Prints a table with PASS/FAIL.
``--profile`` also profiles each page script with cProfile through ``streamlit.testing`` (AppTest)
and prints the top project functions, to explain a miss.

    python bench/bench_dashboard.py --keep bench/out/dashboard_1m.db
    python bench/bench_dashboard.py --keep bench/out/dashboard_1m.db --build-only
    python bench/bench_dashboard.py --keep bench/out/dashboard_1m.db --profile
    python bench/bench_dashboard.py --keep bench/out/dashboard_1m.db --no-post-script-gc   # an experiment

A kept database made by an older version of the code is upgraded first with ``hive-cli db upgrade``.
"""
from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
POPULATION, GENERATIONS, PARAMETERS, BATCH = 100, 100, 4, 1000
PAGE_GOAL_S, SELECTION_GOAL_S = 2.0, 1.0
PAGE_FILES = {  # title -> page script (for --profile)
    "Studies": "pages/studies.py", "Study detail": "pages/study.py", "Compare studies": "pages/compare.py",
    "Convergence": "pages/convergence.py", "Pareto explorer": "pages/pareto.py",
    "Sensitivity & uncertainty": "pages/sensitivity.py", "Prompt optimization": "pages/prompts.py",
    "Data & export": "pages/data.py",
}

COMPLETE_JS = (Path(__file__).resolve().parents[1] / "tests" / "browser" / "render_complete.js").read_text()

# Installed before any page script: when the mouse button is released (selection timing).
OBSERVER_JS = """
window.addEventListener('mouseup', () => { window.__bench_mouseup = performance.now(); }, true);
"""


# The server is started through this wrapper: it runs Streamlit's own CLI unchanged, and appends one
# line per script run to $BENCH_RUN_LOG with wall-clock times (time.time(), the clock Chromium's
# performance.timeOrigin uses): run start, end of the page code (Streamlit's post-run work, such as
# its gc.collect(2), begins), run end. Measurement only: no product code is touched.
SERVER_WRAPPER = r"""
import os, sys, time
from streamlit.runtime.scriptrunner import script_runner as _sr
_log = open(os.environ["BENCH_RUN_LOG"], "a", buffering=1)
_run, _finished = _sr.ScriptRunner._run_script, _sr.ScriptRunner._on_script_finished
def _timed_run(self, rerun_data):
    self._bench_start = time.time()
    self._bench_code_end = None
    try:
        return _run(self, rerun_data)
    finally:
        _log.write(f"{self._bench_start:.6f} {self._bench_code_end or time.time():.6f} {time.time():.6f}\n")
def _timed_finished(self, *args, **kwargs):
    self._bench_code_end = time.time()
    return _finished(self, *args, **kwargs)
_sr.ScriptRunner._run_script = _timed_run
_sr.ScriptRunner._on_script_finished = _timed_finished
sys.argv = ["streamlit", *sys.argv[1:]]
from streamlit.web.cli import main
main()
"""


class RunLog:
    """The server's script runs: (start, page code end, run end) in wall-clock seconds."""

    def __init__(self, path: Path):
        self.path = path

    def runs(self, after: float, before: float) -> list[tuple[float, float, float]]:
        runs = []
        for line in self.path.read_text().splitlines():
            start, code_end, end = (float(v) for v in line.split())
            if start >= after - 0.002 and end <= before + 0.002:
                runs.append((start, code_end, end))
        return runs

    def split(self, started: float, total: float) -> dict:
        """server: from ``started`` to the end of the last script run before completion; script: the
        page code's own time; post: Streamlit's post-run work; browser: after the server was done."""
        runs = self.runs(started, started + total)
        if not runs:
            return {"server": float("nan"), "script": float("nan"), "post": float("nan"), "browser": float("nan")}
        server = runs[-1][2] - started
        return {"server": server, "script": sum(c - s for s, c, _ in runs), "post": sum(e - c for _, c, e in runs),
                "browser": total - server}


# ------------------------------------------------------------------------------------------ data


def study_runs(index: int) -> list[dict]:
    """One study's 10,000 evaluations, from its own seed: ZDT1-like, converging over generations."""
    rng = np.random.default_rng(1000 + index)
    study_id = f"bench_{index:03d}"
    runs = []
    for generation in range(GENERATIONS):
        spread = 1.0 - generation / (GENERATIONS + 10)
        x = np.column_stack([rng.uniform(0, 1, POPULATION), rng.uniform(0, spread, (POPULATION, PARAMETERS - 1))])
        g = 1.0 + 9.0 * x[:, 1:].mean(axis=1)
        f1 = x[:, 0]
        f2 = g * (1.0 - np.sqrt(f1 / g))
        for i in range(POPULATION):
            runs.append({"study_id": study_id, "generation_number": generation,
                         "parameter_vector": [float(v) for v in x[i] * 100.0],
                         "objectives": [float(f1[i] * 1e6 + 2e5), float(f2[i] * 500.0)]})
    return runs


def build(path: Path, studies: int) -> None:
    from storage import DatabaseMetadataService

    done = set()
    if path.exists():
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            try:
                done = {r[0] for r in con.execute("SELECT study_id FROM studies WHERE status = 'completed'")}
            except sqlite3.Error:
                done = set()
    todo = [i for i in range(studies) if f"bench_{i:03d}" not in done]
    if not todo:
        print(f"reusing {path} ({studies} completed studies)")
        return
    print(f"building {path}: {len(todo)} of {studies} studies x {POPULATION * GENERATIONS:,} evaluations")
    started = time.perf_counter()
    with DatabaseMetadataService(path) as db:
        for n, index in enumerate(todo, 1):
            study_id = f"bench_{index:03d}"
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:   # half-written by an interrupted build?
                exists = con.execute("SELECT run_count FROM studies WHERE study_id = ?", (study_id,)).fetchone()
            runs = study_runs(index)
            if exists is None:
                db.create_study({
                    "study_id": study_id, "study_type": "genetic_algorithm", "study_name": f"Benchmark study {index}",
                    "optimization_objective": "annual_cost_usd,co2_t_per_year",
                    "objective_directions": ["minimize", "minimize"], "reference_point": [1.3e6, 5000.0],
                    "parameter_names": ["pv_kw", "wind_kw", "battery_kwh", "diesel_kw"],
                    "population_size": POPULATION, "max_generations": GENERATIONS, "status": "running",
                })
                already = 0
            else:
                already = int(exists[0] or 0)
            for start in range(already - already % BATCH, len(runs), BATCH):
                db.log_study_runs(runs[start:start + BATCH])
            db.update_study_status(study_id, "completed")
            if n % 10 == 0 or n == len(todo):
                rate = n * POPULATION * GENERATIONS / (time.perf_counter() - started)
                print(f"  {n}/{len(todo)} studies, {rate:,.0f} evaluations/s with completion")
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def ensure_current_schema(path: Path) -> None:
    """A kept database made by an older version of the code is upgraded with the public command."""
    from storage.errors import SchemaBehindError
    from storage.reader import Reader

    try:
        Reader(path).close()
    except SchemaBehindError as error:
        print(f"{error}; upgrading")
        subprocess.run([sys.executable, "-m", "hive_cli", "db", "upgrade", str(path)], check=True, cwd=REPO)
        Reader(path).close()


def assert_no_error(page, where: str) -> None:
    """A page that shows an error or an exception is not a page to time."""
    for selector in ('[data-testid="stException"]', '[data-testid="stAlertContentError"]'):
        if page.locator(selector).count():
            raise SystemExit(f"{where}: {page.locator(selector).first.inner_text()[:400]}")


# ---------------------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(db_path: Path, home: Path, post_script_gc: bool = True) -> tuple[subprocess.Popen, str, RunLog]:
    port = free_port()
    run_log = home / "script_runs.log"
    run_log.write_text("")
    env = dict(os.environ, HIVE_DB_URL=f"sqlite:///{db_path}", HIVE_HOME=str(home), BENCH_RUN_LOG=str(run_log))
    if not post_script_gc:  # an experiment: Streamlit's gc.collect(2) after every script run, off
        env["STREAMLIT_RUNNER_POST_SCRIPT_GC"] = "false"
    log = home / "streamlit.log"
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER_WRAPPER, "run", "app.py", "--server.port", str(port), "--server.headless", "true"],
        cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url, RunLog(run_log)
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"streamlit did not start:\n{log.read_text()[-3000:]}")


# ---------------------------------------------------------------------------------------- browser


def wait_complete(page, title: str | None, timeout_s: float = 120.0) -> float:
    page.evaluate("window.__hive_ok_since = null")
    return page.wait_for_function(COMPLETE_JS, arg=title, timeout=timeout_s * 1000, polling=50).json_value()


def sidebar_pages(page) -> list[tuple[str, str]]:
    links = page.locator('[data-testid="stSidebarNavLink"]')
    found = []
    for i in range(links.count()):
        href = links.nth(i).get_attribute("href") or ""
        path = href.split("://", 1)[-1].partition("/")[2]
        found.append((path, links.nth(i).locator("span").last.inner_text().strip()))
    return found


def measure_load(page, runs: RunLog, base: str, path: str, title: str) -> dict:
    page.goto(f"{base}/{path}", wait_until="commit")
    done = wait_complete(page, title)                    # performance.now() counts from navigation start
    origin = page.evaluate("performance.timeOrigin") / 1000
    total = done / 1000
    split = runs.split(origin, total)
    first = runs.runs(origin, origin + total)
    boot = (first[0][0] - origin) if first else float("nan")
    return {"total": total, "boot": boot, **split}


def measure_click(page, runs: RunLog, index: int, title: str) -> dict:
    start, origin = page.evaluate("""(i) => {
        window.__hive_ok_since = null;
        const t0 = performance.now();
        document.querySelectorAll('[data-testid="stSidebarNavLink"]')[i].click();
        return [t0, performance.timeOrigin];
    }""", index)
    done = wait_complete(page, title)
    total = (done - start) / 1000
    return {"total": total, **runs.split((origin + start) / 1000, total)}


def measure_selection(page, runs: RunLog, base: str, study: str) -> dict:
    page.goto(f"{base}/pareto?study={study}", wait_until="commit")
    wait_complete(page, "Pareto explorer")
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    area = chart.locator(".nsewdrag").first.bounding_box()
    start = (area["x"] + area["width"] * 0.03, area["y"] + area["height"] * 0.45)
    end = (area["x"] + area["width"] * 0.45, area["y"] + area["height"] * 0.97)
    page.mouse.move(*start)
    page.mouse.down()
    for step in range(1, 9):
        page.mouse.move(start[0] + (end[0] - start[0]) * step / 8, start[1] + (end[1] - start[1]) * step / 8)
    page.evaluate("window.__hive_need_table = true")
    page.mouse.up()
    done = wait_complete(page, "Pareto explorer")
    page.evaluate("window.__hive_need_table = false")
    released, origin = page.evaluate("[window.__bench_mouseup, performance.timeOrigin]")
    total = (done - released) / 1000
    selected = chart.evaluate("el => el.querySelector('.js-plotly-plot').data"
                              ".reduce((n, t) => n + (t.selectedpoints || []).length, 0)")
    return {"total": total, **runs.split((origin + released) / 1000, total), "points": selected}


def run_browser(base: str, runs: RunLog, repeat: int) -> tuple[list[dict], dict]:
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(OBSERVER_JS)
        page = context.new_page()
        page.goto(base, wait_until="commit")
        wait_complete(page, "Studies", timeout_s=300)   # the server's first session (imports, Reader, DuckDB)
        pages = sidebar_pages(page)
        print("warming up:", ", ".join(title for _, title in pages))
        for path, title in pages:
            measure_load(page, runs, base, path, title)
            assert_no_error(page, title)
        for index, (path, title) in enumerate(pages):
            measure_click(page, runs, index, title)
            assert_no_error(page, title)

        for index, (path, title) in enumerate(pages):
            loads, clicks = [], []
            for _ in range(repeat):
                loads.append(measure_load(page, runs, base, path, title))
                # Click navigation: come from the neighbouring page, then click this page's link.
                other = (index + 1) % len(pages)
                measure_click(page, runs, other, pages[other][1])
                clicks.append(measure_click(page, runs, index, title))
            row = {"page": title, "path": path or "/",
                   "click": _medians(clicks), "load": _medians(loads)}
            rows.append(row)
            c, l = row["click"], row["load"]
            print(f"  {title:<26} click {c['total']:.2f} s (server {c['server']:.2f} = script {c['script']:.2f} + post "
                  f"{c['post']:.2f}; browser {c['browser']:.2f})  load {l['total']:.2f} s (boot {l['boot']:.2f}, "
                  f"server {l['server']:.2f} = script {l['script']:.2f} + post {l['post']:.2f}; browser {l['browser']:.2f})")

        selections = [measure_selection(page, runs, base, "bench_000") for _ in range(repeat)]
        selection = _medians(selections)
        print(f"  selection {selection['total']:.2f} s (server {selection['server']:.2f} = script "
              f"{selection['script']:.2f} + post {selection['post']:.2f}; browser {selection['browser']:.2f}), "
              f"{selection['points']:.0f} points selected")
        browser.close()
    return rows, selection


def _medians(measurements: list[dict]) -> dict:
    return {key: _median([m[key] for m in measurements]) for key in measurements[0]}


def _median(values) -> float:
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else float("nan")


# ---------------------------------------------------------------------------------------- profile


def profile_pages(db_path: Path, titles: list[str], top: int = 12) -> None:
    """Each page script under cProfile through AppTest (the script thread is profiled), second run."""
    import cProfile
    import pstats
    import threading

    os.environ["HIVE_DB_URL"] = f"sqlite:///{db_path}"
    from streamlit.testing.v1 import AppTest

    for title in titles:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
        at.run()
        at.switch_page(PAGE_FILES[title])
        at.run()                                            # warm: caches, connections
        plain = []
        for _ in range(3):
            started = time.perf_counter()
            at.run()
            plain.append(time.perf_counter() - started)
        profiles: list[cProfile.Profile] = []

        def start(frame, event, arg):
            sys.setprofile(None)
            profile = cProfile.Profile()
            profiles.append(profile)
            profile.enable()

        threading.setprofile(start)
        started = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - started
        threading.setprofile(None)
        print(f"\n=== {title}: the page script alone (AppTest, in-process, no browser) {statistics.median(plain):.2f} s "
              f"(median of 3); profiled run {elapsed:.2f} s, top functions by cumulative time:")
        for profile in profiles:
            profile.disable()
            stats = pstats.Stats(profile)
            stats.sort_stats("cumulative").print_stats(r"/work/main/(pages|storage|charts|analysis|ui)/|plotly/|pandas/core/frame|duckdb|sqlalchemy/engine/base", top)


# ------------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="SQLite file to build once and reuse")
    parser.add_argument("--studies", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also profile every page script (AppTest + cProfile)")
    parser.add_argument("--no-post-script-gc", action="store_true",
                        help="experiment: run the server with runner.postScriptGC off (not the product's setting)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="hive_bench_dashboard_"))
    db_path = args.keep or workdir / "dashboard.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    build(db_path, args.studies)
    ensure_current_schema(db_path)
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as con:
        evaluations = con.execute("SELECT COUNT(*) FROM study_runs").fetchone()[0]
    print(f"{evaluations:,} evaluations in {db_path} ({db_path.stat().st_size / 1e6:,.0f} MB)")
    if args.build_only:
        return
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing (Debian package 'chromium')")

    process, base, runs = start_server(db_path, workdir, post_script_gc=not args.no_post_script_gc)
    try:
        load_before = os.getloadavg()
        rows, selection = run_browser(base, runs, args.repeat)
        load_after = os.getloadavg()
    finally:
        process.terminate()
        process.wait(timeout=15)

    print(f"\nDashboard on {evaluations:,} evaluations ({args.studies} studies), median of {args.repeat}; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after, {os.cpu_count()} CPUs")
    header = ("| page | sidebar click: total (server / browser) | full load: total (boot / server / browser) "
              "| goal | result |")
    print(header)
    print("|---|---|---|---|---|")
    failed = []
    for row in rows:
        c, l = row["click"], row["load"]
        ok = c["total"] < PAGE_GOAL_S and l["total"] < PAGE_GOAL_S
        if not ok:
            failed.append(row["page"])
        print(f"| {row['page']} | {c['total']:.2f} s ({c['server']:.2f} / {c['browser']:.2f}) "
              f"| {l['total']:.2f} s ({l['boot']:.2f} / {l['server'] - l['boot']:.2f} / {l['browser']:.2f}) "
              f"| < {PAGE_GOAL_S:g} s | {'PASS' if ok else 'FAIL'} |")
    ok = selection["total"] < SELECTION_GOAL_S
    print(f"| Pareto selection update ({selection['points']:.0f} points) | {selection['total']:.2f} s "
          f"({selection['server']:.2f} / {selection['browser']:.2f}) | | < {SELECTION_GOAL_S:g} s | "
          f"{'PASS' if ok else 'FAIL'} |")
    if not ok:
        failed.append("Pareto selection update")
    print("\nserver = from the click (navigation start) to the end of the server's script run (page code plus "
          "Streamlit's post-run work), from the server's own clock; browser = the rest (decoding, React, plotly "
          "drawing; WebGL traces run in SwiftShader on the CPU with --disable-gpu); boot = navigation start to the "
          "script run's start (page, cached JS, websocket, session).")
    if args.profile:
        profile_pages(db_path, [row["page"] for row in rows])
    if failed:
        print(f"\nFAIL: {', '.join(failed)}")


if __name__ == "__main__":
    main()
