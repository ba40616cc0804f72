"""``hive-cli import optuna`` end to end: real Optuna studies in an SQLite file, imported by the CLI
in a subprocess, read back with plain SQL and compared with what Optuna itself reports."""
from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
import warnings
from datetime import timezone

import optuna
import pytest

from integrations.optuna_import import import_optuna_study
from storage import DatabaseMetadataService, NotFoundError

TOKENS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def hive_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hive_cli", *args], capture_output=True, text=True, timeout=120)


def _floats(text):
    return [TOKENS[v] if isinstance(v, str) else v for v in json.loads(text)]


def _utc_text(moment) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture(scope="module")
def optuna_storage(tmp_path_factory):
    """One Optuna SQLite file with a two-objective NSGA-II study and a one-objective random study,
    each with failed and pruned trials."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path_factory.mktemp('optuna') / 'optuna.db'}"

    two = optuna.create_study(
        study_name="design", storage=url, directions=["minimize", "maximize"],
        sampler=optuna.samplers.NSGAIISampler(population_size=8, seed=3),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # metric names: "experimental"
        two.set_metric_names(["cost", "reliability"])

    def design(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        y = trial.suggest_int("y", 1, 5)
        if trial.number in (4, 11):
            raise RuntimeError("simulation crashed")
        if trial.number in (6, 13):
            raise optuna.TrialPruned()
        return x * y, 1.0 - (x - 0.3) ** 2 + 0.1 * y

    two.optimize(design, n_trials=16, catch=(RuntimeError,))  # two NSGA-II generations

    one = optuna.create_study(
        study_name="tuning", storage=url, direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1)
    )

    def tuning(trial):
        solver = trial.suggest_categorical("solver", ["cbc", "highs", "glpk"])
        rate = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        if trial.number == 2:
            raise RuntimeError("license expired")
        if trial.number == 5:
            trial.report(0.1, step=1)
            raise optuna.TrialPruned()
        return {"cbc": 1.0, "highs": 2.0, "glpk": 0.5}[solver] - abs(math.log10(rate) + 2)

    one.optimize(tuning, n_trials=8, catch=(RuntimeError,))
    return url


def test_cli_imports_a_multi_objective_study(optuna_storage, db_url, sql):
    source = optuna.load_study(study_name="design", storage=optuna_storage)
    done = hive_cli("--db", db_url, "import", "optuna", "--storage", optuna_storage, "--study", "design")
    assert done.returncode == 0, done.stderr
    assert "as 'optuna_design' (genetic_algorithm, sampler NSGAIISampler): 16 runs (12 complete, 2 failed, 2 pruned)" in done.stdout

    study = sql("SELECT * FROM studies WHERE study_id = 'optuna_design'")[0]
    assert (study["study_type"], study["status"], study["run_count"]) == ("genetic_algorithm", "completed", 16)
    assert study["study_name"] == "design" and study["optimization_objective"] == "cost,reliability"
    assert json.loads(study["objective_directions"]) == ["minimize", "maximize"]
    assert json.loads(study["parameter_names"]) == ["x", "y"]
    metadata = json.loads(study["metadata_json"])
    assert metadata["optuna_study_name"] == "design" and metadata["sampler"] == "NSGAIISampler"
    assert study["created_at"] == _utc_text(min(t.datetime_start for t in source.trials))
    assert study["completed_at"] == _utc_text(max(t.datetime_complete for t in source.trials))

    runs = {r["evaluation_number"]: r for r in sql("SELECT * FROM study_runs WHERE study_id = 'optuna_design'")}
    assert sorted(runs) == [t.number for t in source.trials]
    for trial in source.trials:
        run = runs[trial.number]
        assert json.loads(run["parameter_vector"]) == [trial.params["x"], trial.params["y"]]
        assert run["created_at"] == _utc_text(trial.datetime_complete)
        assert run["evaluation_time_seconds"] == pytest.approx(
            (trial.datetime_complete - trial.datetime_start).total_seconds(), abs=1e-6
        )
        kept = json.loads(run["metadata_json"])
        assert kept["optuna_state"] == trial.state.name
        assert kept["datetime_start"] == trial.datetime_start.astimezone(timezone.utc).isoformat()
        assert run["generation_number"] == trial.system_attrs["NSGAIISampler:generation"]
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert run["simulation_status"] == "success"
            assert _floats(run["objectives"]) == trial.values  # exact floats
            assert run["fitness"] == trial.values[0]
        else:
            assert run["simulation_status"] == "failed" and run["fitness"] == math.inf  # first objective minimized
    # The store's Pareto flags are Optuna's own best trials.
    flagged = {n for n, r in runs.items() if r["is_pareto_optimal"]}
    assert flagged == {t.number for t in source.best_trials}


def test_cli_imports_a_single_objective_study_with_categorical_params(optuna_storage, tmp_path):
    url = f"sqlite:///{tmp_path / 'hive.db'}"
    source = optuna.load_study(study_name="tuning", storage=optuna_storage)
    done = hive_cli(
        "--db", url, "import", "optuna", "--storage", optuna_storage, "--study", "tuning",
        "--study-id", "solver_tuning", "--sampler", "RandomSampler",
    )
    assert done.returncode == 0, done.stderr
    con = sqlite3.connect(tmp_path / "hive.db")
    con.row_factory = sqlite3.Row
    study = dict(con.execute("SELECT * FROM studies WHERE study_id = 'solver_tuning'").fetchone())
    runs = [dict(r) for r in con.execute("SELECT * FROM study_runs WHERE study_id = 'solver_tuning' ORDER BY evaluation_number")]
    con.close()
    assert study["study_type"] == "monte_carlo" and study["optimization_objective"] == "value"
    assert json.loads(study["metadata_json"])["sampler_source"] == "given"
    assert json.loads(study["parameter_names"]) == ["learning_rate", "solver"]  # sorted
    choices = ["cbc", "highs", "glpk"]
    for trial, run in zip(source.trials, runs):
        assert json.loads(run["parameter_vector"]) == [trial.params["learning_rate"], choices.index(trial.params["solver"])]
        assert json.loads(run["metadata_json"])["params"] == trial.params
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert run["fitness"] == trial.value
        else:
            assert run["fitness"] == -math.inf  # maximized: the worst value
    assert json.loads(runs[5]["metadata_json"])["intermediate_values"] == {"1": 0.1}
    assert study["best_fitness"] == source.best_value and study["best_solution_id"] == f"solver_tuning:{source.best_trial.number}"


def test_sampler_detection_and_errors(optuna_storage, tmp_path):
    url = f"sqlite:///{tmp_path / 'hive.db'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # QMCSampler: "experimental"
        sampler = optuna.samplers.QMCSampler(seed=0)
    qmc = optuna.create_study(study_name="qmc", storage=optuna_storage, sampler=sampler)
    qmc.optimize(lambda t: t.suggest_float("a", 0, 1), n_trials=4)
    with DatabaseMetadataService(url) as service:
        summary = import_optuna_study(service, optuna_storage, "qmc")
        assert (summary["sampler"], summary["study_type"]) == ("QMCSampler", "monte_carlo")
        unknown = import_optuna_study(service, optuna_storage, "tuning")  # RandomSampler leaves no trace
        assert (unknown["sampler"], unknown["study_type"]) == ("unknown", "genetic_algorithm")

    missing = hive_cli("--db", url, "import", "optuna", "--storage", optuna_storage, "--study", "nope")
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("error: study_name='nope': no such Optuna study")
    assert "design" in missing.stderr and "Traceback" not in missing.stderr
    absent = tmp_path / "absent.db"
    with DatabaseMetadataService(url) as service, pytest.raises(NotFoundError, match="no such SQLite file"):
        import_optuna_study(service, f"sqlite:///{absent}", "x")
    assert not absent.exists()  # not created as a side effect
