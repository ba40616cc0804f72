"""Time the Pareto functions of analysis.pareto on large random inputs.

Run: /work/venv/bin/python bench/bench_pareto.py
Prints the median wall time of 3 runs per case.
"""

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from analysis import pareto  # noqa: E402

RUNS = 3


def median_seconds(function, *args) -> float:
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        function(*args)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def sphere_front(rng, n: int, m: int) -> np.ndarray:
    """n mutually non-dominated points on the positive unit sphere (a concave front)."""
    directions = np.abs(rng.normal(size=(n, m)))
    return 1.0 - directions / np.linalg.norm(directions, axis=1, keepdims=True)


def main() -> None:
    rng = np.random.default_rng(12345)
    random_2d = rng.random((1_000_000, 2))
    random_3d = rng.random((100_000, 3))
    front_2d = sphere_front(rng, 100_000, 2)
    front_3d = sphere_front(rng, 10_000, 3)

    cases = [
        ("non_dominated_mask", "1,000,000 x 2 random", pareto.non_dominated_mask, (random_2d,)),
        ("non_dominated_mask", "100,000 x 3 random", pareto.non_dominated_mask, (random_3d,)),
        ("domination_counts", "1,000,000 x 2 random", pareto.domination_counts, (random_2d,)),
        ("hypervolume", "100,000-point 2-D front", pareto.hypervolume, (front_2d, np.ones(2))),
        ("hypervolume", "10,000-point 3-D front", pareto.hypervolume, (front_3d, np.ones(3))),
    ]
    print(f"{'function':<20} {'input':<26} {'median of 3 (s)':>16}")
    print("-" * 64)
    for name, description, function, args in cases:
        print(f"{name:<20} {description:<26} {median_seconds(function, *args):>16.3f}")


if __name__ == "__main__":
    main()
