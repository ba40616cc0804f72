"""Experiments: the same problem solved by several algorithms with several seeds, compared as a paper
would: per group n, median and IQR with a box/strip chart; every pair of groups with the two-sided
Mann-Whitney U test (Holm-corrected) and the Vargha-Delaney A12 effect size; convergence across seeds
as median and inter-quartile band; for two objectives the attainment surfaces and the attainment
difference of two groups. The numbers come from ``storage.studies.experiments``."""
import streamlit as st

from charts.experiments import (attainment_difference_figure, attainment_surfaces_figure, convergence_band_figure,
                                group_colors, measure_by_group_figure)
from storage.studies import queries
from storage.errors import HiveError
from ui import urlstate
from ui.connection import reader
from ui.downloads import chart, csv_button
from ui.experiment_cache import analysed, default_grouping, version_of
from ui.routing import run_inside_app
from ui.tables import display_frame
from ui.text import plain, show_error

run_inside_app()

NO_EXPERIMENTS = ("No experiments yet. Give the studies of one problem an experiment and labels when creating them, "
                  'e.g. create_study({..., "experiment": "zdt1", "labels": {"algorithm": "NSGA-II", "seed": 1}}) '
                  "(the pymoo recorder, Monte Carlo runner, HiGHS and Optuna adapters pass them through), "
                  "or run `hive-cli demo`.")

st.title("Experiments")
db = reader()
try:
    catalog = queries.list_experiments(db)
except HiveError as error:
    show_error(error, "Cannot read the results database: ")
    st.stop()
if catalog.empty:
    st.info(NO_EXPERIMENTS)
    st.stop()

options = catalog["experiment"].tolist()
wanted = urlstate.get("experiment")
if wanted is not None and wanted not in options:
    st.warning(plain(f"There is no experiment {wanted!r} in this database; showing the most recently updated one."))
urlstate.adopt("experiment", "pick_experiment")
sizes = dict(zip(catalog["experiment"], catalog["studies"]))
with st.container(horizontal=True):
    experiment = st.selectbox("Experiment", options, index=urlstate.choose(options, wanted), key="pick_experiment",
                              format_func=lambda e: f"{e} ({sizes[e]} studies)")
    try:
        members = queries.experiment_studies(db, experiment)
        default_by, labels = default_grouping(members, experiment)
    except HiveError as error:
        show_error(error)
        st.stop()
    urlstate.adopt("by", "pick_by")
    by = st.selectbox("Group by", labels, index=urlstate.choose(labels, urlstate.get("by", default_by)),
                      key="pick_by", help="The label whose values are the groups compared; the other labels (a seed, "
                                          "say) vary within each group.") if labels else None
urlstate.put("experiment", experiment)
urlstate.put("by", by if by != default_by else None)
if by is None:
    st.info(plain(f"The studies of {experiment} have no labels to group them by. Give each study labels when creating "
                  'it, e.g. "labels": {"algorithm": "NSGA-II", "seed": 1}.'))
    st.stop()

try:
    with st.spinner("Comparing the experiment's studies..."):
        analysis = analysed(db, repr(db.url), experiment, by, version_of(members))
except HiveError as error:
    show_error(error)
    st.stop()

better = "larger is better" if analysis.larger_is_better else "smaller is better"
st.caption(plain(f"{len(analysis.studies)} studies grouped by {analysis.by}; each study's measure: "
                 f"{analysis.measure_title.lower()} ({better})."))
if analysis.reference_text:
    st.caption(plain(analysis.reference_text))
if analysis.left_out:
    st.caption(plain("Left out: " + "; ".join(f"{sid} ({why})" for sid, why in analysis.left_out.items()) + "."))
if analysis.studies.empty:
    st.info("No study of this experiment has results to compare yet.")
    st.stop()
colors = group_colors(analysis.group_names)

st.subheader("Groups")
groups = analysis.groups.rename(columns={"q1": "Q1", "q3": "Q3", "iqr": "IQR"})
st.dataframe(display_frame(groups), hide_index=True, width="stretch", key="groups_table")
csv_button(analysis.groups, f"{experiment}_groups", "groups")
chart(measure_by_group_figure(analysis.studies, analysis.measure, analysis.measure_title, analysis.by, colors,
                              title=f"{analysis.measure_title} per study, by {analysis.by}"),
      f"{experiment}_{analysis.measure}_by_{analysis.by}", "groups")

st.subheader("Pairwise comparison")
pairs = analysis.pairs
if pairs.empty:
    st.caption("One group only: there is no pair to compare.")
