"""Chart builders send summaries, not samples: checked against numpy on large random samples."""
import numpy as np
import pytest

from charts.distributions import ECDF_POINTS, fitness_distribution_figure


def test_a_large_ecdf_is_thinned_to_exact_steps():
    rng = np.random.default_rng(3)
    values = np.round(rng.normal(100, 15, 50_000), 1)  # many ties
    values[:10] = [np.inf, -np.inf, np.nan] + [100.0] * 7
    finite = np.sort(values[np.isfinite(values)])
    line = fitness_distribution_figure({"s": values}, "ecdf").data[0]
    x, y = np.asarray(line.x), np.asarray(line.y)
    assert len(x) <= ECDF_POINTS and np.all(np.diff(x) > 0)
    # Each point is on the true ECDF: the share of finite values <= x.
    np.testing.assert_allclose(y, np.searchsorted(finite, x, side="right") / len(finite))
    assert x[0] == finite[0] and x[-1] == finite[-1] and y[-1] == 1.0


def test_a_box_is_numpy_quartiles_and_tukey_whiskers():
    rng = np.random.default_rng(4)
    values = np.concatenate([rng.exponential(2.0, 20_000), [250.0, -40.0, np.nan, np.inf]])
    finite = values[np.isfinite(values)]
    box = fitness_distribution_figure({"s": values}, "box").data[0]
    q1, median, q3 = np.percentile(finite, [25, 50, 75])
    assert (box.q1[0], box.median[0], box.q3[0]) == pytest.approx((q1, median, q3))
    assert box.mean[0] == pytest.approx(finite.mean())
    iqr = q3 - q1
    assert box.lowerfence[0] == finite[finite >= q1 - 1.5 * iqr].min()
    assert box.upperfence[0] == finite[finite <= q3 + 1.5 * iqr].max()
    assert box.upperfence[0] < 250.0 and box.y is None


def test_an_empty_sample_draws_nothing_and_does_not_fail():
    assert len(fitness_distribution_figure({"s": np.array([np.nan])}, "box").data) == 0
    assert len(fitness_distribution_figure({"s": np.array([])}, "ecdf").data[0].x) == 0
