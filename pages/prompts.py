"""Prompt optimization (DSPy MIPROv2 and others): leaderboard and filters, score versus cost across
runs, and a run's detail: score per iteration (minibatch and full evaluations apart, best so far),
tokens, cost and latency, the best candidates' instructions, and its samples."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from storage import queries
from storage.errors import HiveError
from ui import urlstate
from ui.connection import configured_project, prompt_store, reader
from ui.downloads import chart, csv_button
from ui.routing import run_inside_app
from ui.text import show_error

run_inside_app()

STATUSES = ["pending", "running", "completed", "failed", "cancelled"]
OPTIMIZERS = ["miprov2", "bootstrap_fewshot", "bootstrap_fewshot_random_search", "copro", "gepa", "custom"]
RUN_COLUMNS = ["id", "name", "optimizer_type", "status", "model_name", "task_name", "baseline_score", "best_score",
               "final_score", "improvement", "iterations_completed", "prompt_tokens", "completion_tokens", "cost",
               "avg_latency_ms", "created_at"]

st.title("Prompt optimization")
db = reader()
configured = configured_project()
if configured:
    projects = pd.DataFrame({"id": [configured], "name": [configured]})
else:
    try:
        projects = queries.list_projects(db)
    except HiveError as error:
        show_error(error)
        st.stop()
if projects.empty:
    st.info("No prompt-optimization runs yet. Record them with `storage.PromptOptimizationStore` or import a DSPy "
            "run (`integrations.dspy_import`); `hive-cli demo` adds a few.")
    st.stop()
ids = projects["id"].tolist()
names = dict(zip(projects["id"], projects["name"]))
project = st.selectbox("Project", ids, index=urlstate.choose(ids, urlstate.get("project")),
                       format_func=lambda p: f"{p} ({names[p]})" if names.get(p) and names[p] != p else p, key="project")
urlstate.put("project", project)
store = prompt_store(project)

with st.container(horizontal=True):
    statuses = st.multiselect("Status", STATUSES, default=[s for s in urlstate.get_list("status") if s in STATUSES], key="rstatus")
    optimizers = st.multiselect("Optimizer", OPTIMIZERS, default=[o for o in urlstate.get_list("opt") if o in OPTIMIZERS], key="ropt")
    tags = st.text_input("Any of these tags (comma-separated)", value=urlstate.get("tags", ""), key="rtags")
    model = st.text_input("config: model =", value=urlstate.get("model", ""), key="rmodel")
urlstate.put("status", statuses)
urlstate.put("opt", optimizers)
urlstate.put("tags", tags)
urlstate.put("model", model)
filters = {"limit": 200}
if statuses:
    filters["status"] = statuses
if optimizers:
    filters["optimizer_type"] = optimizers
if tags.strip():
    filters["tags_any"] = [t.strip() for t in tags.split(",") if t.strip()]
if model.strip():
    filters["config"] = {"model": model.strip()}

try:
    analytics = store.project_analytics()
    leaderboard = pd.DataFrame(store.leaderboard(limit=10))
    runs = pd.DataFrame(store.list_runs(filters))
except HiveError as error:
    show_error(error)
    st.stop()

cols = st.columns(5)
cols[0].metric("Runs", analytics.get("total_runs", 0))
cols[1].metric("Success rate", "-" if analytics.get("success_rate") is None else f"{analytics['success_rate']:.0%}")
cols[2].metric("Avg improvement", "-" if analytics.get("avg_improvement") is None else f"{analytics['avg_improvement']:+.4f}")
cols[3].metric("Tokens", f"{int(analytics.get('total_tokens') or 0):,}")
cols[4].metric("Cost", f"${float(analytics.get('total_cost') or 0):,.2f}")

st.subheader("Leaderboard (completed runs by final score)")
if leaderboard.empty:
    st.caption("No completed runs yet.")
else:
    st.dataframe(leaderboard[[c for c in RUN_COLUMNS if c in leaderboard.columns]], hide_index=True, width="stretch", key="leaderboard")
    csv_button(leaderboard, f"{project}_leaderboard", "leaderboard")

st.subheader("Runs")
if runs.empty:
    st.info("No run matches these filters.")
    st.stop()
st.dataframe(runs[[c for c in RUN_COLUMNS if c in runs.columns]], hide_index=True, width="stretch", key="runs")
csv_button(runs, f"{project}_runs", "runs")

scored = runs.dropna(subset=["cost"])
scored = scored[scored["final_score"].notna() | scored["best_score"].notna()]
if not scored.empty:
    figure = go.Figure()
    for optimizer, group in scored.groupby("optimizer_type"):
        figure.add_trace(go.Scatter(
            x=group["cost"], y=group["final_score"].fillna(group["best_score"]), mode="markers", name=str(optimizer),
            customdata=group["id"], text=group["name"], marker={"size": 11},
            hovertemplate="%{text}<br>cost $%{x:.4f}<br>score %{y:.4f}<extra>%{customdata}</extra>",
        ))
    figure.update_layout(xaxis_title="cost (USD)", yaxis_title="final score (best if unfinished)", margin={"t": 30})
    st.subheader("Score versus cost")
    chart(figure, f"{project}_score_vs_cost", "scorecost")

st.subheader("Run detail")
run_ids = runs["id"].tolist()
labels = dict(zip(runs["id"], runs["name"]))
run_id = st.selectbox("Run", run_ids, index=urlstate.choose(run_ids, urlstate.get("run")),
                      format_func=lambda r: f"{labels.get(r) or r} [{r}]", key="run")
urlstate.put("run", run_id)
summary = store.run_summary(run_id)
iterations = pd.DataFrame(store.get_iterations(run_id))
run = summary["run"]
cols = st.columns(5)
cols[0].metric("Status", run["status"])
cols[1].metric("Final score", "-" if run.get("final_score") is None else f"{run['final_score']:.4f}")
cols[2].metric("Tokens", f"{int((run.get('prompt_tokens') or 0) + (run.get('completion_tokens') or 0)):,}")
cols[3].metric("Cost", f"${float(run.get('cost') or 0):,.4f}")
cols[4].metric("Avg latency", "-" if run.get("avg_latency_ms") is None else f"{run['avg_latency_ms']:,.0f} ms")
if run.get("error_message"):
    st.text(f"Error: {run['error_message']}")

if not iterations.empty:
    figure = go.Figure()
    for kind, symbol in (("minibatch", "circle-open"), ("full", "diamond")):
        part = iterations[iterations["evaluation_kind"] == kind]
        if not part.empty:
            figure.add_trace(go.Scatter(x=part["iteration"], y=part["score"], mode="markers", name=f"{kind} evaluation",
                                        marker={"symbol": symbol, "size": 9}))
    trajectory = pd.DataFrame(summary["full_eval_trajectory"])
    if not trajectory.empty:
        figure.add_trace(go.Scatter(x=trajectory["iteration"], y=trajectory["best_so_far"], mode="lines",
                                    line={"shape": "hv", "width": 2}, name="best so far (full)"))
    best = iterations[iterations["is_best"]]
    if not best.empty:
        figure.add_trace(go.Scatter(x=best["iteration"], y=best["score"], mode="markers", name="best iteration",
                                    marker={"symbol": "star", "size": 16, "color": "#ffbf00"}))
    figure.update_layout(xaxis_title="iteration", yaxis_title="score", margin={"t": 30})
    chart(figure, f"{run_id}_scores", "iterscores")

    st.caption("Candidates of the best iterations (instructions are shown as plain text)")
    top = iterations.sort_values(["is_best", "evaluation_kind", "score"], ascending=[False, True, False]).head(3)
    for _, row in top.iterrows():
        st.text(f"iteration {row['iteration']} ({row['evaluation_kind']}, score {row['score']}):")
        for instruction in row.get("instructions") or []:
            st.code(str(instruction), language=None, wrap_lines=True)
    csv_button(iterations, f"{run_id}_iterations", "iterations")

st.caption("Samples")
failed_first = st.toggle("Failed samples first", value=urlstate.get_bool("failed"), key="failed")
urlstate.put("failed", failed_first)
samples = pd.DataFrame(store.get_samples(run_id))
if samples.empty:
    st.caption("No samples recorded for this run.")
else:
    if failed_first:
        samples = samples.sort_values(["success", "iteration", "sample_index"], kind="stable")
    shown = samples.copy()
    for column in ("input", "output", "expected"):
        if column in shown:
            shown[column] = shown[column].map(lambda v: None if v is None else str(v))
    st.dataframe(shown, hide_index=True, width="stretch", key="samples")
    csv_button(samples, f"{run_id}_samples", "samples")
