"""The README's "Shared deployment" section, run as a user copies it: its shell blocks line by line
through bash, its Python block as it is, on a new PostgreSQL database. Only the placeholders a user
would fill are put in: the owner's and the application role's URLs, the role's name, the server's
address and port, the printed key and its id. Each step is checked with plain SQL as the owner (in the
project), or with the JSON the server answered."""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from conftest import as_role, create_pg_database, drop_pg_database, plain_engine

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
OWNER_URL = "postgresql://hive_owner:...@db.example/hive"
APP_URL = "postgresql://hive_app:...@db.example/hive"
SERVER = "http://hive.example:8000"


def section() -> str:
    """The section up to its sign-in part (tests/browser/test_sign_in_browser.py runs that one)."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Shared deployment")
    return readme[start:readme.index("\n### Dashboard sign-in", start)]


def blocks(text: str) -> list[tuple[str, str]]:
    """("shell", text) for each indented block, ("python", text) for each fenced one, in order."""
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("```python"):
            end = lines.index("```", i + 1)
            found.append(("python", "\n".join(lines[i + 1:end])))
            i = end + 1
        elif lines[i].startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            block = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                block.append(lines[i][4:])
                i += 1
            found.append(("shell", "\n".join(block).strip()))
        else:
            i += 1
    return found


def commands(shell: str) -> list[str]:
    """One command per line (a trailing backslash continues it); comment lines left out."""
    joined = re.sub(r"\\\n\s*", " ", shell)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture
def database(pg_app_role):
    owner_url = create_pg_database()  # empty: the README's first command makes the schema
    yield owner_url, as_role(owner_url, *pg_app_role), pg_app_role[0]
    drop_pg_database(owner_url)


def test_the_shared_deployment_section_works_as_written(database, tmp_path):
    owner_url, app_url, role = database
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    filled: dict[str, str] = {OWNER_URL: owner_url, APP_URL: app_url, "--role hive_app": f"--role {role}",
                              SERVER: base, "--port 8000": f"--port {port}",
                              "hive-cli ": f"{shlex.quote(sys.executable)} -m hive_cli "}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HIVE_DB_URL", None)
    env.pop("HIVE_API_KEY", None)
    server = None
    owner = plain_engine(owner_url, "team-a")
    sections = blocks(section())
    assert [kind for kind, _ in sections] == ["shell", "shell", "python", "shell"], sections

    def fill(text: str) -> str:
        for placeholder, value in filled.items():
            text = text.replace(placeholder, value)
        return text

    def run(command: str) -> subprocess.CompletedProcess:
        done = subprocess.run(["bash", "-c", fill(command)], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        return done

    try:
        # 1. as the owner: schema, grant, a key, the list; then the server as the application role
        outputs = {}
        for command in commands(sections[0][1]):
            if " serve " in command:
                server = subprocess.Popen(["bash", "-c", fill(command)], cwd=tmp_path, env=env, start_new_session=True,
                                          stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("w"))
            else:
                outputs[command.split()[1] + " " + command.split()[2]] = run(command)
        key = outputs["keys create"].stdout.strip()
        assert re.fullmatch(r"hive_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key), key
        key_id = key.split("_")[1]
        filled.update({"hive_...": key, "3f2a9c81d0e4": key_id})
        env["HIVE_API_KEY"] = key
        config = Config()
        config.set_main_option("script_location", str(ROOT / "storage" / "migrations"))
        head = ScriptDirectory.from_config(config).get_current_head()
        with owner.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
            assert conn.execute(sa.text("SELECT has_table_privilege(:r, 'study_runs', 'INSERT')"), {"r": role}).scalar()
            assert conn.execute(sa.text("SELECT project_id, name FROM api_keys")).all() == [("team-a", "cluster jobs")]
        listed = outputs["keys list"].stdout
        assert key_id in listed and "cluster jobs" in listed and key.split("_", 2)[2] not in listed
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.2)

        # 2. curl: the list, a batch with an idempotency key, a download
        curls = commands(sections[1][1])
        assert curls[0].startswith("export HIVE_API_KEY=")
        answers = [run(command).stdout for command in curls[1:]]
        assert json.loads(answers[0]) == []
        assert json.loads(answers[1]) == ["ga:0"]
        exported = pd.read_csv(tmp_path / "ga-runs.csv")
        assert exported[["param:x0", "param:x1", "objective_1", "objective_2"]].values.tolist() == [[1, 2, 3, 4]]

        # 3. the Python block, in a fresh interpreter as a user's script
        script = tmp_path / "client.py"
        script.write_text(fill(sections[2][1]))
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        with owner.connect() as conn:
            stored = conn.execute(sa.text("SELECT parameter_vector, objectives FROM study_runs "
                                          "WHERE study_id = 'ga-7' ORDER BY evaluation_number")).all()
            assert conn.execute(sa.text("SELECT project_id FROM studies WHERE study_id = 'ga-7'")).scalar() == "team-a"
        assert [(json.loads(v), json.loads(o)) for v, o in stored] == [
            ([1, 2], [5.0, 1.0]), ([2, 1], [3.0, 2.0]), ([3, 3], [6.0, 6.0])]
        front = pd.read_csv(tmp_path / "ga-7-front.csv")
        # (5, 1) and (3, 2) are non-dominated, (6, 6) is dominated by both
        assert sorted(front[["cost", "co2"]].values.tolist()) == [[3.0, 2.0], [5.0, 1.0]]

        # 4. revoked: the next request is refused
        assert httpx.get(f"{base}/api/v1/studies", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        for command in commands(sections[3][1]):
            run(command)
        assert httpx.get(f"{base}/api/v1/studies", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)  # bash and the server it started
            server.wait(timeout=30)
        owner.dispose()
