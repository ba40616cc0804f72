"""Headless tests of the Experiments page and of experiments on the Studies page (``AppTest`` on
``app.py``), SQLite and PostgreSQL, on ``experiment_data``'s dataset. Every number is worked out from
the raw values by independent helpers (a hypervolume sweep, scipy, a direct A12 count, numpy
quartiles); user text in experiment and label names is shown literally.
"""
from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
from conftest import app_database  # tests/conftest.py
from scipy import stats
from test_pages import (LEGACY_DB, STUDIES, UNREACHABLE, Dashboard, chart, check_clean, shown, texts, trace,
                        widget)

import experiment_data as data

EXPERIMENTS = "pages/experiments.py"
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.PerformanceWarning")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def experiment_db(request, tmp_path_factory) -> str:
    """The dataset; on PostgreSQL read (and written) as the README's application role."""
    with app_database(request, tmp_path_factory.mktemp("experiments")) as url:
        data.build(url)
        yield url


@pytest.fixture
def dash(experiment_db, monkeypatch, tmp_path) -> Dashboard:
    return Dashboard(experiment_db, monkeypatch, tmp_path)


def frame_of(at, index: int):
    return at.dataframe[index].value


def test_experiment_page_groups_pairs_and_studies_against_independent_numbers(dash):
    at = dash.open(EXPERIMENTS, experiment="toy")
    assert texts(at.title) == ["Experiments"]
    assert widget(at, "selectbox", "pick_experiment").value == "toy"
    assert widget(at, "selectbox", "pick_by").value == "algorithm"
    captions = texts(at.caption)
    assert "6 studies grouped by algorithm; each study's measure: final hypervolume (larger is better)." in captions
    assert any(c.startswith("Reference point cost = 10, quality = 2: the worst value per objective") for c in captions)
    assert any(c.startswith("Left out: c_other (its objectives cost (min), risk (min)") and
               "nolabel (it has no label 'algorithm')" in c for c in captions)

    volumes = data.toy_hypervolumes()
    groups = data.by_group(volumes, data.TOY)
    table = frame_of(at, 0).set_index("group")
    for group, values in groups.items():
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        assert (table.loc[group, "n"], table.loc[group, "median"], table.loc[group, "IQR"]) == (
            3, pytest.approx(median), pytest.approx(q3 - q1))
    boxes = chart(at, "groups")
    assert sorted(trace(boxes, "A")["y"]) == pytest.approx(sorted(groups["A"]))
    assert boxes["layout"]["yaxis"]["title"]["text"] == "Final hypervolume"

    pairs = frame_of(at, 1)
    assert pairs[["group_a", "group_b", "better"]].values.tolist() == [["A", "B", "A"]]
    expected = stats.mannwhitneyu(groups["A"], groups["B"], alternative="two-sided")
    assert float(pairs.loc[0, "p_value"]) == pytest.approx(expected.pvalue)
    assert float(pairs.loc[0, "a12"]) == pytest.approx(data.a12_by_counting(groups["A"], groups["B"]))
    lines = texts(at.text)
    assert f"A vs B: A tends to be better (large effect); A12 = 1.00, p = {expected.pvalue:.3g} after Holm, " \
           f"{'significant' if expected.pvalue < 0.05 else 'not significant'}." in lines

    studies = frame_of(at, 2).set_index("study_id")
    assert studies["hypervolume"].astype(float).to_dict() == pytest.approx(volumes)
    assert studies.loc["toy_a2", "open"] == "study?study=toy_a2" and "best cost" in studies.columns


def test_experiment_page_convergence_and_attainment(dash):
    at = dash.open(EXPERIMENTS, experiment="toy")
    bands = chart(at, "experiment_convergence")
    median = trace(bands, "A")
    first = data.by_group(data.toy_hypervolumes(0), data.TOY)["A"]
    final = data.by_group(data.toy_hypervolumes(), data.TOY)["A"]
    assert median["x"] == [0, 1] and median["y"] == pytest.approx([np.median(first), np.median(final)])
    surfaces = chart(at, "attainment")
    assert [t["name"] for t in surfaces["data"]] == [f"{g}: {level}" for g in ("A", "B")
                                                     for level in ("best", "median", "worst")]
    # the best surface of A is the front of the union of A's runs, as a staircase in (cost, quality)
    fronts = [data.front_min(runs) for sid, (g, _, runs) in data.TOY.items() if g == "A"]
    union = data.front_min([(0, c, -q) for f in fronts for c, q in f])
    best = trace(surfaces, "A: best")
    corners = {(x, y) for x, y in zip(best["x"], best["y"])}
    assert {(c, -q) for c, q in union.tolist()} <= corners
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("-chart_attainment_difference")]
    widget(at, "segmented_control", "attainment_view").set_value("Difference of two groups").run()
    check_clean(at)
    assert at.query_params["attainment"] in ("Difference of two groups", ["Difference of two groups"])
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("-chart_attainment")]   # one at a time
    difference = chart(at, "attainment_difference")
    assert difference["layout"]["title"]["text"].startswith("Attainment difference: A against B")
    assert any(t["name"].startswith("A ahead by") for t in difference["data"])


