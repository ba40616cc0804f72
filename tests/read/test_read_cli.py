"""``hive-cli query ...`` and ``hive-cli export`` on SQLite and PostgreSQL: every query command in table,
csv and json, charts as PNG and HTML, exports as csv/parquet/json, spreadsheet-safe CSV, error paths.

The commands of one backend run in ONE fresh process (``cli_batch.py``: click's runner keeps stdout,
stderr and any traceback apart) because each start-up costs a second of imports; the entry point
itself (``python -m hive_cli``, the ``hive-cli`` script) runs as real processes, in parallel, for the
error paths that matter most. Expected values come from the dataset's raw values (``readset``).
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import readset
from cli_batch import REPO, BatchRun, finish, hive_cli, start

pytest_plugins = ["readplugin"]
ds, svc, reader = readset.local_fixtures()

LEGACY_DB = REPO / "tests" / "storage" / "fixtures" / "legacy_v1.db"
COMPARED = ["ga_min", "ga_max", "mo_mixed", "mo_live", "milp_1"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class Batch:
    work: Path
    results: dict[str, dict]
    real: dict[str, subprocess.CompletedProcess]

    def __getitem__(self, label: str) -> dict:
        return self.results[label]

    def ok(self, label: str) -> str:
        result = self.results[label]
        assert result["traceback"] is None, result["traceback"]
        assert result["code"] == 0, (label, result["stderr"])
        return result["stdout"]

    def json(self, label: str):
        return json.loads(self.ok(label))

    def csv(self, label: str) -> list[dict]:
        return list(csv.DictReader(io.StringIO(self.ok(label), newline="")))


def jobs_for(ds: readset.Dataset, work: Path) -> dict[str, list[str]]:
    q = ["query"]
    jobs = {
        # list-studies
        "ls_table": q + ["list-studies"],
        "ls_csv": q + ["list-studies", "--format", "csv"],
        "ls_json": q + ["list-studies", "--format", "json"],
        "ls_ga": q + ["list-studies", "--type", "ga", "--format", "json"],
        "ls_mc": q + ["list-studies", "--type", "mc", "--format", "csv"],
        "ls_milp": q + ["list-studies", "--type", "milp"],
        "ls_sim": q + ["list-studies", "--type", "sim", "--format", "json"],
        "ls_completed": q + ["list-studies", "--status", "completed", "--format", "json"],
        "ls_pct": q + ["list-studies", "--text", "100%", "--format", "json"],
        "ls_under": q + ["list-studies", "--text", "a_b", "--format", "csv"],
        "ls_dates": q + ["list-studies", "--from", "2024-02-15", "--to", "2024-03-01", "--format", "json"],
        "ls_combined": q + ["list-studies", "--type", "ga", "--status", "completed", "--from", "2024-02-01",
                            "--format", "json"],
        "ls_limit": q + ["list-studies", "--limit", "2", "--format", "json"],
        "ls_formula": q + ["list-studies", "--text", "hyperlink", "--format", "csv"],
        "ls_none": q + ["list-studies", "--text", "no such thing"],
        # best-designs
        "bd_table": q + ["best-designs", "--study-id", "ga_min"],
        "bd_csv": q + ["best-designs", "--study-id", "ga_min", "--format", "csv"],
        "bd_json": q + ["best-designs", "--study-id", "ga_min", "--format", "json"],
        "bd_max": q + ["best-designs", "--study-id", "ga_max", "--limit", "3", "--format", "json"],
        "bd_table_mixed": q + ["best-designs", "--study-id", "mo_mixed", "--limit", "50"],
        # compare
        "cmp_table": q + ["compare", "--study-ids", ",".join(COMPARED)],
        "cmp_csv": q + ["compare", "--study-ids", ",".join(COMPARED), "--format", "csv"],
        "cmp_json": q + ["compare", "--study-ids", ", ".join(COMPARED), "--format", "json"],
        "cmp_html": q + ["compare", "--study-ids", "ga_min,mo_mixed,mc_study", "--output", str(work / "compare.html")],
        # pareto-front
        "pf_table": q + ["pareto-front", "--study-id", "mo_mixed"],
        "pf_csv": q + ["pareto-front", "--study-id", "mo_mixed", "--format", "csv"],
        "pf_json": q + ["pareto-front", "--study-id", "mo_mixed", "--format", "json"],
        "pf_live": q + ["pareto-front", "--study-id", "mo_live", "--format", "json"],
        "pf_html": q + ["pareto-front", "--study-id", "mo_mixed", "--output", str(work / "pareto.html")],
        "pf_html_xy": q + ["pareto-front", "--study-id", "mo_live", "--x", "co2", "--y", "cost", "--output",
                           str(work / "pareto_live.HTML")],
        "pf_formula_csv": q + ["pareto-front", "--study-id", "fx_formula", "--format", "csv"],
        # convergence
        "cv_table": q + ["convergence", "--study-id", "ga_min"],
        "cv_csv": q + ["convergence", "--study-id", "ga_min", "--format", "csv"],
        "cv_json": q + ["convergence", "--study-id", "ga_min", "--format", "json"],
        "cv_multi": q + ["convergence", "--study-id", "ga_min,mo_live", "--format", "json"],
        "cv_html": q + ["convergence", "--study-id", "ga_min,mo_mixed", "--output", str(work / "convergence.html")],
        # uncertainty / sensitivity
        "un_table": q + ["uncertainty", "--study-id", "mc_study"],
        "un_csv": q + ["uncertainty", "--study-id", "mc_study", "--format", "csv"],
        "un_json": q + ["uncertainty", "--study-id", "mc_study", "--format", "json"],
        "un_formula_csv": q + ["uncertainty", "--study-id", "fx_formula", "--format", "csv"],
        "se_table": q + ["sensitivity", "--study-id", "mc_study"],
        "se_csv": q + ["sensitivity", "--study-id", "mc_study", "--format", "csv"],
        "se_json": q + ["sensitivity", "--study-id", "mc_study", "--format", "json"],
        "se_limit": q + ["sensitivity", "--study-id", "mc_study", "--limit", "3", "--format", "json"],
        "se_html": q + ["sensitivity", "--study-id", "mc_study", "--measure", "Pearson", "--output",
                        str(work / "sensitivity.html")],
        "se_formula_csv": q + ["sensitivity", "--study-id", "fx_formula", "--format", "csv"],
        # runs
        "ru_table": q + ["runs", "--study-id", "ga_min", "--limit", "100"],
        "ru_csv": q + ["runs", "--study-id", "ga_min", "--limit", "100", "--format", "csv"],
        "ru_json": q + ["runs", "--study-id", "ga_min", "--limit", "100", "--format", "json"],
        "ru_page": q + ["runs", "--study-id", "ga_min", "--sort", "fitness", "--desc", "--limit", "5", "--offset", "5",
                        "--format", "json"],
        "ru_gen": q + ["runs", "--study-id", "ga_min", "--generation", "2", "--format", "json"],
        "ru_default": q + ["runs", "--study-id", "ga_min", "--format", "json"],
        "ru_mixed": q + ["runs", "--study-id", "mo_mixed", "--limit", "100", "--format", "json"],
        "ru_mixed_table": q + ["runs", "--study-id", "mo_mixed", "--limit", "100"],
        "ru_formula_csv": q + ["runs", "--study-id", "fx_formula", "--format", "csv"],
        "ru_cr_csv": q + ["runs", "--study-id", "fx_cr", "--format", "csv"],
        # PNG (kaleido + Chromium): every chart command, one PNG each
        "pf_png": q + ["pareto-front", "--study-id", "mo_mixed", "--output", str(work / "pareto.png")],
        "cv_png": q + ["convergence", "--study-id", "ga_min", "--log-y", "--output", str(work / "convergence.png")],
        "cmp_png": q + ["compare", "--study-ids", "ga_min,ga_max", "--output", str(work / "compare.png")],
        "se_png": q + ["sensitivity", "--study-id", "mc_study", "--output", str(work / "sensitivity.png")],
    }
    for name, table, fmt, study in [
        ("ex_runs_csv", "runs", "csv", "ga_min"), ("ex_runs_parquet", "runs", "parquet", "ga_min"),
        ("ex_runs_json", "runs", "json", "ga_min"), ("ex_mixed_csv", "runs", "csv", "mo_mixed"),
        ("ex_conv_csv", "convergence", "csv", "ga_max"), ("ex_conv_json", "convergence", "json", "mo_live"),
        ("ex_pareto_json", "pareto", "json", "mo_mixed"), ("ex_pareto_parquet", "pareto", "parquet", "mo_live"),
        ("ex_pareto_csv", "pareto", "csv", "mo_mixed"), ("ex_unc_parquet", "uncertainty", "parquet", "mc_study"),
        ("ex_unc_csv", "uncertainty", "csv", "mc_study"), ("ex_sens_csv", "sensitivity", "csv", "mc_study"),
        ("ex_sens_json", "sensitivity", "json", "mc_study"), ("ex_formula_csv", "runs", "csv", "fx_formula"),
        ("ex_formula_sens_csv", "sensitivity", "csv", "fx_formula"), ("ex_empty_csv", "runs", "csv", "milp_1"),
        ("ex_empty_parquet", "runs", "parquet", "milp_1"), ("ex_empty_json", "runs", "json", "milp_1"),
    ]:
        jobs[name] = ["export", "--study-id", study, "--table", table, "--format", fmt, "--output",
                      str(work / f"{name}.{fmt}")]
    jobs["ex_default"] = ["export", "--study-id", "ga_max", "--output", str(work / "default_export.csv")]
    # error paths: one clear line, exit 1 (HiveError) or 2 (usage)
    for command in ("best-designs", "pareto-front", "convergence", "uncertainty", "sensitivity", "runs"):
        jobs[f"err_unknown_{command}"] = q + [command, "--study-id", "ghost_study"]
    jobs["err_unknown_compare"] = q + ["compare", "--study-ids", "ga_min,ghost_study"]
    jobs["err_unknown_export"] = ["export", "--study-id", "ghost_study", "--output", str(work / "ghost.csv")]
    jobs["err_unknown_export_json"] = ["export", "--study-id", "ghost_study", "--format", "json", "--output",
                                       str(work / "ghost.json")]
    jobs["err_single_objective"] = q + ["pareto-front", "--study-id", "ga_min"]
    jobs["err_suffix"] = q + ["convergence", "--study-id", "ga_min", "--output", str(work / "chart.txt")]
    jobs["usage_axis"] = q + ["pareto-front", "--study-id", "mo_mixed", "--x", "bogus", "--output",
                              str(work / "bad_axis.html")]
    jobs["usage_type"] = q + ["list-studies", "--type", "genetic"]
    jobs["usage_from"] = q + ["list-studies", "--from", "15/02/2024"]
    jobs["usage_status"] = q + ["list-studies", "--status", "done"]
    jobs["usage_limit0"] = q + ["best-designs", "--study-id", "ga_min", "--limit", "0"]
    jobs["usage_runs_limit0"] = q + ["runs", "--study-id", "ga_min", "--limit", "0"]
    jobs["usage_offset"] = q + ["runs", "--study-id", "ga_min", "--offset", "-1"]
    jobs["usage_ids"] = q + ["compare", "--study-ids", " , "]
    jobs["usage_format"] = q + ["runs", "--study-id", "ga_min", "--format", "xml"]
    jobs["usage_sort"] = q + ["runs", "--study-id", "ga_min", "--sort", "run_id"]
    jobs["usage_missing"] = q + ["best-designs"]
    jobs["usage_table"] = ["export", "--study-id", "ga_min", "--table", "studies", "--output", str(work / "x.csv")]
    jobs["err_export_dir"] = ["export", "--study-id", "ga_min", "--output", str(work / "no_dir" / "runs.csv")]
    jobs["err_chart_dir"] = q + ["convergence", "--study-id", "ga_min", "--output", str(work / "no_dir" / "c.html")]
    # every option checked before any work: nothing printed, no file
    jobs["val_jpg"] = q + ["compare", "--study-ids", "ga_min,ga_max", "--output", str(work / "chart.jpg")]
    jobs["val_x_alone"] = q + ["pareto-front", "--study-id", "mo_mixed", "--x", "bogus"]
    jobs["val_x_png"] = q + ["pareto-front", "--study-id", "mo_mixed", "--x", "bogus", "--output",
                             str(work / "bad_axis.png")]
    jobs["val_same_axes"] = q + ["pareto-front", "--study-id", "mo_mixed", "--x", "total_cost", "--y", "total_cost",
                                 "--output", str(work / "same_axes.html")]
    jobs["val_log_y"] = q + ["convergence", "--study-id", "ga_min", "--log-y"]
    jobs["val_measure"] = q + ["sensitivity", "--study-id", "mc_study", "--measure", "Pearson"]
    jobs["val_export_txt"] = ["export", "--study-id", "ga_min", "--output", str(work / "runs.txt")]
    jobs["val_export_mismatch"] = ["export", "--study-id", "ga_min", "--format", "parquet", "--output",
                                   str(work / "mismatch.csv")]
    jobs = {label: ["--db", ds.url, *argv] for label, argv in jobs.items()}
    # --db after the subcommand, between group and command, and twice (the later one wins)
    bd = ["best-designs", "--study-id", "ga_max", "--limit", "3", "--format", "json"]
    jobs["db_after"] = q + [*bd, "--db", ds.url]
    jobs["db_between"] = q + ["--db", ds.url, *bd]
    jobs["db_twice"] = ["--db", str(work / "nowhere.db"), *q, *bd, "--db", ds.url]
    jobs["db_export_after"] = ["export", "--study-id", "ga_max", "--output", str(work / "after.csv"), "--db", ds.url]
    return jobs


@pytest.fixture(scope="session")
def cli(ds, tmp_path_factory, standalone_started) -> Batch:
    """This backend's batch, with the real entry point's runs started alongside (2 cores: overlap)."""
    work = tmp_path_factory.mktemp(f"cli_{ds.backend}")
    real = {
        # the database from $HIVE_DB_URL, no --db
        "env": hive_cli("query", "best-designs", "--study-id", "ga_max", "--format", "json",
                        env={"HIVE_DB_URL": ds.url}),
        "ghost": hive_cli("--db", ds.url, "query", "compare", "--study-ids", "ga_min,ghost", "--format", "json"),
        # --db after the subcommand wins over $HIVE_DB_URL
        "env_db_after": hive_cli("query", "best-designs", "--study-id", "ga_max", "--limit", "3", "--format", "json",
                                 "--db", ds.url,
                                 env={"HIVE_DB_URL": str(work / "nowhere" / "hive.db")}),
    }
    if ds.backend == "sqlite" and Path("/usr/bin/chromium").exists():  # the product starting its own browser
        real["png"] = hive_cli("--db", ds.url, "query", "pareto-front", "--study-id", "mo_live", "--output",
                               str(work / "real_live.png"))
        # several PNGs of one command: one browser session for all of them
        real["png_compare"] = hive_cli("--db", ds.url, "query", "compare", "--study-ids", "ga_min,mo_mixed",
                                       "--output", str(work / "real_cmp.png"))
    jobs = jobs_for(ds, work)
    results = BatchRun(list(jobs.values()), work).results()
    return Batch(work, dict(zip(jobs, results)), {label: finish(proc) for label, proc in real.items()})


def num(text):
    """A CSV cell as a number (empty = None)."""
    return None if text in ("", None) else float(text)


def same(a, b, rel=1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a == pytest.approx(b, rel=rel, abs=1e-12)


def json_number(value):
    """JSON output spells non-finite numbers as strings."""
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(value, value)


def newest_first(studies) -> list[str]:
    by_id = sorted(studies, key=lambda s: s.study_id)
    return [s.study_id for s in sorted(by_id, key=lambda s: s.created_at, reverse=True)]


def in_order(text: str, needles: list[str]) -> bool:
    position = -1
    for needle in needles:
        position = text.find(needle, position + 1)
        if position < 0:
            return False
    return True


# ------------------------------------------------------------------------------------ list-studies


def test_list_studies_formats(ds, cli):
    everything = newest_first(ds.studies.values())
    rows = cli.json("ls_json")
    assert [r["study_id"] for r in rows] == everything
    for row in rows:
        s = ds[row["study_id"]]
        assert (row["study_type"], row["status"], row["created_at"]) == (s.study_type, s.status, s.created_at)
        assert row["study_name"] == s.name and row["objective_directions"] == s.directions
        if s.study_id != "fresh_live":
            assert row["run_count"] == len(s.runs)
            assert json_number(row["best_fitness"]) == readset.best_fitness(s)
        assert row["execution_time_seconds"] == s.execution_time
    table = cli.ok("ls_table")
    assert in_order(table, everything)
    assert "321.5" in table and "genetic_algorithm" in table and "monte_carlo" in table
    csv_rows = cli.csv("ls_csv")
    assert [r["study_id"] for r in csv_rows] == everything
    by_id = {r["study_id"]: r for r in csv_rows}
    assert num(by_id["ga_min"]["best_fitness"]) == readset.best_fitness(ds["ga_min"])
    assert by_id["mo_mixed"]["study_type"] == "genetic_algorithm"
    assert num(by_id["ga_max"]["execution_time_seconds"]) == 60.0


@pytest.mark.parametrize("label, expected", [
    ("ls_ga", {"ga_min", "ga_max", "mo_mixed", "mo_live", "edge_big", "fresh_live", "fx_formula", "fx_cr"}),
    ("ls_mc", {"mc_study"}),
    ("ls_milp", {"milp_1"}),
    ("ls_sim", {"sim_failed"}),
    ("ls_completed", {"ga_min", "ga_max", "mo_mixed", "mc_study"}),
    ("ls_pct", {"ga_min"}),
    ("ls_under", {"ga_min"}),
    ("ls_dates", {"ga_max", "mo_mixed"}),
    ("ls_combined", {"ga_max", "mo_mixed"}),
    ("ls_formula", {"fx_formula"}),
])
def test_list_studies_filters(ds, cli, label, expected):
    wanted = newest_first(s for s in ds.studies.values() if s.study_id in expected)
    argv = cli[label]["argv"]
    output = argv[argv.index("--format") + 1] if "--format" in argv else "table"
    if output == "json":
        assert [r["study_id"] for r in cli.json(label)] == wanted
    elif output == "csv":
        assert [r["study_id"] for r in cli.csv(label)] == wanted
    else:
        text = cli.ok(label)
        assert in_order(text, wanted)
        assert not any(s in text.split() for s in set(ds.studies) - expected)


def test_list_studies_limit_and_no_rows(ds, cli):
    assert [r["study_id"] for r in cli.json("ls_limit")] == newest_first(ds.studies.values())[:2]
    assert cli.ok("ls_none").strip() == "(no rows)"


# ------------------------------------------------------------------------------------ best-designs


def test_best_designs_formats(ds, cli):
    s = ds["ga_min"]
    expected = readset.best_designs(s, 10)
    rows = cli.json("bd_json")
    assert [r["run_id"] for r in rows] == [r.run_id for r in expected]
    for row, run in zip(rows, expected):
        assert row["fitness"] == run.fitness and row["parameter_vector"] == run.params
        assert row["total_cost"] == (run.sim["total_cost"] if run.sim else None)
        assert row["simulation_status"] == "success"
    csv_rows = cli.csv("bd_csv")
    assert [r["run_id"] for r in csv_rows] == [r.run_id for r in expected]
    assert [num(r["fitness"]) for r in csv_rows] == [r.fitness for r in expected]
    assert [num(r["total_cost"]) for r in csv_rows] == [r.sim["total_cost"] if r.sim else None for r in expected]
    table = cli.ok("bd_table")
    assert in_order(table, [r.run_id + " " for r in expected])
    assert all(f"{r.fitness:.6g}" in table for r in expected)
    assert "ga_min:11" not in table and "ga_min:5 " not in table  # infeasible / failed
    maximize = readset.best_designs(ds["ga_max"], 3)
    assert [(r["run_id"], r["fitness"]) for r in cli.json("bd_max")] == [(r.run_id, r.fitness) for r in maximize]


def parse_table(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """A ``--format table`` output: the rule line under the header gives each column's span."""
    header, rule, *body = text.rstrip("\n").split("\n")
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    columns = [header[a:b].strip() for a, b in spans]
    return columns, [dict(zip(columns, (line[a:b].strip() for a, b in spans))) for line in body]


