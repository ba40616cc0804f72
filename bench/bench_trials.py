"""How fast the Trials page opens on a study of 100,000 evaluations, in a real browser.

Builds (or reuses with --keep) a SQLite database holding one Optuna-like study: 100,000 evaluations
of four named parameters (one categorical), about a third pruned with learning curves of 10 steps,
constraints, a few infeasible; runs ``hive-cli dashboard`` on it and opens each view of the Trials
page in Debian's Chromium (Playwright), as a first visit of that URL: "full load" is from navigation
until the script has finished and every chart is drawn (tests/browser/render_complete.js; the time of
its first poll of that state, from the page's own clock); then, as a person moves, each view switched
to by its control from the History view (a rerun, no new document). Prints one
line per view with the median of ``--repeat`` loads after one warm-up load.

    python bench/bench_trials.py --keep bench/out/trials_100k.db
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(REPO))

STUDY = "bench_trials"
VIEWS = ["History", "Learning curves", "Importance", "Slice", "Contour & rank", "EDF", "Timeline",
         "Parallel coordinates"]


def build(path: Path, n: int) -> None:
    from storage import DatabaseMetadataService

    rng = np.random.default_rng(0)
    db = DatabaseMetadataService(str(path))
    db.create_study({"study_id": STUDY, "study_type": "bayesian_optimization", "optimization_objective": "loss",
                     "parameter_names": ["kind", "lr", "momentum", "width"],
                     "parameter_choices": {"kind": ["adam", "sgd", "rmsprop"]}})
    start = np.datetime64("2026-01-01T00:00:00")
    for first in range(0, n, 10_000):
        size = min(10_000, n - first)
        kind, lr, momentum, width = rng.integers(0, 3, size), rng.random(size), rng.random(size), rng.random(size)
        loss = 5 * (lr - 0.3) ** 2 + 0.5 * momentum + 0.1 * kind + 0.05 * rng.random(size)
        pruned = rng.random(size) < 0.33
        runs = []
        for i in range(size):
            number = first + i
            state = "pruned" if pruned[i] else "complete"
            status = "failed" if pruned[i] else ("infeasible" if width[i] > 0.98 else "success")
            runs.append({"study_id": STUDY, "evaluation_number": number, "fitness": float(loss[i]),
                         "objectives": [float(loss[i])],
                         "parameter_vector": [float(kind[i]), float(lr[i]), float(momentum[i]), float(width[i])],
                         "simulation_status": status, "run_state": state, "evaluation_time_seconds": 1.5,
                         "created_at": str(start + np.timedelta64(2 * number, "s")).replace("T", " "),
                         "constraint_violations": {"constraints": [float(width[i] - 0.98)], "names": ["width"]}})
        ids = db.log_study_runs(runs)
        curves = {run_id: [(step, float(loss[i] + 1.0 / (step + 1))) for step in range(10 if not pruned[i] else 3)]
                  for i, run_id in enumerate(ids) if i % 3 == 0}
        db.log_learning_curves(STUDY, curves)
    db.update_study_status(STUDY, "completed")
    db.analyze_parameter_importance(STUDY)  # stored, as after a first "Compute importance"
    db.close()


def full_loads(page, server, path: str, title: str, repeat: int) -> list[float]:
    """Seconds of ``repeat`` full loads of ``path`` (a new document each), after one warm-up load."""
    from test_dashboard_browser import open_page, wait_rendered

    open_page(page, server, path, title, timeout_s=180)
    times = []
    for _ in range(repeat):
        page.goto("about:blank")
        page.goto(f"{server.url}/{path}", wait_until="commit")
        # From the navigation's start (the new document's time origin) to the first poll of the
        # complete render: not the 250 ms the check holds it, nor Playwright's round trips.
        times.append(wait_rendered(page, title, 180) / 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluations", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="Database file to build once and reuse.")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_trials_"))
    path = args.keep or folder / "hive.db"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        build(path, args.evaluations)
        print(f"built {args.evaluations:,} evaluations in {time.perf_counter() - started:.0f} s: {path}")

    from playwright.sync_api import sync_playwright
    from test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, Server, open_page, wait_rendered

    server = Server(folder, {"HIVE_DB_URL": str(path.resolve()), "HIVE_HOME": str(folder)})
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            # Baseline of the same run: what any new document costs the browser here, with no chart.
            times = full_loads(page, server, "data", "Data & export", args.repeat)
            print(f"{'baseline: Data & export':<22} {statistics.median(times):>6.2f}  (full load of a page without charts) "
                  + " ".join(f"{t:.2f}" for t in times))
            print(f"{'view':<22} full load (median of {args.repeat}, s)  all")
            for view in VIEWS:
                url = f"trials?study={STUDY}&view={view.replace(' ', '+').replace('&', '%26')}"
                times = full_loads(page, server, url, "Trials", args.repeat)
                print(f"{view:<22} {statistics.median(times):>6.2f}                      "
                      + " ".join(f"{t:.2f}" for t in times))
            # As a person moves: the page is open on History and the view is switched by its control
            # (a rerun of the page, no new document).
            print(f"\n{'view':<22} switched to from History (median of {args.repeat}, s)  all")
            for view in VIEWS[1:]:
                times = []
                for _ in range(args.repeat):
                    open_page(page, server, f"trials?study={STUDY}", "Trials", timeout_s=180)
                    button = page.locator('[data-testid="stButtonGroup"] button').filter(has_text=view).first
                    started_ms = page.evaluate("performance.now()")
                    button.click()
                    page.wait_for_timeout(100)   # the rerun has begun
                    times.append((wait_rendered(page, "Trials", 180) - started_ms) / 1000)
                print(f"{view:<22} {statistics.median(times):>6.2f}                      "
                      + " ".join(f"{t:.2f}" for t in times))
            # As every other page is measured (bench_first_visits.py): opened from the Study detail
            # page of this study by its sidebar link, the study travelling with it (History, the default view).
            times = []
            for _ in range(args.repeat):
                open_page(page, server, f"study?study={STUDY}", "Study detail", timeout_s=180)
                link = page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Trials").first
                started_ms = page.evaluate("performance.now()")
                link.click()
                times.append((wait_rendered(page, "Trials", 180) - started_ms) / 1000)
            print(f"\n{'History':<22} opened by its sidebar link (median of {args.repeat}, s) "
                  + f"{statistics.median(times):.2f}  all " + " ".join(f"{t:.2f}" for t in times))
            browser.close()
    finally:
        server.stop()
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