def test_experiment_page_url_state_both_ways(dash):
    at = dash.open(EXPERIMENTS, experiment="toy", by="seed", a="2", b="3")
    assert widget(at, "selectbox", "pick_by").value == "seed"
    assert frame_of(at, 0)["group"].tolist() == ["1", "2", "3", "9"]     # by seed now: nolabel (seed 9) takes part
    # a link naming two groups opens on their attainment difference
    assert widget(at, "segmented_control", "attainment_view").value == "Difference of two groups"
    assert (widget(at, "selectbox", "diff_a").value, widget(at, "selectbox", "diff_b").value) == ("2", "3")
    assert chart(at, "attainment_difference")["layout"]["title"]["text"].startswith("Attainment difference: 2 against 3")
    widget(at, "segmented_control", "attainment_view").set_value("Surfaces of every group").run()
    check_clean(at)
    assert not {"a", "b", "attainment"} & set(at.query_params)            # nothing left to reopen the difference
    widget(at, "selectbox", "pick_by").set_value("algorithm").run()
    check_clean(at)
    assert "by" not in at.query_params                                   # the default is not written
    widget(at, "selectbox", "pick_experiment").set_value("tuning").run()
    check_clean(at)
    assert at.query_params["experiment"] == "tuning"


def test_single_objective_experiment_on_the_page(dash):
    at = dash.open(EXPERIMENTS, experiment="tuning")
    assert widget(at, "selectbox", "pick_by").value == "sampler"
    best = data.tuning_best()
    groups = data.by_group(best, data.TUNING)
    table = frame_of(at, 0).set_index("group")
    assert table.loc["TPE", "median"] == pytest.approx(np.median(groups["TPE"]))
    assert "6 studies grouped by sampler; each study's measure: best accuracy (max) (larger is better)." in texts(at.caption)
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith(("-chart_attainment", "-chart_attainment_difference"))]
    assert trace(chart(at, "experiment_convergence"), "TPE")["y"] == pytest.approx([0.85, 0.91])


def test_markup_in_experiment_and_label_names_is_shown_literally(dash):
    at = dash.open(EXPERIMENTS, experiment=data.XSS_EXPERIMENT)          # check_clean scans every element
    assert widget(at, "selectbox", "pick_experiment").value == data.XSS_EXPERIMENT
    assert data.XSS_GROUP in frame_of(at, 0)["group"].tolist()
    assert any(data.XSS_GROUP in line for line in texts(at.text))


def test_unknown_experiment_in_the_url_is_said(dash):
    at = dash.open(EXPERIMENTS, experiment="nope")
    assert texts(at.warning) == ["There is no experiment 'nope' in this database; showing the most recently updated one."]


def test_studies_page_shows_and_filters_experiments(dash):
    at = dash.open(STUDIES, experiment="toy")
    assert widget(at, "selectbox", "f_experiment").value == "toy"
    rows = frame_of(at, 0).set_index("study_id")
    assert sorted(rows.index) == sorted([*data.TOY, "c_other", "nolabel"])
    assert rows.loc["toy_a1", "experiment"] == "toy" and rows.loc["toy_a1", "labels"] == "algorithm=A, seed=1"
    widget(at, "selectbox", "f_experiment").select_index(0).run()     # "any"
    check_clean(at)
    assert "experiment" not in at.query_params
    assert rows.shape[0] < len(frame_of(at, 0))


# --------------------------------------------------------------------------------- empty and broken


def test_experiments_page_without_experiments_says_what_to_do(monkeypatch, tmp_path):
    from storage import DatabaseMetadataService

    path = tmp_path / "plain.db"
    with DatabaseMetadataService(path) as db:
        db.create_study({"study_id": "loose", "study_type": "genetic_algorithm"})
    at = Dashboard(f"sqlite:///{path}", monkeypatch, tmp_path).open(EXPERIMENTS)
    assert texts(at.info)[0].startswith("No experiments yet. Give the studies of one problem an experiment and labels")
    assert not at.error and not at.get("plotly_chart")


def test_experiments_page_on_a_database_behind_or_unreachable(monkeypatch, tmp_path):
    path = tmp_path / "legacy_v1.db"
    shutil.copy(LEGACY_DB, path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    at = Dashboard(f"sqlite:///{path}", monkeypatch, tmp_path).open(EXPERIMENTS)
    assert len(at.error) == 1 and shown(at.error[0]).endswith(f"Upgrade it with: hive-cli db upgrade {path}")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    at = Dashboard(UNREACHABLE, monkeypatch, tmp_path).open(EXPERIMENTS)
    assert len(at.error) == 1 and "is unavailable" in shown(at.error[0])


def test_the_warm_up_computes_the_analysis_the_page_opens_on(dash, monkeypatch):
    """After the server's warm-up, the first visit without a link finds its analysis computed."""
    import streamlit as st

    import ui.experiment_cache as cache
    from storage.reader import Reader

    st.cache_data.clear()
    cache.warm_default(Reader(dash.url))
    computed = []
    original = cache.experiment_analysis
    monkeypatch.setattr(cache, "experiment_analysis",
                        lambda reader, name, by: computed.append((name, by)) or original(reader, name, by))
    at = dash.open(EXPERIMENTS)                       # no link: the most recently updated experiment
    assert frame_of(at, 0)["group"].tolist() and computed == []
    grouping = at.selectbox(key="pick_by")
    other = next(label for label in grouping.options if label != grouping.value)
    grouping.set_value(other).run()
    check_clean(at)
    assert computed == [(at.selectbox(key="pick_experiment").value, other)]   # another grouping is computed