def shown(value) -> str:
    """How a table cell shows a value: blank when missing, numbers to 6 significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def best_designs_by_sql(url: str, study_id: str, limit: int) -> tuple[list[str], list[dict[str, str]]]:
    """The best-designs table computed with plain SQL on the database: successful runs by fitness in the
    study's direction, one per design (its best run), objectives and parameters under their names."""
    import sqlalchemy as sa
    from conftest import plain_engine

    def decoded(value):  # JSON text on SQLite, already decoded on PostgreSQL; objectives spell NaN as "NaN"
        value = json.loads(value) if isinstance(value, str) else value
        return [json_number(v) for v in value] if isinstance(value, list) else value

    engine = plain_engine(url)
    try:
        with engine.connect() as conn:
            study = conn.execute(sa.text("SELECT optimization_objective, objective_directions, parameter_names "
                                         "FROM studies WHERE study_id = :s"), {"s": study_id}).one()
            order = "DESC" if decoded(study.objective_directions)[0] == "maximize" else "ASC"
            runs = conn.execute(sa.text(
                "SELECT r.run_id, r.evaluation_number, r.generation_number, r.fitness, r.objectives, "
                "r.parameter_vector, r.design_key, sim.total_cost, sim.co2_emissions, sim.renewable_fraction, "
                "sim.self_sufficiency_rate FROM study_runs r LEFT JOIN simulation_runs sim "
                "ON sim.run_id = r.simulation_run_id WHERE r.study_id = :s AND r.simulation_status = 'success' "
                f"ORDER BY r.fitness {order}, r.evaluation_number"), {"s": study_id}).mappings().all()
            evaluations = dict(conn.execute(sa.text(
                "SELECT design_key, COUNT(*) FROM study_runs WHERE study_id = :s AND design_key IS NOT NULL "
                "GROUP BY design_key"), {"s": study_id}).all())
    finally:
        engine.dispose()
    seen, best = set(), []
    for run in runs:
        if run["design_key"] is None or run["design_key"] not in seen:
            seen.add(run["design_key"])
            best.append(run)
    best = best[:limit]
    objectives = study.optimization_objective.split(",")
    parameters = decoded(study.parameter_names)
    kpis = [k for k in ("total_cost", "co2_emissions", "renewable_fraction", "self_sufficiency_rate")
            if any(run[k] is not None for run in best)]
    columns = ["run_id", "evaluation_number", "generation_number", "evaluations", "fitness", *objectives,
               *(f"param:{p}" for p in parameters), *(f"sim:{k}" for k in kpis)]
    rows = []
    for run in best:
        values = decoded(run["objectives"]) or [None] * len(objectives)
        row = {"run_id": run["run_id"], "evaluation_number": shown(run["evaluation_number"]),
               "generation_number": shown(run["generation_number"]),
               "evaluations": shown(evaluations.get(run["design_key"], 1)), "fitness": shown(run["fitness"])}
        row.update({name: shown(value) for name, value in zip(objectives, values)})
        row.update({f"param:{p}": shown(v) for p, v in zip(parameters, decoded(run["parameter_vector"]))})
        row.update({f"sim:{k}": shown(run[k]) for k in kpis})
        rows.append(row)
    return columns, rows


