"""integrations.monte_carlo.run_monte_carlo end to end, on small functions with known answers."""
from __future__ import annotations

import json

import numpy as np
import pytest
from SALib.sample import sobol as sobol_sample
from scipy import stats

from integrations.monte_carlo import run_monte_carlo
from storage import DuplicateError, ValidationError


def test_saltelli_study_of_an_additive_function(service, sql):
    # y = 2a + b with a, b ~ U(0, 1): Var = 4/12 + 1/12, so S_a = 0.8 and S_b = 0.2, first = total.
    calls = []

    def function(sample):
        calls.append(sample)
        return 2 * sample["a"] + sample["b"]

    result = run_monte_carlo(
        service, "additive", {"a": (0.0, 1.0), "b": (0.0, 1.0)}, function, 512,
        method="saltelli", seed=5, objective_names=["y"], batch_size=300,
    )

    study = sql("SELECT * FROM studies WHERE study_id = 'additive'")[0]
    assert (study["study_type"], study["status"], study["run_count"]) == ("monte_carlo", "completed", 512 * 4)
    sampling = json.loads(study["metadata_json"])["sampling"]
    assert sampling["method"] == "saltelli" and sampling["base_samples"] == 512
    assert sampling["calc_second_order"] is False and sampling["bounds"] == [[0.0, 1.0], [0.0, 1.0]]
    # The runs are SALib's design for this seed, in design order, with the function's value.
    design = sobol_sample.sample(
        {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1], [0, 1]]}, 512, calc_second_order=False, seed=5
    )
    runs = sql("SELECT parameter_vector, fitness FROM study_runs WHERE study_id = 'additive' ORDER BY evaluation_number")
    stored = np.array([json.loads(r["parameter_vector"]) for r in runs])
    assert np.array_equal(stored, design)
    assert [r["fitness"] for r in runs] == [2 * a + b for a, b in design.tolist()]
    assert len(calls) == len(design)

    rows = sql("SELECT * FROM sensitivity_analysis WHERE study_id = 'additive' ORDER BY parameter_index")
    assert [r["sobol_total"] for r in rows] == pytest.approx([0.8, 0.2], abs=0.05)
    assert [r["sobol_first_order"] for r in rows] == pytest.approx([0.8, 0.2], abs=0.05)
    assert [r["importance_rank"] for r in rows] == [1, 2]
    assert result["sampling"] == "saltelli" and result["warnings"] == []


def test_random_study_with_distributions_failures_and_a_maximized_objective(service, sql):
    x_dist = stats.norm(10.0, 2.0)

    def margin(sample):
        if sample["x"] > 14.0:  # the simulator crashes above this: recorded as a failed run
            raise RuntimeError("solver diverged")
        return [sample["x"] * sample["y"], sample["y"] - sample["x"]]

    result = run_monte_carlo(
        service, "random", {"x": x_dist, "y": (0.0, 5.0)}, margin, 2000, seed=3,
        objective_names=["revenue", "slack"], objective_directions=["maximize", "minimize"],
    )

    runs = sql("SELECT * FROM study_runs WHERE study_id = 'random' ORDER BY evaluation_number")
    X = np.array([json.loads(r["parameter_vector"]) for r in runs])
    # The samples follow the distributions (Kolmogorov-Smirnov, deterministic for this seed).
    assert stats.kstest(X[:, 0], x_dist.cdf).pvalue > 0.01
    assert stats.kstest(X[:, 1], stats.uniform(0, 5).cdf).pvalue > 0.01
    crashed = X[:, 0] > 14.0
    assert crashed.sum() > 0
    assert [r["simulation_status"] for r in runs] == ["failed" if c else "success" for c in crashed]
    failed = [r for r in runs if r["simulation_status"] == "failed"]
    assert all(r["fitness"] == -np.inf for r in failed)  # the worst value of a maximized first objective
    assert json.loads(failed[0]["metadata_json"]) == {"error": "RuntimeError: solver diverged"}

    ok = ~crashed
    revenue = X[ok, 0] * X[ok, 1]
    rows = {r["objective_name"]: r for r in sql("SELECT * FROM uncertainty_analysis WHERE study_id = 'random'")}
    assert rows["revenue"]["sample_count"] == ok.sum() and rows["revenue"]["excluded_count"] == crashed.sum()
    p5 = np.percentile(revenue, 5)
    assert rows["revenue"]["var_95"] == pytest.approx(p5, rel=1e-12)  # maximized: the low tail
    assert rows["revenue"]["cvar_95"] == pytest.approx(revenue[revenue <= p5].mean(), rel=1e-12)
    slack = X[ok, 1] - X[ok, 0]
    assert rows["slack"]["var_95"] == pytest.approx(np.percentile(slack, 95), rel=1e-12)  # minimized: the high tail
    assert f"{crashed.sum()} of 2,000 runs excluded ({crashed.sum()} failed" in result["warnings"][0]
    assert sql("SELECT status FROM studies WHERE study_id = 'random'")[0]["status"] == "completed"


def test_vectorized_function_and_refusals(service, sql):
    result = run_monte_carlo(
        service, "vector", {"p": (1.0, 2.0), "q": stats.expon(scale=3.0)},
        lambda s: s["p"] ** 2 + 0.01 * s["q"], 100, vectorized=True, seed=1, batch_size=64,
    )
    assert [r["objective_name"] for r in result["uncertainty"]] == ["value"]
    values = [r["fitness"] for r in sql("SELECT fitness FROM study_runs WHERE study_id = 'vector'")]
    assert len(values) == 100 and min(values) >= 1.0

    with pytest.raises(DuplicateError):
        run_monte_carlo(service, "vector", {"p": (0.0, 1.0)}, lambda s: s["p"], 50)
    with pytest.raises(ValidationError, match="power of two base samples, e.g. 64 or 128"):
        run_monte_carlo(service, "odd", {"p": (0.0, 1.0)}, lambda s: s["p"], 100, method="saltelli")
    with pytest.raises(ValidationError, match=r"parameters\['p'\]=\(1.0, 0.0\): expected finite low < high"):
        run_monte_carlo(service, "odd", {"p": (1.0, 0.0)}, lambda s: s["p"], 100)
    with pytest.raises(ValidationError, match="method='lhs'"):
        run_monte_carlo(service, "odd", {"p": (0.0, 1.0)}, lambda s: s["p"], 100, method="lhs")
    with pytest.raises(ValidationError, match=r"failed on all 50 samples of the first batch.*First error: KeyError: 'q'"):
        run_monte_carlo(service, "odd", {"p": (0.0, 1.0)}, lambda s: s["q"], 50)
    assert sql("SELECT COUNT(*) AS n FROM studies WHERE study_id = 'odd'")[0]["n"] == 0
