"""A small experiment dataset, written through the public write API, for the CLI, page and report tests.

Experiment ``toy``: objectives cost (minimize) and quality (maximize), two generations per study,
algorithm A and B with seeds 1-3 each; ``c_other`` (another objective space) and ``nolabel`` (no
``algorithm`` label) belong to it but are left out. Experiment ``tuning``: one objective, accuracy
(maximize), sampler TPE and Random with three seeds each. ``XSS_EXPERIMENT``: markup in the names.
Everything the tests expect is computed from the raw values below by the independent helpers here
(a 2-D hypervolume sweep, scipy, direct counts), never by the code under test.
"""
from __future__ import annotations

import numpy as np

TOY = {
    # study: (algorithm, seed, [(generation, cost, quality), ...])
    "toy_a1": ("A", 1, [(0, 4.0, 5.0), (0, 6.0, 8.0), (1, 3.0, 6.0), (1, 8.0, 9.0)]),
    "toy_a2": ("A", 2, [(0, 5.0, 4.0), (0, 7.0, 7.0), (1, 4.0, 6.0), (1, 9.0, 9.0)]),
    "toy_a3": ("A", 3, [(0, 5.0, 6.0), (0, 6.0, 6.0), (1, 3.0, 5.0), (1, 7.0, 9.0)]),
    "toy_b1": ("B", 1, [(0, 6.0, 3.0), (0, 9.0, 6.0), (1, 5.0, 4.0), (1, 10.0, 7.0)]),
    "toy_b2": ("B", 2, [(0, 7.0, 2.0), (0, 8.0, 5.0), (1, 6.0, 4.0), (1, 10.0, 8.0)]),
    "toy_b3": ("B", 3, [(0, 6.0, 4.0), (0, 10.0, 6.0), (1, 5.0, 2.0), (1, 9.0, 5.0)]),
}
TUNING = {
    # study: (sampler, seed, [(generation, accuracy), ...]); best = the largest
    "tune_tpe1": ("TPE", 1, [(0, 0.80), (1, 0.90)]),
    "tune_tpe2": ("TPE", 2, [(0, 0.85), (1, 0.92)]),
    "tune_tpe3": ("TPE", 3, [(0, 0.91), (1, 0.88)]),
    "tune_rnd1": ("Random", 1, [(0, 0.85), (1, 0.80)]),
    "tune_rnd2": ("Random", 2, [(0, 0.82), (1, 0.88)]),
    "tune_rnd3": ("Random", 3, [(0, 0.86), (1, 0.84)]),
}
XSS_EXPERIMENT = "<img src=x onerror=alert(1)> ![e](https://example.invalid/e.png)"
XSS_GROUP = "**bold** <script>alert(2)</script>"


def build(url: str) -> None:
    from storage import DatabaseMetadataService

    with DatabaseMetadataService(url) as db:
        for study_id, (algorithm, seed, runs) in TOY.items():
            db.create_study({"study_id": study_id, "study_type": "genetic_algorithm", "optimization_objective": "cost,quality",
                             "objective_directions": ["minimize", "maximize"], "parameter_names": ["p"],
                             "experiment": "toy", "labels": {"algorithm": algorithm, "seed": seed},
                             "created_at": "2024-05-01 10:00:00"})
            db.log_study_runs([{"study_id": study_id, "generation_number": g, "parameter_vector": [float(k)],
                                "objectives": [c, q]} for k, (g, c, q) in enumerate(runs)])
            db.update_study_status(study_id, "completed")
        db.create_study({"study_id": "c_other", "study_type": "genetic_algorithm", "optimization_objective": "cost,risk",
                         "objective_directions": ["minimize", "minimize"], "experiment": "toy",
                         "labels": {"algorithm": "C", "seed": 1}})
        db.log_study_runs([{"study_id": "c_other", "generation_number": 0, "objectives": [1.0, 1.0]}])
        db.create_study({"study_id": "nolabel", "study_type": "genetic_algorithm", "optimization_objective": "cost,quality",
                         "objective_directions": ["minimize", "maximize"], "experiment": "toy", "labels": {"seed": 9}})
        db.log_study_runs([{"study_id": "nolabel", "generation_number": 0, "objectives": [1.0, 10.0]}])

        for study_id, (sampler, seed, runs) in TUNING.items():
            db.create_study({"study_id": study_id, "study_type": "bayesian_optimization", "optimization_objective": "accuracy",
                             "objective_directions": ["maximize"], "experiment": "tuning",
                             "labels": {"sampler": sampler, "seed": seed}})
            db.log_study_runs([{"study_id": study_id, "generation_number": g, "objectives": [v]} for g, v in runs])
            db.update_study_status(study_id, "completed")

        for k, group in enumerate(("plain", XSS_GROUP)):
            db.create_study({"study_id": f"xss_exp_{k}", "study_type": "genetic_algorithm", "experiment": XSS_EXPERIMENT,
                             "optimization_objective": "cost", "labels": {"algorithm": group, "seed": 1}})
            db.log_study_runs([{"study_id": f"xss_exp_{k}", "generation_number": 0, "objectives": [1.0 + k]}])


# ----------------------------------------------------------------------------- independent answers


def hypervolume_2d(points_min, reference) -> float:
    """2-D hypervolume (minimization) by a sweep over the points sorted by the first objective."""
    total, best_y = 0.0, reference[1]
    for x, y in sorted(map(tuple, points_min)):
        if x < reference[0] and y < best_y:
            total += (reference[0] - x) * (best_y - y)
            best_y = y
    return total


def toy_reference() -> tuple[float, float]:
    """The common reference point: none declared, so the worst cost and the worst (lowest) quality of all
    successful runs of the compared studies: (10, 2)."""
    points = [(c, q) for _, _, runs in TOY.values() for _, c, q in runs]
    return max(c for c, _ in points), min(q for _, q in points)


def toy_hypervolumes(up_to_generation: int | None = None) -> dict[str, float]:
    worst_cost, worst_quality = toy_reference()
    return {sid: hypervolume_2d([(c, -q) for g, c, q in runs if up_to_generation is None or g <= up_to_generation],
                                (worst_cost, -worst_quality))
            for sid, (_, _, runs) in TOY.items()}


def a12_by_counting(a, b) -> float:
    wins = sum(x > y for x in a for y in b) + 0.5 * sum(x == y for x in a for y in b)
    return wins / (len(a) * len(b))


def by_group(values: dict[str, float], table: dict) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = {}
    for sid, value in values.items():
        groups.setdefault(table[sid][0], []).append(value)
    return groups


def tuning_best() -> dict[str, float]:
    return {sid: max(v for _, v in runs) for sid, (_, _, runs) in TUNING.items()}


def front_min(runs) -> np.ndarray:
    """A toy study's non-dominated points in minimization form (cost, -quality), sorted by cost."""
    points = [(c, -q) for _, c, q in runs]
    keep = [p for p in points if not any(o[0] <= p[0] and o[1] <= p[1] and o != p for o in points)]
    return np.array(sorted(keep))
