"""Design: one evaluation in full, opened from a point or a row anywhere in the dashboard: its
parameters and objectives by name (categorical ones as their choice), generation, timing, state
(feasible, infeasible, pruned, failed), each constraint with whether it holds, user attributes as a
table, linked simulation KPIs, learning curve, the other evaluations of the same design, and a link to share it."""
import json
from urllib.parse import urlsplit

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from storage.studies import exports, queries
from storage.errors import HiveError, NotFoundError
from ui import urlstate
from ui.connection import reader
from ui.downloads import chart, csv_button
from ui.pickers import design_link, pick_study
from ui.routing import run_inside_app
from ui.tables import display_frame
from ui.text import plain, show_error

run_inside_app()

st.title("Design")
db = reader()
study_id = pick_study(db)
if study_id is None:
    st.info("No studies yet. Log one from an optimizer, or run `hive-cli demo` to fill this database.")
    st.stop()
try:
    study = queries.get_study(db, study_id)
except HiveError as error:
    show_error(error)
    st.stop()
run_id = st.text_input("Run id", value=urlstate.get("run") or study.get("best_solution_id") or "", key="design_run",
                       help="Open a design from a point of the Pareto explorer or Convergence, or a row of a runs "
                            "or best-designs table; by default, the study's best design.")
urlstate.put("run", run_id)
if not run_id:
    st.info("This study has no runs yet.")
    st.stop()
try:
    design = queries.get_design(db, study_id, run_id)
except NotFoundError:
    st.warning(plain(f"There is no run {run_id!r} in study {study_id}. Type another run id, or open a design from "
                     "the study's runs table."))
    st.stop()
except HiveError as error:
    show_error(error)
    st.stop()

run = design["run"]
row = exports.spread_columns(pd.DataFrame([run]), study).iloc[0]
objectives = exports.objective_names(study)
directions = study["objective_directions"]

st.subheader(plain(run_id))
st.text(f"Study {study_id}" + (f" ({study['study_name']})" if study.get("study_name") else ""))  # user text: literal
with st.container(horizontal=True, gap="large"):
    st.metric("Evaluation", f"{int(run['evaluation_number']):,}", width="content")
    st.metric("Generation", "" if pd.isna(run["generation_number"]) else f"{int(run['generation_number']):,}", width="content")
    st.metric("Status", run["simulation_status"] + (f" ({run['run_state']})" if run.get("run_state") else ""), width="content")
    seconds = run["evaluation_time_seconds"]
    if not pd.isna(seconds):   # not every optimizer times its evaluations: no empty card
        st.metric("Evaluation time", f"{seconds:.3g} s", width="content")
    if len(directions) >= 2:
        st.metric("On the Pareto front", "yes" if run["is_pareto_optimal"] else "no", width="content")

left, right = st.columns(2)
with left:
    st.markdown("**Objectives**")
    values = pd.DataFrame({"objective": objectives, "direction": directions,
                           "value": [row.get(name) for name in objectives]})
    if len(objectives) == 1 and pd.isna(values["value"].iloc[0]):
        values["value"] = [run["fitness"]]
    st.dataframe(values, hide_index=True, width="stretch", key="design_objectives")
with right:
    st.markdown("**Parameters**")
    parameters = [c for c in row.index if c.startswith("param:")]
    table = pd.DataFrame({"parameter": [c[len("param:"):] for c in parameters],
                          "value": [row[c] for c in parameters]})
    table = table[table["value"].notna()]
    if table.empty:
        st.caption("This run recorded no parameters.")
    else:
        # Labels as given, numbers with at most 10 significant digits (as in the other tables).
        table["value"] = [f"{v:.10g}" if isinstance(v, float) else str(v) for v in table["value"]]
        st.dataframe(table, hide_index=True, width="stretch", key="design_parameters")

kpis = {k: run.get(k) for k in queries.SIMULATION_KPIS if run.get(k) is not None and not pd.isna(run.get(k))}
if kpis:
    st.markdown("**Linked simulation**")
    st.dataframe(pd.DataFrame({"KPI": list(kpis), "value": list(kpis.values())}), hide_index=True, key="design_kpis")
