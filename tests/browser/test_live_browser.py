"""Live progress in a real browser (Debian's Chromium through Playwright) against ``hive-cli
dashboard``: another process writes runs into a running study, and the study list and study detail
show the new count and best value within two refresh intervals, without reloading the document and
with the user's filter and tab kept; once the study completes, the timer stops. Values shown are
checked against the database read with sqlite3."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from test_dashboard_browser import (HOOKS_JS, REPO, Server, _require_browser, browser, db_rows,  # noqa: F401 (fixture)
                                    error_messages, open_page, screenshot)

pytestmark = pytest.mark.browser
INTERVAL_S = 2

WRITER = """
import sys
from storage import DatabaseMetadataService
db = DatabaseMetadataService(sys.argv[1])
start, stop, best = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
db.log_study_runs([{"study_id": "live_ga", "generation_number": start // 10, "parameter_vector": [float(i)],
                    "fitness": best + (i - start), "objectives": [best + (i - start)]} for i in range(start, stop)])
if len(sys.argv) > 5:
    db.update_study_status("live_ga", sys.argv[5])
"""


def write(path, start: int, stop: int, best: float, status: str | None = None) -> None:
    subprocess.run([sys.executable, "-c", WRITER, str(path), str(start), str(stop), str(best), *([status] if status else [])],
                   cwd=REPO, check=True, timeout=120)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _require_browser()
    work = tmp_path_factory.mktemp("live")
    path = work / "hive.db"
    subprocess.run([sys.executable, "-c", "import sys\nfrom storage import DatabaseMetadataService\n"
                    "db = DatabaseMetadataService(sys.argv[1])\n"
                    "db.create_study({'study_id': 'live_ga', 'study_type': 'genetic_algorithm', "
                    "'optimization_objective': 'cost', 'max_evaluations': 100})\n"
                    "db.create_study({'study_id': 'finished_ga', 'study_type': 'genetic_algorithm'})\n"
                    "db.update_study_status('live_ga', 'running')\n", str(path)], cwd=REPO, check=True, timeout=120)
    write(path, 0, 10, 50.0)
    running = Server(work, {"HIVE_DB_URL": f"sqlite:///{path}", "HIVE_HOME": str(work)})
    running.db_path = path
    yield running
    problems = running.problems()
    running.stop()
    assert problems == [], "the server logged warnings or tracebacks"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(HOOKS_JS)
    tab = context.new_page()
    yield tab
    context.close()


def metric(page, label: str) -> str:
    card = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))
    return card.locator('[data-testid="stMetricValue"]').inner_text().strip()


def wait_for(condition, timeout_s: float) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout_s``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_s, f"not within {timeout_s} s"
        time.sleep(0.1)
    return time.monotonic() - started


def stored(path) -> tuple[int, float]:
    row = db_rows(path, "SELECT run_count, best_fitness FROM studies WHERE study_id = 'live_ga'")[0]
    return row["run_count"], row["best_fitness"]


def test_a_running_study_moves_on_screen_without_a_reload(server, page):
    open_page(page, server, f"study?study=live_ga&tab=Best+designs&live={INTERVAL_S}+s", "Study detail")
    assert (metric(page, "Runs"), metric(page, "Best cost")) == ("10", "50")
    assert page.get_by_text(f"Live: redrawn every {INTERVAL_S} s while the study is running.").count() == 1
    page.evaluate("window.__same_document = true")  # gone if the document reloads
    write(server.db_path, 10, 40, 12.5)
    assert stored(server.db_path) == (40, 12.5)  # what the screen must come to show
    waited = wait_for(lambda: metric(page, "Runs") == "40", 2 * INTERVAL_S + 0.5)
    assert metric(page, "Best cost") == "12.5" and waited <= 2 * INTERVAL_S + 0.5
    assert page.evaluate("window.__same_document === true")
    assert page.locator('[role="tab"][aria-selected="true"]').inner_text().strip() == "Best designs"
    assert error_messages(page) == []
    screenshot(page, "live_study_detail")

    # the study list: a filter the user typed stays while the counts move
    open_page(page, server, f"?live={INTERVAL_S}+s", "Studies")
    page.get_by_label("Name or description").fill("live")
    page.get_by_label("Name or description").press("Enter")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stMetric\"]').length >= 4")
    assert metric(page, "Running") == "1"
    write(server.db_path, 40, 60, 3.25, "completed")
    assert stored(server.db_path) == (60, 3.25)
    wait_for(lambda: metric(page, "Completed") == "1" and metric(page, "Running") == "0", 2 * INTERVAL_S + 0.5)
    assert page.get_by_label("Name or description").input_value() == "live"
    # finished: the page ran once more and its timer stopped; the control says why it is greyed out
    wait_for(lambda: page.get_by_text("Live: redrawn every").count() == 0, 2 * INTERVAL_S + 0.5)
    assert page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] input[disabled]').count() == 1
    assert error_messages(page) == []
    screenshot(page, "live_studies_finished")
