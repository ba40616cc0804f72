"""``hive-cli dashboard``: the README's launch command loads what the pages import before the server
answers, serves the dashboard from any working directory, and keeps a relative SQLite path naming
the user's file.

Which modules the pages import is read here with a regular expression over their lines (the command
reads syntax trees); that the server process really holds the libraries before any browser visit is
read from the process's memory map (``/proc/PID/maps``), not from the command's own report.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hive_cli.dashboard import APP_DIR, database_argument, page_modules, preload

REPO = Path(__file__).resolve().parents[2]
IMPORT = re.compile(r"^(?:from\s+([\w.]+)\s+import\s+(\([^)]*\)|[^\n]+)|import\s+([^\n]+))", re.MULTILINE)


def test_the_pages_imports_are_the_ones_preloaded():
    expected = set()
    for path in [REPO / "app.py", *(REPO / "pages").glob("*.py")]:
        for module, imported, plain in IMPORT.findall(path.read_text()):
            if module:
                names = [n.split(" as ")[0].strip() for n in imported.strip("()").split("#")[0].split(",")]
                expected |= {module, *(f"{module}.{n}" for n in names if n)}
            else:
                expected |= {n.split(" as ")[0].strip() for n in plain.split(",")}
    assert APP_DIR == REPO
    assert set(page_modules()) == expected
    assert {"pandas", "plotly.graph_objects", "storage.studies.queries", "charts.pareto"} <= expected


def test_preload_imports_submodules_and_skips_names_that_are_not_modules():
    assert preload(["json", "json.decoder", "json.JSONDecodeError", "email.mime.text", "no_such_module_hive"]) == [
        "no_such_module_hive"]
    assert {"json.decoder", "email.mime.text"} <= set(sys.modules)


def test_a_relative_sqlite_path_keeps_naming_the_users_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert database_argument("results.db") == str(tmp_path / "results.db")
    assert database_argument("postgresql://hive@db/hive") == "postgresql://hive@db/hive"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening_addresses(port: int) -> set[str]:
    """IPv4 addresses with a socket listening on ``port``, from the kernel's table (/proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, local_port = local.split(":")
        if state == "0A" and int(local_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def _mapped_files(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/PID/maps (Linux)")
def test_the_server_holds_the_libraries_before_any_visit_and_serves_the_app(tmp_path):
    from storage import DatabaseMetadataService

    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    elsewhere = tmp_path / "elsewhere"  # not the repository: .streamlit/config.toml must still apply
    elsewhere.mkdir()
    with DatabaseMetadataService(str(elsewhere / "results.db")) as service:
        service.create_study({"study_id": "s1", "study_name": "s1", "study_type": "genetic_algorithm"})
    env = {**os.environ, "HIVE_HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    env.pop("HIVE_DB_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "hive_cli", "dashboard", "results.db", "--port", str(port)],
                               cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.2)
        maps = _mapped_files(process.pid)
        # Compiled parts of pandas, DuckDB and pyarrow are in memory although no browser has asked for a page.
        for library in ("pandas/_libs", "_duckdb", "pyarrow/lib"):
            assert library in maps, library
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
            assert answer.status == 200 and b"<div id=\"root\">" in answer.read()
        # .streamlit/config.toml applied although started elsewhere: it binds this machine only
        # (Streamlit's default is every address).
        assert _listening_addresses(port) == {"127.0.0.1"}
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    assert process.returncode == 0, (tmp_path / "server.log").read_text()
    assert "Traceback" not in (tmp_path / "server.log").read_text()
