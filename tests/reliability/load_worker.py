"""Processes for the load test (run as scripts).

writer URL STUDY SEED COUNT COMPLETE   log COUNT evaluations in batches of varying size; complete the study if COMPLETE=1
reader URL STOP_FILE OUT_FILE         loop over the read layer until STOP_FILE exists; write what it saw as JSON
"""
import json
import os
import random
import sys
import time

mode, url = sys.argv[1], sys.argv[2]

if mode == "writer":
    from storage import DatabaseMetadataService

    study_id, seed, count, complete = sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1"
    rng = random.Random(seed)
    service = DatabaseMetadataService(url)
    done = 0
    while done < count:
        size = min(count - done, rng.choice([1, 7, 50, 128, 333]))
        service.log_study_runs([
            {"study_id": study_id, "generation_number": done // 100, "parameter_vector": [rng.random(), rng.random()],
             "objectives": [rng.random(), rng.random()]}
            for _ in range(size)
        ])
        done += size
    if complete:
        service.update_study_status(study_id, "completed")
    print("ok", flush=True)
elif mode == "reader":
    from storage.reader import Reader

    stop_file, out_file = sys.argv[3], sys.argv[4]
    reader = Reader(url)
    counts, errors, orphans, loops = [], [], 0, 0
    while not os.path.exists(stop_file) or loops < 3:
        try:
            counts.append(int(reader.analytics("SELECT COUNT(*) FROM study_runs").iloc[0, 0]))
            for front in reader.fetch_rows("SELECT study_id, run_ids FROM pareto_fronts"):
                ids = json.loads(front["run_ids"])
                if ids:
                    found = reader.fetch_rows(
                        "SELECT COUNT(*) AS n FROM study_runs WHERE study_id = :s AND is_pareto_optimal",
                        {"s": front["study_id"]})[0]["n"]
                    orphans += int(found != len(ids))
        except Exception as error:  # noqa: BLE001 - the test asserts there were none
            errors.append(f"{type(error).__name__}: {error}")
        loops += 1
        time.sleep(0.05)
    with open(out_file, "w") as handle:
        json.dump({"counts": counts, "errors": errors, "orphans": orphans, "loops": loops}, handle)
