"""The dashboard in a real browser (Debian's Chromium driven by Playwright), as a user runs it.

The server is started exactly as the README's quick start does it: ``hive-cli dashboard`` with no
database configured (``HIVE_DB_URL`` unset, ``HIVE_HOME`` a fresh temporary
directory), so it fills the embedded default ``$HIVE_HOME/hive.db`` with the demo studies itself.
Checks: every page renders without an error or exception, a box drag on the Pareto explorer fills
the selected-designs table with exactly the runs inside the box, a CSV download carries the rows of
the database (read independently with ``sqlite3``), and HTML / Markdown in a study's name and
description is shown as literal text with no script run. A screenshot of each page goes to
``test-artifacts/`` (git-ignored).

A render is complete when ``[data-testid="stApp"]`` has ``data-test-script-state="notRunning"``, the
page's ``h1`` is the expected title, and every ``[data-testid="stPlotlyChart"]`` holds a
``.main-svg``. Without ``/usr/bin/chromium`` the module is skipped, unless ``CI=true``: then it fails
(the same rule as PostgreSQL in ``tests/conftest.py``).
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEMO_STUDIES = ("demo_nsga2_pop40", "demo_nsga2_pop80", "demo_nsga3_three_objectives", "demo_nsga2_running",
                "demo_mc_fuel_and_capex", "demo_milp_expansion")
# The demo's experiment: three algorithms x five seeds on ZDT1 (integrations.demo).
EXPERIMENT_STUDIES = tuple(f"zdt1_{a}_seed{k}" for a in ("nsgaii", "smsemoa", "random_search") for k in range(1, 6))
# The sidebar's pages, in order (their URL paths are read from the sidebar links, not assumed).
PAGE_TITLES = ["Studies", "Study detail", "Design", "Compare studies", "Experiments", "Convergence", "Trials",
               "Pareto explorer", "Sensitivity & uncertainty", "Prompt optimization", "Data & export"]
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_DESCRIPTION = "![tracker](https://example.invalid/pixel.png) <script>alert(2)</script> **not bold**"

# When a page has rendered completely: see the file.
RENDERED_JS = (Path(__file__).with_name("render_complete.js")).read_text()
# What each chart shows a person (titles, axis titles, legend, size, overlapping labels): see the file.
CHARTS_SEEN_JS = (Path(__file__).with_name("charts_seen.js")).read_text()
# Full-page screenshots of every page, to look at (git-ignored).
SCREENSHOTS = Path(__file__).with_name("screenshots")

# Before any page script: record every alert/confirm/prompt and uncaught error a page might cause.
HOOKS_JS = """
window.__hive_alerts = [];
window.__hive_errors = [];
for (const name of ['alert', 'confirm', 'prompt']) {
  window[name] = (message) => { window.__hive_alerts.push(name + ': ' + message); return null; };
}
window.addEventListener('error', (event) => window.__hive_errors.push(String(event.message || event.type)), true);
"""


def _require_browser():
    why = None
    if not Path(CHROMIUM).exists():
        why = f"{CHROMIUM} is missing (Debian package 'chromium')"
    else:
        import importlib.util

        if importlib.util.find_spec("playwright") is None:
            why = "the playwright package is not installed"
    if why:
        if IN_CI:
            pytest.fail(f"CI=true but the browser tests cannot run: {why}")
        pytest.skip(f"browser tests need Chromium and playwright: {why}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """The README's launch command, ``hive-cli dashboard``, in a subprocess."""

    def __init__(self, workdir: Path, env_changes: dict[str, str | None], args: tuple[str, ...] = (),
                 port: int | None = None):
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"streamlit_{self.port}.log"
        env = dict(os.environ)
        for key, value in env_changes.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hive_cli", "dashboard", "--port", str(self.port), *args],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self._wait_healthy()

    def _wait_healthy(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"streamlit exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"streamlit did not answer on {self.url} within {timeout_s:.0f} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def problems(self) -> list[str]:
        """Warnings, errors and tracebacks the server logged: the dashboard's log stays free of them."""
        self._log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if re.search(r"Traceback|\bWARNING\b|\bERROR\b|\bCRITICAL\b|Exception", line)]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def quickstart(browser, tmp_path_factory):
    """The README quick start: no database configured, a fresh HIVE_HOME. The first page view fills
    the embedded default with the demo studies (a `hive-cli demo` subprocess started by app.py)."""
    home = tmp_path_factory.mktemp("hive_home")
    server = Server(home, {"HIVE_DB_URL": None, "HIVE_HOME": str(home)})
    server.home = home
    server.db_path = home / "hive.db"
    try:
        # The server's first session opens the main page, as a user following the README would; it
        # fills the demo (and keeps a first-session deep link out of every test: see the xfail below).
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        first = context.new_page()
        started = time.perf_counter()
        open_page(first, server, "", "Studies", timeout_s=180)
        server.first_view_s = time.perf_counter() - started
        server.first_view_warnings = first.locator('[data-testid="stAlertContentWarning"]').count()
        context.close()
        yield server
        assert server.problems() == [], "the server logged warnings or tracebacks"
    finally:
        server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.add_init_script(HOOKS_JS)
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()


