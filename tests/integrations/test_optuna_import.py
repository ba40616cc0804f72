"""Optuna studies imported into the store, compared field by field with what Optuna's own API says.

Every study here is made by real Optuna (5.0): constrained single- and multi-objective studies,
pruned and failed trials with learning curves, NaN and infinite user attributes, categorical
parameters, a conditional search space, several samplers, trials across a daylight-saving change.
What was stored is read back with plain SQL (and, for parameters by name, the store's export
layer) on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import warnings
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from integrations.optuna_import import import_optuna_study
from storage import DatabaseMetadataService, NotFoundError, ValidationError
from storage.studies import exports, queries

TOKENS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
IMPORTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
BERLIN = ZoneInfo("Europe/Berlin")


def hive_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hive_cli", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def _tokens_back(value):
    """The store's "NaN" / "Infinity" / "-Infinity" strings back to floats, anywhere in a JSON value."""
    if isinstance(value, str):
        return TOKENS.get(value, value)
    if isinstance(value, list):
        return [_tokens_back(v) for v in value]
    if isinstance(value, dict):
        return {k: _tokens_back(v) for k, v in value.items()}
    return value


def _same(a, b) -> bool:
    """Equal as JSON with NaN equal to NaN (json.dumps writes both as NaN)."""
    return json.dumps(a, sort_keys=True, allow_nan=True) == json.dumps(b, sort_keys=True, allow_nan=True)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _feasible(trial) -> bool:
    # Optuna's rule (Study.best_trial's documentation): feasible when every constraint value is <= 0.
    return all(v <= 0.0 for v in trial.constraints.values())


def _runs(sql, study_id: str) -> dict[int, dict]:
    return {r["evaluation_number"]: r for r in sql("SELECT * FROM study_runs WHERE study_id = :s", s=study_id)}


def _by_params(trials) -> list:
    """The first trial of each distinct parameter set: the store counts a design once."""
    seen, out = set(), []
    for trial in sorted(trials, key=lambda t: t.number):
        key = tuple(sorted(trial.params.items()))
        if key not in seen:
            seen.add(key)
            out.append(trial)
    return out


def _dominates(a: list[float], b: list[float], directions: list[str]) -> bool:
    signs = [1 if d == "minimize" else -1 for d in directions]
    x, y = [s * v for s, v in zip(signs, a)], [s * v for s, v in zip(signs, b)]
    return all(p <= q for p, q in zip(x, y)) and any(p < q for p, q in zip(x, y))


# --------------------------------------------------------------------------------- Optuna studies


