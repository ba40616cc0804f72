"""The HTTP server under load and faults: many clients logging batches through the remote client,
the server killed (SIGKILL) and restarted mid-load, eight projects at once.

Each client has a study of its own in one of the projects (client i: project P{i % projects}) and
logs batches of --batch evaluations through ``DatabaseMetadataService(server_url, api_key=...)``,
which retries connection faults with backoff and sends each batch with an idempotency key. A batch
counts as acknowledged when the call returned its run_ids. At the end, read back with plain SQL:

- lost: acknowledged evaluations that are not stored;
- doubled: evaluations stored more than once (a batch written twice would show as more stored rows
  than sent, or as repeated parameter vectors in one study);
- foreign: studies of another project that any client's list showed.

    python bench/bench_server.py                       # SQLite file, 32 clients, 120 s, a kill at 40 s
    python bench/bench_server.py --db postgresql://hive:...@localhost/hive_bench --clients 32
    python bench/bench_server.py --db postgresql://hive:...@localhost/hive_bench \
        --serve-as postgresql://hive_app:...@localhost/hive_bench    # the server as the application role

With ``--serve-as`` the server connects as that role (NOSUPERUSER NOBYPASSRLS, owning nothing), as
the README's deployment does; the bench grants it first as ``--db``'s owner (``hive-cli db grant``).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from storage import DatabaseMetadataService  # noqa: E402
from storage.engine import create_engine, resolve_url, transaction  # noqa: E402
from storage.keys import create_key  # noqa: E402
from storage.privileges import grant_application_role  # noqa: E402


class ServerProcess:
    def __init__(self, db_url: str, port: int, log: Path):
        self.db_url, self.port, self.log = db_url, port, log
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "hive_cli", "serve", "--db", self.db_url, "--port",
                                         str(self.port)], cwd=ROOT, stdout=self.log.open("a"), stderr=subprocess.STDOUT)
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.05)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def client(index: int, base: str, key: str, batch: int, until: float, out: dict) -> None:
    study = f"load_{index:02d}"
    acknowledged, errors, foreign = 0, [], set()
    with DatabaseMetadataService(base, api_key=key) as db:
        db.create_study({"study_id": study, "study_type": "genetic_algorithm", "optimization_objective": "f,g"})
        sent = 0
        while time.monotonic() < until:
            runs = [{"study_id": study, "generation_number": (sent + i) // batch,
                     "parameter_vector": [float(index), float(sent + i)], "objectives": [float(sent + i), 1.0]}
                    for i in range(batch)]
            try:
                db.log_study_runs(runs)
                acknowledged += batch
            except Exception as error:  # counted and shown: a refusal here is a finding
                errors.append(f"{type(error).__name__}: {error}")
            sent += batch
            if sent % (20 * batch) == 0:
                try:
                    foreign |= {s["study_id"] for s in db.list_studies(limit=200)} - {study} - out["own"][db.project_id]
                except Exception as error:
                    errors.append(f"list: {type(error).__name__}: {error}")
    out["clients"][index] = {"study": study, "acknowledged": acknowledged, "errors": errors, "foreign": sorted(foreign)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--projects", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--kill-at", type=float, default=40, help="seconds into the load (0: no kill)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--serve-as", help="PostgreSQL: the application role's URL the server connects as")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hive_server_bench_"))
    db_url = args.db or f"sqlite:///{folder / 'hive.db'}"
    DatabaseMetadataService(db_url).close()
    owner = create_engine(resolve_url(db_url))
    keys = {f"P{p}": create_key(owner, f"P{p}", "bench")["key"] for p in range(args.projects)}
    if args.serve_as:
        with transaction(owner) as conn:
            grant_application_role(conn, sa.make_url(args.serve_as).username)
    owner.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ServerProcess(args.serve_as or db_url, port, folder / "server.log")
    first_start = server.start()
    base = f"http://127.0.0.1:{port}"
    own = {f"P{p}": {f"load_{i:02d}" for i in range(args.clients) if i % args.projects == p} for p in range(args.projects)}
    out: dict = {"clients": {}, "own": own}
    until = time.monotonic() + args.seconds
    threads = [threading.Thread(target=client, args=(i, base, keys[f"P{i % args.projects}"], args.batch, until, out))
               for i in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    restart = None
    if args.kill_at:
        time.sleep(args.kill_at)
        server.kill()
        killed_at = time.perf_counter() - started
        time.sleep(1.0)
        restart = {"killed_at_s": round(killed_at, 1), "restart_s": round(server.start(), 2)}
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    server.stop()

    engine = create_engine(resolve_url(db_url))
    stored, distinct = {}, {}
    for project in own:
        engine.dispose()
        engine = create_engine(resolve_url(db_url), project)
        with engine.connect() as conn:
            for row in conn.execute(sa.text(
                    "SELECT s.study_id, count(r.run_id) AS n, count(DISTINCT r.parameter_vector) AS d FROM studies s "
                    "LEFT JOIN study_runs r ON r.study_id = s.study_id WHERE s.project_id = :p GROUP BY s.study_id"),
                    {"p": project}):
                stored[row.study_id], distinct[row.study_id] = row.n, row.d
    engine.dispose()
    clients = out["clients"].values()
    acknowledged = sum(c["acknowledged"] for c in clients)
    lost = sum(max(0, c["acknowledged"] - stored.get(c["study"], 0)) for c in clients)
    doubled = sum(stored[s] - distinct[s] for s in stored)
    result = {
        "database": resolve_url(db_url).get_backend_name(),
        "server_role": resolve_url(args.serve_as or db_url).username, "clients": args.clients, "projects": args.projects,
        "seconds": round(elapsed, 1), "batch": args.batch, "server_start_s": round(first_start, 2), "kill": restart,
        "acknowledged": acknowledged, "stored": sum(stored.values()), "lost": lost, "doubled": doubled,
        "unacknowledged_but_stored": sum(stored.values()) - acknowledged,
        "foreign_studies_seen": sum(len(c["foreign"]) for c in clients),
        "errors": sum(len(c["errors"]) for c in clients),
        "first_errors": [e for c in clients for e in c["errors"]][:5],
        "evaluations_per_s": round(sum(stored.values()) / elapsed), "load": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