def wait_rendered(page, title: str | None, timeout_s: float = 90.0) -> float:
    """Wait for a complete render (see RENDERED_JS); returns its performance.now() in ms."""
    page.evaluate("window.__hive_ok_since = null")
    return page.wait_for_function(RENDERED_JS, arg=title, timeout=timeout_s * 1000, polling=50).json_value()


def open_page(page, server: Server, path: str, title: str | None, timeout_s: float = 90.0) -> None:
    page.goto(f"{server.url}/{path}", wait_until="domcontentloaded")
    wait_rendered(page, title, timeout_s)


def error_messages(page) -> list[str]:
    """Exceptions, error alerts and modal dialogs (such as 'Page not found') on the page."""
    found = []
    for selector in ('[data-testid="stException"]', '[data-testid="stAlertContentError"]', '[data-testid="stDialog"]'):
        locator = page.locator(selector)
        found += [f"{selector}: {locator.nth(i).inner_text()[:300]}" for i in range(locator.count())]
    return found


def sidebar_pages(page) -> list[tuple[str, str]]:
    """(URL path, title) of every page in the sidebar navigation, in order."""
    links = page.locator('[data-testid="stSidebarNavLink"]')
    found = []
    for i in range(links.count()):
        href = links.nth(i).get_attribute("href") or ""
        path = href.split("://", 1)[-1].split("/", 1)[1] if "/" in href.split("://", 1)[-1] else ""
        found.append((path, links.nth(i).locator("span").last.inner_text().strip()))
    return found


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def full_page_screenshot(page, name: str, title: str | None) -> Path:
    """The whole page, into ``SCREENSHOTS``. Streamlit scrolls its main block, not the document, so
    a plain full-page screenshot stops at the window: the window is grown to the block's height first."""
    SCREENSHOTS.mkdir(exist_ok=True)
    window = page.viewport_size
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": window["width"], "height": max(height, window["height"])})
    wait_rendered(page, title)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(window)
    return path


