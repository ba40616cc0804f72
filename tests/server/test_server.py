"""The HTTP server as a real process (``python -m hive_cli serve``) on SQLite and on PostgreSQL (as
the application role), two projects with a key each: status codes, the store's own messages,
project isolation, body limits, idempotent batches, and the remote client with the adapters
working through it. Every stored value is read back with plain SQL, not through the server."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import sqlalchemy as sa

from conftest import as_role, create_pg_database, drop_pg_database, plain_engine
from storage import DatabaseMetadataService, PromptOptimizationStore
from storage.engine import create_engine, resolve_url
from storage.errors import AuthenticationError, DuplicateError, UnknownStudyError, ValidationError
from storage.keys import create_key, revoke_key

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1"


class Server:
    def __init__(self, db_url: str, owner_url: str, folder: Path):
        self.db_url, self.owner_url = db_url, owner_url
        owner = create_engine(resolve_url(owner_url))
        DatabaseMetadataService(owner_url).close()
        self.keys = {p: create_key(owner, p, f"tests {p}") for p in ("A", "B")}
        self.owner = owner
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = (folder / "server.log").open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "hive_cli", "serve", "--db", db_url, "--port",
                                         str(self.port)], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"server did not start: {(folder / 'server.log').read_text()}")

    def key(self, project: str) -> str:
        return self.keys[project]["key"]

    def http(self, project: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.key(project)}"} if project else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=60)

    def remote(self, project: str) -> DatabaseMetadataService:
        return DatabaseMetadataService(self.base, api_key=self.key(project))

    def count(self, table: str, project: str = "A", where: str = "") -> int:
        engine = plain_engine(self.db_url, project)
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(f"SELECT count(*) FROM {table} {where}")).scalar()
        finally:
            engine.dispose()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.owner.dispose()
        self.log.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hive.db'}"
        running = Server(url, url, tmp_path)
        yield running
        running.stop()
        return
    owner_url = create_pg_database(template=request.getfixturevalue("pg_template"))
    running = Server(as_role(owner_url, *request.getfixturevalue("pg_app_role")), owner_url, tmp_path)
    try:
        yield running
    finally:
        running.stop()
        drop_pg_database(owner_url)


STUDY = {"study_id": "ga", "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
         "parameter_names": ["x", "y"]}


def runs(n: int, start: int = 0) -> list[dict]:
    return [{"study_id": "ga", "generation_number": i // 10, "parameter_vector": [float(i), float(i % 7)],
             "objectives": [float(i), float(100 - i)]} for i in range(start, start + n)]


def test_keys_decide_who_may_call(server):
    with server.http(None) as anonymous:
        response = anonymous.get(f"{API}/studies")
        assert response.status_code == 401 and response.json()["error"] == "AuthenticationError"
        for header in ("Bearer nonsense", "Basic " + server.key("A"), "Bearer " + server.key("A")[:-1] + "x"):
            assert anonymous.get(f"{API}/studies", headers={"Authorization": header}).status_code == 401
    with server.http("A") as a:
        assert a.get(f"{API}/studies").status_code == 200
        assert a.get(f"{API}/whoami").json() == {"project_id": "A"}
        revoke_key(server.owner, server.keys["A"]["key_id"])
        assert a.get(f"{API}/studies").status_code == 401  # revocation holds for a key already verified
    with pytest.raises(AuthenticationError):
        server.remote("A")


def test_a_project_sees_and_writes_only_its_own(server):
    with server.http("A") as a, server.http("B") as b:
        assert a.post(f"{API}/studies", json=STUDY).json() == "ga"
        assert a.post(f"{API}/study-runs", json=runs(30)).status_code == 200
        for path in ("/studies/ga", "/studies/ga/best-designs", "/studies/ga/pareto-front", "/studies/ga/runs",
                     "/studies/ga/convergence", "/studies/ga/decisions"):
            response = b.get(API + path)
            assert response.status_code == 404, path
            assert response.json() == {"error": "UnknownStudyError",
                                       "message": "study_id='ga': no such study (create it first with create_study)"}
        assert b.get(f"{API}/compare", params={"study_ids": ["ga"]}).status_code == 404
        assert b.get(f"{API}/studies").json() == []
        assert b.post(f"{API}/study-runs", json=runs(5, 30)).status_code == 404
        assert b.patch(f"{API}/studies/ga", json={"status": "failed"}).status_code == 404
        run = a.post(f"{API}/prompt-runs", json={"name": "r", "optimizer_type": "miprov2"}).json()
        assert b.get(f"{API}/prompt-runs/{run['id']}").status_code == 404
        assert b.delete(f"{API}/prompt-runs/{run['id']}").json() is False
    assert server.count("study_runs") == 30
    assert server.count("studies", "A", "WHERE status <> 'failed'") == 1
    assert server.count("optimization_runs") == 1


def test_refusals_carry_the_python_apis_message_and_write_nothing(server, tmp_path):
    bad = [
        [{"study_id": "ga", "parameter_vector": [1.0, 2.0], "fitness": float("nan")}],
        [{"study_id": "ga", "parameter_vector": "not a list", "fitness": 1.0}],
        [{"study_id": "ga", "parameter_vector": [1.0, 2.0], "objectives": [1.0]}],
        [{"study_id": "ga", "parameter_vector": [1.0, 2.0], "objectives": [1.0, 2.0], "colour": "red"}],
        [{"study_id": "ga\x00", "parameter_vector": [1.0], "fitness": 1.0}],
        [{"study_id": "ga", "parameter_vector": [1.0, 2.0], "objectives": [1.0, 2.0], "evaluation_number": 5}] * 2,
    ]
    local = DatabaseMetadataService(tmp_path / "local.db")
    local.create_study(STUDY)
    with server.http("A") as a:
        a.post(f"{API}/studies", json=STUDY)
        for batch in bad:
            with pytest.raises(ValidationError) as expected:
                local.log_study_runs(batch)
            response = a.post(f"{API}/study-runs", content=json.dumps(batch), headers={"Content-Type": "application/json"})
            assert response.status_code in (409, 422)
            assert response.json() == {"error": type(expected.value).__name__, "message": str(expected.value)}
        duplicate = a.post(f"{API}/studies", json=STUDY)
        assert (duplicate.status_code, duplicate.json()["error"]) == (409, "DuplicateError")
    local.close()
    assert server.count("study_runs") == 0


def test_hostile_bodies_are_refused_with_nothing_written(server):
    with server.http("A") as a:
        a.post(f"{API}/studies", json=STUDY)
        deep: list = []
        for _ in range(200):
            deep = [deep]
        for body in (b"{not json", json.dumps(deep).encode(), b'"a string"', b"[1, 2, 3]",
                     json.dumps({"runs": runs(2)}).encode()):
            response = a.post(f"{API}/study-runs", content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 422, body[:40]
            assert response.headers["content-type"] == "application/json"
        huge = b"[" + b",".join([json.dumps(runs(1)[0]).encode()] * 340_000) + b"]"  # ~35 MB
        assert len(huge) > 32 * 1024 * 1024
        response = a.post(f"{API}/study-runs", content=huge, headers={"Content-Type": "application/json"})
        assert (response.status_code, response.json()["error"]) == (413, "PayloadTooLargeError")
        script = a.get(f"{API}/studies/<img src=x onerror=alert(1)>")
        assert script.status_code == 404 and script.headers["content-type"] == "application/json"
        assert "<img src=x onerror=alert(1)>" in script.json()["message"]  # as data in JSON, never as HTML
        unknown = a.get(f"{API}/no/such/path")
        assert (unknown.status_code, unknown.json()["error"]) == (404, "NotFoundError")
        assert a.get(f"{API}/studies/ga/runs", params={"limit": "ten"}).status_code == 422
        assert "'colour'" in a.get(f"{API}/studies", params={"colour": "red"}).json()["message"]
    assert server.count("study_runs") == 0


def test_a_retried_batch_is_written_once(server):
    with server.http("A") as a:
        a.post(f"{API}/studies", json=STUDY)
        batch = runs(50)
        first = a.post(f"{API}/study-runs", json=batch, headers={"Idempotency-Key": "gen-0"})
        again = a.post(f"{API}/study-runs", json=batch, headers={"Idempotency-Key": "gen-0"})
        assert first.status_code == again.status_code == 200 and first.json() == again.json()
        other = a.post(f"{API}/study-runs", json=runs(5, 50), headers={"Idempotency-Key": "gen-0"})
        assert (other.status_code, other.json()["error"]) == (409, "DuplicateError")
    assert server.count("study_runs") == 50
    assert server.count("studies", "A", "WHERE run_count = 50") == 1


def test_the_remote_client_is_the_python_api(server, tmp_path):
    with server.remote("A") as remote:
        assert remote.project_id == "A"
        remote.create_study(STUDY)
        X = np.arange(40, dtype=float).reshape(20, 2)
        ids = remote.log_study_runs({"study_id": ["ga"] * 20, "parameter_vector": X,
                                     "objectives": np.column_stack([X[:, 0], 50 - X[:, 0]])})
        assert ids == [f"ga:{i}" for i in range(20)]
        remote.log_study_runs([{"study_id": "ga", "parameter_vector": [1.0, 1.0], "objectives": [float("inf"), 1.0],
                                "simulation_status": "failed"}])
        summary = remote.update_study_status("ga", "completed")
        with pytest.raises(UnknownStudyError, match="nope"):
            remote.get_best_designs("nope")
        with pytest.raises(DuplicateError):
            remote.create_study(STUDY)
        served = {name: getattr(remote, name)("ga") for name in ("get_study", "get_pareto_front", "get_best_designs",
                                                                 "get_convergence_history", "query_study_runs")}
    engine = plain_engine(server.db_url, "A")
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT parameter_vector, objectives FROM study_runs WHERE study_id = 'ga' "
                                      "ORDER BY evaluation_number")).all()
    engine.dispose()
    assert [json.loads(v) for v, _ in stored[:20]] == X.tolist()
    # a non-finite objective crossed the wire as it is stored by a local call
    scratch = DatabaseMetadataService(tmp_path / "scratch.db")
    scratch.create_study(STUDY)
    scratch.log_study_runs([{"study_id": "ga", "parameter_vector": [1.0, 1.0], "objectives": [float("inf"), 1.0],
                             "simulation_status": "failed"}])
    with scratch.engine.connect() as conn:
        assert stored[20][1] == conn.exec_driver_sql("SELECT objectives FROM study_runs").scalar()
    scratch.close()
    # the same calls on a local service of the same database and project answer the same
    with DatabaseMetadataService(server.db_url, project_id="A") as local:
        for name, value in served.items():
            assert getattr(local, name)("ga") == value, name
        assert summary["pareto_front_size"] == len(local.get_pareto_front("ga")) == 20


def test_exports_download_a_studys_tables_into_the_callers_file(server, tmp_path):
    import pandas as pd

    with server.remote("A") as remote, server.remote("B") as other:
        remote.create_study(STUDY)
        remote.log_study_runs(runs(25))
        assert remote.export_study_table("ga", "runs", tmp_path / "runs.csv") == 25
        assert remote.export_study_table("ga", "runs", tmp_path / "runs.parquet", output_format="parquet") == 25
        for bad, error, message in ((dict(output_format="xml"), ValidationError, "format='xml'"),
                                    (dict(table="secrets"), ValidationError, "table='secrets'")):
            arguments = {"study_id": "ga", "table": "runs", "path": tmp_path / "bad.csv", **bad}
            with pytest.raises(error, match=message):
                remote.export_study_table(**arguments)
        with pytest.raises(UnknownStudyError):
            other.export_study_table("ga", "runs", tmp_path / "foreign.csv")
    assert sorted(f.name for f in tmp_path.iterdir() if f.suffix in (".csv", ".parquet", ".partial")) == [
        "runs.csv", "runs.parquet"]  # nothing written for a refusal, no .partial left
    expected = pd.DataFrame([[r["parameter_vector"][0], r["parameter_vector"][1], *r["objectives"]] for r in runs(25)],
                            columns=["param:x", "param:y", "cost", "co2"])
    for frame in (pd.read_csv(tmp_path / "runs.csv"), pd.read_parquet(tmp_path / "runs.parquet")):
        assert frame["evaluation_number"].tolist() == list(range(25))
        pd.testing.assert_frame_equal(frame[list(expected.columns)].astype(float), expected)
    with server.http("A") as a:
        response = a.get(f"{API}/studies/ga/exports/runs")
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == 'attachment; filename="ga_runs.csv"'
        assert response.headers["x-rows"] == "25" and response.content == (tmp_path / "runs.csv").read_bytes()


def test_prompt_runs_through_the_remote_store(server):
    with PromptOptimizationStore(server.base, project_id="B", api_key=server.key("B")) as store:
        run = store.create_run({"name": "mipro", "optimizer_type": "miprov2"})
        store.start_run(run["id"])
        store.add_iterations(run["id"], [{"iteration": 0, "score": 0.5}, {"iteration": 1, "score": 0.8}])
        assert store.add_samples(run["id"], [{"iteration": 1, "sample_index": i, "score": i / 4, "success": i != 2}
                                            for i in range(4)]) == 4
        done = store.complete_run(run["id"])
        assert (done["status"], done["final_score"]) == ("completed", 0.8)
        assert [r["id"] for r in store.leaderboard()] == [run["id"]]
        assert store.get_run(run["id"])["samples_failed"] == 1
        with pytest.raises(ValidationError, match="project 'B'"):
            PromptOptimizationStore(server.base, project_id="A", api_key=server.key("B"))
    for project, expected in (("B", 4), ("A", 0)):
        assert server.count("optimization_samples", project, f"WHERE project_id = '{project}'") == expected


def test_the_adapters_record_through_the_server_unchanged(server):
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.optimize import minimize
    from pymoo.problems import get_problem

    from integrations.monte_carlo import run_monte_carlo
    from integrations.pymoo_recorder import HiveRecorder

    with server.remote("A") as remote:
        recorder = HiveRecorder(remote, "zdt1", objective_names=["f1", "f2"])
        result = minimize(get_problem("zdt1"), NSGA2(pop_size=20), ("n_gen", 5), seed=1, callback=recorder)
        recorder.complete(result)
        analysis = run_monte_carlo(remote, "mc", {"a": (0.0, 1.0), "b": (0.0, 1.0)},
                                   lambda s: 2 * s["a"] + s["b"], 256, seed=2, objective_names=["y"])
    assert server.count("study_runs", "A", "WHERE study_id = 'zdt1'") == result.algorithm.evaluator.n_eval
    assert server.count("study_runs", "A", "WHERE study_id = 'mc'") == 256
    assert analysis["uncertainty"]


def test_docs_load_nothing_from_the_internet(server):
    page = httpx.get(f"{server.base}/docs").text
    assert "/api/v1/study-runs" in page and "http://" not in page and "https://" not in page
    spec = httpx.get(f"{server.base}/openapi.json").json()
    assert f"{API}/studies/{{study_id}}/pareto-front" in spec["paths"]


def test_the_milp_and_optuna_importers_record_through_the_server_unchanged(server):
    import highspy
    import optuna

    from integrations.highs_milp import solve_and_record
    from integrations.optuna_import import import_optuna_study
    from optuna_studies import two_objective_study

    # a small knapsack; its optimum by enumerating every subset
    values, weights, capacity = np.array([6.0, 5.0, 8.0, 9.0, 6.0, 7.0]), np.array([2, 3, 6, 7, 5, 9]), 15
    subsets = np.array([[(k >> i) & 1 for i in range(6)] for k in range(64)])
    optimum = float(max(subsets[s] @ values for s in range(64) if subsets[s] @ weights <= capacity))
    h = highspy.Highs()
    h.silent()
    take = [h.addBinary(obj=float(v), name=f"take_{i}") for i, v in enumerate(values)]
    h.addConstr(sum(float(w) * x for w, x in zip(weights, take)) <= float(capacity))
    h.setMaximize()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    source = two_objective_study(25)
    with server.remote("B") as remote:
        solve_and_record(remote, "knapsack", h, objective_name="value")
        summary = import_optuna_study(remote, source, study_id="from_optuna")
        assert remote.get_study("knapsack")["best_fitness"] == pytest.approx(optimum)
    assert summary["study_id"] == "from_optuna"
    finished = [t for t in source.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert server.count("study_runs", "B", "WHERE study_id = 'from_optuna'") == len(source.trials)
    assert server.count("study_runs", "B", "WHERE study_id = 'from_optuna' AND simulation_status = 'success'") == len(finished)
    assert server.count("studies", "B", "WHERE study_id = 'knapsack' AND status = 'completed'") == 1


def test_the_dspy_importer_records_through_the_server_unchanged(server, tmp_path, monkeypatch):
    import importlib.util

    from integrations.dspy_import import import_miprov2

    monkeypatch.syspath_prepend(str(ROOT / "tests" / "prompt"))  # its fixtures module
    spec = importlib.util.spec_from_file_location("dspy_cases", ROOT / "tests" / "prompt" / "test_prompt_dspy.py")
    cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cases)  # a real MIPROv2 compile on a scripted LM (tests/prompt)
    compiled = cases.mipro_run("predict-minibatch")

    def imported(store) -> tuple[dict, list[dict]]:
        run = import_miprov2(store, compiled["program"], name="mipro", optimizer=compiled["optimizer"],
                             recording=compiled["recorder"])
        keep = lambda row: {k: v for k, v in row.items() if k not in ("id", "run_id", "created_at", "updated_at",
                                                                      "start_time", "end_time")}  # noqa: E731
        return keep(store.get_run(run["id"])), [keep(i) for i in store.get_iterations(run["id"])]

    with PromptOptimizationStore(server.base, api_key=server.key("A")) as remote:
        through_server = imported(remote)
    with PromptOptimizationStore(tmp_path / "local.db", project_id="A") as local:
        direct = imported(local)
    assert through_server == direct and len(direct[1]) > 0


def test_a_proxys_error_page_is_a_storage_fault_not_a_decoding_error():
    """What answers is not the server (a proxy's HTML 502 page): after the retries, the client says so."""
    import http.server
    import threading

    from storage.errors import StorageUnavailableError
    from storage.remote import RemoteClient

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body>502 Bad Gateway</body></html>")

        def log_message(self, *args):
            pass

    proxy = http.server.HTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    client = RemoteClient(f"http://127.0.0.1:{proxy.server_port}", "hive_000000000000_x", retries=1)
    try:
        with pytest.raises(StorageUnavailableError, match="answered HTTP 502 with text/html"):
            client.request("GET", f"{API}/whoami")
    finally:
        client.close()
        proxy.shutdown()
