"""Decisions in the dashboard (``AppTest`` on ``app.py``), SQLite and PostgreSQL: the Pareto explorer
ranks ga_two's front (worked out by hand in ``test_pages``: (3,15) (4,8) (7,4) (10,2) (12,1)) by each
method, checked against hand computation and pymoo's own PseudoWeights; a decision recorded through
the page is read back with plain SQL; study detail shows the latest decision and its history; study
detail and Compare offer the report.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sqlalchemy as sa
from conftest import app_database, plain_engine  # tests/conftest.py
from pymoo.mcdm.pseudo_weights import PseudoWeights
from test_pages import (COMPARE, DETAIL, GA_TWO_FRONT, PARETO, Dashboard, build_dataset, chart, check_clean, dash,  # noqa: F401
                        seeded, texts, trace, widget)

pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.PerformanceWarning")

# The front in the page's order (evaluation order of its designs).
FRONT = sorted(GA_TWO_FRONT.items(), key=lambda item: int(item[0].split(":")[1]))
IDS = [run_id for run_id, _ in FRONT]
POINTS = [point for _, point in FRONT]


def ranked(at):
    return at.dataframe[0].value


def top_trace(at, top: int, method: str) -> dict:
    return trace(chart(at, "pareto"), f"top {top} by {method}")


def test_knee_ranking_by_hand(dash):
    # Scaled to [0, 1]: distances (1 - x - y) / sqrt(2): (4,8) 0.275, (7,4) 0.241, (10,2) 0.107, the extremes 0.
    at = dash.open(PARETO, study="ga_two")
    assert widget(at, "selectbox", "prank").value == "knee"
    frame = ranked(at)
    assert frame["run_id"].tolist()[:3] == ["ga_two:8", "ga_two:5", "ga_two:0"]
    assert frame["score"].astype(float).tolist()[:3] == pytest.approx(
        [(1 - 1 / 9 - 1 / 2) / math.sqrt(2), (1 - 4 / 9 - 3 / 14) / math.sqrt(2), (1 - 7 / 9 - 1 / 14) / math.sqrt(2)])
    marks = top_trace(at, 5, "knee point")
    assert marks["customdata"][:3] == ["ga_two:8", "ga_two:5", "ga_two:0"] and marks["text"][:3] == ["1", "2", "3"]


def test_topsis_ranking_with_weights_from_the_url_by_hand(dash):
    at = dash.open(PARETO, study="ga_two", rank="topsis", w="1,3", top="3")
    assert [widget(at, "number_input", f"pw_{i}").value for i in range(2)] == [1.0, 3.0]
    # By hand: vector-normalise each column, weight 0.25 / 0.75, both minimized: ideal = the column minimum.
    weights = (0.25, 0.75)
    norms = [math.sqrt(sum(p[j] ** 2 for p in POINTS)) for j in range(2)]
    v = [[weights[j] * p[j] / norms[j] for j in range(2)] for p in POINTS]
    ideal = [min(row[j] for row in v) for j in range(2)]
    worst = [max(row[j] for row in v) for j in range(2)]
    closeness = []
    for row in v:
        d_plus = math.dist(row, ideal)
        d_minus = math.dist(row, worst)
        closeness.append(d_minus / (d_plus + d_minus))
    expected = sorted(range(5), key=lambda i: -closeness[i])[:3]
    frame = ranked(at)
    assert frame["run_id"].tolist() == [IDS[i] for i in expected]
    assert frame["score"].astype(float).tolist() == pytest.approx([closeness[i] for i in expected])
    assert len(top_trace(at, 3, "TOPSIS")["x"]) == 3


def test_asf_ranking_against_a_reference_point_by_hand(dash):
    # Reference (3, 1), the ideal point; ranges 9 and 14; equal weights 0.5:
    # (3,15) max(0, 0.5) = 0.5; (4,8) max(0.056, 0.25) = 0.25; (7,4) max(0.222, 0.107) = 0.222;
    # (10,2) max(0.389, 0.036) = 0.389; (12,1) max(0.5, 0) = 0.5  (plus 1e-6 times the sum)
    at = dash.open(PARETO, study="ga_two", rank="asf", ref="3,1")
    assert [widget(at, "number_input", f"pref_{i}").value for i in range(2)] == [3.0, 1.0]
    frame = ranked(at)
    assert frame["run_id"].tolist()[:3] == ["ga_two:5", "ga_two:8", "ga_two:0"]
    assert frame["score"].astype(float).tolist()[:3] == pytest.approx(
        [4 / 18 + 1e-6 * (4 / 18 + 3 / 28), 0.25 + 1e-6 * (1 / 18 + 0.25), 7 / 18 + 1e-6 * (7 / 18 + 1 / 28)])


def test_pseudo_weights_ranking_equals_pymoos(dash):
    at = dash.open(PARETO, study="ga_two", rank="pseudo_weights", w="1,3")
    chosen, pseudo = PseudoWeights(np.array([0.25, 0.75])).do(np.array(POINTS), return_pseudo_weights=True)
    frame = ranked(at)
    assert frame["run_id"].iloc[0] == IDS[chosen]
    distances = np.abs(pseudo - [0.25, 0.75]).sum(axis=1)
    assert frame["score"].astype(float).tolist() == pytest.approx(sorted(distances))


def test_ranking_settings_write_the_url(dash):
    at = dash.open(PARETO, study="ga_two")
    widget(at, "selectbox", "prank").set_value("topsis").run()
    check_clean(at)
    widget(at, "number_input", "pw_1").set_value(2.0).run()
    check_clean(at)
    assert at.query_params["rank"] == "topsis" and at.query_params["w"] == "1,2"
    widget(at, "number_input", "pw_0").set_value(0.0).run()
    widget(at, "number_input", "pw_1").set_value(0.0).run()
    check_clean(at)
    assert texts(at.warning) == ["Cannot rank: weights must be finite, not negative, and not all zero; got [0.0, 0.0]"]


# ------------------------------------------------------------------------------ recording a decision


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh(request, tmp_path, monkeypatch):
    """test_pages' dataset in a database of this test's own (a decision is written into it)."""
    with app_database(request, tmp_path) as url:
        build_dataset(url)
        yield url, Dashboard(url, monkeypatch, tmp_path)


def rows(url: str, sql: str) -> list[dict]:
    engine = plain_engine(sa.make_url(url).set(drivername="postgresql+psycopg") if url.startswith("postgresql") else url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def test_a_decision_recorded_on_the_pareto_explorer_is_stored_shown_and_kept(fresh):
    url, dashboard = fresh
    at = dashboard.open(PARETO, study="ga_two", rank="asf", ref="3,1")
    assert widget(at, "selectbox", "decide_run").value == "ga_two:5"           # the ASF's first
    at.text_area(key="decide_rationale").input("cheapest design under 5 t <b>CO2</b>")
    at.text_input(key="decide_by").input("Ana")
    next(b for b in at.button if b.label == "Record this decision").click().run()
    check_clean(at)
    stored = rows(url, "SELECT study_id, run_id, method, settings, rationale, decided_by, decided_at FROM decisions")
    assert len(stored) == 1
    assert {k: stored[0][k] for k in ("study_id", "run_id", "method", "rationale", "decided_by")} == {
        "study_id": "ga_two", "run_id": "ga_two:5", "method": "asf",
        "rationale": "cheapest design under 5 t <b>CO2</b>", "decided_by": "Ana"}
    import json

    settings = json.loads(stored[0]["settings"])
    assert settings["reference_point"] == {"cost": 3.0, "co2": 1.0} and settings["rank"] == 1
    assert settings["score"] == pytest.approx(4 / 18 + 1e-6 * (4 / 18 + 3 / 28))
    assert texts(at.success) == ["Recorded decision 1: ga_two:5 (ASF)."]
    decision = trace(chart(at, "pareto"), "recorded decision")
    assert (decision["x"], decision["y"], decision["customdata"]) == ([7.0], [4.0], ["ga_two:5"])
    assert any(t.startswith("Latest decision: ga_two:5 (by ASF) by Ana, ") and
               t.endswith("UTC: cheapest design under 5 t <b>CO2</b>") for t in texts(at.text))

    # A second decision (knee) keeps the first: study detail shows both, the latest first.
    at = dashboard.open(PARETO, study="ga_two")
    next(b for b in at.button if b.label == "Record this decision").click().run()
    detail = dashboard.open(DETAIL, study="ga_two", tab="Decisions")
    history = detail.dataframe[-1].value
    assert history["run_id"].tolist() == ["ga_two:8", "ga_two:5"] and history["method"].tolist() == ["knee", "asf"]
    assert history["cost"].tolist() == [4.0, 7.0] and history["co2"].tolist() == [8.0, 4.0]
    assert any(t.startswith("Latest decision: ga_two:8 (by knee point), ") and t.endswith("UTC (2 in the Decisions tab)")
               for t in texts(detail.text))
    assert len(rows(url, "SELECT decision_id FROM decisions")) == 2


def test_study_detail_and_compare_offer_the_report(dash):
    detail = dash.open(DETAIL, study="ga_two")
    assert "Download report (HTML)" in [b.proto.label for b in detail.get("download_button")]
    none_yet = dash.open(DETAIL, study="ga_two", tab="Decisions")
    assert texts(none_yet.info)[0].startswith("No decision recorded for this study yet.")
    compare = dash.open(COMPARE, studies="ga_two,ga_live")
    assert "Download report (HTML)" in [b.proto.label for b in compare.get("download_button")]
