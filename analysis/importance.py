"""Which parameters matter for an objective, from any study's evaluations (not only designed samples).

Inputs: a float array ``X`` (n, d), one column per parameter in its internal form (a categorical
parameter as the index of its choice), the objective ``y`` (n,), and each parameter's search space
as an Optuna distribution. Methods:

- ``"ped_anova"`` (the default): Optuna's default evaluator (``PedAnovaImportanceEvaluator``,
  PED-ANOVA: a functional-ANOVA-style measure of how much each parameter's distribution in the best
  10 % of evaluations differs from all of them), fast at any size.
- ``"fanova"``: Optuna's own fANOVA evaluator (``optuna.importance.FanovaImportanceEvaluator``: a
  random forest of 64 trees, then each parameter's share of the variance of its marginal), run on
  an in-memory Optuna study holding exactly these evaluations, and normalized to sum 1 as
  ``optuna.importance.get_param_importances`` returns them. Same evaluations, same search space
  and same seed give Optuna's numbers exactly. Needs scikit-learn.
- ``"sobol"``: first-order Sobol' indices estimated from the given data (RBD-FAST,
  ``analysis.sensitivity.first_order_indices``), with their 95 % confidence half-widths. Needs at
  least 42 evaluations.

Spearman's rank correlation of each parameter with the objective comes with either, as the quick
measure (its sign says which way the objective moves). Rank 1 is the most important parameter.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis import sensitivity

METHODS = {
    "ped_anova": "PED-ANOVA (Optuna's default evaluator; shares sum to 1)",
    "fanova": "fANOVA (Optuna's FanovaImportanceEvaluator, random forest of 64 trees; shares sum to 1)",
    "sobol": "first-order Sobol' index from given data (RBD-FAST), with 95 % confidence",
}
MIN_EVALUATIONS = {"ped_anova": 2, "fanova": 2, "sobol": 42}


@dataclass(frozen=True)
class Importances:
    method: str
    names: list[str]
    importance: np.ndarray
    conf: np.ndarray  # NaN where the method gives no confidence (fANOVA)
    spearman: np.ndarray
    ranks: np.ndarray  # 1 = most important
    sample_count: int


def numeric_space(values: np.ndarray):
    """The search space of a numeric parameter known only from its values: their range."""
    from optuna.distributions import FloatDistribution

    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 0.0)
    return FloatDistribution(low, high)


def parameter_importances(X, y, names: list[str], distributions: list, method: str = "ped_anova",
                          direction: str = "minimize", seed: int = 0) -> Importances:
    """Importance of each column of ``X`` for ``y``; rows with a non-finite value anywhere are left out."""
    if method not in METHODS:
        raise ValueError(f"method={method!r}: one of {', '.join(METHODS)}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    used = np.isfinite(y) & np.isfinite(X).all(axis=1)
    X, y = X[used], y[used]
    if len(y) < MIN_EVALUATIONS[method]:
        from analysis.uncertainty import InsufficientSamplesError

        raise InsufficientSamplesError(METHODS[method], int(len(y)), MIN_EVALUATIONS[method])
    spearman = _spearman(X, y)
    if method in ("fanova", "ped_anova"):
        importance = optuna_importances(X, y, names, distributions, method, direction, seed)
        conf = np.full(len(names), np.nan)
    else:
        importance, conf = sensitivity.first_order_indices(X, y, seed=seed)
    try:
        ranks = sensitivity.importance_ranks(first=importance)
    except ValueError:  # a constant objective: nothing explains it
        ranks = np.full(len(names), len(names), dtype=np.int64)
    return Importances(method, list(names), np.asarray(importance, float), np.asarray(conf, float), spearman,
                       ranks, int(len(y)))


def optuna_importances(X: np.ndarray, y: np.ndarray, names: list[str], distributions: list, method: str,
                       direction: str = "minimize", seed: int = 0) -> np.ndarray:
    """Optuna's importances by ``method`` ("fanova" or "ped_anova"), normalized to sum 1, in the
    order of ``names``."""
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator, get_param_importances

    space = dict(zip(names, distributions))
    trials = [
        optuna.trial.create_trial(
            params={name: dist.to_external_repr(value) for name, dist, value in zip(names, distributions, row)},
            distributions=space, value=float(value))
        for row, value in zip(X.tolist(), y.tolist())
    ]
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # "A new study created in memory" is not news
    try:
        study = optuna.create_study(storage=optuna.storages.InMemoryStorage(), direction=direction)
    finally:
        optuna.logging.set_verbosity(verbosity)
    study.add_trials(trials)
    evaluator = FanovaImportanceEvaluator(seed=seed) if method == "fanova" else PedAnovaImportanceEvaluator()
    shares = get_param_importances(study, evaluator=evaluator, params=list(names))
    return np.array([shares[name] for name in names], dtype=float)


def _spearman(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    if len(y) < sensitivity.MIN_CORRELATION_SAMPLES:
        return np.full(X.shape[1], np.nan)
    return sensitivity.correlations(X, y).spearman
