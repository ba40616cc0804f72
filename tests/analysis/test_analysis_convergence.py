"""analysis.convergence against hand-computed tables."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis.convergence import convergence_history

NAN = math.nan
GENERATIONS = [0, 0, 0, 1, 1, 2, 2, 2, 3, 4, 4]
FITNESS = [5.0, 3.0, NAN, 4.0, math.inf, 3.0, 2.0, 2.5, NAN, 2.0, 7.0]

COLUMNS = [
    "generation_number",
    "best_fitness",
    "average_fitness",
    "worst_fitness",
    "fitness_std_dev",
    "best_so_far",
    "stagnation_count",
    "evaluations_in_generation",
    "population_diversity",
    "nonfinite_count",
]

# Worked by hand. Generation 2: values 3, 2, 2.5 -> std = sqrt((0.25 + 0.25 + 0) / 3).
SHARED = {
    "generation_number": [0, 1, 2, 3, 4],
    "average_fitness": [4.0, 4.0, 2.5, NAN, 4.5],
    "fitness_std_dev": [1.0, 0.0, math.sqrt(1 / 6), NAN, 2.5],
    "evaluations_in_generation": [3, 2, 3, 1, 2],
    "nonfinite_count": [1, 1, 0, 1, 0],
}


def assert_column(frame, name, expected):
    np.testing.assert_allclose(frame[name].to_numpy(dtype=float), expected, equal_nan=True)


def test_columns_are_exactly_the_documented_ones():
    frame = convergence_history(GENERATIONS, FITNESS, "minimize")
    assert list(frame.columns) == COLUMNS


def test_minimize_table():
    frame = convergence_history(GENERATIONS, FITNESS, "minimize")
    for name, expected in SHARED.items():
        assert_column(frame, name, expected)
    assert_column(frame, "best_fitness", [3.0, 4.0, 2.0, NAN, 2.0])
    assert_column(frame, "worst_fitness", [5.0, 4.0, 3.0, NAN, 7.0])
    assert_column(frame, "best_so_far", [3.0, 3.0, 2.0, 2.0, 2.0])
    # Generation 4 only equals the best (2.0): not a strict improvement.
    assert frame["stagnation_count"].tolist() == [0, 1, 0, 1, 2]
    assert_column(frame, "population_diversity", [NAN] * 5)


def test_maximize_table():
    frame = convergence_history(GENERATIONS, FITNESS, "maximize")
    for name, expected in SHARED.items():
        assert_column(frame, name, expected)
    assert_column(frame, "best_fitness", [5.0, 4.0, 3.0, NAN, 7.0])
    assert_column(frame, "worst_fitness", [3.0, 4.0, 2.0, NAN, 2.0])
    assert_column(frame, "best_so_far", [5.0, 5.0, 5.0, 5.0, 7.0])
    assert frame["stagnation_count"].tolist() == [0, 1, 2, 3, 0]


def test_generations_before_any_finite_value_and_unsorted_input():
    frame = convergence_history([7, 5, 6, 5], [1.0, NAN, 3.0, -math.inf], "minimize")
    assert_column(frame, "generation_number", [5, 6, 7])
    assert_column(frame, "best_so_far", [NAN, 3.0, 1.0])
    assert frame["stagnation_count"].isna().tolist() == [True, False, False]
    assert frame["stagnation_count"].iloc[1:].tolist() == [0, 0]
    assert_column(frame, "nonfinite_count", [2, 0, 0])
    assert frame["stagnation_count"].dtype == "Int64"


def test_population_diversity_by_hand():
    generations = [0, 0, 1, 1, 1, 2]
    # Column 1 ranges over [0, 2], column 2 over [0, 4], column 3 is constant.
    parameters = np.array(
        [
            [0.0, 0.0, 9.0],
            [2.0, 4.0, 9.0],
            [1.0, 2.0, 9.0],
            [1.0, 2.0, 9.0],
            [NAN, 0.0, 9.0],  # left out: non-finite parameter
            [0.0, math.inf, 9.0],  # generation 2 has no usable row
        ]
    )
    frame = convergence_history(generations, [1.0] * 6, "minimize", parameters)
    # Generation 0 scales to (0,0) and (1,1): both sqrt(0.5) from (0.5, 0.5).
    assert_column(frame, "population_diversity", [math.sqrt(0.5), 0.0, NAN])


def test_one_dimensional_parameters():
    frame = convergence_history([0, 0, 1, 1], [1.0, 2.0, 3.0, 4.0], "minimize", [0.0, 10.0, 5.0, 5.0])
    assert_column(frame, "population_diversity", [0.5, 0.0])


def test_empty_input_gives_empty_table():
    frame = convergence_history([], [], "maximize")
    assert list(frame.columns) == COLUMNS
    assert len(frame) == 0


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="fitness"):
        convergence_history([0, 1], [1.0], "minimize")
    with pytest.raises(ValueError, match="direction"):
        convergence_history([0], [1.0], "minimise")
    with pytest.raises(ValueError, match="parameters"):
        convergence_history([0, 1], [1.0, 2.0], "minimize", np.zeros((3, 2)))
    with pytest.raises(ValueError, match="generations"):
        convergence_history([0.0, NAN], [1.0, 2.0], "minimize")


def test_matches_pandas_groupby_on_random_data():
    rng = np.random.default_rng(3)
    generations = rng.integers(0, 30, 5000)
    fitness = rng.normal(size=5000)
    fitness[rng.random(5000) < 0.05] = NAN
    frame = convergence_history(generations, fitness, "minimize")
    grouped = pd.Series(fitness).groupby(generations)
    np.testing.assert_allclose(frame["best_fitness"], grouped.min())
    np.testing.assert_allclose(frame["average_fitness"], grouped.mean())
    np.testing.assert_allclose(frame["fitness_std_dev"], grouped.std(ddof=0))
    np.testing.assert_array_equal(frame["evaluations_in_generation"], grouped.size())
