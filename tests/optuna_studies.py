"""Real Optuna studies for the Trials tests (tests/read/test_trials_views.py, tests/dashboard/test_trials_page.py):
TPE with a median pruner, intermediate values, a log, an integer and a categorical parameter and a
constraint; a study built so that one parameter dominates; a two-objective NSGA-II study."""
from __future__ import annotations

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def tpe_study(n_trials: int = 80) -> optuna.Study:
    """Minimize; x dominates; pruned trials with intermediate values; x > 1.5 is infeasible."""
    study = optuna.create_study(study_name="tpe", sampler=optuna.samplers.TPESampler(seed=3),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1))

    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        y = trial.suggest_float("y", 1e-3, 1.0, log=True)
        layers = trial.suggest_int("layers", 1, 4)
        kind = trial.suggest_categorical("kind", ["adam", "sgd"])
        value = 20 * x ** 2 + 0.5 * y + 0.05 * layers + (0.2 if kind == "sgd" else 0.0)
        trial.set_constraint("x_at_most_1.5", x - 1.5)
        trial.set_user_attr("tag", f"layers={layers}")
        for step in range(6):
            trial.report(value + 4.0 / (step + 1), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    study.optimize(objective, n_trials=n_trials)
    return study


def dominant_study(n_trials: int = 60) -> optuna.Study:
    """One parameter dominates by construction: value = 50 x^2 + y + 0.1 [kind == b]."""
    study = optuna.create_study(study_name="dominant", sampler=optuna.samplers.RandomSampler(seed=5))
    study.optimize(lambda t: 50 * t.suggest_float("x", -1, 1) ** 2 + t.suggest_float("y", 0, 1)
                   + (0.1 if t.suggest_categorical("kind", ["a", "b"]) == "b" else 0.0), n_trials=n_trials)
    return study


def two_objective_study(n_trials: int = 40) -> optuna.Study:
    study = optuna.create_study(study_name="moo", directions=["minimize", "maximize"],
                                sampler=optuna.samplers.NSGAIISampler(seed=2, population_size=10))
    study.optimize(lambda t: (t.suggest_float("a", 0, 1) ** 2 + t.suggest_float("b", 0, 1),
                              1 - t.params["a"] + 0.3 * t.params["b"]), n_trials=n_trials)
    return study


def all_studies() -> dict[str, optuna.Study]:
    return {"tpe": tpe_study(), "dominant": dominant_study(), "moo": two_objective_study()}