@pytest.mark.parametrize("label, study, limit", [("bd_table", "ga_min", 10), ("bd_table_mixed", "mo_mixed", 50)])
def test_best_designs_table_names_objectives_and_parameters(ds, cli, label, study, limit):
    """One column per objective, parameter and linked KPI, each cell as plain SQL reads it; missing
    values blank (never None or nan)."""
    columns, rows = parse_table(cli.ok(label))
    assert (columns, rows) == best_designs_by_sql(ds.url, study, limit)
    assert not {v for row in rows for v in row.values()} & {"None", "nan", "NaN", "-"}
    assert any(v == "" for row in rows for v in row.values())  # some value is missing, and blank
    if study == "mo_mixed":  # the run with a NaN objective: its total_cost cell is blank
        nan_run = next(r for r in rows if r["renewable_fraction"] == "0.995")
        assert nan_run["total_cost"] == "" and nan_run["fitness"] == "15"


def test_runs_table_names_objectives(ds, cli):
    columns, rows = parse_table(cli.ok("ru_mixed_table"))
    assert columns == ["run_id", "evaluation_number", "generation_number", "fitness", "total_cost",
                       "renewable_fraction", "simulation_status", "is_pareto_optimal"]
    for row, run in zip(rows, ds["mo_mixed"].runs):
        assert row["run_id"] == run.run_id
        assert [row["total_cost"], row["renewable_fraction"]] == [shown(v) for v in run.objectives]


