"""``hive-cli runs`` on the demo data (add_prompt_demo): list, show, leaderboard, export; CSV cells
that a spreadsheet would run as formulas are neutralized, numbers never altered."""
from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from click.testing import CliRunner

from hive_cli.main import cli
from integrations.prompt_demo import PROJECTS, RUNS, add_prompt_demo
from storage.prompts.store import PromptOptimizationStore


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "hive.db"
    assert sorted(add_prompt_demo(path)) == sorted(r[0] for r in RUNS)
    assert add_prompt_demo(path) == []  # a second call adds nothing
    return str(path)


def hive(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def test_demo_has_two_projects_minibatch_and_full_evaluations_and_failures(demo_db):
    for project in PROJECTS:
        with PromptOptimizationStore(demo_db, project_id=project) as store:
            runs = store.list_runs()
            assert len(runs) == sum(r[1] == project for r in RUNS)
            assert len({r["optimizer_type"] for r in runs}) >= 2
            mipro = next(r for r in runs if r["optimizer_type"] == "miprov2" and r["status"] == "completed")
            kinds = {it["evaluation_kind"] for it in store.get_iterations(mipro["id"])}
            assert kinds == {"minibatch", "full"}
            assert store.best_iteration(mipro["id"])["evaluation_kind"] == "full"
            assert mipro["samples_failed"] > 0 and store.get_samples(mipro["id"], success=False)


def test_list_leaderboard_show(demo_db):
    table = hive("--db", demo_db, "runs", "list", "--project", "support-bot")
    assert table.exit_code == 0 and "intent v3 / MIPROv2 medium" in table.output
    assert table.output.splitlines()[1].startswith("---")
    listed = json.loads(hive("--db", demo_db, "runs", "list", "--project", "support-bot", "--status", "completed",
                             "--format", "json").output)
    assert {r["status"] for r in listed} == {"completed"} and len(listed) == 4
    board = json.loads(hive("--db", demo_db, "runs", "leaderboard", "--project", "support-bot", "--limit", "2",
                            "--format", "json").output)
    assert [r["rank"] for r in board] == [1, 2] and board[0]["final_score"] >= board[1]["final_score"]
    shown = hive("--db", demo_db, "runs", "show", board[0]["id"], "--project", "support-bot")
    assert "iterations (" in shown.output and "*" in shown.output
    missing = CliRunner().invoke(cli, ["--db", demo_db, "runs", "show", "nope", "--project", "support-bot"])
    assert missing.exit_code == 1 and "no such run" in missing.output


def test_project_and_db_before_or_after_the_subcommand(demo_db):
    """--project and --db anywhere on the line; the later one given wins, and either wins over $HIVE_PROJECT."""
    expected = json.loads(hive("--db", demo_db, "runs", "list", "--project", "support-bot", "--format", "json").output)
    assert expected and all(r["project_id"] == "support-bot" for r in expected)
    for argv in (["--project", "support-bot", "--db", demo_db, "runs", "list", "--format", "json"],
                 ["runs", "--project", "support-bot", "list", "--db", demo_db, "--format", "json"],
                 ["--project", "research-qa", "runs", "list", "--format", "json", "--project", "support-bot",
                  "--db", demo_db]):
        result = CliRunner().invoke(cli, argv, env={"HIVE_PROJECT": "research-qa"})
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == expected, argv
    from_env = CliRunner().invoke(cli, ["runs", "list", "--db", demo_db, "--format", "json"],
                                  env={"HIVE_PROJECT": "research-qa"})
    assert {r["project_id"] for r in json.loads(from_env.stdout)} == {"research-qa"}


def test_list_of_an_empty_project_names_the_projects_with_runs(demo_db, tmp_path):
    with sqlite3.connect(demo_db) as conn:  # counted here with plain SQL
        counts = conn.execute("SELECT project_id, COUNT(*) FROM optimization_runs GROUP BY project_id "
                              "ORDER BY project_id").fetchall()
    assert len(counts) == 2
    listed = ", ".join(f"{project} ({count} runs)" for project, count in counts)
    result = CliRunner().invoke(cli, ["--db", demo_db, "runs", "list"], env={"HIVE_PROJECT": None})
    assert result.exit_code == 0 and result.stdout == "(no rows)\n"
    assert result.stderr == f"no runs in project 'default'; projects with runs: {listed}; choose one with --project ID\n"
    as_json = CliRunner().invoke(cli, ["--db", demo_db, "runs", "list", "--project", "nobody", "--format", "json"])
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == []  # stdout stays machine-readable
    assert as_json.stderr.startswith("no runs in project 'nobody'; projects with runs: ")
    filtered = CliRunner().invoke(cli, ["--db", demo_db, "runs", "list", "--project", "support-bot", "--status",
                                        "cancelled"])
    support = dict(counts)["support-bot"]
    assert filtered.stderr == f"project 'support-bot' has {support} runs; none matches the filters\n"
    empty = str(tmp_path / "empty.db")
    nothing = CliRunner().invoke(cli, ["--db", empty, "runs", "list"], env={"HIVE_PROJECT": None})
    assert nothing.exit_code == 0 and nothing.stderr.startswith("no prompt-optimization runs in this database")


def test_export_csv_is_spreadsheet_safe_and_keeps_numbers(tmp_path):
    db = str(tmp_path / "x.db")
    with PromptOptimizationStore(db, project_id="p") as store:
        run = store.create_run({"id": "r", "name": "=HYPERLINK(\"http://evil\")", "optimizer_type": "custom"})
        store.add_samples("r", [
            {"iteration": 0, "sample_index": 0, "output": "=1+2", "error": "@SUM(A1)", "score": 0.25, "latency_ms": -0.0},
            {"iteration": 0, "sample_index": 1, "output": "+cmd", "error": "\tTAB", "score": 1.0, "latency_ms": 12.5},
            {"iteration": 0, "sample_index": 2, "output": "-2", "error": "plain", "score": 0.0},
        ])
    out = tmp_path / "s.csv"
    result = hive("--db", db, "runs", "export", "r", "--project", "p", "--output", str(out))
    assert result.exit_code == 0 and "wrote 3 sample rows" in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["output"] for r in rows] == ["'=1+2", "'+cmd", "-2"]  # text that is a plain number stays
    assert rows[0]["error"] == "'@SUM(A1)" and rows[1]["error"] == "'\tTAB" and rows[2]["error"] == "plain"
    assert [r["score"] for r in rows] == ["0.25", "1.0", "0.0"] and rows[1]["latency_ms"] == "12.5"
    run_csv = tmp_path / "run.csv"
    hive("--db", db, "runs", "export", "r", "--project", "p", "--output", str(run_csv), "--what", "run")
    assert next(csv.DictReader(io.StringIO(run_csv.read_text())))["name"].startswith("'=HYPERLINK")
    as_json = tmp_path / "s.json"
    hive("--db", db, "runs", "export", "r", "--project", "p", "--output", str(as_json), "--format", "json")
    assert json.loads(as_json.read_text())[0]["output"] == "=1+2"  # JSON keeps values as they are
