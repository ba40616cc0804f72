"""A separate optimizer process for the concurrency tests (run as a script, not imported by pytest).

usage: concurrency_worker.py MODE URL START_AT [ARGS...]
Every mode first sleeps until START_AT (epoch seconds) so all workers begin together.
"""
import random
import sys
import time

from storage import DatabaseMetadataService, DuplicateError

mode, url, start_at, *args = sys.argv[1:]
time.sleep(max(0.0, float(start_at) - time.time()))

if mode == "open":
    service = DatabaseMetadataService(url)
    print("created" if service.created_schema else "existing", flush=True)
elif mode == "log":  # ARGS: study_id count seed
    study_id, count, seed = args[0], int(args[1]), int(args[2])
    rng = random.Random(seed)
    service = DatabaseMetadataService(url)
    done = 0
    while done < count:
        size = min(count - done, rng.randint(1, 250))
        service.log_study_runs([
            {"study_id": study_id, "parameter_vector": [rng.random() for _ in range(4)],
             "objectives": [rng.random(), rng.random()], "generation_number": seed,
             "metadata_json": {"worker": seed}}
            for _ in range(size)
        ])
        done += size
    print("ok", flush=True)
elif mode == "explicit":  # ARGS: study_id first count
    study_id, first, count = args[0], int(args[1]), int(args[2])
    service = DatabaseMetadataService(url)
    try:
        service.log_study_runs([
            {"study_id": study_id, "evaluation_number": first + i, "parameter_vector": [1.0], "fitness": float(i)}
            for i in range(count)
        ])
        print("ok", flush=True)
    except DuplicateError as error:
        print(f"duplicate: {error}", flush=True)
elif mode == "bigbatch":  # ARGS: study_id count
    study_id, count = args[0], int(args[1])
    service = DatabaseMetadataService(url)
    batch = [{"study_id": study_id, "parameter_vector": [float(i), 2.0], "fitness": float(i)} for i in range(count)]
    print("ready", flush=True)
    service.log_study_runs(batch)
    print("committed", flush=True)
else:
    raise SystemExit(f"unknown mode {mode}")