def test_db_before_or_after_the_subcommand(cli):
    expected = cli.ok("bd_max")
    assert expected.strip().startswith("[")
    for label in ("db_after", "db_between", "db_twice"):
        assert cli.ok(label) == expected, label
    assert cli.ok("db_export_after").startswith("wrote ")
    assert cli.real["env_db_after"].returncode == 0, cli.real["env_db_after"].stderr
    assert cli.real["env_db_after"].stdout == expected


# ----------------------------------------------------------------------------------------- compare


def test_compare_formats(ds, cli):
    rows = cli.json("cmp_json")
    assert [r["study_id"] for r in rows] == COMPARED
    assert list(rows[0])[:7] == ["study_id", "study_type", "best_fitness", "run_count", "avg_fitness",
                                 "pareto_count", "execution_time_seconds"]
    csv_rows = cli.csv("cmp_csv")
    assert [r["study_id"] for r in csv_rows] == COMPARED
    for row, csv_row in zip(rows, csv_rows):
        s = ds[row["study_id"]]
        front = len(readset.brute_front(s)) if s.n_objectives >= 2 else None
        expected = {"study_type": s.study_type, "best_fitness": readset.best_fitness(s), "run_count": len(s.runs),
                    "avg_fitness": readset.avg_finite_successful(s), "pareto_count": front,
                    "execution_time_seconds": s.execution_time}
        for key, value in expected.items():
            if key == "study_type":
                assert row[key] == csv_row[key] == value
            else:
                assert same(row[key], value) and same(num(csv_row[key]), value), (s.study_id, key)
    table = cli.ok("cmp_table")
    assert in_order(table, COMPARED) and "321.5" in table and "999" in table


def test_compare_table_names_each_studys_objective_space(cli):
    rows, csv_rows, table = cli.json("cmp_json"), cli.csv("cmp_csv"), cli.ok("cmp_table")
    # Objective names with their directions, as the dataset declares them (milp_1 declares none: one, minimized).
    spaces = ["total_cost (min)", "renewable_fraction (max)", "total_cost (min), renewable_fraction (max)",
              "cost (min), co2 (min)", "objective_1 (min)"]
    assert [r["objective_space"] for r in rows] == [r["objective_space"] for r in csv_rows] == spaces
    assert "objective_space" in table.splitlines()[0] and "renewable_fraction (max)" in table


def html_figure(path: Path) -> dict:
    """The figure a plotly HTML file draws (the arguments of its Plotly.newPlot), typed arrays decoded."""
    import base64

    import numpy as np

    def decoded(value):
        if isinstance(value, dict) and "bdata" in value:
            return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).tolist()
        if isinstance(value, dict):
            return {k: decoded(v) for k, v in value.items()}
        return [decoded(v) for v in value] if isinstance(value, list) else value

    text = path.read_text(encoding="utf-8")
    position, values = text.rindex("Plotly.newPlot(") + len("Plotly.newPlot("), []
    for _ in range(3):  # the div id, the traces, the layout
        while text[position] in " \t\r\n,":
            position += 1
        value, position = json.JSONDecoder().raw_decode(text, position)
        values.append(value)
    return {"data": decoded(values[1]), "layout": values[2]}


def test_compare_writes_one_chart_per_objective_group(ds, cli):
    cli.ok("cmp_html")
    stderr = cli["cmp_html"]["stderr"]
    parts = ["convergence-total_cost_min", "fronts-total_cost_min-renewable_fraction_max",
             "hypervolume-total_cost_min-renewable_fraction_max"]
    assert [line for line in stderr.splitlines() if line.startswith("wrote ")] == [
        f"wrote {cli.work / f'compare-{part}.html'}" for part in parts]
    assert not (cli.work / "compare.html").exists()
    figures = {part: html_figure(cli.work / f"compare-{part}.html") for part in parts}

    # Every fitness here measures total_cost (min): one best-so-far chart; the Monte Carlo study is named as left out.
    convergence = figures[parts[0]]
    assert [t["name"] for t in convergence["data"]] == ["ga_min best so far", "mo_mixed best so far"]
    for curve, study in zip(convergence["data"], ("ga_min", "mo_mixed")):
        assert curve["y"] == pytest.approx([row["best_so_far"] for row in readset.convergence(ds[study])])
    assert convergence["layout"]["yaxis"]["title"]["text"] == "total_cost (min)"
    assert "Left out of the best-so-far chart of total_cost (min): mc_study (a Monte Carlo study has no generations)." \
        in stderr

    # mo_mixed is alone in its objective space: its front, and its hypervolume on its own worst values.
    fronts = figures[parts[1]]
    assert [t["name"] for t in fronts["data"]] == ["mo_mixed"]
    assert (fronts["layout"]["xaxis"]["title"]["text"], fronts["layout"]["yaxis"]["title"]["text"]) == (
        "total_cost", "renewable_fraction")
    s = ds["mo_mixed"]
    reference = readset.reference_min(s)  # minimization form: renewable_fraction negated
    expected = [row for row in readset.convergence(s) if row.get("hypervolume") is not None]
    volumes = figures[parts[2]]
    assert volumes["data"][0]["x"] == [row["generation_number"] for row in expected]
    assert volumes["data"][0]["y"] == pytest.approx([row["hypervolume"] for row in expected])
    caption = (f"Reference point total_cost = {reference[0]:g}, renewable_fraction = {-reference[1]:g}: the worst "
               "value per objective of mo_mixed's successful runs (it declares no reference point).")
    assert volumes["layout"]["title"]["subtitle"]["text"] == caption and caption in stderr

    # One colour per study across the files.
    colour = {t["name"].split(" ")[0]: t["line"]["color"] for f in figures.values() for t in f["data"]}
    assert [t["line"]["color"] for f in figures.values() for t in f["data"] if t["name"].startswith("mo_mixed")] == \
        [colour["mo_mixed"]] * 3
    assert colour["ga_min"] != colour["mo_mixed"]


