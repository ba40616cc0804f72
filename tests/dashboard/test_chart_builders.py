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


def test_comparison_builders_keep_each_studys_colour_and_name_the_objective():
    import pandas as pd

    from charts.convergence import convergence_figure, hypervolume_comparison_figure
    from charts.pareto import fronts_overlay_figure
    from charts.style import PALETTE, study_colors

    colors = study_colors(["a", "b", "c"])
    assert colors == {"a": PALETTE[0], "b": PALETTE[1], "c": PALETTE[2]}
    history = pd.DataFrame({"generation_number": [0, 1], "best_so_far": [3.0, 2.0]})
    front = pd.DataFrame({"run_id": ["r1", "r2"], "cost": [1.0, 2.0], "co2": [2.0, 1.0]})
    # "c" alone on a chart still gets its own colour, not the first of the palette.
    figures = [
        convergence_figure({"c": history}, show=("best_so_far",), band=False, colors=colors, value_title="cost (min)",
                           title="Best cost (min) so far"),
        fronts_overlay_figure({"b": front, "c": front}, "cost", "co2", colors, title="Pareto fronts: cost (min), co2 (min)"),
        hypervolume_comparison_figure({"c": (np.array([0, 1]), np.array([1.0, 2.0]))}, "cost (min), co2 (min)",
                                      "Reference point cost = 3, co2 = 3: declared by c.", colors),
        fitness_distribution_figure({"a": np.array([1.0, 2.0]), "c": np.array([3.0])}, "box", colors,
                                    value_title="cost (min)", title="cost (min) of successful runs"),
        fitness_distribution_figure({"c": np.array([3.0])}, "ecdf", colors, value_title="cost (min)"),
    ]
    for figure in figures:
        for trace in figure.data:
            study = trace.name.split(" ")[0]
            assert trace.line.color == colors[study], (figure.layout.title.text, trace.name)
    assert figures[0].layout.yaxis.title.text == "cost (min)"
    assert figures[0].layout.title.text == "Best cost (min) so far"
    assert figures[2].layout.title.text == "Hypervolume per generation: cost (min), co2 (min)"
    assert figures[2].layout.title.subtitle.text == "Reference point cost = 3, co2 = 3: declared by c."
    assert figures[3].layout.yaxis.title.text == "cost (min)" and figures[4].layout.xaxis.title.text == "cost (min)"