state = queries.run_state_label(run["simulation_status"], run.get("run_state"))


def decoded(value):
    """A JSON column as read (text) -> its value; anything else as it is."""
    try:
        return json.loads(value) if isinstance(value, str) else value
    except ValueError:  # free text from the old service
        return value


violations = decoded(run.get("constraint_violations"))
constraints = violations.get("constraints") if isinstance(violations, dict) else None
if isinstance(constraints, list):
    names = violations.get("names") or [str(i) for i in range(len(constraints))]
    table = pd.DataFrame({"constraint": [str(n) for n in names], "value": [str(v) for v in constraints],
                          "satisfied (<= 0)": ["yes" if isinstance(v, (int, float)) and v <= 0 else "no" for v in constraints]})
    broken = table.loc[table["satisfied (<= 0)"] == "no", "constraint"].tolist()
    st.markdown("**Constraints**")
    if state in ("pruned", "failed"):
        st.text(f"The evaluation was {state}: it has no result, so it is neither feasible nor infeasible.")
    else:  # names are user text: literal
        st.text("Feasible: every constraint is 0 or less." if not broken else f"Infeasible: {', '.join(broken)} above 0.")
    st.dataframe(table, hide_index=True, key="design_constraints")
elif violations is not None:
    st.markdown("**Constraint violations**")
    st.json(violations, expanded=True)
if state in ("pruned", "failed"):
    reported = design["intermediate_values"]
    st.text(f"This evaluation was {state}" + (f" after step {int(reported['step'].max())}." if state == "pruned" and len(reported)
                                                else "; its value, if any, is not a result."))

curve = design["intermediate_values"]
if len(curve):
    figure = go.Figure(go.Scatter(x=curve["step"], y=curve["value"], mode="lines+markers", name=run_id))
    figure.update_layout(title=f"Learning curve of {run_id}", xaxis_title="step",
                         yaxis_title=f"{objectives[0]} (reported)", showlegend=False)
    chart(figure, f"{run_id}_learning_curve", "learning")

repeats = design["repeats"]
if len(repeats) > 1:
    st.markdown(plain(f"This design was evaluated {len(repeats):,} times:"))
    links = [design_link(study_id, r) for r in repeats]
    st.dataframe(pd.DataFrame({"run_id": repeats, "open": links}), hide_index=True, key="design_repeats",
                 column_config={"open": st.column_config.LinkColumn("open", display_text="open")})

metadata = decoded(run.get("metadata_json"))
if isinstance(metadata, dict):
    # An Optuna import keeps the trial's user and system attributes and exact datetimes here: a table.
    attributes = metadata.get("user_attrs") if isinstance(metadata.get("user_attrs"), dict) else {}
    system = metadata.get("system_attrs") if isinstance(metadata.get("system_attrs"), dict) else {}
    times = {key: metadata[key] for key in ("datetime_start", "datetime_complete") if key in metadata}
    shown = ("user_attrs", "system_attrs", "datetime_start", "datetime_complete")
    others = {k: v for k, v in metadata.items() if k not in shown}
    rows = ([("user", k, v) for k, v in attributes.items()] + [("system", k, v) for k, v in system.items()]
            + [("time (UTC)", k, v) for k, v in times.items()] + [("other", k, v) for k, v in others.items()])
    if rows:
        st.markdown("**Attributes**")
        # Exact text (str of a float is its shortest exact form), JSON for lists and dicts: one type per column.
        rows = [(kind, name, json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else
                 "" if v is None else str(v)) for kind, name, v in rows]
        st.dataframe(display_frame(pd.DataFrame(rows, columns=["kind", "name", "value"])),
                     hide_index=True, width="stretch", key="design_attributes")
if metadata is not None:
    with st.expander("Metadata as recorded (JSON)"):
        st.json(metadata, expanded=True)

address = urlsplit(st.context.url)
link = f"{address.scheme}://{address.netloc}/{design_link(study_id, run_id)}"
st.markdown("**Share this design**")
st.code(link, language=None)
csv_button(pd.DataFrame([row]), f"{study_id}_{run_id}", "design", label="Download this design as CSV")