# ------------------------------------------------------------------------------------ pareto-front


def test_pareto_front_formats(ds, cli):
    s = ds["mo_mixed"]
    front = readset.brute_front(s)
    rows = cli.json("pf_json")
    assert sorted(r["run_id"] for r in rows) == sorted(front)
    for row in rows:
        run = s.run(row["run_id"])
        assert [row["total_cost"], row["renewable_fraction"]] == run.objectives
        assert [row["param:x0"], row["param:x1"]] == run.params
    csv_rows = cli.csv("pf_csv")
    assert sorted(r["run_id"] for r in csv_rows) == sorted(front)
    for row in csv_rows:
        assert [num(row["total_cost"]), num(row["renewable_fraction"])] == s.run(row["run_id"]).objectives
    table = cli.ok("pf_table")
    assert all(run_id in table for run_id in front)
    assert "total_cost" in table and "renewable_fraction" in table
    live = ds["mo_live"]
    rows = cli.json("pf_live")
    assert sorted(r["run_id"] for r in rows) == sorted(readset.brute_front(live))
    assert all([r["cost"], r["co2"]] == live.run(r["run_id"]).objectives for r in rows)


# ------------------------------------------------------------------------------------- convergence


def check_history(rows: list[dict], study: readset.Study, numbers=lambda v: v):
    expected = readset.convergence(study)
    assert [int(numbers(r["generation_number"])) for r in rows] == [e["generation_number"] for e in expected]
    for row, exp in zip(rows, expected):
        if exp["generation_number"] in study.logged_convergence:
            continue
        for key in ("best_fitness", "average_fitness", "worst_fitness", "fitness_std_dev",
                    "evaluations_in_generation", "stagnation_count", "population_diversity"):
            assert same(numbers(row[key]), exp[key]), (study.study_id, exp["generation_number"], key)
        if study.n_objectives >= 2:
            assert same(numbers(row["hypervolume"]), exp["hypervolume"])
        assert same(numbers(row["best_so_far"]), exp["best_so_far"])


def test_convergence_formats(ds, cli):
    check_history(cli.json("cv_json"), ds["ga_min"])
    check_history(cli.csv("cv_csv"), ds["ga_min"], numbers=num)
    table = cli.ok("cv_table")
    first = readset.convergence(ds["ga_min"])[0]
    assert "best_so_far" in table and f"{first['average_fitness']:.6g}" in table
    multi = cli.json("cv_multi")
    assert [r["study_id"] for r in multi] == ["ga_min"] * 6 + ["mo_live"] * 3
    check_history([r for r in multi if r["study_id"] == "ga_min"], ds["ga_min"])
    check_history([r for r in multi if r["study_id"] == "mo_live"], ds["mo_live"])


# ----------------------------------------------------------------------- uncertainty / sensitivity


def test_uncertainty_formats(ds, cli):
    s = ds["mc_study"]
    order = sorted(range(len(s.uncertainty)), key=lambda i: (s.uncertainty[i]["objective_name"], i))
    expected = [s.uncertainty[i] for i in order]
    rows = cli.json("un_json")
    assert len(rows) == len(expected)
    for row, exp in zip(rows, expected):
        assert all(row[k] == v for k, v in exp.items())
    for row, exp in zip(cli.csv("un_csv"), expected):
        assert row["objective_name"] == exp["objective_name"]
        assert num(row["cvar_95"]) == exp["cvar_95"] and num(row["percentile_5"]) == exp["percentile_5"]
    table = cli.ok("un_table")
    assert in_order(table, [e["objective_name"] for e in expected]) and f"{expected[0]['var_95']:.6g}" in table


def test_sensitivity_formats(ds, cli):
    s = ds["mc_study"]
    expected = sorted(s.sensitivity, key=lambda r: (r["importance_rank"], r["objective_name"], r["parameter_index"]))
    rows = cli.json("se_json")
    assert len(rows) == len(expected)
    for row, exp in zip(rows, expected):
        assert all(row[k] == v for k, v in exp.items())
    for row, exp in zip(cli.csv("se_csv"), expected):
        assert (row["parameter_name"], int(row["importance_rank"])) == (exp["parameter_name"], exp["importance_rank"])
        assert num(row["sobol_total"]) == exp["sobol_total"]
    assert [(r["parameter_name"], r["objective_name"]) for r in cli.json("se_limit")] == \
        [(e["parameter_name"], e["objective_name"]) for e in expected[:3]]
    table = cli.ok("se_table")
    assert in_order(table, [e["parameter_name"] for e in expected])


# -------------------------------------------------------------------------------------------- runs


def test_runs_formats(ds, cli):
    s = ds["ga_min"]
    rows = cli.json("ru_json")
    assert [r["run_id"] for r in rows] == [r.run_id for r in s.runs]
    for row, run in zip(rows, s.runs):
        assert json_number(row["fitness"]) == run.fitness and row["simulation_status"] == run.status
        assert row["generation_number"] == run.generation and row["evaluation_time_seconds"] == run.eval_time
    assert [r["fitness"] for r in rows if r["simulation_status"] == "failed"] == ["Infinity"] * 3
    csv_rows = cli.csv("ru_csv")
    assert [r["run_id"] for r in csv_rows] == [r.run_id for r in s.runs]
    assert [num(r["fitness"]) for r in csv_rows] == [r.fitness for r in s.runs]
    table = cli.ok("ru_table")
    assert in_order(table, [r.run_id + " " for r in s.runs])
    assert "failed" in table and "infeasible" in table
    page = readset.runs_sorted(s.runs, "fitness", True)[5:10]
    assert [r["run_id"] for r in cli.json("ru_page")] == [r.run_id for r in page]
    assert [r["run_id"] for r in cli.json("ru_gen")] == [r.run_id for r in s.runs if r.generation == 2]
    assert len(cli.json("ru_default")) == 42  # default --limit 50


def test_runs_json_spells_non_finite_objectives(ds, cli):
    rows = {r["run_id"]: r for r in cli.json("ru_mixed")}
    for run in ds["mo_mixed"].runs:
        shown = [json_number(v) for v in rows[run.run_id]["objectives"]]
        assert all(same(a, b) or (math.isnan(a) and math.isnan(b)) for a, b in zip(shown, run.objectives))
    special = [r for r in ds["mo_mixed"].runs if not all(math.isfinite(v) for v in r.objectives)]
    assert [rows[r.run_id]["objectives"][0] for r in special] == ["NaN", "Infinity"]


# ------------------------------------------------------------------------------------------ charts


def check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 400 <= width <= 4000 and 300 <= height <= 4000
    assert data[-8:-4] == b"IEND"
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        assert image.size == (width, height)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colors is None or len(colors) > 20  # something was drawn
        # The app's theme: a white page and plot area, not plotly's default grey plot area (#E5ECF6).
        counts = {color: count for count, color in colors or []}
        assert max(counts, key=counts.get) == (255, 255, 255)
        assert counts.get((0xE5, 0xEC, 0xF6), 0) < 0.01 * width * height


