"""The offline report in a real browser (Debian's Chromium through Playwright): ``hive-cli report``
writes the file, the browser opens it from disk with every request that is not the file itself
refused, and every chart draws (an SVG in each chart's place, as many as the file holds) with no
console error, no page error and no request attempted. A screenshot goes to ``test-artifacts/``.
"""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

import experiment_data as data
from test_dashboard_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _require_browser

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    _require_browser()
    from hive_cli.main import cli
    from storage import DatabaseMetadataService

    work = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{work / 'hive.db'}"
    data.build(url)
    with DatabaseMetadataService(url) as db:
        db.record_decision({"study_id": "toy_a1", "run_id": "toy_a1:3", "method": "topsis", "decided_by": "Ana",
                            "settings": {"weights": [0.2, 0.8]}, "rationale": "<script>alert(3)</script> quality first"})
        db.create_study({"study_id": "risk", "study_type": "monte_carlo", "optimization_objective": "cost",
                         "parameter_names": ["fuel", "capex"]})
        db.log_study_runs([{"study_id": "risk", "parameter_vector": [float(i), 1.0], "objectives": [100.0 + i]}
                           for i in range(10)])
        db.log_sensitivity_analysis([{"study_id": "risk", "parameter_name": p, "objective_name": "cost",
                                      "sobol_total": v, "importance_rank": k + 1}
                                     for k, (p, v) in enumerate((("fuel", 0.7), ("capex", 0.1)))])
    target = work / "report.html"
    result = CliRunner().invoke(cli, ["--db", url, "report", "--study-id", "toy_a1,toy_b1,risk,tune_tpe1",
                                      "--output", str(target)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return target


def test_the_report_opens_from_disk_with_no_network_and_every_chart_draws(report_file):
    from playwright.sync_api import sync_playwright

    page_text = report_file.read_text()
    expected = len(json.loads(re.search(r'<script type="application/json" id="figures">(.*?)</script>',
                                        page_text, re.S).group(1)))
    assert expected >= 5
    console, errors, attempted = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1300, "height": 1000}, offline=True)

        def refuse_the_network(route):
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                attempted.append(route.request.url)
                route.abort()

        context.route("**/*", refuse_the_network)
        page = context.new_page()
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}")
                if message.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.goto(report_file.as_uri())
        page.wait_for_function("document.body.dataset.chartsDrawn !== undefined", timeout=60_000)
        drawn = page.evaluate("document.body.dataset.chartsDrawn")
        svgs = page.evaluate("[...document.querySelectorAll('div.chart')].map(d => d.querySelectorAll('.main-svg').length)")
        status = page.evaluate("document.getElementById('chart-status').textContent")
        rationale = page.evaluate("[...document.querySelectorAll('td')].map(td => td.textContent)"
                                  ".find(t => t.includes('quality first'))")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report_offline.png"))
        browser.close()
    assert (drawn, status) == (str(expected), "")
    assert len(svgs) == expected and all(n >= 1 for n in svgs), svgs
    assert console == [] and errors == [] and attempted == []
    assert rationale == "<script>alert(3)</script> quality first"      # shown as text, never run
