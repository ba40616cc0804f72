"""Experiments and decisions in a real browser (Debian's Chromium through Playwright) against
``hive-cli dashboard`` on ``experiment_data``'s database: the Experiments page draws every chart;
on the Pareto explorer a person ranks the front by TOPSIS, records the top design with a rationale,
and sees it boxed on the chart and in the history (the row read back with sqlite3); study detail's
"Download report (HTML)" gives a file that opens from disk with the network refused, every chart
drawn. Screenshots go to ``test-artifacts/``.
"""
from __future__ import annotations

import json

import pytest

import experiment_data as data
from test_dashboard_browser import (HOOKS_JS, Server, _require_browser, browser, db_rows,  # noqa: F401 (fixture)
                                    error_messages, open_page, screenshot, wait_rendered)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _require_browser()
    work = tmp_path_factory.mktemp("decisions")
    path = work / "hive.db"
    data.build(f"sqlite:///{path}")
    running = Server(work, {"HIVE_DB_URL": f"sqlite:///{path}", "HIVE_HOME": str(work)})
    running.db_path = path
    yield running
    problems = running.problems()
    running.stop()
    assert problems == [], "the server logged warnings or tracebacks"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.add_init_script(HOOKS_JS)
    tab = context.new_page()
    yield tab
    context.close()


def test_experiments_page_draws_every_chart(server, page):
    open_page(page, server, "experiments?experiment=toy", "Experiments")
    assert error_messages(page) == []
    charts = page.locator('[data-testid="stPlotlyChart"]')
    assert charts.count() == 3                                   # groups, convergence, attainment surfaces
    assert all(charts.nth(i).locator(".main-svg").count() for i in range(3))
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "A vs B: A tends to be better (large effect); A12 = 1.00" in text
    screenshot(page, "experiments_toy")
    page.get_by_text("Difference of two groups", exact=True).click()   # the other attainment chart
    page.wait_for_timeout(100)
    wait_rendered(page, "Experiments")
    assert charts.count() == 3 and page.locator(".gtitle").filter(has_text="Attainment difference: A against B").count()
    assert "attainment=Difference" in page.url
    screenshot(page, "experiments_toy_difference")
    assert page.evaluate("window.__hive_errors") == []


def test_a_decision_is_ranked_recorded_and_shown(server, page):
    open_page(page, server, "pareto?study=toy_a1&rank=topsis&w=1,3&top=3", "Pareto explorer")
    assert error_messages(page) == []
    page.get_by_label("Why this design").fill("most quality per dollar <i>for now</i>")
    page.get_by_label("Decided by").fill("Ana")
    page.get_by_role("button", name="Record this decision").click()
    page.get_by_text("Recorded decision 1: ").wait_for(timeout=30_000)
    wait_rendered(page, "Pareto explorer")
    stored = db_rows(server.db_path, "SELECT run_id, method, settings, rationale, decided_by FROM decisions")
    assert len(stored) == 1
    row = dict(stored[0])
    assert (row["method"], row["rationale"], row["decided_by"]) == ("topsis", "most quality per dollar <i>for now</i>",
                                                                   "Ana")
    assert json.loads(row["settings"])["weights"] == {"cost": 1.0, "quality": 3.0}
    main = page.locator('[data-testid="stMain"]')
    assert f"Latest decision: {row['run_id']} (by TOPSIS) by Ana" in main.inner_text()
    assert main.locator(".legendtext", has_text="recorded decision").count() == 1
    screenshot(page, "pareto_decision")
    assert error_messages(page) == [] and page.evaluate("window.__hive_errors") == []


def test_study_detail_report_download_opens_offline(server, page, browser, tmp_path):
    open_page(page, server, "study?study=toy_a1", "Study detail")
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Download report (HTML)").click()
    download = info.value
    assert download.suggested_filename == "toy_a1_report.html"
    target = tmp_path / download.suggested_filename
    download.save_as(target)

    offline = browser.new_context(offline=True)
    attempted, console = [], []
    offline.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                  else (attempted.append(route.request.url), route.abort()))
    report = offline.new_page()
    report.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    report.goto(target.as_uri())
    report.wait_for_function("document.body.dataset.chartsDrawn !== undefined", timeout=60_000)
    drawn = report.evaluate("document.body.dataset.chartsDrawn")
    svgs = report.evaluate("[...document.querySelectorAll('div.chart')].map(d => d.querySelectorAll('.main-svg').length)")
    offline.close()
    assert drawn == str(len(svgs)) and len(svgs) >= 2 and all(svgs)
    assert console == [] and attempted == []