def check_html(path: Path, *needles: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<html") or "<!doctype html" in text[:200].lower()
    assert 'class="plotly-graph-div"' in text and "Plotly.newPlot" in text
    assert len(text) > 1_000_000 and "plotly.js v" in text.lower()  # the bundle is embedded (works offline)
    for needle in needles:
        assert needle in text, needle


@pytest.mark.browser
@pytest.mark.parametrize("label, name", [("pf_png", "pareto.png"), ("cv_png", "convergence.png"),
                                         ("cmp_png", "compare-convergence-total_cost_min.png"),
                                         ("cmp_png", "compare-convergence-renewable_fraction_max.png"),
                                         ("se_png", "sensitivity.png")])
def test_png_outputs(cli, label, name):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium")
    cli.ok(label)
    assert f"wrote {cli.work / name}" in cli[label]["stderr"]
    check_png(cli.work / name)


def test_html_outputs(ds, cli):
    front = sorted(readset.brute_front(ds["mo_mixed"]))
    for label in ("pf_html", "pf_html_xy", "cv_html", "cmp_html", "se_html"):
        cli.ok(label)
    check_html(cli.work / "pareto.html", *front, "total_cost", "renewable_fraction")
    check_html(cli.work / "pareto_live.HTML", *readset.brute_front(ds["mo_live"]), "co2")
    check_html(cli.work / "convergence.html", "ga_min best so far", "mo_mixed average")
    check_html(cli.work / "compare-convergence-total_cost_min.html", "ga_min best so far", "mo_mixed best so far")
    check_html(cli.work / "sensitivity.html", "load", "price", "wind", "sun", "Pearson")


def test_every_chart_has_titles_and_the_app_theme(cli):
    """Each HTML the CLI wrote: a title, axis titles naming what is drawn (the objective, never just
    "fitness"), and the template built from .streamlit/config.toml."""
    import tomllib

    theme = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["theme"]
    axes = {  # file -> (x title, y title)
        "pareto.html": ("total_cost", "renewable_fraction"),
        "pareto_live.HTML": ("co2", "cost"),
        "convergence.html": ("generation", "total_cost (min)"),
        "compare-convergence-total_cost_min.html": ("generation", "total_cost (min)"),
        "compare-fronts-total_cost_min-renewable_fraction_max.html": ("total_cost", "renewable_fraction"),
        "compare-hypervolume-total_cost_min-renewable_fraction_max.html": ("generation",
                                                                          "hypervolume of the front so far"),
        "sensitivity.html": ("objective", "parameter"),
    }
    titles = {}
    for name, (x, y) in axes.items():
        layout = html_figure(cli.work / name)["layout"]
        titles[name] = layout["title"]["text"]
        assert (layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]) == (x, y), name
        template = layout["template"]["layout"]
        assert template["plot_bgcolor"] == template["paper_bgcolor"] == "#ffffff", name
        assert template["colorway"][0] == theme["light"]["primaryColor"], name
        assert "sans-serif" in template["font"]["family"], name
    assert titles == {
        "pareto.html": "Pareto front of mo_mixed",
        "pareto_live.HTML": "Pareto front of mo_live",
        "convergence.html": "Convergence of ga_min, mo_mixed",
        "compare-convergence-total_cost_min.html": "Best total_cost (min) so far",
        "compare-fronts-total_cost_min-renewable_fraction_max.html":
            "Pareto fronts: total_cost (min), renewable_fraction (max)",
        "compare-hypervolume-total_cost_min-renewable_fraction_max.html":
            "Hypervolume per generation: total_cost (min), renewable_fraction (max)",
        "sensitivity.html": "Sensitivity of mc_study: Pearson",
    }


# ----------------------------------------------------------------------------------------- exports


def wrote(cli: Batch, label: str) -> int:
    out = cli.ok(label).strip().splitlines()[-1]
    assert out.startswith("wrote ") and out.endswith(f"rows to {cli[label]['argv'][-1]}"), out
    return int(out.split()[1].replace(",", ""))


def test_export_runs(ds, cli):
    s = ds["ga_min"]
    assert wrote(cli, "ex_runs_csv") == wrote(cli, "ex_runs_parquet") == wrote(cli, "ex_runs_json") == len(s.runs)
    frames = {
        "csv": pd.read_csv(cli.work / "ex_runs_csv.csv"),
        "parquet": pd.read_parquet(cli.work / "ex_runs_parquet.parquet"),
    }
    records = json.loads((cli.work / "ex_runs_json.json").read_text(encoding="utf-8"))
    frames["json"] = pd.DataFrame(records).replace({"Infinity": math.inf}).infer_objects()
    for kind, frame in frames.items():
        assert frame["run_id"].tolist() == [r.run_id for r in s.runs], kind
        assert [float(v) for v in frame["fitness"]] == [r.fitness for r in s.runs], kind
        for i, name in enumerate(s.param_names):
            assert frame[f"param:{name}"].tolist() == [r.params[i] for r in s.runs], (kind, name)
        assert frame["simulation_status"].tolist() == [r.status for r in s.runs]
        kpis = [None if pd.isna(v) else v for v in frame["sim:total_cost"]]
        assert kpis == [r.sim["total_cost"] if r.sim else None for r in s.runs], kind
    assert [r["fitness"] for r in records if r["simulation_status"] == "failed"] == ["Infinity"] * 3
    assert wrote(cli, "ex_default") == len(ds["ga_max"].runs)
    assert pd.read_csv(cli.work / "default_export.csv")["run_id"].tolist() == [r.run_id for r in ds["ga_max"].runs]


def test_export_runs_spreads_objectives(ds, cli):
    s = ds["mo_mixed"]
    rows = list(csv.DictReader((cli.work / "ex_mixed_csv.csv").open(newline="", encoding="utf-8")))
    assert [r["run_id"] for r in rows] == [r.run_id for r in s.runs]
    for row, run in zip(rows, s.runs):
        shown = [num(row["total_cost"]), num(row["renewable_fraction"])]
        expected = [None if math.isnan(v) else v for v in run.objectives]
        assert shown == expected, run.run_id
        assert row["is_pareto_optimal"] == str(run.run_id in readset.brute_front(s))


def test_export_other_tables(ds, cli):
    history = pd.read_csv(cli.work / "ex_conv_csv.csv")
    expected = readset.convergence(ds["ga_max"])
    assert wrote(cli, "ex_conv_csv") == len(expected) == len(history)
    assert history["generation_number"].tolist() == [e["generation_number"] for e in expected]
    assert all(same(None if pd.isna(a) else a, b["average_fitness"]) for a, b in zip(history["average_fitness"], expected))
    live = json.loads((cli.work / "ex_conv_json.json").read_text(encoding="utf-8"))
    assert wrote(cli, "ex_conv_json") == 3 and [r["source"] for r in live] == ["stored", "computed", "computed"]

    front = readset.brute_front(ds["mo_mixed"])
    assert {r["run_id"] for r in json.loads((cli.work / "ex_pareto_json.json").read_text())} == front
    assert set(pd.read_csv(cli.work / "ex_pareto_csv.csv")["run_id"]) == front
    assert wrote(cli, "ex_pareto_json") == wrote(cli, "ex_pareto_csv") == len(front)
    live_front = pd.read_parquet(cli.work / "ex_pareto_parquet.parquet")
    assert set(live_front["run_id"]) == readset.brute_front(ds["mo_live"])
    assert all([c, o] == ds["mo_live"].run(r).objectives
               for r, c, o in zip(live_front["run_id"], live_front["cost"], live_front["co2"]))

    s = ds["mc_study"]
    order = sorted(range(len(s.uncertainty)), key=lambda i: (s.uncertainty[i]["objective_name"], i))
    for frame in (pd.read_parquet(cli.work / "ex_unc_parquet.parquet"), pd.read_csv(cli.work / "ex_unc_csv.csv")):
        assert frame["objective_name"].tolist() == [s.uncertainty[i]["objective_name"] for i in order]
        assert frame["mean_value"].tolist() == [s.uncertainty[i]["mean_value"] for i in order]
        assert frame["sample_count"].tolist() == [s.uncertainty[i]["sample_count"] for i in order]
    ranked = sorted(s.sensitivity, key=lambda r: (r["importance_rank"], r["objective_name"], r["parameter_index"]))
    sens = pd.read_csv(cli.work / "ex_sens_csv.csv")
    assert wrote(cli, "ex_sens_csv") == len(ranked) == len(sens)  # every row, not the query's top 10 default
    assert sens["parameter_name"].tolist() == [r["parameter_name"] for r in ranked]
    assert [r["sobol_total"] for r in json.loads((cli.work / "ex_sens_json.json").read_text())] == \
        [r["sobol_total"] for r in ranked]


