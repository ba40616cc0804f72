"""Prompt optimization (DSPy MIPROv2 and others): leaderboard and filters, score versus cost across
runs, and a run's detail: score per iteration (minibatch and full evaluations apart, best so far),
tokens, cost and latency; per iteration the candidate it evaluated (instruction and demo-set index
of each named predictor, the trial a full re-evaluation re-scored), its tokens and cost; the
instructions and demos of any iteration (the best one first); an imported DSPy run's instruction
candidates (tried or not) and effective settings; and the run's samples. User text (instructions,
demos, names) is shown as plain text, code blocks or table cells, never as Markdown."""
import pandas as pd
import streamlit as st

from charts.prompts import iteration_scores_figure, score_cost_figure
from integrations.dspy_import import candidate_summary
from storage.studies import queries
from storage.engine import DEFAULT_PROJECT
from storage.errors import HiveError
from ui import urlstate
from ui.connection import configured_project, prompt_store, reader
from ui.tables import display_frame
from ui.downloads import chart, csv_button
from ui.live import live_part
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
    # Every database has the project "default" (studies belong to it); list it here only if it has runs.
    if DEFAULT_PROJECT in set(projects["id"]) and prompt_store(DEFAULT_PROJECT).count_runs() == 0:
        projects = projects[projects["id"] != DEFAULT_PROJECT]
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

with st.container(horizontal=True, gap="large"):   # cards as wide as their values: never cut
    st.metric("Runs", analytics.get("total_runs", 0), width="content")
    st.metric("Success rate", "-" if analytics.get("success_rate") is None else f"{analytics['success_rate']:.0%}",
              width="content")
    st.metric("Avg improvement", "-" if analytics.get("avg_improvement") is None
              else f"{analytics['avg_improvement']:+.4f}", width="content")
    st.metric("Tokens", f"{int(analytics.get('total_tokens') or 0):,}", width="content")
    st.metric("Cost", f"${float(analytics.get('total_cost') or 0):,.2f}", width="content")

st.subheader("Leaderboard (completed runs by final score)")
if leaderboard.empty:
    st.caption("No completed runs yet.")
else:
    st.dataframe(display_frame(leaderboard[[c for c in RUN_COLUMNS if c in leaderboard.columns]]), hide_index=True, width="stretch", key="leaderboard")
    csv_button(leaderboard, f"{project}_leaderboard", "leaderboard")

st.subheader("Runs")
if runs.empty:
    st.info("No run matches these filters.")
    st.stop()
st.dataframe(display_frame(runs[[c for c in RUN_COLUMNS if c in runs.columns]]), hide_index=True, width="stretch", key="runs")
csv_button(runs, f"{project}_runs", "runs")

scored = runs.dropna(subset=["cost"])
scored = scored[scored["final_score"].notna() | scored["best_score"].notna()]
if not scored.empty:
    st.subheader("Score versus cost")
    chart(score_cost_figure(scored), f"{project}_score_vs_cost", "scorecost")

st.subheader("Run detail")
run_ids = runs["id"].tolist()
labels = dict(zip(runs["id"], runs["name"]))
run_id = st.selectbox("Run", run_ids, index=urlstate.choose(run_ids, urlstate.get("run")),
                      format_func=lambda r: f"{labels.get(r) or r} [{r}]", key="run")
urlstate.put("run", run_id)