@pytest.fixture(scope="module")
def optuna_url(tmp_path_factory):
    """One Optuna SQLite file holding the studies below."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path_factory.mktemp('optuna') / 'optuna.db'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # metric names
        warnings.simplefilter("ignore", FutureWarning)  # constraints_func: deprecated in 5.0, still written
        _training_study(url)
        _design_study(url)
        _budget_study(url)
    return url


def _training_study(url: str) -> None:
    """Single objective, TPE; a constraint set by the objective (layers <= 2 is feasible, more
    layers lower the loss); categorical and conditional parameters; every trial but one reports a
    learning curve; failed and pruned trials; NaN and infinite user attributes; one RUNNING and one
    WAITING trial."""
    study = optuna.create_study(study_name="training", storage=url,
                                sampler=optuna.samplers.TPESampler(seed=4, n_startup_trials=6))
    study.set_user_attr("baseline", math.inf)
    study.set_user_attr("notes", {"floor": -math.inf, "target": math.nan, "owner": "ml"})

    def training(trial):
        optimizer = trial.suggest_categorical("optimizer", ["adam", "sgd"])
        use_bn = trial.suggest_categorical("use_bn", [True, False])
        layers = trial.suggest_int("layers", 1, 4)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        if optimizer == "sgd":
            trial.suggest_float("momentum", 0.0, 0.99)  # a conditional search space
        trial.set_user_attr("diverged", math.nan if trial.number % 3 == 0 else 0.25)
        trial.set_user_attr("bounds", [-math.inf, math.inf, 1.5])
        trial.set_user_attr("tag", f"run-{trial.number}")
        trial.set_constraint("depth", layers - 2.5)
        loss = (math.log10(lr) + 2) ** 2 - layers + (0.0 if use_bn else 0.05)
        if trial.number == 13:
            raise optuna.TrialPruned()  # pruned before any report: no value
        for step in range(4):
            trial.report(math.nan if trial.number == 7 and step == 3 else loss + (3 - step) * 0.5, step)
        if trial.number in (3, 9):
            raise RuntimeError("diverged")  # FAIL, with a learning curve
        if trial.number in (5, 7, 11):
            raise optuna.TrialPruned()  # value: the last intermediate value (none for 7: it is NaN)
        return loss

    study.optimize(training, n_trials=24, catch=(RuntimeError,))
    study.ask()  # RUNNING
    study.enqueue_trial({"optimizer": "adam", "use_bn": True, "layers": 1, "lr": 0.01})  # WAITING


def _design_study(url: str) -> None:
    """Two objectives, NSGA-II with two constraints (constraints_func), failed and pruned trials."""
    study = optuna.create_study(
        study_name="design", storage=url, directions=["minimize", "maximize"],
        sampler=optuna.samplers.NSGAIISampler(
            population_size=8, seed=3,
            constraints_func=lambda t: (t.params["x"] - 0.7, 2 - t.params["y"]),
        ),
    )
    study.set_metric_names(["cost", "reliability"])

    def design(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        y = trial.suggest_int("y", 1, 5)
        if trial.number in (4, 11):
            raise RuntimeError("simulation crashed")
        if trial.number in (6, 13):
            raise optuna.TrialPruned()
        return x * y, 1.0 - (x - 0.9) ** 2 + 0.1 * y

    study.optimize(design, n_trials=32, catch=(RuntimeError,))  # four generations


def _budget_study(url: str) -> None:
    """Maximized, named constraints set by the objective (trial.set_constraint), one of them
    infinite; every fourth trial sets none (feasible for Optuna)."""
    study = optuna.create_study(study_name="budget", storage=url, direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=2))

    def budget(trial):
        a, b = trial.suggest_float("a", 0, 1), trial.suggest_float("b", 0, 1)
        if trial.number % 4 != 3:
            trial.set_constraint("cost", a + b - 1.0)
            trial.set_constraint("risk", math.inf if trial.number == 6 else a - 0.8)
        return a + b

    study.optimize(budget, n_trials=20)


# ------------------------------------------------------------------------------------------ tests


def test_constrained_single_objective_with_pruned_failed_and_categorical_trials(optuna_url, service, sql):
    source = optuna.load_study(study_name="training", storage=optuna_url)
    trials = source.get_trials(deepcopy=False)
    imported = [t for t in trials if t.state in IMPORTED]
    # The case the import must get right: the best COMPLETE value is infeasible.
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert not _feasible(min(complete, key=lambda t: t.value)) and _feasible(source.best_trial)

    summary = import_optuna_study(service, optuna_url, "training")
    assert (summary["sampler"], summary["study_type"]) == ("TPESampler", "bayesian_optimization")
    counts = {s: sum(t.state == s for t in trials) for s in TrialState}
    assert (summary["runs"], summary["complete"], summary["pruned"], summary["failed"], summary["skipped"]) == (
        len(imported), counts[TrialState.COMPLETE], counts[TrialState.PRUNED], counts[TrialState.FAIL],
        counts[TrialState.RUNNING] + counts[TrialState.WAITING])
    assert summary["skipped"] == 2 and summary["pruned"] == 4 and summary["failed"] == 2
    assert summary["infeasible"] == sum(not _feasible(t) for t in complete) > 0

    study = sql("SELECT * FROM studies WHERE study_id = 'optuna_training'")[0]
    assert study["run_count"] == len(imported) and study["study_type"] == "bayesian_optimization"
    assert json.loads(study["parameter_names"]) == ["layers", "lr", "momentum", "optimizer", "use_bn"]
    assert json.loads(study["parameter_choices"]) == {"optimizer": ["adam", "sgd"], "use_bn": [True, False]}
    metadata = json.loads(study["metadata_json"])
    assert metadata["sampler"] == "TPESampler" and metadata["constrained"] is True
    assert _same(_tokens_back(metadata["user_attrs"]), source.user_attrs)
    # Best design: Optuna's best trial (the best feasible COMPLETE one), not the infeasible best value.
    assert study["best_solution_id"] == f"optuna_training:{source.best_trial.number}"
    assert study["best_fitness"] == source.best_value
    best = service.get_best_designs("optuna_training", limit=1)
    assert best[0]["evaluation_number"] == source.best_trial.number

    runs = _runs(sql, "optuna_training")
    assert sorted(runs) == [t.number for t in imported]  # each trial once, RUNNING / WAITING left out
    for trial in imported:
        run = runs[trial.number]
        assert run["run_state"] == trial.state.name.lower()
        expected_status = "failed" if trial.state != TrialState.COMPLETE else "success" if _feasible(trial) else "infeasible"
        assert run["simulation_status"] == expected_status, trial.number
        if trial.values is None:  # FAIL, or PRUNED without a usable intermediate value
            assert run["objectives"] is None and run["fitness"] == math.inf
        else:  # COMPLETE, and PRUNED with Optuna's value (its last intermediate value)
            assert _tokens_back(json.loads(run["objectives"])) == trial.values and run["fitness"] == trial.value
        if trial.constraints:
            assert json.loads(run["constraint_violations"]) == {
                "constraints": list(trial.constraints.values()), "names": list(trial.constraints)}
        else:
            assert run["constraint_violations"] is None
        kept = json.loads(run["metadata_json"])
        assert _same(_tokens_back(kept["user_attrs"]), trial.user_attrs)  # NaN and inf attributes kept
        assert _same(_tokens_back(kept.get("system_attrs", {})), trial.system_attrs)   # and Optuna's own
        own = json.loads(run["parameter_names"]) if run["parameter_names"] else None
        assert own == (None if "momentum" in trial.params else sorted(trial.params))
    # The cases the study was built to hold, by Optuna's own account.
    pruned = {t.number: t for t in trials if t.state == TrialState.PRUNED}
    assert pruned[5].value == pruned[5].intermediate_values[3] and pruned[7].value is None
    assert pruned[13].value is None and not pruned[13].intermediate_values

    # Parameters by name, categorical ones as their choice, through the export layer.
    spread = exports.spread_columns(
        queries.query_study_runs(service.reader, "optuna_training", limit=1000),
        queries.get_study(service.reader, "optuna_training"),
    ).set_index("evaluation_number")
    for trial in imported:
        for name in ("layers", "lr", "momentum", "optimizer", "use_bn"):
            cell = spread.at[trial.number, f"param:{name}"]
            if name not in trial.params:
                assert cell is None or cell != cell
            elif name in ("optimizer", "use_bn"):
                assert cell == str(trial.params[name])  # "False", not 1.0
            else:
                assert cell == trial.params[name]

    # Learning curves: every trial's, one row per step, NaN as NULL.
    rows = sql("SELECT v.step, v.value, r.evaluation_number FROM intermediate_values v "
               "JOIN study_runs r ON r.run_id = v.run_id WHERE v.study_id = 'optuna_training'")
    stored: dict[int, dict] = {}
    for row in rows:
        stored.setdefault(row["evaluation_number"], {})[row["step"]] = math.nan if row["value"] is None else row["value"]
    assert _same({str(n): c for n, c in stored.items()},
                 {str(t.number): t.intermediate_values for t in imported if t.intermediate_values})
    assert summary["intermediate_values"] == len(rows) == sum(len(t.intermediate_values) for t in imported)
    assert {t.state for t in imported if t.number in stored} == set(IMPORTED)

    # Filters can tell a pruned run from a failed one.
    pruned_runs = sql("SELECT evaluation_number FROM study_runs WHERE study_id = 'optuna_training' AND run_state = 'pruned'")
    assert sorted(r["evaluation_number"] for r in pruned_runs) == sorted(pruned)

    # Timestamps: completion as created_at, exact datetimes in metadata, the study's span.
    for trial in imported:
        run, kept = runs[trial.number], json.loads(runs[trial.number]["metadata_json"])
        assert run["created_at"] == _utc_text(trial.datetime_complete)
        assert kept["datetime_start"] == trial.datetime_start.astimezone(timezone.utc).isoformat()
        assert kept["datetime_complete"] == trial.datetime_complete.astimezone(timezone.utc).isoformat()
        assert run["evaluation_time_seconds"] == pytest.approx(trial.duration.total_seconds(), abs=1e-6)
    assert study["created_at"] == _utc_text(min(t.datetime_start for t in imported))
    assert study["completed_at"] == _utc_text(max(t.datetime_complete for t in imported))


def test_cli_constrained_multi_objective_front_is_optunas(optuna_url, db_url, sql):
    source = optuna.load_study(study_name="design", storage=optuna_url)
    trials = source.get_trials(deepcopy=False)
    front = {t.number for t in _by_params(source.best_trials)}
    # The case the import must get right: an infeasible trial dominates a trial of Optuna's front.
    infeasible = [t for t in trials if t.state == TrialState.COMPLETE and not _feasible(t)]
    assert any(_dominates(i.values, f.values, ["minimize", "maximize"]) for i in infeasible for f in source.best_trials)

    done = hive_cli("--db", db_url, "import", "optuna", "--storage", optuna_url, "--study", "design")
    assert done.returncode == 0, done.stderr
    counts = {s: sum(t.state == s for t in trials) for s in TrialState}
    assert (f"as 'optuna_design' (genetic_algorithm, sampler NSGAIISampler): {len(trials)} runs "
            f"({counts[TrialState.COMPLETE]} complete, {counts[TrialState.FAIL]} failed, "
            f"{counts[TrialState.PRUNED]} pruned; {len(infeasible)} of the complete infeasible)") in done.stdout

    study = sql("SELECT * FROM studies WHERE study_id = 'optuna_design'")[0]
    assert (study["study_type"], study["status"], study["run_count"]) == ("genetic_algorithm", "completed", len(trials))
    assert study["optimization_objective"] == "cost,reliability"
    assert json.loads(study["objective_directions"]) == ["minimize", "maximize"]
    runs = _runs(sql, "optuna_design")
    assert {n for n, r in runs.items() if r["is_pareto_optimal"]} == front
    stored_front = sql("SELECT run_ids FROM pareto_fronts WHERE study_id = 'optuna_design' AND generation_number IS NULL")
    assert {int(run_id.split(":")[1]) for run_id in json.loads(stored_front[0]["run_ids"])} == front
    with DatabaseMetadataService(db_url) as service:
        assert {r["evaluation_number"] for r in service.get_pareto_front("optuna_design")} == front
    for trial in trials:
        run = runs[trial.number]
        assert json.loads(run["parameter_vector"]) == [trial.params["x"], trial.params["y"]]
        assert run["generation_number"] == trial.system_attrs["NSGAIISampler:generation"]
        assert run["run_state"] == trial.state.name.lower()
        if trial.state == TrialState.COMPLETE:
            assert run["simulation_status"] == ("success" if _feasible(trial) else "infeasible")
            assert _tokens_back(json.loads(run["objectives"])) == trial.values
        else:
            assert run["simulation_status"] == "failed" and run["objectives"] is None
        if trial.constraints:
            assert json.loads(run["constraint_violations"]) == {
                "constraints": list(trial.constraints.values()), "names": list(trial.constraints)}


def test_named_constraints_and_an_infinite_one(optuna_url, service, sql):
    source = optuna.load_study(study_name="budget", storage=optuna_url)
    trials = source.get_trials(deepcopy=False)
    assert any(math.isinf(v) for t in trials for v in t.constraints.values())
    assert not _feasible(max(trials, key=lambda t: t.value))  # the best value is infeasible

    summary = import_optuna_study(service, optuna_url, "budget", "budget", sampler="RandomSampler")
    assert (summary["sampler"], summary["study_type"]) == ("RandomSampler", "monte_carlo")
    runs = _runs(sql, "budget")
    for trial in trials:
        run = runs[trial.number]
        assert run["simulation_status"] == ("success" if _feasible(trial) else "infeasible")
        if trial.constraints:
            stored = json.loads(run["constraint_violations"])
            assert stored["names"] == list(trial.constraints) == ["cost", "risk"]
            assert _tokens_back(stored["constraints"]) == list(trial.constraints.values())
        else:  # no constraint set: feasible, as for Optuna
            assert run["constraint_violations"] is None and run["simulation_status"] == "success"
    study = sql("SELECT best_solution_id, best_fitness FROM studies WHERE study_id = 'budget'")[0]
    assert study["best_solution_id"] == f"budget:{source.best_trial.number}" and study["best_fitness"] == source.best_value


def test_datetimes_are_exact_across_a_daylight_saving_change(tmp_path, db_url, sql):
    """Europe/Berlin turns 03:00 CEST back to 02:00 CET at 2024-10-27 01:00 UTC: Optuna's local
    times of the hour before and after are the same, so only the stored UTC says which it was."""
    url = f"sqlite:///{tmp_path / 'dst.db'}"
    study = optuna.create_study(study_name="dst", storage=url, sampler=optuna.samplers.RandomSampler(seed=0))
    spans = [
        ((2024, 10, 27, 0, 10), (2024, 10, 27, 0, 40)),  # 02:10 - 02:40 CEST
        ((2024, 10, 27, 0, 50), (2024, 10, 27, 1, 20)),  # 02:50 CEST - 02:20 CET: ends "before" it starts
        ((2024, 10, 27, 1, 10), (2024, 10, 27, 1, 40)),  # 02:10 - 02:40 CET, the repeated hour
        ((2024, 3, 31, 0, 30), (2024, 3, 31, 1, 30)),  # 01:30 CET - 03:30 CEST (spring forward)
    ]
    given = []
    for i, (start, complete) in enumerate(spans):
        trial = optuna.trial.create_trial(params={"x": i / 10}, distributions={"x": FloatDistribution(0, 1)},
                                          value=float(i))
        trial.datetime_start = datetime(*start, tzinfo=timezone.utc)
        trial.datetime_complete = datetime(*complete, tzinfo=timezone.utc)
        study.add_trial(trial)
        given.append((trial.datetime_start, trial.datetime_complete))
    berlin = {**os.environ, "TZ": "Europe/Berlin"}
    # Optuna's own datetimes as a machine in Berlin sees them: naive local time.
    shown = subprocess.run([sys.executable, "-c", (
        "import json, optuna; optuna.logging.set_verbosity(optuna.logging.WARNING); "
        f"s = optuna.load_study(study_name='dst', storage={url!r}); "
        "print(json.dumps([[t.datetime_start.isoformat(), t.datetime_complete.isoformat()] for t in s.trials]))")],
        capture_output=True, text=True, env=berlin, timeout=60)
    assert shown.returncode == 0, shown.stderr
    local = [[datetime.fromisoformat(v) for v in pair] for pair in json.loads(shown.stdout)]
    assert local[0][0] == local[2][0] and local[1][1] < local[1][0]  # ambiguous, as described

    done = hive_cli("--db", db_url, "import", "optuna", "--storage", url, "--study", "dst",
                    "--sampler", "RandomSampler", env=berlin)
    assert done.returncode == 0, done.stderr
    runs = _runs(sql, "optuna_dst")
    for number, ((start, complete), (local_start, local_complete)) in enumerate(zip(given, local)):
        run, kept = runs[number], json.loads(runs[number]["metadata_json"])
        assert kept["datetime_start"] == start.isoformat() and kept["datetime_complete"] == complete.isoformat()
        assert run["created_at"] == _utc_text(complete)
        assert run["evaluation_time_seconds"] == (complete - start).total_seconds()
        # What was stored, converted independently, is what Optuna shows in Berlin.
        assert datetime.fromisoformat(kept["datetime_start"]).astimezone(BERLIN).replace(tzinfo=None) == local_start
        assert datetime.fromisoformat(kept["datetime_complete"]).astimezone(BERLIN).replace(tzinfo=None) == local_complete
    stored = sql("SELECT created_at, completed_at FROM studies WHERE study_id = 'optuna_dst'")[0]
    assert stored["created_at"] == _utc_text(min(s for s, _ in given))
    assert stored["completed_at"] == _utc_text(max(c for _, c in given))


def test_sampler_decides_the_study_type(tmp_path, service, sql):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    url = f"sqlite:///{tmp_path / 'samplers.db'}"
    samplers = optuna.samplers
    made = {
        "tpe": samplers.TPESampler(seed=0, n_startup_trials=3),
        "tpe_startup": samplers.TPESampler(seed=0),  # 6 trials, all startup: no trace
        "nsga3": samplers.NSGAIIISampler(seed=0, population_size=4),
        "qmc": samplers.QMCSampler(seed=0),
        "grid": samplers.GridSampler({"x": [0.0, 0.25, 0.5, 0.75, 1.0, 0.1], "n": [1]}),
        "random": samplers.RandomSampler(seed=0),
    }
    studies = {}
    for name, sampler in made.items():
        studies[name] = optuna.create_study(study_name=name, storage=url, sampler=sampler)
        studies[name].optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("n", 1, 1), n_trials=6)
    expected = {  # study name: (sampler, study type)
        "tpe": ("TPESampler", "bayesian_optimization"),
        "tpe_startup": ("unknown", "other"),
        "nsga3": ("NSGAIIISampler", "genetic_algorithm"),
        "qmc": ("QMCSampler", "monte_carlo"),
        "grid": ("GridSampler", "monte_carlo"),
        "random": ("unknown", "other"),
    }
    for name, (sampler, study_type) in expected.items():
        summary = import_optuna_study(service, url, name)
        assert (summary["sampler"], summary["study_type"]) == (sampler, study_type), name
        stored = sql("SELECT study_type, metadata_json FROM studies WHERE study_id = :s", s=f"optuna_{name}")[0]
        assert (json.loads(stored["metadata_json"])["sampler"], stored["study_type"]) == (sampler, study_type)
    # Given by name, or by the live study that ran (its storage is the same RDB file).
    given = import_optuna_study(service, url, "random", "random_given", sampler="RandomSampler")
    assert (given["sampler"], given["sampler_source"], given["study_type"]) == ("RandomSampler", "given", "monte_carlo")
    live = import_optuna_study(service, studies["tpe_startup"], study_id="tpe_live")
    assert (live["sampler"], live["study_type"]) == ("TPESampler", "bayesian_optimization")
    in_memory = optuna.create_study(sampler=samplers.BruteForceSampler(seed=0))
    in_memory.optimize(lambda t: t.suggest_int("k", 0, 3), n_trials=4)
    brute = import_optuna_study(service, in_memory, study_id="brute")
    assert (brute["sampler"], brute["study_type"], brute["complete"]) == ("BruteForceSampler", "monte_carlo", 4)
    runs = _runs(sql, "brute")
    assert [json.loads(runs[t.number]["parameter_vector"]) for t in in_memory.trials] == [[t.params["k"]] for t in in_memory.trials]
    # A live study in an RDB storage: datetimes from its table, exactly (microseconds included).
    con = sqlite3.connect(tmp_path / "samplers.db")
    table = dict(con.execute(
        "SELECT t.number, t.datetime_start FROM trials t JOIN studies s ON s.study_id = t.study_id "
        "WHERE s.study_name = 'tpe_startup'").fetchall())
    con.close()
    for number, run in _runs(sql, "tpe_live").items():
        start = datetime.fromisoformat(json.loads(run["metadata_json"])["datetime_start"])
        assert start == datetime.fromisoformat(table[number]).replace(tzinfo=timezone.utc)


def test_cma_es_is_an_evolution_strategy(tmp_path, service):
    import cmaes  # noqa: F401  (requirements-dev.txt: Optuna's CmaEsSampler needs it)
    url = f"sqlite:///{tmp_path / 'cma.db'}"
    study = optuna.create_study(study_name="cma", storage=url,
                                sampler=optuna.samplers.CmaEsSampler(seed=0, n_startup_trials=1))
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + t.suggest_float("y", -1, 1) ** 2, n_trials=8)
    summary = import_optuna_study(service, url, "cma")
    assert (summary["sampler"], summary["study_type"]) == ("CmaEsSampler", "evolution_strategy")


def test_refusals_name_the_field_and_write_nothing(optuna_url, tmp_path, service, sql):
    def notes(trial):
        if trial.number == 1:
            trial.set_user_attr("when", datetime(2024, 1, 1))  # an in-memory storage keeps any object
        return trial.suggest_float("x", 0, 1)

    in_memory = optuna.create_study(study_name="notes")
    in_memory.optimize(notes, n_trials=2)
    with pytest.raises(ValidationError, match=r"trial 1 user_attrs\['when'\]=datetime\.datetime\(2024, 1, 1, 0, 0\): "
                                              r"a datetime is not JSON"):
        import_optuna_study(service, in_memory)
    assert sql("SELECT study_id FROM studies") == []
    with pytest.raises(ValidationError, match="study_name='other': the study given is 'notes'"):
        import_optuna_study(service, in_memory, "other")

    missing = hive_cli("--db", f"sqlite:///{tmp_path / 'hive.db'}", "import", "optuna", "--storage", optuna_url,
                       "--study", "nope")
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("error: study_name='nope': no such Optuna study")
    assert "design" in missing.stderr and "Traceback" not in missing.stderr
    absent = tmp_path / "absent.db"
    with pytest.raises(NotFoundError, match="no such SQLite file"):
        import_optuna_study(service, f"sqlite:///{absent}", "x")
    assert not absent.exists()  # not created as a side effect
