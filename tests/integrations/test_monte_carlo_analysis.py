"""storage.studies.monte_carlo.analyze_monte_carlo on SQLite and PostgreSQL: what it stores, read back with
plain SQL, against known answers (the Ishigami function's analytic Sobol' indices) and numpy."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from SALib.sample import sobol as sobol_sample

from storage import HiveError, ValidationError
from storage.studies.monte_carlo import NotEnoughSamplesError, analyze_monte_carlo

A, B = 7.0, 0.1
NAMES = ["x1", "x2", "x3"]
BOUNDS = [[-math.pi, math.pi]] * 3


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices() -> tuple[np.ndarray, np.ndarray]:
    """Analytic first- and total-order indices for inputs uniform on [-pi, pi] (Ishigami & Homma 1990)."""
    pi4, pi8 = math.pi**4, math.pi**8
    v1 = 0.5 * (1 + B * pi4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * pi8 * (1 / 18 - 1 / 50)  # the x1-x3 interaction; x3 has no first-order effect
    total_variance = v1 + v2 + v13
    first = np.array([v1, v2, 0.0]) / total_variance
    total = np.array([v1 + v13, v2, v13]) / total_variance
    return first, total


def test_known_answers_are_the_textbook_values():
    first, total = ishigami_indices()
    assert first == pytest.approx([0.314, 0.442, 0.0], abs=1e-3)
    assert total == pytest.approx([0.558, 0.442, 0.244], abs=1e-3)


def _create(service, study_id, metadata=None, objectives="y", directions=None, names=NAMES):
    record = {
        "study_id": study_id, "study_type": "monte_carlo", "optimization_objective": objectives,
        "parameter_names": names,
    }
    if directions is not None:
        record["objective_directions"] = directions
    if metadata is not None:
        record["metadata_json"] = metadata
    service.create_study(record)


def _log(service, study_id, X, Y, **extra):
    service.log_study_runs([
        {"study_id": study_id, "parameter_vector": x.tolist(), "objectives": list(np.atleast_1d(y).tolist()),
         "fitness": float(np.atleast_1d(y)[0]) if np.isfinite(np.atleast_1d(y)[0]) else math.inf, **extra}
        for x, y in zip(X, Y)
    ])


def _sensitivity(sql, study_id, objective="y"):
    return sql(
        "SELECT * FROM sensitivity_analysis WHERE study_id = :s AND objective_name = :o ORDER BY parameter_index",
        s=study_id, o=objective,
    )


def test_first_order_indices_of_a_random_sample(service, sql):
    x = np.random.default_rng(42).uniform(-math.pi, math.pi, size=(20_000, 3))
    y = ishigami(x)
    _create(service, "ishigami_random")  # no sampling design recorded: a random sample
    _log(service, "ishigami_random", x, y)

    result = analyze_monte_carlo(service, "ishigami_random")

    first, _ = ishigami_indices()
    rows = _sensitivity(sql, "ishigami_random")
    assert [r["parameter_name"] for r in rows] == NAMES
    assert [r["sobol_first_order"] for r in rows] == pytest.approx(first.tolist(), abs=0.05)
    assert all(r["sobol_total"] is None and r["sobol_total_conf"] is None for r in rows)
    assert all(0 < r["sobol_first_order_conf"] < 0.05 for r in rows)
    assert [r["importance_rank"] for r in rows] == [2, 1, 3]  # by first order: x2 > x1 > x3
    # Correlations against numpy: Pearson directly, Spearman as Pearson of the ranks (no ties here).
    ranks_y = np.argsort(np.argsort(y))
    for i, row in enumerate(rows):
        assert row["correlation_coefficient"] == pytest.approx(np.corrcoef(x[:, i], y)[0, 1], abs=1e-9)
        assert row["rank_correlation"] == pytest.approx(
            np.corrcoef(np.argsort(np.argsort(x[:, i])), ranks_y)[0, 1], abs=1e-9
        )
    # Every sensitivity row points at the uncertainty row of its objective; the return value is what was stored.
    analysis = sql("SELECT analysis_id FROM uncertainty_analysis WHERE study_id = 'ishigami_random'")
    assert [r["analysis_id"] for r in rows] == [analysis[0]["analysis_id"]] * 3
    assert result["sampling"] == "random" and result["warnings"] == []
    assert [r["sensitivity_id"] for r in result["sensitivity"]] == [r["sensitivity_id"] for r in rows]


def test_total_order_indices_of_a_saltelli_design_recorded_in_the_study(service, sql):
    base = 4096
    problem = {"num_vars": 3, "names": NAMES, "bounds": BOUNDS}
    x = sobol_sample.sample(problem, base, calc_second_order=False, seed=3)
    y = ishigami(x)
    _create(service, "ishigami_saltelli", metadata={
        "sampling": {"method": "saltelli", "base_samples": base, "calc_second_order": False, "bounds": BOUNDS},
    })
    _log(service, "ishigami_saltelli", x, y)

    result = analyze_monte_carlo(service, "ishigami_saltelli")

    first, total = ishigami_indices()
    rows = _sensitivity(sql, "ishigami_saltelli")
    assert [r["sobol_total"] for r in rows] == pytest.approx(total.tolist(), abs=0.05)
    assert [r["sobol_first_order"] for r in rows] == pytest.approx(first.tolist(), abs=0.05)
    assert all(r["sobol_total_conf"] > 0 and r["sobol_first_order_conf"] > 0 for r in rows)
    assert [r["importance_rank"] for r in rows] == [1, 2, 3]  # by total order: x1 > x2 > x3
    assert result["sampling"] == "saltelli"
    unc = sql("SELECT sample_count, excluded_count FROM uncertainty_analysis WHERE study_id = 'ishigami_saltelli'")
    assert unc == [{"sample_count": base * 5, "excluded_count": 0}]


def test_risk_statistics_equal_numpy_and_the_tail_follows_the_direction(service, sql):
    values = np.random.default_rng(7).lognormal(mean=10.0, sigma=0.4, size=3000)
    x = np.random.default_rng(8).random((3000, 3))
    # The same numbers as a cost (minimize: risk in the upper tail) and as a gain (maximize: lower tail).
    _create(service, "risk", objectives="cost,gain", directions=["minimize", "maximize"])
    _log(service, "risk", x, np.column_stack([values, values]))

    analyze_monte_carlo(service, "risk")

    rows = {r["objective_name"]: r for r in sql("SELECT * FROM uncertainty_analysis WHERE study_id = 'risk'")}
    p5, p25, p50, p75, p95 = np.percentile(values, [5, 25, 50, 75, 95])
    for row in rows.values():
        assert row["mean_value"] == pytest.approx(values.mean(), rel=1e-12)
        assert row["median_value"] == pytest.approx(np.median(values), rel=1e-12)
        assert row["std_dev"] == pytest.approx(values.std(ddof=1), rel=1e-12)
        assert [row[f"percentile_{p}"] for p in (5, 25, 50, 75, 95)] == pytest.approx([p5, p25, p50, p75, p95], rel=1e-12)
        assert (row["sample_count"], row["excluded_count"]) == (3000, 0)
    assert rows["cost"]["var_95"] == pytest.approx(p95, rel=1e-12)
    assert rows["cost"]["cvar_95"] == pytest.approx(values[values >= p95].mean(), rel=1e-12)
    assert rows["gain"]["var_95"] == pytest.approx(p5, rel=1e-12)
    assert rows["gain"]["cvar_95"] == pytest.approx(values[values <= p5].mean(), rel=1e-12)
    assert rows["gain"]["cvar_95"] < rows["gain"]["var_95"] < rows["cost"]["var_95"] < rows["cost"]["cvar_95"]


def test_failed_and_non_finite_runs_are_excluded_and_counted(service, sql):
    rng = np.random.default_rng(11)
    x = rng.random((500, 3))
    y = x @ np.array([3.0, 1.0, 0.2])
    y[[5, 50, 250]] = np.nan
    y[[7]] = np.inf
    _create(service, "holes")
    _log(service, "holes", x, y)
    failed = [17, 300]  # runs the simulator reported as failed (their fitness is +inf by the store's rules)
    service.log_study_runs([
        {"study_id": "holes", "parameter_vector": rng.random(3).tolist(), "fitness": math.inf,
         "simulation_status": "failed"} for _ in failed
    ])

    result = analyze_monte_carlo(service, "holes")

    row = sql("SELECT * FROM uncertainty_analysis WHERE study_id = 'holes'")[0]
    finite = y[np.isfinite(y)]
    assert (row["sample_count"], row["excluded_count"]) == (496, 6)
    assert row["mean_value"] == pytest.approx(finite.mean(), rel=1e-12)
    assert row["var_95"] == pytest.approx(np.percentile(finite, 95), rel=1e-12)
    assert result["warnings"] == ["objective 'y': 6 of 502 runs excluded (2 failed, 4 with a non-finite value)"]
    # Correlations use the same 496 runs.
    assert _sensitivity(sql, "holes")[0]["correlation_coefficient"] == pytest.approx(
        np.corrcoef(x[np.isfinite(y), 0], finite)[0, 1], abs=1e-9
    )


def test_an_excluded_run_drops_its_saltelli_block(service, sql):
    base = 64
    x = sobol_sample.sample({"num_vars": 3, "names": NAMES, "bounds": BOUNDS}, base, calc_second_order=False, seed=1)
    y = ishigami(x)
    y[5 * 10 + 2] = np.nan  # a row of block 10
    _create(service, "broken_block", metadata={"sampling": {"method": "saltelli", "base_samples": base}})
    _log(service, "broken_block", x, y)
    result = analyze_monte_carlo(service, "broken_block")
    assert "1 of 64 Saltelli blocks dropped" in " ".join(result["warnings"])
    assert sql("SELECT excluded_count FROM uncertainty_analysis WHERE study_id = 'broken_block'")[0]["excluded_count"] == 1


def test_a_new_analysis_replaces_the_previous_rows(service, sql):
    x = np.random.default_rng(2).random((300, 3))
    _create(service, "again")
    _log(service, "again", x, x.sum(axis=1))
    analyze_monte_carlo(service, "again")
    first_ids = {r["analysis_id"] for r in sql("SELECT analysis_id FROM uncertainty_analysis")}
    analyze_monte_carlo(service, "again")
    assert len(sql("SELECT * FROM uncertainty_analysis WHERE study_id = 'again'")) == 1
    assert len(sql("SELECT * FROM sensitivity_analysis WHERE study_id = 'again'")) == 3
    assert {r["analysis_id"] for r in sql("SELECT analysis_id FROM uncertainty_analysis")}.isdisjoint(first_ids)


def test_too_few_samples_is_an_error_naming_both_counts_and_writes_nothing(service, sql):
    x = np.random.default_rng(5).random((10, 3))
    _create(service, "tiny")
    _log(service, "tiny", x, x.sum(axis=1))
    with pytest.raises(NotEnoughSamplesError, match=r"RBD-FAST\) needs at least 42 usable runs, there are 10") as caught:
        analyze_monte_carlo(service, "tiny")
    assert isinstance(caught.value, HiveError) and (caught.value.available, caught.value.required) == (10, 42)

    _create(service, "tiny_saltelli", metadata={"sampling": {"method": "saltelli", "base_samples": 2}})
    design = sobol_sample.sample({"num_vars": 3, "names": NAMES, "bounds": BOUNDS}, 2, calc_second_order=False, seed=1)
    y = ishigami(design)
    y[0] = np.nan  # one of the two blocks is lost
    _log(service, "tiny_saltelli", design, y)
    with pytest.raises(NotEnoughSamplesError, match="needs at least 2 usable blocks, there are 1"):
        analyze_monte_carlo(service, "tiny_saltelli")

    _create(service, "empty")
    with pytest.raises(NotEnoughSamplesError, match="there are 0"):
        analyze_monte_carlo(service, "empty")
    assert sql("SELECT COUNT(*) AS n FROM uncertainty_analysis")[0]["n"] == 0
    assert sql("SELECT COUNT(*) AS n FROM sensitivity_analysis")[0]["n"] == 0


def test_runs_that_do_not_follow_the_recorded_design_are_refused(service):
    base = 8
    x = sobol_sample.sample({"num_vars": 3, "names": NAMES, "bounds": BOUNDS}, base, calc_second_order=False, seed=1)
    _create(service, "shuffled", metadata={"sampling": {"method": "saltelli", "base_samples": base}})
    order = np.random.default_rng(0).permutation(len(x))
    _log(service, "shuffled", x[order], ishigami(x[order]))
    with pytest.raises(ValidationError, match="not the design's rows in evaluation order"):
        analyze_monte_carlo(service, "shuffled")

    _create(service, "short", metadata={"sampling": {"method": "saltelli", "base_samples": base}})
    _log(service, "short", x[:-5], ishigami(x[:-5]))
    with pytest.raises(ValidationError, match=r"8 base samples x 5 rows = 40 runs .* but the study has 35 runs"):
        analyze_monte_carlo(service, "short")


def test_only_monte_carlo_studies_are_analysed(service):
    service.create_study({"study_id": "ga", "study_type": "genetic_algorithm"})
    with pytest.raises(ValidationError, match="study_type='genetic_algorithm'"):
        analyze_monte_carlo(service, "ga")
    with pytest.raises(HiveError, match="no such study"):
        analyze_monte_carlo(service, "missing")
    _create(service, "bad_meta", metadata={"sampling": {"method": "saltelli", "base_samples": "many"}})
    with pytest.raises(ValidationError, match=r"metadata_json.sampling.base_samples='many'"):
        analyze_monte_carlo(service, "bad_meta")


def test_the_stored_design_metadata_is_json(service, sql):
    # The key this module defines, as another reader (DuckDB, the dashboard) would parse it.
    _create(service, "meta", metadata={"sampling": {"method": "saltelli", "base_samples": 4, "calc_second_order": True}})
    stored = json.loads(sql("SELECT metadata_json FROM studies WHERE study_id = 'meta'")[0]["metadata_json"])
    assert stored["sampling"] == {"method": "saltelli", "base_samples": 4, "calc_second_order": True}