def db_rows(path: Path, sql: str, params=()) -> list[sqlite3.Row]:
    """Read the database independently of the product (plain sqlite3, read-only)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def download_csv(page, button) -> tuple[str, list[dict]]:
    with page.expect_download(timeout=30_000) as info:
        button.click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8")
    return download.suggested_filename, list(csv.DictReader(io.StringIO(text)))


def same_float(text: str, value) -> bool:
    if value is None:
        return text == ""
    return text != "" and (float(text) == float(value) or math.isclose(float(text), float(value), rel_tol=1e-12))


# ----------------------------------------------------------------------------------------- tests


def test_quick_start_fills_the_demo_and_every_page_opens_cleanly(quickstart, page):
    assert quickstart.first_view_warnings == 0                          # no "demo failed: ..." on the first view
    assert quickstart.db_path.exists()
    ids = {row["study_id"] for row in db_rows(quickstart.db_path, "SELECT study_id FROM studies")}
    assert ids == set(DEMO_STUDIES) | set(EXPERIMENT_STUDIES)
    open_page(page, quickstart, "", "Studies")
    metrics = page.locator('[data-testid="stMetric"]')
    shown = {metrics.nth(i).locator('[data-testid="stMetricLabel"]').inner_text().strip():
             metrics.nth(i).locator('[data-testid="stMetricValue"]').inner_text().strip() for i in range(metrics.count())}
    assert shown == {"Pending": "0", "Running": "1", "Completed": str(5 + len(EXPERIMENT_STUDIES)), "Failed": "0"}
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert str(quickstart.db_path) in sidebar.replace("\u200b", "")     # the embedded default, named
    assert "/\u200b" in sidebar                                         # and it wraps between folders only
    pages = sidebar_pages(page)
    assert [title for _, title in pages] == PAGE_TITLES

    for path, title in pages:                                # full page loads
        open_page(page, quickstart, path, title)
        assert error_messages(page) == [], (path, error_messages(page))
        screenshot(page, f"page_{path or 'studies'}")
    for index, (path, title) in enumerate(pages):            # the same pages through the sidebar links
        page.locator('[data-testid="stSidebarNavLink"]').nth(index).click()
        wait_rendered(page, title)
        assert error_messages(page) == [], (path, error_messages(page))
    assert page.evaluate("window.__hive_errors") == []
    print(f"first view of the quick start (demo fill included) {quickstart.first_view_s:.1f} s")


def test_box_selection_on_the_pareto_explorer_fills_the_selected_designs(quickstart, page):
    study = "demo_nsga2_pop40"
    open_page(page, quickstart, f"pareto?study={study}", "Pareto explorer")
    tables = page.locator('[data-testid="stDataFrame"]')
    before = tables.count()  # the ranked designs (and decision history) are tables from the start
    assert page.get_by_text("Drag a box or lasso on the chart").count() == 1  # no selection yet
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    assert chart.evaluate("el => el.querySelector('.js-plotly-plot')._fullLayout.dragmode") == "select"
    area = chart.locator(".nsewdrag").first.bounding_box()
    start = (area["x"] + area["width"] * 0.04, area["y"] + area["height"] * 0.35)
    end = (area["x"] + area["width"] * 0.55, area["y"] + area["height"] * 0.97)
    page.mouse.move(*start)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(start[0] + (end[0] - start[0]) * step / 10, start[1] + (end[1] - start[1]) * step / 10)
    page.mouse.up()
    page.wait_for_function(f"document.querySelectorAll('[data-testid=\"stDataFrame\"]').length > {before}",
                           timeout=30_000)
    wait_rendered(page, "Pareto explorer")
    assert error_messages(page) == []
    screenshot(page, "pareto_selection")

    # The box in data coordinates, as plotly recorded it.
    box = chart.evaluate("el => el.querySelector('.js-plotly-plot')._fullLayout.selections[0]")
    x_lo, x_hi = sorted((box["x0"], box["x1"]))
    y_lo, y_hi = sorted((box["y0"], box["y1"]))
    assert tables.count() == before + 1  # the selection's table, above the ranked designs
    name, rows = download_csv(page, page.locator('[data-testid="stDownloadButton"]').filter(has_text="Download CSV").first)
    assert name == f"{study}_selected_designs.csv"
    selected = {row["run_id"]: row for row in rows}
    assert len(selected) == len(rows) > 0
    captions = page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').all_inner_texts()
    assert f"{len(selected):,} design{'s' if len(selected) != 1 else ''} selected." in captions   # the count, said

    # Independently: every successful run with finite objectives inside the box (the front and the
    # dominated cloud are drawn in full for a 1,200-run study). Points within 0.5 % of the box edge
    # may fall either way (pixel rounding).
    import json

    margin_x, margin_y = (x_hi - x_lo) * 0.005, (y_hi - y_lo) * 0.005
    inside, near = set(), set()
    for row in db_rows(quickstart.db_path, "SELECT run_id, objectives FROM study_runs WHERE study_id = ? "
                       "AND simulation_status = 'success'", (study,)):
        cost, co2 = json.loads(row["objectives"])[:2]
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (cost, co2)):
            continue
        if x_lo + margin_x <= cost <= x_hi - margin_x and y_lo + margin_y <= co2 <= y_hi - margin_y:
            inside.add(row["run_id"])
        if x_lo - margin_x <= cost <= x_hi + margin_x and y_lo - margin_y <= co2 <= y_hi + margin_y:
            near.add(row["run_id"])
    assert inside and inside <= set(selected) <= near
    by_id = {row["run_id"]: row for row in db_rows(quickstart.db_path, "SELECT run_id, objectives FROM study_runs "
                                                   "WHERE study_id = ?", (study,))}
    for run_id, row in selected.items():
        cost, co2 = json.loads(by_id[run_id]["objectives"])[:2]
        assert same_float(row["annual_cost_usd"], cost) and same_float(row["co2_t_per_year"], co2), run_id


def test_csv_download_has_the_database_rows(quickstart, page):
    open_page(page, quickstart, "", "Studies")
    name, rows = download_csv(page, page.locator('[data-testid="stDownloadButton"]').filter(has_text="Download CSV").first)
    assert name == "studies.csv"
    expected = {row["study_id"]: row for row in db_rows(
        quickstart.db_path, "SELECT study_id, study_name, study_type, status, progress_percent, run_count, "
        "best_fitness, optimization_objective, created_at FROM studies")}
    newest_first = [r["study_id"] for r in db_rows(quickstart.db_path,
                                                   "SELECT study_id FROM studies ORDER BY created_at DESC, study_id")]
    assert [row["study_id"] for row in rows] == newest_first
    for row in rows:
        want = expected[row["study_id"]]
        assert row["study_name"] == want["study_name"]
        assert row["study_type"] == want["study_type"] and row["status"] == want["status"]
        assert int(row["run_count"]) == want["run_count"]
        assert same_float(row["best_fitness"], want["best_fitness"]), row["study_id"]
        assert same_float(row["progress_percent"], want["progress_percent"]), row["study_id"]
        assert row["optimization_objective"] == want["optimization_objective"]
        assert row["created_at"] == want["created_at"]


def test_html_in_a_study_name_is_literal_text_and_runs_no_script(quickstart, page):
    from storage import DatabaseMetadataService

    study = "browser_xss"
    with DatabaseMetadataService(quickstart.db_path) as db:   # written while the server runs
        db.create_study({"study_id": study, "study_type": "genetic_algorithm", "study_name": XSS_NAME,
                         "description": XSS_DESCRIPTION, "optimization_objective": "cost,co2",
                         "objective_directions": ["minimize", "minimize"], "status": "running"})
        db.log_study_runs([{"study_id": study, "generation_number": 0, "parameter_vector": [float(k)],
                            "objectives": o} for k, o in enumerate(([1.0, 2.0], [2.0, 1.0]))])
        db.update_study_status(study, "completed")

    open_page(page, quickstart, "", "Studies")            # a reload shows the new study
    page.reload()
    wait_rendered(page, "Studies")
    # The grid draws on a canvas; its accessible cells (filled a moment later) hold the literal name.
    page.wait_for_function("(name) => [...document.querySelectorAll('[data-testid=\"stDataFrame\"]')]"
                           ".some((grid) => grid.textContent.includes(name))", arg=XSS_NAME, timeout=20_000)
    screenshot(page, "xss_studies")

    open_page(page, quickstart, f"study?study={study}", "Study detail")
    picker = page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first.locator("input").input_value()
    assert picker == f"{study} ({XSS_NAME}) [genetic_algorithm]"
    shown = [page.locator('[data-testid="stText"]').nth(i).inner_text()
             for i in range(page.locator('[data-testid="stText"]').count())]
    assert XSS_DESCRIPTION in shown                            # st.text: exactly the stored characters
    screenshot(page, "xss_study_detail")

    for path in (f"pareto?study={study}", f"data?study={study}"):
        open_page(page, quickstart, path, None)
        assert error_messages(page) == []
    page.wait_for_timeout(500)                                 # give a broken image's onerror time to fire
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator('img[src*="example.invalid"]').count() == 0
    assert page.locator('script:text("alert(2)")').count() == 0
    assert page.evaluate("window.__hive_alerts") == [] and page.dialogs == []
    assert page.evaluate("window.__hive_errors") == []


def test_markdown_in_a_run_id_is_literal_text(quickstart, page):
    from storage import DatabaseMetadataService

    run_id = "![knee](https://example.invalid/knee.png)"
    with DatabaseMetadataService(quickstart.db_path) as db:
        db.create_study({"study_id": "browser_markdown_run", "study_type": "genetic_algorithm",
                         "optimization_objective": "cost,co2", "objective_directions": ["minimize", "minimize"]})
        db.log_study_runs([{"study_id": "browser_markdown_run", "run_id": run_id, "generation_number": 0,
                            "parameter_vector": [1.0], "objectives": [1.0, 1.0]}])
        db.update_study_status("browser_markdown_run", "completed")
    open_page(page, quickstart, "pareto?study=browser_markdown_run", "Pareto explorer")
    screenshot(page, "markdown_run_id")
    assert page.locator('img[src*="example.invalid"]').count() == 0
    captions = page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').all_inner_texts()
    assert any(run_id in caption for caption in captions), captions


def test_the_dashboard_fetches_nothing_from_the_internet(quickstart, browser):
    """Every request of every page goes to the dashboard's own server (the page icon too)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    elsewhere = []
    tab.on("request", lambda request: elsewhere.append(request.url)
           if not request.url.startswith((quickstart.url, "data:", "blob:")) else None)
    open_page(tab, quickstart, "", "Studies")
    for index, (_path, title) in enumerate(sidebar_pages(tab)):
        tab.locator('[data-testid="stSidebarNavLink"]').nth(index).click()
        wait_rendered(tab, title)
    icon = tab.locator('link[rel="shortcut icon"], link[rel="icon"]').first.get_attribute("href")
    context.close()
    assert elsewhere == []
    assert icon and not icon.startswith("http") or icon.startswith(quickstart.url)


