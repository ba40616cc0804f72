"""Sign-in in a real browser (Debian's Chromium through Playwright): ``hive-cli dashboard`` with an
``[auth]`` section in its secrets, signing in through a local OpenID Connect provider
(``oidc-provider-mock``, started here), on PostgreSQL as the application role. Two projects, each with
a study and a prompt run; alice may see project A, bob project B, carol none. Each sees only their own
studies and prompt runs on every page and in the downloads, and the SQL box cannot read the other
project; signed out, with an ended session or with no project, a page says so and shows no data.
What each project holds is read back with plain SQL as the owner."""
from __future__ import annotations

import csv
import io
import secrets
import socket
import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import as_role, create_pg_database, drop_pg_database, plain_engine
from test_dashboard_browser import (HOOKS_JS, Server, _require_browser, browser, error_messages,  # noqa: F401
                                    screenshot, sidebar_pages, wait_rendered)

pytestmark = [pytest.mark.browser, pytest.mark.postgres,
              # the test provider's own use of Authlib's older API (oidc-provider-mock), not the dashboard's
              pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib.*")]
PROJECTS = {"A": ("alpha_ga", "alpha-run"), "B": ("beta_ga", "beta-run")}
USERS = {"alice@example.com": ("A", "editor"), "bob@example.com": ("B", "viewer")}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def provider():
    with warnings.catch_warnings():  # its import of Authlib's older API warns; not the dashboard's code
        warnings.simplefilter("ignore", DeprecationWarning)
        from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def dashboard(provider, pg_template, pg_app_role, tmp_path_factory):
    _require_browser()
    from storage import DatabaseMetadataService, PromptOptimizationStore, members
    from storage.engine import create_engine, resolve_url

    owner_url = create_pg_database(template=pg_template)
    work = tmp_path_factory.mktemp("sign_in")
    for project, (study_id, run_id) in PROJECTS.items():
        with DatabaseMetadataService(owner_url, project_id=project) as db:
            db.create_study({"study_id": study_id, "study_type": "genetic_algorithm", "optimization_objective": "cost,co2"})
            db.log_study_runs([{"study_id": study_id, "generation_number": 0, "parameter_vector": [float(i)],
                                "objectives": [float(i), float(10 - i)]} for i in range(5 if project == "A" else 7)])
        with PromptOptimizationStore(owner_url, project_id=project) as store:
            store.create_run({"id": run_id, "name": f"{run_id} name", "optimizer_type": "miprov2"})
    owner = create_engine(resolve_url(owner_url))
    for email, (project, role) in USERS.items():
        members.grant(owner, project, email, role)
    for project in PROJECTS:  # dave may see both
        members.grant(owner, project, "dave@example.com")
    owner.dispose()
    port = _port()
    secrets_file = work / "secrets.toml"
    secrets_file.write_text(f"""
[connections.studies]
url = "{as_role(owner_url, *pg_app_role)}"

[auth]
redirect_uri = "http://localhost:{port}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "hive-dashboard"
client_secret = "{secrets.token_hex(16)}"
server_metadata_url = "{provider}/.well-known/openid-configuration"
""")
    server = Server(work, {"HIVE_DB_URL": None, "HIVE_HOME": str(work)}, args=("--secrets", str(secrets_file)),
                    port=port)
    server.url = f"http://localhost:{port}"  # the redirect URI's host: the session cookie is set for it
    server.owner_url = owner_url
    yield server
    problems = server.problems()
    server.stop()
    drop_pg_database(owner_url)
    assert problems == [], "the server logged warnings or tracebacks"


@pytest.fixture
def context(browser):
    made = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    made.add_init_script(HOOKS_JS)
    yield made
    made.close()


def page_text(page) -> str:
    return page.locator('[data-testid="stApp"]').inner_text()


def sign_in(page, dashboard, email: str) -> None:
    page.goto(dashboard.url, wait_until="domcontentloaded")
    wait_rendered(page, "Sign in")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**")
    page.locator('input[name="sub"]').last.fill(email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{dashboard.url}/**")
    wait_rendered(page, None)


def picker_options(page, label: str) -> list[str]:
    box = page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').filter(
        has=page.get_by_text(label, exact=True))
    box.click()
    page.get_by_role("option").first.wait_for()  # the list opens a moment after the click
    offered = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return offered


def sign_out(page, dashboard) -> None:
    """The dashboard's Sign out; the provider then asks to end its session too (OIDC end_session)."""
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{dashboard.url}/**")
    wait_rendered(page, "Sign in")


def stored_rows(dashboard, project: str, sql: str) -> list[tuple]:
    engine = plain_engine(dashboard.owner_url, project)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


@pytest.mark.parametrize("email", list(USERS))
def test_each_user_sees_only_their_projects_studies_and_runs(dashboard, context, email):
    project, role = USERS[email]
    own_study, own_run = PROJECTS[project]
    other_study, other_run = next(v for k, v in PROJECTS.items() if k != project)
    page = context.new_page()
    sign_in(page, dashboard, email)
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert email in sidebar and f"Project: {project}" in sidebar
    # every page: the own project's study, never the other's
    downloads = 0
    for path, title in sidebar_pages(page):
        page.goto(f"{dashboard.url}/{path}", wait_until="domcontentloaded")
        wait_rendered(page, title)
        text = page_text(page)
        assert other_study not in text and other_run not in text, (title, text[:500])
        assert error_messages(page) == [], title
        # pickers offer this project's studies and runs only (tables are drawn on a canvas: the download below)
        if title == "Study detail":
            assert [o.split(" [")[0] for o in picker_options(page, "Study")] == [r[0] for r in stored_rows(
                dashboard, project, "SELECT study_id FROM studies")]
        if title == "Pareto explorer":  # an editor may record a decision; a viewer is told why not
            assert ("Record this decision" in text) == (role == "editor")
            assert ("needs the editor role" in text) == (role == "viewer")
        if title == "Prompt optimization":
            assert picker_options(page, "Project") == [project]
            assert [o.split(" [")[-1].rstrip("]") for o in picker_options(page, "Run")] == [r[0] for r in stored_rows(
                dashboard, project, "SELECT id FROM optimization_runs")]
        # every download the page offers holds nothing of the other project
        buttons = page.locator('[data-testid="stMain"] [data-testid="stDownloadButton"] button')
        for i in range(buttons.count()):
            if not buttons.nth(i).is_visible():  # a chart's download menu, closed: its CSV twin is tried
                continue
            with page.expect_download() as info:
                buttons.nth(i).click()
            content = Path(info.value.path()).read_text(encoding="utf-8", errors="replace")
            assert other_study not in content and other_run not in content, (title, buttons.nth(i).inner_text())
            downloads += 1
    assert downloads >= 8, downloads  # the pages' CSV and report downloads were all tried
    # the studies table as CSV holds this project's studies, as stored
    page.goto(dashboard.url, wait_until="domcontentloaded")
    wait_rendered(page, "Studies")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").first.click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert [(r["study_id"], int(r["run_count"])) for r in rows] == stored_rows(
        dashboard, project, "SELECT study_id, run_count FROM studies")
    # the SQL box: hand-written SQL over every study table sees this project's rows only
    page.goto(f"{dashboard.url}/data", wait_until="domcontentloaded")
    wait_rendered(page, "Data & export")
    box = page.get_by_label("Query")
    box.fill("SELECT s.study_id, count(r.run_id) AS n FROM studies s LEFT JOIN study_runs r USING (study_id) "
             "GROUP BY s.study_id ORDER BY 1")
    box.press("Control+Enter")
    page.get_by_role("button", name="Run").click()
    wait_rendered(page, "Data & export")
    with page.expect_download() as info:  # the result as its CSV (the table itself is drawn on a canvas)
        page.get_by_role("button", name="Download CSV").last.click()
    result = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert [(r["study_id"], int(r["n"])) for r in result] == stored_rows(
        dashboard, project, "SELECT s.study_id, count(r.run_id) FROM studies s LEFT JOIN study_runs r "
                            "USING (study_id) GROUP BY s.study_id ORDER BY 1")
    screenshot(page, f"sign_in_{project}_sql")
    # signing out leaves nothing on screen
    sign_out(page, dashboard)
    text = page_text(page)
    assert own_study not in text and other_study not in text


def test_a_user_of_two_projects_picks_one_in_the_sidebar(dashboard, context):
    page = context.new_page()
    sign_in(page, dashboard, "dave@example.com")
    picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
        has=page.get_by_text("Project", exact=True))
    picker.click()
    page.get_by_role("option").first.wait_for()
    assert page.get_by_role("option").all_inner_texts() == ["A", "B"]
    page.get_by_role("option", name="B").click()
    wait_rendered(page, "Studies")
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Study detail").click()
    wait_rendered(page, "Study detail")
    assert [o.split(" [")[0] for o in picker_options(page, "Study")] == ["beta_ga"]
    assert "project=B" in page.url  # a reload keeps the pick
    page.reload(wait_until="domcontentloaded")
    wait_rendered(page, "Study detail")
    assert [o.split(" [")[0] for o in picker_options(page, "Study")] == ["beta_ga"]


def test_a_user_without_a_project_and_an_ended_session_see_no_data(dashboard, context):
    page = context.new_page()
    page.goto(f"{dashboard.url}/study?study=alpha_ga", wait_until="domcontentloaded")
    wait_rendered(page, None)
    assert "alpha_ga" not in page_text(page) and "beta_ga" not in page_text(page)
    sign_in(page, dashboard, "carol@example.com")
    wait_rendered(page, "No projects yet")
    text = page_text(page)
    assert "carol@example.com has no project" in text and "hive-cli projects grant --project PROJECT" in text
    assert "alpha_ga" not in text and "beta_ga" not in text
    screenshot(page, "sign_in_no_projects")
    # alice signs in, then her session cookie is gone (expired, or cleared): the sign-in page, no data
    sign_out(page, dashboard)
    sign_in(page, dashboard, "alice@example.com")
    assert "Project: A" in page_text(page)
    context.clear_cookies()
    page.reload(wait_until="domcontentloaded")
    wait_rendered(page, "Sign in")
    text = page_text(page)
    assert "session has ended" in text and "alice@example.com" not in text and "Project: A" not in text
    assert page.locator('[data-testid="stMetric"], [data-testid="stDataFrame"]').count() == 0
