"""The Trials page in a real browser (Debian's Chromium, Playwright) on a study imported from Optuna
as a user does it: a real Optuna RDB storage (TPE, a median pruner with intermediate values, a
categorical parameter, constraints) copied with ``hive-cli import optuna``, then ``streamlit run
app.py`` on the result. Every view renders without an error, each chart is drawn with its title,
parameter importance is computed on request and drawn with its method, a point of the history opens
its design, and a screenshot of each view goes to ``test-artifacts/`` (git-ignored).
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from test_dashboard_browser import (HOOKS_JS, REPO, Server, browser, error_messages, open_page,  # noqa: F401 (fixture)
                                    screenshot, wait_rendered)

pytestmark = pytest.mark.browser

STUDY = "optuna_browser"
VIEWS = {"History": "value (min) by evaluation", "Learning curves": "Learning curves",
         "Slice": "Slice: value (min) against each parameter", "Contour & rank": "Contour of value (min) over x and y",
         "EDF": "Empirical distribution of value (min)", "Timeline": "Timeline of evaluations",
         "Parallel coordinates": "Parameters and value (min) of"}

BUILD = """
import optuna, sys
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(study_name="browser", storage=sys.argv[1], sampler=optuna.samplers.TPESampler(seed=4),
                            pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1))
def objective(trial):
    x = trial.suggest_float("x", -3, 3)
    y = trial.suggest_float("y", 1e-3, 1.0, log=True)
    kind = trial.suggest_categorical("kind", ["adam", "sgd"])
    value = 10 * x ** 2 + y + (0.5 if kind == "sgd" else 0.0)
    trial.set_constraint("x_below_1", x - 1.0)
    for step in range(5):
        trial.report(value + 3.0 / (step + 1), step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return value
study.optimize(objective, n_trials=40)
"""


@pytest.fixture(scope="module")
def imported_server(browser, tmp_path_factory):  # noqa: F811 (the browser fixture, imported)
    folder = tmp_path_factory.mktemp("trials_browser")
    storage = f"sqlite:///{folder / 'optuna.db'}"
    database = folder / "hive.db"
    subprocess.run([sys.executable, "-c", BUILD, storage], check=True, cwd=REPO)
    subprocess.run([sys.executable, "-m", "hive_cli", "--db", str(database), "import", "optuna", "--storage", storage,
                    "--study", "browser", "--study-id", STUDY], check=True, cwd=REPO, capture_output=True)
    server = Server(folder, {"HIVE_DB_URL": str(database), "HIVE_HOME": str(folder)})
    try:
        yield server
        assert server.problems() == [], "the server logged warnings or tracebacks"
    finally:
        server.stop()


def chart_titles(page) -> list[str]:
    # SVG text has no innerText: read its text content.
    return page.locator('[data-testid="stPlotlyChart"] .gtitle').evaluate_all("els => els.map(e => e.textContent)")


def test_every_trials_view_on_an_imported_optuna_study(imported_server, browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(HOOKS_JS)
    page = context.new_page()
    for view, expected in VIEWS.items():
        path = f"trials?study={STUDY}&view={view.replace(' ', '+').replace('&', '%26')}"
        open_page(page, imported_server, path, "Trials")
        assert error_messages(page) == [], (view, error_messages(page))
        titles = chart_titles(page)
        assert any(str(t).startswith(expected) for t in titles), (view, titles)
        screenshot(page, f"trials_{view.lower().replace(' & ', '_').replace(' ', '_')}")

    # Importance: computed on request (by a hive-cli process: the dashboard never writes), then drawn.
    open_page(page, imported_server, f"trials?study={STUDY}&view=Importance", "Trials")
    page.get_by_role("button", name="Compute importance").click()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=120_000)
    wait_rendered(page, "Trials")
    assert any(t.startswith("Parameter importance for value (min)") for t in chart_titles(page)), chart_titles(page)
    subtitles = page.locator('[data-testid="stPlotlyChart"] .gtitle-subtitle').evaluate_all("els => els.map(e => e.textContent)")
    assert any(text.startswith("Method: PED-ANOVA") for text in subtitles), subtitles
    screenshot(page, "trials_importance")

    # A point of the history opens its design.
    open_page(page, imported_server, f"trials?study={STUDY}", "Trials")
    box = page.locator('[data-testid="stPlotlyChart"] .scatterlayer .point').first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)   # as a user clicks: plotly's drag layer takes it
    link = page.get_by_role("link", name=f"Open {STUDY}:")
    link.first.wait_for(timeout=30_000)
    link.first.click()
    wait_rendered(page, "Design")
    assert "design?" in page.url and f"run={STUDY}%3A" in page.url
    assert "Evaluation" in page.locator('[data-testid="stMain"]').inner_text()
    assert page.evaluate("window.__hive_errors") == []
    context.close()