else:
    st.caption(f"Two-sided Mann-Whitney U test per pair, p-values Holm-corrected over {len(pairs)} "
               f"pair{'s' if len(pairs) != 1 else ''}; A12: the probability that a study of the first group has the "
               f"larger {analysis.measure_title.lower()} (0.5: no tendency). Significant: corrected p below 0.05.")
    for row in pairs.itertuples():
        if row.better == "neither":
            verdict = "no tendency either way"
        else:
            verdict = f"{row.better} tends to be better ({row.effect} effect)"
        significance = "significant" if row.significant else "not significant"
        st.text(f"{row.group_a} vs {row.group_b}: {verdict}; A12 = {row.a12:.2f}, p = {row.p_holm:.3g} after Holm, "
                f"{significance}.")
    st.dataframe(display_frame(pairs), hide_index=True, width="stretch", key="pairs_table")
    csv_button(pairs, f"{experiment}_pairs", "pairs")

st.subheader("Studies")
studies = analysis.studies.rename(columns={"best_fitness": f"best {analysis.space.names[0]}"})
studies.insert(0, "open", ["study?study=" + s for s in studies["study_id"]])
st.dataframe(display_frame(studies), hide_index=True, width="stretch", key="experiment_studies_table",
             column_config={"open": st.column_config.LinkColumn("open", display_text="open")})
csv_button(analysis.studies, f"{experiment}_studies", "experiment_studies")

st.subheader("Convergence across seeds")
if analysis.convergence.empty:
    st.caption("No study of this experiment has generations, so there is no convergence to draw.")
else:
    chart(convergence_band_figure(analysis.convergence, analysis.convergence_title, colors),
          f"{experiment}_convergence", "experiment_convergence")
    st.caption("Median across seeds per generation, shaded between the first and third quartiles; a study's value "
               "holds until its next generation and ends at its last (hover a point: how many studies it has).")

ATTAINMENT_VIEWS = ["Surfaces of every group", "Difference of two groups"]

if analysis.sets_min:
    st.subheader("Attainment surfaces")
    names, directions = analysis.space.names, analysis.space.directions
    group_names = analysis.group_names
    # One attainment chart at a time, the other one click away: both at once took the page's first
    # visit past 2 s on a 2-core machine. A link naming the two groups (a=, b=) opens on their difference.
    view = ATTAINMENT_VIEWS[0]
    if len(group_names) >= 2:
        urlstate.adopt("attainment", "attainment_view")
        wanted = urlstate.get("attainment") or (ATTAINMENT_VIEWS[1] if urlstate.get("a") or urlstate.get("b") else None)
        view = st.segmented_control("Show", ATTAINMENT_VIEWS, key="attainment_view", required=True,
                                    default=wanted if wanted in ATTAINMENT_VIEWS else ATTAINMENT_VIEWS[0])
        urlstate.put("attainment", view if view != ATTAINMENT_VIEWS[0] else None)
    if view == ATTAINMENT_VIEWS[0]:
        urlstate.put("a", None)   # the pair belongs to the difference view
        urlstate.put("b", None)
        chart(attainment_surfaces_figure(analysis.sets_min, names, directions, colors),
              f"{experiment}_attainment", "attainment")
        st.caption("Empirical attainment function of each group's runs (each run's front): the best surface bounds "
                   "what any run attained, the median what half of them did, the worst what all of them did.")
    else:
        with st.container(horizontal=True):
            urlstate.adopt("a", "diff_a")
            urlstate.adopt("b", "diff_b")
            first = st.selectbox("Difference of", group_names, key="diff_a",
                                 index=urlstate.choose(group_names, urlstate.get("a", group_names[0])))
            others = [g for g in group_names if g != first]
            second = st.selectbox("against", others, key="diff_b", index=urlstate.choose(others, urlstate.get("b")))
        urlstate.put("a", first if first != group_names[0] else None)
        urlstate.put("b", second if second != others[0] else None)
        try:
            difference = analysis.difference_min(first, second)
        except HiveError as error:
            st.info(plain(str(error)))
        else:
            chart(attainment_difference_figure(difference, analysis.sets_min[first], analysis.sets_min[second],
                                               first, second, names, directions, colors),
                  f"{experiment}_attainment_{first}_vs_{second}", "attainment_difference")
            st.caption("Left: the regions the first group attains in more of its runs than the second; right: the "
                       "reverse; darker: a larger difference. Lines: the grand best and worst attainment surfaces of "
                       "all runs of both groups.")
