"""analysis.uncertainty.risk_summary against direct numpy computations."""

import numpy as np
import pytest

from analysis.uncertainty import InsufficientSamplesError, risk_summary


def sample_with_non_finite():
    rng = np.random.default_rng(5)
    values = rng.lognormal(size=1000)
    values[[3, 50, 700]] = [np.nan, np.inf, -np.inf]
    return values


def test_minimize_tail_is_the_upper_five_percent():
    values = sample_with_non_finite()
    finite = values[np.isfinite(values)]
    summary = risk_summary(values, "minimize")

    var_95 = np.percentile(finite, 95)
    expected = {
        "mean_value": finite.mean(),
        "median_value": np.median(finite),
        "std_dev": finite.std(ddof=1),
        "percentile_5": np.percentile(finite, 5),
        "percentile_25": np.percentile(finite, 25),
        "percentile_50": np.percentile(finite, 50),
        "percentile_75": np.percentile(finite, 75),
        "percentile_95": var_95,
        "var_95": var_95,
        "cvar_95": finite[finite >= var_95].mean(),
        "sample_count": 997,
        "excluded_count": 3,
    }
    assert summary.keys() == expected.keys()
    for key, value in expected.items():
        assert summary[key] == pytest.approx(value, rel=1e-12), key
    assert summary["cvar_95"] > summary["var_95"]


def test_maximize_tail_is_the_lower_five_percent():
    values = sample_with_non_finite()
    finite = values[np.isfinite(values)]
    summary = risk_summary(values, "maximize")
    var_95 = np.percentile(finite, 5)
    assert summary["var_95"] == pytest.approx(var_95)
    assert summary["cvar_95"] == pytest.approx(finite[finite <= var_95].mean())
    assert summary["cvar_95"] < summary["var_95"]
    # The distribution statistics do not depend on the direction.
    assert summary["percentile_95"] == risk_summary(values, "minimize")["percentile_95"]


def test_small_hand_example():
    # 1..20: 95th percentile by linear interpolation is 1 + 0.95 * 19 = 19.05.
    values = np.arange(1.0, 21.0)
    summary = risk_summary(values, "minimize")
    assert summary["var_95"] == pytest.approx(19.05)
    assert summary["cvar_95"] == pytest.approx(20.0)
    low = risk_summary(values, "maximize")
    assert low["var_95"] == pytest.approx(1.95)
    assert low["cvar_95"] == pytest.approx(1.0)


def test_too_few_samples_says_how_many():
    with pytest.raises(InsufficientSamplesError, match="at least 2.*got 1") as info:
        risk_summary([1.0, np.nan, np.inf], "minimize")
    assert info.value.available == 1 and info.value.required == 2
    assert isinstance(info.value, ValueError)


def test_bad_direction():
    with pytest.raises(ValueError, match="direction"):
        risk_summary([1.0, 2.0], "max")
