"""The seed design's own Testing Strategy (ga-mc-milp-results-schema.md), as written there.

The unit and integration examples are copied verbatim. The seed left the body of
``test_query_best_designs`` as three comments; they are kept, each followed by the code it asks for.
"""
import random

from storage import DatabaseMetadataService


# ---------------------------------------------------------------------------------- Unit Tests

def test_create_study():
    """Test study creation"""
    db = DatabaseMetadataService(":memory:")
    study = {"study_id": "test_ga", "study_type": "genetic_algorithm"}
    assert db.create_study(study)

def test_log_study_run():
    """Test evaluation logging"""
    db = DatabaseMetadataService(":memory:")
    run = {"study_id": "test_ga", "evaluation_number": 0, "fitness": 42.5}
    assert db.log_study_run(run)

def test_query_best_designs():
    """Test best design query"""
    db = DatabaseMetadataService(":memory:")
    db.create_study({"study_id": "best", "study_type": "genetic_algorithm"})
    # Log 10 runs with different fitness values
    fitness = random.Random(7).sample(range(100, 200), 10)
    for number, value in enumerate(fitness):
        db.log_study_run({"study_id": "best", "evaluation_number": number, "parameter_vector": [float(number)],
                          "fitness": float(value)})
    # Query top 3
    best = db.get_best_designs("best", limit=3)
    # Assert correct order
    assert [row["fitness"] for row in best] == sorted(float(v) for v in fitness)[:3]


# --------------------------------------------------------------------------- Integration Tests

def test_ga_study_workflow():
    """Test full GA study workflow"""
    db = DatabaseMetadataService(":memory:")

    # Create study
    study_id = "integration_ga"
    db.create_study({"study_id": study_id, "study_type": "genetic_algorithm"})

    # Log 50 evaluations across 5 generations
    for gen in range(5):
        for ind in range(10):
            db.log_study_run({
                "study_id": study_id,
                "evaluation_number": gen * 10 + ind,
                "generation_number": gen,
                "fitness": random.uniform(100, 200),
            })

        # Log convergence
        db.log_convergence_metrics({
            "study_id": study_id,
            "generation_number": gen,
            "best_fitness": 100 + gen * 10,
        })

    # Query results
    best = db.get_best_designs(study_id, limit=5)
    assert len(best) == 5
    assert best[0]["fitness"] < best[1]["fitness"]  # Ascending order

    convergence = db.get_convergence_history(study_id)
    assert len(convergence) == 5