def run_cards_and_scores() -> bool:
    """The run's cards and its score chart, read afresh (the live part while it runs); returns
    whether it is still running."""
    summary = store.run_summary(run_id)
    iterations = pd.DataFrame(store.get_iterations(run_id))
    run = summary["run"]
    with st.container(horizontal=True, gap="large"):
        st.metric("Status", run["status"], width="content")
        st.metric("Final score", "-" if run.get("final_score") is None else f"{run['final_score']:.4f}", width="content")
        st.metric("Tokens", f"{int((run.get('prompt_tokens') or 0) + (run.get('completion_tokens') or 0)):,}",
                  width="content")
        st.metric("Cost", f"${float(run.get('cost') or 0):,.4f}", width="content")
        st.metric("Avg latency", "-" if run.get("avg_latency_ms") is None else f"{run['avg_latency_ms']:,.0f} ms",
                  width="content")
    if run.get("error_message"):
        st.text(f"Error: {run['error_message']}")
    if not iterations.empty:
        trajectory = pd.DataFrame(summary["full_eval_trajectory"])
        chart(iteration_scores_figure(iterations, trajectory), f"{run_id}_scores", "iterscores")
        csv_button(iterations, f"{run_id}_iterations", "iterations")
    return run["status"] == "running"


run = store.get_run(run_id)
live_part(run["status"] == "running", run_cards_and_scores, "the run is running")
iterations = pd.DataFrame(store.get_iterations(run_id))
if not iterations.empty:
    # What each iteration evaluated; DSPy imports also say which program DSPy returned.
    dspy_run = (run.get("metadata") or {}).get("dspy") or {}
    predictors = dspy_run.get("predictors") or []
    returned = dspy_run.get("returned_iteration")
    if dspy_run:
        usage = dspy_run.get("usage") or {}
        attributed = {"iterations": "each iteration's evaluation is credited to it",
                      "run": "not split by iteration"}.get(usage.get("attributed_to"), "not recorded")
        st.text(f"DSPy {dspy_run.get('optimizer', '')} · predictors: {', '.join(predictors) or '-'} · DSPy returned "
                f"the program of iteration {returned}")
        st.text(f"LM calls: {usage.get('calls', '-')} ({attributed}); outside the iterations: "
                f"{int(run.get('unattributed_prompt_tokens') or 0):,} prompt + "
                f"{int(run.get('unattributed_completion_tokens') or 0):,} completion tokens, "
                f"${float(run.get('unattributed_cost') or 0):,.4f}; calls without a price: "
                f"{usage.get('calls_without_cost', '-')}")
    rows = []
    for it in iterations.to_dict("records"):
        described = candidate_summary(it, predictors)
        params = it.get("params") or {}
        rows.append({"iteration": it["iteration"], "kind": it["evaluation_kind"], "score": it["score"],
                     "marks": ", ".join([*(["best"] if it["is_best"] else []),
                                         *(["returned"] if it["iteration"] == returned else [])]),
                     "instruction": described["instruction"], "demo set": described["demo set"],
                     "re-scored trial": params.get("rescored_trial"), "its minibatch mean": params.get("minibatch_mean"),
                     "seed": described["seed"], "strategy": params.get("strategy"), "examples": it["batch_size"], "prompt tokens": it["prompt_tokens"],
                     "completion tokens": it["completion_tokens"], "cost (USD)": it["cost"]})
    per_iteration = pd.DataFrame(rows).dropna(axis="columns", how="all")
    st.caption("Iterations: the candidate each evaluated (for each predictor, the index of its instruction and of its "
               "demo set among the candidates), the trial a full re-evaluation re-scored, tokens and cost")
    # Narrow columns with short headers (the help says the rest), so the whole table fits the page.
    headers = {"iteration": ("iteration", None), "kind": ("kind", None), "score": ("score", None),
               "marks": ("marks", "best: the best iteration (full evaluations first, then the score, then the "
                                  "earliest); returned: the iteration whose program DSPy returned"),
               "re-scored trial": ("re-scores", "the minibatch trial whose candidate this full evaluation re-scored"),
               "its minibatch mean": ("mb mean", "that candidate's mean minibatch score when DSPy chose it"),
               "seed": ("seed", "the random-search seed of the candidate"),
               "strategy": ("strategy", "how random search built the candidate's demos"), "examples": ("examples", None),
               "prompt tokens": ("tokens in", "prompt tokens"), "completion tokens": ("tokens out", "completion tokens"),
               "cost (USD)": ("cost $", "cost in USD")}
    narrow = {c: st.column_config.Column(label, help=help_text, width="small")
              for c, (label, help_text) in headers.items() if c in per_iteration.columns}
    narrow["cost (USD)"] = st.column_config.NumberColumn("cost $", help="cost in USD", width="small", format="%.4f")
    if "strategy" in narrow:
        narrow["strategy"] = st.column_config.Column("strategy", help=headers["strategy"][1], width=240)
    if "marks" in narrow:
        narrow["marks"] = st.column_config.Column("marks", help=headers["marks"][1], width=104)
    st.dataframe(per_iteration, hide_index=True, width="stretch", column_config=narrow, key="iterations_table")

    numbers = iterations["iteration"].tolist()
    best_number = next(iter(iterations.loc[iterations["is_best"], "iteration"].tolist()), numbers[0])
    asked = urlstate.get_int("iter", None)
    shown_number = st.selectbox("Instructions and demos of iteration", numbers,
                                index=numbers.index(asked if asked in numbers else best_number),
                                format_func=lambda n: " ".join([str(n), *(["(best)"] if n == best_number else []),
                                                                *(["(DSPy returned)"] if n == returned else [])]),
                                key="cand_iter")
    urlstate.put("iter", "" if shown_number == best_number else str(shown_number))
    chosen = iterations[iterations["iteration"] == shown_number].iloc[0]
    params = chosen.get("params") or {}
    instructions = chosen.get("instructions") or []
    demos = params.get("demos") or []
    for index in range(max(len(instructions), len(demos))):
        label = predictors[index] if index < len(predictors) else f"predictor {index}"
        ids = [f"{what} {params[key][str(index)]}" for what, key in (("instruction", "instruction_ids"),
                                                                      ("demo set", "demo_ids"))
               if str(index) in (params.get(key) or {})]
        st.text(f"{label} ({', '.join(ids)}):" if ids else f"{label}:")
        if index < len(instructions):
            st.code(str(instructions[index]), language=None, wrap_lines=True)
        predictor_demos = demos[index] if index < len(demos) else []
        if predictor_demos:
            st.dataframe(pd.DataFrame([{k: None if v is None else str(v) for k, v in d.items()} for d in predictor_demos]),
                         hide_index=True, width="stretch")
        else:
            st.text("no demos")

    candidates = dspy_run.get("instruction_candidates") or {}
    if candidates:
        st.caption("Instruction candidates MIPROv2 proposed (index 0 is the original), and the iterations that tried each")
        tried: dict[tuple[str, int], list[int]] = {}
        for it in iterations.to_dict("records"):
            for predictor, index in ((it.get("params") or {}).get("instruction_ids") or {}).items():
                tried.setdefault((predictor, index), []).append(it["iteration"])
        st.dataframe(pd.DataFrame([
            {"predictor": predictors[int(p)] if int(p) < len(predictors) else p, "candidate": i, "instruction": text,
             "tried in iterations": ", ".join(map(str, tried.get((p, i), []))) or "never"}
            for p, texts in candidates.items() for i, text in enumerate(texts)
        ]), hide_index=True, width="stretch", key="candidates_table")
    settings = dspy_run.get("effective_settings") or {}
    if settings:
        st.caption("Settings DSPy ran with (the effective values: under auto, what DSPy chose)")
        st.dataframe(pd.DataFrame({"setting": list(settings), "value": [str(v) for v in settings.values()]}),
                     hide_index=True, key="settings_table")

st.caption("Samples")
failed_first = st.toggle("Failed samples first", value=urlstate.get_bool("failed"), key="failed")
urlstate.put("failed", failed_first)
samples = pd.DataFrame(store.get_samples(run_id))
if samples.empty:
    st.caption("No samples recorded for this run.")
else:
    if failed_first:
        samples = samples.sort_values(["success", "iteration", "sample_index"], kind="stable")
    st.dataframe(display_frame(samples), hide_index=True, width="stretch", key="samples")  # JSON cells as JSON
    csv_button(samples, f"{run_id}_samples", "samples")