def test_export_of_a_study_without_runs(cli):
    assert wrote(cli, "ex_empty_csv") == wrote(cli, "ex_empty_parquet") == wrote(cli, "ex_empty_json") == 0
    assert json.loads((cli.work / "ex_empty_json.json").read_text()) == []
    assert len(pd.read_parquet(cli.work / "ex_empty_parquet.parquet")) == 0


# ------------------------------------------------------------------------------ spreadsheet safety


def test_every_csv_output_is_spreadsheet_safe(cli):
    checked = 0
    for label, result in cli.results.items():
        argv = result["argv"]
        is_csv = ("--format" in argv and argv[argv.index("--format") + 1] == "csv" and argv[2] == "query") or \
                 (argv[2] == "export" and argv[-1].endswith(".csv"))
        if not is_csv or result["code"] != 0 or label == "ru_cr_csv":
            continue
        text = result["stdout"] if argv[2] == "query" else Path(argv[-1]).read_text(encoding="utf-8")
        assert readset.unsafe_cells(readset.parse_csv(text)) == [], label
        checked += 1
    assert checked >= 20


def test_csv_neutralizes_formulas_and_keeps_numbers(cli):
    expected_ids = list(readset.FORMULA_RUN_IDS.values())
    for label, text_of in (("ru_formula_csv", lambda: cli.ok("ru_formula_csv")),
                           ("ex_formula_csv", lambda: (cli.work / "ex_formula_csv.csv").read_text(encoding="utf-8"))):
        cli.ok(label)
        rows = list(csv.DictReader(io.StringIO(text_of(), newline="")))
        assert [r["run_id"] for r in rows] == expected_ids, label
        assert rows[0]["fitness"] == "-2.5"  # a number, unchanged
        assert [r["metadata_json"] for r in rows[::2]] == ["-2.5"] * len(rows[::2])  # a plain number, unchanged
        assert rows[1]["metadata_json"] == '{"note":"=1+1"}'
    export_rows = list(csv.DictReader((cli.work / "ex_formula_csv.csv").open(newline="", encoding="utf-8")))
    header = list(export_rows[0])
    assert readset.FORMULA_OBJECTIVES_SAFE[0] in header and readset.FORMULA_OBJECTIVES_SAFE[1] in header
    assert [num(r[readset.FORMULA_OBJECTIVES_SAFE[0]]) for r in export_rows][:2] == [-2.5, 1.0]
    assert "param:-p0" in header and [r["param:@p1"] for r in export_rows] == ["-2.5"] * len(export_rows)

    front = cli.csv("pf_formula_csv")
    assert set(readset.FORMULA_OBJECTIVES_SAFE) <= set(front[0])
    assert sorted(r["run_id"] for r in front) == sorted(expected_ids)

    studies = cli.csv("ls_formula")
    assert studies[0]["study_name"] == readset.FORMULA_STUDY_NAME_SAFE
    assert studies[0]["description"] == readset.FORMULA_DESCRIPTION_SAFE
    assert studies[0]["optimization_objective"] == "'=cost,@co2"

    for label in ("se_formula_csv",):
        rows = cli.csv(label)
        assert [r["parameter_name"] for r in rows] == list(readset.FORMULA_SENS_PARAMS.values())
        assert {r["objective_name"] for r in rows} == {"'@co2"}
        assert rows[0]["sobol_total"] == "-2.5"
    rows = list(csv.DictReader((cli.work / "ex_formula_sens_csv.csv").open(newline="", encoding="utf-8")))
    assert [r["parameter_name"] for r in rows] == list(readset.FORMULA_SENS_PARAMS.values())
    uncertainty = cli.csv("un_formula_csv")
    assert uncertainty[0]["objective_name"] == "'=cost" and uncertainty[0]["mean_value"] == "-2.5"


def test_csv_keeps_cells_with_carriage_returns_in_one_row(cli):
    rows = list(csv.DictReader(io.StringIO(cli.ok("ru_cr_csv"), newline="")))
    assert [r["run_id"] for r in rows] == ["fx_cr:best", *readset.CR_RUN_IDS.values()]


# ------------------------------------------------------------------------------------- error paths


