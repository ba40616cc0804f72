"""The HTTP form of the store's API: one route per public method, read by both the server
(``server.app``) and the remote client (``storage.remote``), so the two cannot drift apart.

A route names the method, the HTTP verb and the path; ``{name}`` in the path is that argument. For
GET the other arguments are query parameters, converted by ``query``'s types (a list type repeats
the parameter: ``?study_id=a&study_id=b``); for other verbs they are the JSON body: the one argument
named by ``body`` as the whole body, or an object of every argument. A ``download`` route answers a
file, not JSON: the server writes it with the method (``path`` a temporary file) and sends it, and the
client writes what it receives to the caller's ``path``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

API = "/api/v1"


@dataclass(frozen=True)
class Route:
    method: str
    verb: str
    path: str
    body: str | None = None  # the argument that is the whole JSON body
    query: dict[str, type] = field(default_factory=dict)  # GET: argument -> type (list: repeated)
    batch: bool = False  # a batch write: takes an Idempotency-Key
    download: bool = False  # answers a file: the argument ``path`` is where it goes (server: a temporary file)
    summary: str = ""

    @property
    def path_args(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]


_STUDY_FILTERS = {"study_type": list, "status": list, "text": str, "created_from": str, "created_to": str,
                  "limit": int, "offset": int, "experiment": str, "labels": dict}

STUDY_ROUTES = [
    Route("create_study", "POST", f"{API}/studies", body="study_record", summary="Create a study"),
    Route("list_studies", "GET", f"{API}/studies", query=_STUDY_FILTERS, summary="Studies, newest first, filtered"),
    Route("get_study", "GET", f"{API}/studies/{{study_id}}", summary="One study"),
    Route("update_study_status", "PATCH", f"{API}/studies/{{study_id}}",
          summary="Set a study's status (and progress, best, times); completed derives fronts and convergence"),
    Route("log_study_runs", "POST", f"{API}/study-runs", body="runs", batch=True,
          summary="Log evaluations in one transaction: a list of records, or columns"),
    Route("log_study_run", "POST", f"{API}/study-run", body="run_record", summary="Log one evaluation"),
    Route("log_learning_curves", "POST", f"{API}/studies/{{study_id}}/learning-curves", body="curves",
          summary="Learning curves of runs: {run_id: [[step, value], ...]}"),
    Route("log_intermediate_values", "POST", f"{API}/studies/{{study_id}}/runs/{{run_id}}/intermediate-values",
          body="values", summary="One run's learning curve"),
    Route("log_simulation_run", "POST", f"{API}/simulation-runs", body="simulation_result",
          summary="One simulation's metadata and KPIs (the old service's call)"),
    Route("log_convergence_metrics", "POST", f"{API}/convergence-metrics", body="metrics",
          summary="Convergence rows (one or a list)"),
    Route("log_pareto_front", "POST", f"{API}/pareto-fronts", body="front_record", summary="A front of run ids"),
    Route("log_uncertainty_analysis", "POST", f"{API}/uncertainty-analyses", body="analysis_record",
          summary="One objective's distribution and risk"),
    Route("log_sensitivity_analysis", "POST", f"{API}/sensitivity-analyses", body="sensitivity",
          summary="Sensitivity rows (one or a list)"),
    Route("record_decision", "POST", f"{API}/decisions", body="decision", summary="The design a team chose"),
    Route("analyze_monte_carlo", "POST", f"{API}/studies/{{study_id}}/monte-carlo-analysis",
          summary="Uncertainty and sensitivity of a Monte Carlo study, stored and returned"),
    Route("analyze_parameter_importance", "POST", f"{API}/studies/{{study_id}}/parameter-importance",
          summary="Parameter importance (ped_anova, fanova, sobol), stored and returned"),
    Route("query_study_runs", "GET", f"{API}/studies/{{study_id}}/runs",
          query={"generation": int, "fitness_min": float, "fitness_max": float, "simulation_status": str,
                 "sort": str, "descending": bool, "limit": int, "offset": int},
          summary="A study's runs, filtered and sorted, one page"),
    Route("get_best_designs", "GET", f"{API}/studies/{{study_id}}/best-designs", query={"limit": int},
          summary="Best designs"),
    Route("get_pareto_front", "GET", f"{API}/studies/{{study_id}}/pareto-front", summary="The current front"),
    Route("get_convergence_history", "GET", f"{API}/studies/{{study_id}}/convergence", summary="Convergence"),
    Route("get_uncertainty_summary", "GET", f"{API}/studies/{{study_id}}/uncertainty", summary="Risk per objective"),
    Route("get_sensitivity_rankings", "GET", f"{API}/studies/{{study_id}}/sensitivity", query={"limit": int},
          summary="Parameters by importance"),
    Route("get_decisions", "GET", f"{API}/studies/{{study_id}}/decisions", summary="Decisions, latest first"),
    Route("export_study_table", "GET", f"{API}/studies/{{study_id}}/exports/{{table}}",
          query={"output_format": str}, download=True,
          summary="A study's table (runs, convergence, pareto, uncertainty, sensitivity) as csv, json or parquet"),
    Route("compare_studies", "GET", f"{API}/compare", query={"study_ids": list}, summary="Studies side by side"),
    Route("list_experiments", "GET", f"{API}/experiments", summary="Experiments"),
]

PROMPT_ROUTES = [
    Route("create_run", "POST", f"{API}/prompt-runs", body="record", summary="Create a prompt-optimization run"),
    Route("list_runs_page", "GET", f"{API}/prompt-runs",
          query={"status": list, "optimizer_type": list, "tags_all": list, "tags_any": list, "config": dict,
                 "created_after": str, "created_before": str, "score_field": str, "score_min": float,
                 "score_max": float, "limit": int, "offset": int, "cursor": str},
          summary="Runs of the project, newest first, filtered; one page and the next cursor"),
    Route("get_run", "GET", f"{API}/prompt-runs/{{run_id}}", query={"with_iterations": bool}, summary="One run"),
    Route("update_run", "PATCH", f"{API}/prompt-runs/{{run_id}}", body="changes", summary="Change a run"),
    Route("delete_run", "DELETE", f"{API}/prompt-runs/{{run_id}}", summary="Delete a run and its iterations and samples"),
    Route("add_iterations", "POST", f"{API}/prompt-runs/{{run_id}}/iterations", body="iterations", batch=True,
          summary="Add iterations"),
    Route("import_run", "POST", f"{API}/prompt-runs/import",
          summary="A whole finished run with its iterations and samples, in one transaction"),
    Route("update_progress", "PATCH", f"{API}/prompt-runs/{{run_id}}/progress", summary="Progress of a running run"),
    Route("best_iteration", "GET", f"{API}/prompt-runs/{{run_id}}/best-iteration", summary="The best iteration"),
    Route("count_runs", "GET", f"{API}/prompt-runs-count",
          query={"status": list, "optimizer_type": list, "tags_all": list, "tags_any": list, "config": dict,
                 "created_after": str, "created_before": str, "score_field": str, "score_min": float,
                 "score_max": float},
          summary="How many runs match the filters"),
    Route("refresh_analytics", "POST", f"{API}/prompt-analytics/refresh", summary="Recompute the analytics view"),
    Route("get_iterations", "GET", f"{API}/prompt-runs/{{run_id}}/iterations", summary="A run's iterations"),
    Route("add_samples", "POST", f"{API}/prompt-runs/{{run_id}}/samples", body="samples", batch=True,
          summary="Add evaluated samples in a batch"),
    Route("get_samples", "GET", f"{API}/prompt-runs/{{run_id}}/samples",
          query={"iteration": int, "success": bool, "limit": int, "offset": int}, summary="A run's samples"),
    Route("leaderboard", "GET", f"{API}/prompt-leaderboard", query={"limit": int, "optimizer_type": str},
          summary="Completed runs by final score"),
    Route("project_analytics", "GET", f"{API}/prompt-analytics", query={"refresh": bool},
          summary="The project's analytics"),
    Route("run_summary", "GET", f"{API}/prompt-runs/{{run_id}}/summary", summary="A run's summary"),
]

# HTTP status of each refusal (by class name, most specific first); anything else a HiveError is 400.
STATUS_OF_ERROR = {
    "AuthenticationError": 401,
    "UnknownStudyError": 404,
    "NotFoundError": 404,
    "DuplicateError": 409,
    "ValidationError": 422,
    "PayloadTooLargeError": 413,
    "StorageUnavailableError": 503,
}
