"""Start-up stays cheap: ``import storage``, the write API and ``hive-cli`` (its help and its option
parsing) do not import the heavy libraries; each command imports them when it runs.

The modules a fresh interpreter imports are read from ``python -X importtime`` (a set-membership
test, not a timing test; ``bench/bench_cli.py`` measures the times).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Never at start-up: numeric, plotting, browser, analytics and optimizer libraries.
HEAVY = {"scipy", "SALib", "pymoo", "plotly", "kaleido", "choreographer", "pyarrow", "duckdb", "pandas", "numpy",
         "moocore", "optuna", "streamlit", "highspy", "dspy"}
# What the write API needs, and nothing `import storage` alone should pay for.
WRITE_STACK = {"sqlalchemy", "alembic", "pydantic"}


def imported(*python_args: str) -> set[str]:
    """Top-level names of every module a fresh ``python -X importtime ARGS`` imports."""
    result = subprocess.run([sys.executable, "-X", "importtime", *python_args], capture_output=True, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "encodings" in names, result.stderr[-2000:]  # the trace was read
    return names


def test_import_storage_imports_only_the_errors():
    modules = imported("-c", "import storage")
    assert not modules & (HEAVY | WRITE_STACK), modules & (HEAVY | WRITE_STACK)


@pytest.mark.parametrize("statement", [
    "from storage import DatabaseMetadataService",
    "from storage.prompts.store import PromptOptimizationStore",
    "from storage import HiveError, PromptOptimizationStore, ValidationError",
])
def test_the_write_api_needs_no_heavy_library(statement):
    modules = imported("-c", statement)
    assert not modules & HEAVY, modules & HEAVY
    assert "sqlalchemy" in modules  # the statement really imported the store


def test_documented_imports_still_work():
    import storage
    from storage import DatabaseMetadataService, HiveError, PromptOptimizationStore
    from storage.prompt_optimization import PromptOptimizationStore as Documented  # earlier READMEs' path
    from storage.prompts.store import PromptOptimizationStore as Direct

    assert PromptOptimizationStore is Direct is Documented and issubclass(storage.UnknownStudyError, HiveError)
    assert DatabaseMetadataService.__module__ == "storage.studies.service"
    assert set(storage.__all__) <= set(dir(storage)) | {"DatabaseMetadataService", "PromptOptimizationStore"}
    with pytest.raises(AttributeError):
        storage.NoSuchThing  # noqa: B018


def test_every_import_the_readme_shows_works():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    statements = sorted(set(re.findall(r"^\s*(from (?:storage|integrations|analysis)[\w.]* import [\w, ]+)$", readme, re.M)))
    assert len(statements) >= 4, statements
    for statement in statements:
        exec(statement, {})  # noqa: S102: README text, not user input


def test_the_server_calls_only_the_storage_api():
    """The server is its own package: no SQL, no ORM, none of the domains' internals."""
    source = (Path(__file__).resolve().parents[1] / "server" / "app.py").read_text()
    imported = set(re.findall(r"^\s*(?:from|import) ([\w.]+)", source, re.M))
    assert not {m for m in imported if m.split(".")[0] in ("sqlalchemy", "duckdb", "psycopg", "sqlite3")}
    assert {m for m in imported if m.startswith("storage")} <= {
        "storage", "storage.api_routes", "storage.engine", "storage.errors", "storage.keys"}


def test_hive_cli_help_imports_no_heavy_library():
    modules = imported("-m", "hive_cli", "--help")
    assert not modules & (HEAVY | WRITE_STACK), modules & (HEAVY | WRITE_STACK)


# Every command's --help, and option errors (refused before any work), in one fresh process: which
# heavy modules each call added.
_EVERY_HELP = r"""
import json, sys
import click
from click.testing import CliRunner
from hive_cli.main import cli

heavy = set(json.loads(sys.argv[1]))
def commands(group, path):
    for name, command in group.commands.items():
        yield path + [name]
        if isinstance(command, click.Group):
            yield from commands(command, path + [name])
calls = [[*path, "--help"] for path in commands(cli, [])] + json.loads(sys.argv[2])
added = {}
for argv in calls:
    before = {m.split(".")[0] for m in sys.modules}
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    new = sorted(({m.split(".")[0] for m in sys.modules} - before) & heavy)
    added[" ".join(argv)] = {"code": result.exit_code, "heavy": new}
print(json.dumps(added))
"""

REFUSED = [
    ["query", "best-designs", "--study-id", "x", "--limit", "0"],
    ["query", "compare", "--study-ids", "a,b", "--output", "chart.jpg"],
    ["query", "pareto-front", "--study-id", "x", "--x", "cost"],
    ["query", "runs", "--study-id", "x", "--sort", "bogus"],
    ["export", "--study-id", "x", "--output", "runs.txt"],
    ["runs", "list", "--status", "bogus"],
]


def test_every_command_starts_without_heavy_libraries():
    result = subprocess.run([sys.executable, "-c", _EVERY_HELP, json.dumps(sorted(HEAVY)), json.dumps(REFUSED)],
                            capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    calls = json.loads(result.stdout)
    assert len(calls) >= 25  # every group and command
    assert {argv: call["heavy"] for argv, call in calls.items() if call["heavy"]} == {}
    assert all(call["code"] == 0 for argv, call in calls.items() if argv.endswith("--help"))
    assert all(calls[" ".join(argv)]["code"] == 2 for argv in REFUSED)


def test_option_values_written_out_in_the_cli_match_storage():
    """The CLI spells these tuples out so its help needs no pandas or SQLAlchemy; they must not drift."""
    from hive_cli import query, runs
    from storage.studies import exports, queries
    from storage import schema

    assert query.RUN_SORT_COLUMNS == queries.RUN_SORT_COLUMNS
    assert query.EXPORT_TABLES == exports.EXPORT_TABLES
    assert tuple(query.EXPORT_SUFFIXES.values()) == exports.EXPORT_FORMATS
    assert runs.RUN_STATUSES == schema.RUN_STATUSES
    assert runs.OPTIMIZER_TYPES == schema.OPTIMIZER_TYPES