def check_error(result: dict, code: int = 1, *needles: str) -> str:
    """One ``error: ...`` line on stderr (exit 1: the store refused; exit 2: the command line did, and
    the line points at the command's help), no traceback."""
    assert result["traceback"] is None, result["traceback"]
    assert result["code"] == code, (result["argv"], result["code"], result["stderr"])
    assert "Traceback" not in result["stderr"]
    lines = [line for line in result["stderr"].splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, lines
    assert all(line.startswith("error: ") or line.startswith("exporting") for line in lines), lines
    if code == 2:
        assert errors[0].endswith(" --help')") and " (see 'hive-cli " in errors[0], errors[0]
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.mark.parametrize("label", ["err_unknown_best-designs", "err_unknown_pareto-front", "err_unknown_convergence",
                                   "err_unknown_uncertainty", "err_unknown_sensitivity", "err_unknown_runs",
                                   "err_unknown_compare", "err_unknown_export"])
def test_unknown_study(cli, label):
    check_error(cli[label], 1, "ghost_study", "no such study")
    assert cli[label]["stdout"].strip() == ""


def test_other_command_errors(cli):
    check_error(cli["err_single_objective"], 1, "ga_min", "one objective")


def test_every_option_is_checked_before_any_work(cli):
    """Bad file names, axes that are not objectives, chart options without a chart, formats that
    contradict the file name: one exact line naming option, value and what is allowed; exit 2;
    nothing printed, no file."""
    work = cli.work
    expected = {
        "err_suffix": f"error: Invalid value for '--output': '{work / 'chart.txt'}': use a file name ending in "
                      ".png, .html or .htm (see 'hive-cli query convergence --help')",
        "val_jpg": f"error: Invalid value for '--output': '{work / 'chart.jpg'}': use a file name ending in "
                   ".png, .html or .htm (see 'hive-cli query compare --help')",
        "val_x_alone": "error: --x changes the chart only: add --output FILE.png or FILE.html "
                       "(see 'hive-cli query pareto-front --help')",
        "val_x_png": "error: Invalid value for '--x': 'bogus' is not an objective of mo_mixed (its objectives: "
                     "total_cost, renewable_fraction) (see 'hive-cli query pareto-front --help')",
        "usage_axis": "error: Invalid value for '--x': 'bogus' is not an objective of mo_mixed (its objectives: "
                      "total_cost, renewable_fraction) (see 'hive-cli query pareto-front --help')",
        "val_same_axes": "error: --x, --y and --z name the same objective (total_cost, total_cost): give each axis "
                         "its own (see 'hive-cli query pareto-front --help')",
        "val_log_y": "error: --log-y changes the chart only: add --output FILE.png or FILE.html "
                     "(see 'hive-cli query convergence --help')",
        "val_measure": "error: --measure changes the chart only: add --output FILE.png or FILE.html "
                       "(see 'hive-cli query sensitivity --help')",
        "val_export_txt": f"error: Invalid value for '--output': '{work / 'runs.txt'}': use a file name ending in "
                          ".csv, .parquet or .json (see 'hive-cli export --help')",
        "val_export_mismatch": f"error: Invalid value for '--format': 'parquet' does not match the file name "
                               f"'{work / 'mismatch.csv'}' (csv); change one of them (see 'hive-cli export --help')",
        "err_export_dir": f"error: Invalid value for '--output': '{work / 'no_dir' / 'runs.csv'}': the folder "
                          f"'{work / 'no_dir'}' does not exist (see 'hive-cli export --help')",
        "err_chart_dir": f"error: Invalid value for '--output': '{work / 'no_dir' / 'c.html'}': the folder "
                         f"'{work / 'no_dir'}' does not exist (see 'hive-cli query convergence --help')",
    }
    for label, line in expected.items():
        assert check_error(cli[label], 2) == line, label
        assert cli[label]["stdout"] == "", label
    for name in ("chart.txt", "chart.jpg", "bad_axis.png", "bad_axis.html", "same_axes.html", "runs.txt",
                 "mismatch.csv", "no_dir"):
        assert not (work / name).exists(), name
    assert not list(work.glob("chart-*"))


@pytest.mark.parametrize("label, needles", [
    ("usage_type", ("'--type'", "'genetic'", "genetic_algorithm")), ("usage_from", ("'--from'", "15/02/2024")),
    ("usage_status", ("'--status'", "done")), ("usage_limit0", ("'--limit'", "1<=x<=100000")),
    ("usage_runs_limit0", ("'--limit'",)), ("usage_offset", ("'--offset'",)), ("usage_ids", ("'--study-ids'", "study ids")),
    ("usage_format", ("'--format'", "xml", "table")), ("usage_sort", ("'--sort'", "run_id", "evaluation_number")),
    ("usage_missing", ("--study-id",)), ("usage_table", ("'--table'", "studies", "runs")),
])
def test_bad_arguments_are_usage_errors(cli, label, needles):
    check_error(cli[label], 2, *needles)
    assert cli[label]["stdout"] == ""


def test_a_failed_export_leaves_no_file(cli):
    check_error(cli["err_unknown_export"], 1, "ghost_study")
    check_error(cli["err_unknown_export_json"], 1, "ghost_study")
    assert not (cli.work / "ghost.csv").exists() and not (cli.work / "ghost.json").exists()


# ------------------------------------------------------------------- the real entry point, in parallel


@pytest.fixture(scope="session")
def standalone_started(tmp_path_factory):
    """Backend-independent error paths, started at once: the real ``python -m hive_cli`` and ``hive-cli``
    script for the main ones, a batch for the rest."""
    work = tmp_path_factory.mktemp("cli_standalone")
    legacy = work / "legacy.db"
    shutil.copy(LEGACY_DB, legacy)
    (work / "empty.db").write_bytes(b"")
    procs = {
        "unreachable": hive_cli("--db", "postgresql://nobody:x@127.0.0.1:1/none", "query", "list-studies"),
        "legacy": hive_cli("--db", str(legacy), "query", "best-designs", "--study-id", "study-2023-baseline"),
    }
    script = Path(sys.executable).with_name("hive-cli")
    if script.exists():
        procs["script_usage"] = start(
            [str(script), "--db", str(legacy), "query", "best-designs", "--study-id", "x", "--limit", "0"])
    jobs = {
        "legacy_export": ["--db", f"sqlite:///{legacy}", "export", "--study-id", "x", "--output",
                          str(work / "legacy.csv")],
        "legacy_convergence": ["--db", str(legacy), "query", "convergence", "--study-id", "x", "--output",
                               str(work / "legacy.html")],
        "missing_file": ["--db", str(work / "nowhere" / "hive.db"), "query", "list-studies"],
        "empty_file": ["--db", str(work / "empty.db"), "query", "list-studies"],
        "bad_url": ["--db", "mysql://u:p@localhost/x", "query", "list-studies"],
        "unreachable_export": ["--db", "postgresql://nobody:x@127.0.0.1:1/none", "export", "--study-id", "x",
                               "--output", str(work / "unreachable.csv")],
    }
    return work, procs, jobs, BatchRun([*jobs.values()], work)


@pytest.fixture(scope="session")
def standalone(standalone_started):
    work, procs, jobs, batch = standalone_started
    results = {label: finish(proc) for label, proc in procs.items()}
    return work, results, dict(zip(jobs, batch.results()))


def check_process_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 1, (proc.args, proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stdout.strip() == ""
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("exporting")]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_unreachable_database(standalone):
    _, results, batch = standalone
    line = check_process_error(results["unreachable"], "127.0.0.1", "unavailable")
    assert ":x@" not in line  # no password in the message
    check_error(batch["unreachable_export"], 1, "127.0.0.1", "unavailable")


def test_schema_behind(standalone):
    work, results, batch = standalone
    command = f"hive-cli db upgrade {work / 'legacy.db'}"
    check_process_error(results["legacy"], "schema is behind", command)
    check_error(batch["legacy_export"], 1, "schema is behind", command)
    check_error(batch["legacy_convergence"], 1, "schema is behind", command)
    assert not (work / "legacy.csv").exists() and not (work / "legacy.html").exists()
    assert LEGACY_DB.read_bytes() == (work / "legacy.db").read_bytes()  # reading did not upgrade it


def test_missing_empty_and_unsupported_databases(standalone):
    work, _, batch = standalone
    check_error(batch["missing_file"], 1, "does not exist")
    assert not (work / "nowhere").exists()  # a reader creates nothing
    check_error(batch["empty_file"], 1, "no hive schema")
    check_error(batch["bad_url"], 1, "only sqlite and postgresql")


def test_console_script_usage_error(standalone):
    result = standalone[1].get("script_usage")
    if result is None:
        pytest.skip("no hive-cli script next to the interpreter")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("error: Invalid value for '--limit': 0 is not in the range 1<=x<=100000. "
                             "(see 'hive-cli query best-designs --help')\n")


def test_entry_point_on_the_backend(ds, cli):
    """``python -m hive_cli`` itself (not the batch runner), the database from $HIVE_DB_URL too."""
    env_result = cli.real["env"]
    assert env_result.returncode == 0, env_result.stderr
    expected = readset.best_designs(ds["ga_max"], 10)
    assert [r["run_id"] for r in json.loads(env_result.stdout)] == [r.run_id for r in expected]
    check_process_error(cli.real["ghost"], "ghost", "no such study")
    if "png" in cli.real:
        assert cli.real["png"].returncode == 0 and "Traceback" not in cli.real["png"].stderr, cli.real["png"].stderr
        check_png(cli.work / "real_live.png")
        several = cli.real["png_compare"]
        assert several.returncode == 0, several.stderr
        written = [line.removeprefix("wrote ") for line in several.stderr.splitlines() if line.startswith("wrote ")]
        assert [Path(p).name for p in written] == [
            "real_cmp-convergence-total_cost_min.png", "real_cmp-fronts-total_cost_min-renewable_fraction_max.png",
            "real_cmp-hypervolume-total_cost_min-renewable_fraction_max.png"]
        for path in written:
            check_png(Path(path))
