"""analysis.sensitivity on the Ishigami function (analytic indices) and by hand."""

import numpy as np
import pytest
from scipy import stats
from SALib.sample import sobol as sobol_sample

from analysis import sensitivity
from analysis.uncertainty import InsufficientSamplesError

# Ishigami with a = 7, b = 0.1, inputs uniform on [-pi, pi]: analytic indices.
ISHIGAMI_S1 = np.array([0.3139, 0.4424, 0.0])
ISHIGAMI_ST = np.array([0.5576, 0.4424, 0.2437])
TOLERANCE = 0.05
ISHIGAMI_PROBLEM = {
    "num_vars": 3,
    "names": ["x1", "x2", "x3"],
    "bounds": [[-np.pi, np.pi]] * 3,
}


def ishigami(X, a=7.0, b=0.1):
    return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])


def test_first_order_from_given_random_data_matches_analytic_values():
    rng = np.random.default_rng(2024)
    X = rng.uniform(-np.pi, np.pi, size=(20_000, 3))
    y = ishigami(X)
    y[:7] = np.nan
    result = sensitivity.first_order_indices(X, y, bounds=ISHIGAMI_PROBLEM["bounds"])
    S1, S1_conf = result
    np.testing.assert_allclose(S1, ISHIGAMI_S1, atol=TOLERANCE)
    assert S1_conf.shape == (3,) and np.all(S1_conf >= 0)
    assert result.excluded_count == 7 and result.sample_count == 19_993


def test_total_order_from_saltelli_design_matches_analytic_values():
    X = sobol_sample.sample(ISHIGAMI_PROBLEM, 4096, calc_second_order=False, seed=11)
    y = ishigami(X)
    y[12] = np.inf  # drops the whole base-sample block holding row 12
    result = sensitivity.total_order_indices(X, y, ISHIGAMI_PROBLEM, calc_second_order=False)
    np.testing.assert_allclose(result["ST"], ISHIGAMI_ST, atol=TOLERANCE)
    np.testing.assert_allclose(result["S1"], ISHIGAMI_S1, atol=TOLERANCE)
    assert result["excluded_count"] == 1
    assert result["dropped_base_samples"] == 1
    assert result["base_samples_used"] == 4095
    for key in ("S1_conf", "ST_conf"):
        assert np.all(result[key] >= 0)


def test_total_order_with_second_order_design():
    X = sobol_sample.sample(ISHIGAMI_PROBLEM, 1024, calc_second_order=True, seed=3)
    result = sensitivity.total_order_indices(X, ishigami(X), ISHIGAMI_PROBLEM, calc_second_order=True)
    np.testing.assert_allclose(result["ST"], ISHIGAMI_ST, atol=0.1)
    assert result["S2"].shape == (3, 3)
    # The only interaction in Ishigami is x1-x3: S13 = ST1 - S1 = 0.2437.
    assert result["S2"][0, 2] == pytest.approx(0.2437, abs=0.1)


def test_total_order_rejects_a_design_of_the_wrong_size():
    X = sobol_sample.sample(ISHIGAMI_PROBLEM, 4, calc_second_order=False, seed=1)  # 20 rows
    with pytest.raises(ValueError, match="not a multiple of 8"):
        sensitivity.total_order_indices(X, ishigami(X), ISHIGAMI_PROBLEM, calc_second_order=True)
    with pytest.raises(ValueError, match="rows"):
        sensitivity.total_order_indices(X, ishigami(X)[:-1], ISHIGAMI_PROBLEM, calc_second_order=False)


def test_total_order_needs_two_complete_blocks():
    X = sobol_sample.sample(ISHIGAMI_PROBLEM, 4, calc_second_order=False, seed=1)
    y = ishigami(X)
    y[[0, 5, 10]] = np.nan  # blocks of 5 rows: only the last block stays complete
    with pytest.raises(InsufficientSamplesError, match="at least 2.*got 1"):
        sensitivity.total_order_indices(X, y, ISHIGAMI_PROBLEM, calc_second_order=False)


def test_first_order_needs_enough_samples():
    rng = np.random.default_rng(0)
    X = rng.random((45, 2))
    y = X[:, 0].copy()
    y[:4] = np.nan  # 41 usable rows, 42 needed with 10 harmonics
    with pytest.raises(InsufficientSamplesError, match="at least 42.*got 41"):
        sensitivity.first_order_indices(X, y)


def test_first_order_rejects_bad_shapes_and_bounds():
    with pytest.raises(ValueError, match="rows"):
        sensitivity.first_order_indices(np.zeros((50, 2)), np.zeros(49))
    with pytest.raises(ValueError, match="bounds"):
        sensitivity.first_order_indices(np.zeros((50, 2)), np.zeros(50), bounds=[[0, 1]])


def test_correlations_match_direct_computation_on_finite_rows():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(500, 3))
    y = 2 * X[:, 0] + np.exp(X[:, 1]) + rng.normal(scale=0.1, size=500)
    X[10, 0] = np.nan
    y[20] = np.inf

    pearson, spearman = sensitivity.correlations(X, y)
    result = sensitivity.correlations(X, y)
    for column in range(3):
        used = np.isfinite(y) & np.isfinite(X[:, column])
        expected_pearson = np.corrcoef(X[used, column], y[used])[0, 1]
        expected_spearman = np.corrcoef(
            stats.rankdata(X[used, column]), stats.rankdata(y[used])
        )[0, 1]
        assert pearson[column] == pytest.approx(expected_pearson, rel=1e-10)
        assert spearman[column] == pytest.approx(expected_spearman, rel=1e-10)
    np.testing.assert_array_equal(result.sample_counts, [498, 499, 499])


def test_correlations_constant_input_is_nan_and_too_few_samples_raise():
    X = np.column_stack([np.arange(5.0), np.ones(5)])
    pearson, spearman = sensitivity.correlations(X, np.arange(5.0) ** 2)
    assert np.isnan(pearson[1]) and np.isnan(spearman[1])
    assert spearman[0] == pytest.approx(1.0)
    with pytest.raises(InsufficientSamplesError, match="at least 3.*got 2"):
        sensitivity.correlations(X, [1.0, 2.0, np.nan, np.nan, np.nan])


def test_importance_ranks():
    np.testing.assert_array_equal(
        sensitivity.importance_ranks([0.2, 0.6, 0.1], [0.9, 0.0, 0.0]), [2, 1, 3]
    )
    # Total-order all NaN: fall back to first order; NaN ranks last; ties share.
    np.testing.assert_array_equal(
        sensitivity.importance_ranks([np.nan] * 4, [0.3, np.nan, 0.3, 0.5]), [2, 4, 2, 1]
    )
    np.testing.assert_array_equal(sensitivity.importance_ranks(None, [0.1, 0.2]), [2, 1])
    with pytest.raises(ValueError):
        sensitivity.importance_ranks(None, None)
