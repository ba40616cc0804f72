"""Chart builders send summaries, not samples: checked against numpy on large random samples."""
import numpy as np
import pytest

from charts.distributions import ECDF_POINTS, fitness_distribution_figure, risk_distribution_figure


ECDF_LINES = {"comparison": lambda values: fitness_distribution_figure({"s": values}, "ecdf").data[0],
              "risk": lambda values: next(t for t in risk_distribution_figure(values, None, "cost").data
                                          if t.name == "ECDF")}


@pytest.mark.parametrize("chart", ECDF_LINES)
def test_a_large_ecdf_is_thinned_to_exact_steps(chart):
    rng = np.random.default_rng(3)
    values = np.round(rng.normal(100, 15, 50_000), 1)  # many ties
    values[:10] = [np.inf, -np.inf, np.nan] + [100.0] * 7
    finite = np.sort(values[np.isfinite(values)])
    line = ECDF_LINES[chart](values)
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


def test_the_pareto_frame_is_the_fronts_extent_plus_a_tenth_of_it_each_side():
    import pandas as pd

    from charts.pareto import front_frame, inside, pareto_figure

    front = pd.DataFrame({"run_id": ["a", "b", "c"], "cost": [10.0, 20.0, 30.0], "co2": [5.0, 5.0, 5.0]})
    # cost spans 20 -> 2 each side; co2 is flat at 5 -> 5 % of 5 each side.
    assert front_frame(front, ["cost", "co2"]) == {"cost": (8.0, 32.0), "co2": (4.75, 5.25)}
    # On a log axis in decades: log10 10..30 = 1..1.477, widened by 0.0477 each side.
    low, high = front_frame(front, ["cost"], log_axes=("cost",))["cost"]
    span = np.log10(30) - 1
    assert (np.log10(low), np.log10(high)) == pytest.approx((1 - 0.1 * span, np.log10(30) + 0.1 * span))
    cloud = pd.DataFrame({"run_id": ["d", "e"], "cost": [31.0, 40.0], "co2": [5.1, 5.1]})
    assert inside(cloud, front_frame(front, ["cost", "co2"])).tolist() == [True, False]
    figure = pareto_figure(front, cloud, "cost", "co2")
    assert list(figure.data[0].customdata) == ["d"]                         # the far design is left out
    assert figure.layout.xaxis.range == (8.0, 32.0)
    every = pareto_figure(front, cloud, "cost", "co2", frame=False)
    assert list(every.data[0].customdata) == ["d", "e"] and every.layout.xaxis.range is None


def test_log_scale_only_when_positive_values_span_a_factor_of_ten():
    from charts.style import log_ticks, spans_decades

    assert spans_decades([1.0, 10.0]) and not spans_decades([1.0, 9.9]) and not spans_decades([0.0, 100.0])
    assert not spans_decades([-5.0, 100.0]) and spans_decades([2.0, np.nan], [30.0])
    assert log_ticks([265_000.0, 9_450_000.0]) == [200_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000]


def test_a_solver_chart_goes_log_by_itself_only_when_it_helps():
    import pandas as pd

    from charts.convergence import gap_figure, solver_progress_figure

    far = pd.DataFrame({"generation_number": [0, 1], "best_fitness": [900.0, 50.0], "dual_bound": [None, 40.0],
                        "relative_gap": [None, 0.2], "elapsed_seconds": [0.5, 1.5]})
    near = far.assign(best_fitness=[60.0, 50.0])
    assert solver_progress_figure({"m": far}, "cost (min)").layout.yaxis.type == "log"
    assert solver_progress_figure({"m": near}, "cost (min)").layout.yaxis.type != "log"
    gap = gap_figure({"m": far})
    assert list(gap.data[0].y)[1] == pytest.approx(20.0) and gap.layout.xaxis.title.text == "solver time (s)"


def test_risk_lines_are_named_in_the_legend_and_nothing_says_new_text():
    from charts.distributions import risk_distribution_figure

    risk = {"percentile_5": 1.0, "percentile_50": 2.0, "percentile_95": 3.0, "var_95": 3.0, "cvar_95": 3.5}
    figure = risk_distribution_figure(np.arange(1.0, 5.0), risk, "cost")
    assert "new text" not in figure.to_json()
    assert [a.text for a in figure.layout.annotations] == ["histogram", "empirical CDF"]
    assert [t.name for t in figure.data if t.showlegend is not False] == ["P5 = 1", "P50 = 2", "P95 = 3", "VaR95 = 3",
                                                                          "CVaR95 = 3.5"]


def test_a_far_worst_generation_does_not_flatten_the_convergence_curves():
    import pandas as pd

    from charts.convergence import convergence_figure

    # Generation 1's worst design is wild (1,000); the others stay between 8 and 15.
    history = pd.DataFrame({"generation_number": [0, 1, 2], "best_fitness": [10.0, 9.0, 8.0],
                            "average_fitness": [12.0, 11.0, 10.0], "fitness_std_dev": [1.0, 1.0, 1.0],
                            "worst_fitness": [15.0, 1000.0, 14.0], "best_so_far": [10.0, 9.0, 8.0]})
    figure = convergence_figure({"s": history})
    low, high = figure.layout.yaxis.range
    # Framed: best, average +- std (8 .. 13) and the near worst values (15, 14): 8 .. 15, padded by 5 %.
    assert (low, high) == pytest.approx((8.0 - 0.35, 15.0 + 0.35))
    assert 1000.0 in figure.data[3].y                      # the worst line is still drawn in full
    # A worst line near the others is simply drawn: no frame.
    calm = history.assign(worst_fitness=[15.0, 14.0, 14.0])
    assert convergence_figure({"s": calm}).layout.yaxis.range is None
    # On a log axis nothing is framed (the spike fits).
    assert convergence_figure({"s": history}, log_y=True).layout.yaxis.range is None