def test_the_chart_script_is_loaded_while_the_first_page_is_read(quickstart, browser):
    """Studies draws no chart, yet once it is drawn the browser loads Streamlit's plotly script (from
    the dashboard's server, once); the first chart page opened later draws without fetching it."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    fetched = []
    tab.on("response", lambda response: fetched.append((response.url, response.status))
           if "/static/js/PlotlyChart." in response.url else None)
    open_page(tab, quickstart, "", "Studies")
    assert tab.locator('[data-testid="stPlotlyChart"]').count() == 0
    tab.wait_for_function("() => performance.getEntriesByType('resource').some(e => e.name.includes('/PlotlyChart.'))",
                          timeout=20_000)
    tab.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Experiments").first.click()
    wait_rendered(tab, "Experiments")
    assert tab.locator('[data-testid="stPlotlyChart"] .main-svg').count() > 0
    context.close()
    assert len(fetched) == 1 and fetched[0][0].startswith(quickstart.url) and fetched[0][1] == 200, fetched


def test_first_visitor_deep_link_has_no_page_not_found_dialog(quickstart, page, tmp_path):
    copy = tmp_path / "hive.db"
    con = sqlite3.connect(quickstart.db_path)
    try:
        con.execute("VACUUM INTO ?", (str(copy),))          # a consistent copy of the demo database
    finally:
        con.close()
    server = Server(tmp_path, {"HIVE_DB_URL": f"sqlite:///{copy}", "HIVE_HOME": str(tmp_path)})
    try:
        # The server's first session: Streamlit still routes by the pages/ folder (ui/routing.py).
        open_page(page, server, "study?study=demo_nsga2_pop40", "Study detail")
        page.wait_for_timeout(500)
        screenshot(page, "first_visitor_deep_link")
        assert error_messages(page) == []
        assert "/study?study=demo_nsga2_pop40" in page.url
        # app.py's layout, not the page file run on its own: its navigation titles and sidebar caption.
        links = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
        assert [text.strip().splitlines()[-1] for text in links] == PAGE_TITLES  # after the icon
        assert "Database" in page.locator('[data-testid="stSidebar"]').inner_text()
        assert server.problems() == []       # e.g. no Session State warning for the study picker on a deep link
    finally:
        server.stop()


def test_a_project_manager_downloads_the_chosen_designs_of_five_studies(quickstart, browser):
    """The task from a cold browser: open the dashboard, go to Compare, make it five studies, download
    their designs; at most 6 clicks and under 60 s, and the file's rows are the store's."""
    import json

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    clicks = 0
    started = time.perf_counter()
    open_page(page, quickstart, "", "Studies")
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Compare studies").click()
    clicks += 1
    wait_rendered(page, "Compare studies")
    picker = page.locator('[data-testid="stMultiSelect"]').first
    from urllib.parse import parse_qs, urlsplit

    chosen = parse_qs(urlsplit(page.url).query)["studies"][0].split(",")   # the page's own pick, in its URL
    picker.locator("input").click()
    clicks += 1
    for name in [s for s in DEMO_STUDIES if s not in chosen][: 5 - len(chosen)]:
        option = page.locator('[role="option"]').filter(has_text=name).first
        if not option.is_visible():                     # the list closed after the last choice: open it again
            picker.locator("input").click()
            clicks += 1
        option.click()
        clicks += 1
        wait_rendered(page, "Compare studies")
    page.keyboard.press("Escape")
    name, rows = download_csv(page, page.locator('[data-testid="stDownloadButton"]').filter(has_text="Download chosen designs"))
    clicks += 1
    elapsed = time.perf_counter() - started
    screenshot(page, "pm_chosen_designs")
    context.close()
    print(f"chosen designs of 5 studies: {clicks} clicks, {elapsed:.1f} s")
    assert name == "chosen_designs.csv"
    assert clicks <= 6 and elapsed < 60, (clicks, elapsed)

    studies = {row["study_id"] for row in rows}
    assert len(studies) == 5
    for study_id in studies:
        mine = [row for row in rows if row["study_id"] == study_id]
        directions = json.loads(db_rows(quickstart.db_path, "SELECT objective_directions FROM studies WHERE study_id = ?",
                                        (study_id,))[0]["objective_directions"])
        if len(directions) >= 2:   # the front, by brute force over the successful runs read with sqlite3
            import numpy as np

            runs = db_rows(quickstart.db_path, "SELECT run_id, objectives FROM study_runs WHERE study_id = ? "
                           "AND simulation_status = 'success'", (study_id,))
            sign = np.array([1.0 if d == "minimize" else -1.0 for d in directions])
            points = np.array([json.loads(r["objectives"]) for r in runs], dtype=float) * sign
            le = (points[:, None, :] <= points[None, :, :]).all(axis=2)
            lt = (points[:, None, :] < points[None, :, :]).any(axis=2)
            front = {r["run_id"] for r, keep in zip(runs, ~(le & lt).any(axis=0)) if keep}
            assert {row["run_id"] for row in mine} == front and {row["selection"] for row in mine} == {"Pareto front"}
        else:                      # the best designs by fitness
            best = [r["run_id"] for r in db_rows(quickstart.db_path, "SELECT run_id FROM study_runs WHERE study_id = ? "
                                                 "AND simulation_status = 'success' ORDER BY fitness, evaluation_number "
                                                 "LIMIT 10", (study_id,))]
            assert [row["run_id"] for row in mine] == best
        by_id = {r["run_id"]: r for r in db_rows(quickstart.db_path, "SELECT run_id, objectives FROM study_runs "
                                                 "WHERE study_id = ?", (study_id,))}
        names = db_rows(quickstart.db_path, "SELECT optimization_objective FROM studies WHERE study_id = ?",
                        (study_id,))[0]["optimization_objective"].split(",")
        for row in mine:
            values = json.loads(by_id[row["run_id"]]["objectives"])
            assert all(same_float(row[n], v) for n, v in zip(names, values)), row["run_id"]


# Every page on the demo as a first-time user opens it: (screenshot name, URL path, h1, tab to open).
TOUR = [
    ("studies", "", "Studies", None),
    ("study_detail", "study?study=demo_nsga2_pop40", "Study detail", None),
    ("study_detail_parameters", "study?study=demo_nsga2_pop40", "Study detail", "Parameter distributions"),
    ("design", "design?study=demo_nsga2_pop40&run=demo_nsga2_pop40:0", "Design", None),
    ("compare", "compare", "Compare studies", None),
    ("experiments", "experiments", "Experiments", None),
    ("experiments_difference", "experiments?attainment=Difference+of+two+groups", "Experiments", None),
    ("convergence", "convergence?studies=demo_nsga2_pop40,demo_nsga2_pop80", "Convergence", None),
    ("convergence_milp", "convergence?studies=demo_milp_expansion", "Convergence", None),
    ("trials", "trials?study=demo_nsga2_pop40", "Trials", None),
    ("pareto", "pareto?study=demo_nsga2_pop40", "Pareto explorer", None),
    ("pareto_3d", "pareto?study=demo_nsga3_three_objectives&3d=1", "Pareto explorer", None),
    ("sensitivity", "sensitivity?study=demo_mc_fuel_and_capex", "Sensitivity & uncertainty", None),
    ("prompts", "prompts", "Prompt optimization", None),
    ("data", "data", "Data & export", None),
]
# Chart titles a view must show, by name (the AppTests check every chart's names against their data).
TOUR_TITLES = {
    "study_detail_parameters": ["Parameter values over 1,200 runs"],
    "convergence": ["Best, average and worst annual_cost_usd (min) per generation", "Hypervolume per generation"],
    "convergence_milp": ["Incumbent and dual bound of annual_cost_usd (min), log scale",
                         "Relative gap between incumbent and dual bound"],
    "experiments": ["Final hypervolume per study, by algorithm",
                    "Hypervolume of the front so far: median across seeds, with the inter-quartile range",
                    "Attainment surfaces: best (dotted), median (solid), worst (dashed)"],
    "experiments_difference": ["Final hypervolume per study, by algorithm",
                               "Hypervolume of the front so far: median across seeds, with the inter-quartile range",
                               "Attainment difference: NSGA-II against SMS-EMOA (darker: a larger share of runs ahead)"],
    "pareto": ["Pareto front: co2_t_per_year against annual_cost_usd"],
    "pareto_3d": ["Pareto front: annual_cost_usd, co2_t_per_year, unserved_energy_pct"],
    "sensitivity": ["Pearson correlation of each parameter with each objective",
                    "Parameters ranked by Pearson correlation with annual_cost_usd"],
}


def test_every_page_reads_well_and_is_photographed(quickstart, page):
    """Each page of the tour: no error, no placeholder text, every chart titled with named axes and
    no two labels on top of each other; then a full-page screenshot into tests/browser/screenshots/."""
    for name, path, title, tab in TOUR:
        open_page(page, quickstart, path, title)
        if tab:
            page.get_by_role("tab", name=tab).click()   # only the open tab runs: the click reruns the page
            page.wait_for_url(f"**tab={tab.replace(' ', '+')}*")
            wait_rendered(page, title)
        assert error_messages(page) == [], (name, error_messages(page))
        assert "new text" not in page.locator('[data-testid="stMain"]').text_content().lower(), name
        seen = page.evaluate(CHARTS_SEEN_JS)
        for chart in seen:
            where = (name, chart["title"], chart["axes"])
            assert chart["title"], where
            assert chart["overlaps"] == [], (where, chart["overlaps"])
            named = [text for axis, text in chart["axes"].items() if axis.startswith(("xaxis", "scene")) or axis == "yaxis"]
            assert named and all(named), where
            assert "fitness" not in chart["axes"].values(), where
        titles = [chart["title"] for chart in seen]
        assert set(TOUR_TITLES.get(name, [])) <= set(titles), (name, titles)

        if name == "convergence_milp":   # a solver has no population: said once, not drawn as empty charts
            infos = page.locator('[data-testid="stMain"] [data-testid="stAlertContentInfo"]').all_inner_texts()
            assert any(text.startswith("demo_milp_expansion is a MILP") for text in infos), infos
            assert len(seen) == 2
        if name == "pareto":
            # The front reaches co2 = 0 exactly when the study's lowest co2 is 0 (that design is on the
            # front): then a log y axis cannot show it and is not offered.
            import json

            co2 = [json.loads(row["objectives"])[1] for row in db_rows(
                quickstart.db_path, "SELECT objectives FROM study_runs WHERE study_id = 'demo_nsga2_pop40' "
                "AND simulation_status = 'success'")]
            log_y = page.locator('[data-testid="stCheckbox"]').filter(has_text="Log y").locator("input")
            assert log_y.is_disabled() == (min(v for v in co2 if v is not None) <= 0)
            # The chart's HTML download is in the app's theme: its white background, not plotly's grey.
            with page.expect_download(timeout=60_000) as info:
                page.locator('[data-testid="stDownloadButton"]').filter(has_text="HTML").first.click()
            html = Path(info.value.path()).read_text(encoding="utf-8")
            assert '"plot_bgcolor":"#ffffff"' in html.replace(" ", "") and "#E5ECF6" not in html, "not themed"
            assert "Pareto front: co2_t_per_year against annual_cost_usd" in html
        if name == "pareto_3d":          # the page's width, and tall enough for its three axis titles
            block = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"]').first.bounding_box()
            assert seen[0]["width"] >= 0.95 * block["width"] and seen[0]["height"] >= 700, (seen[0], block)
        if name == "sensitivity":        # each risk line named with its value in the legend
            legends = [entry for chart in seen for entry in chart["legend"]]
            for label in ("P5 = ", "P50 = ", "P95 = ", "VaR95 = ", "CVaR95 = "):
                assert sum(entry.startswith(label) for entry in legends) == 2, legends   # two objectives
        assert full_page_screenshot(page, name, title).stat().st_size > 0
    assert page.evaluate("window.__hive_errors") == []
