"""The offline study report (``reports.study_report``), on SQLite and PostgreSQL: what each section shows,
checked against the raw values written here (fronts by brute force, decisions as recorded, risk rows as
logged); user text escaped; plotly.js included once; and a 1,000,000-evaluation study under 5 MB,
thinned and saying so. The browser half (the file opened from disk with the network blocked) is in
``tests/browser/test_report_browser.py``.
"""
from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest

import experiment_data as data

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_TEXT = "<script>alert(2)</script> & **not bold**"


def figures(page: str) -> list[dict]:
    found = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    return list(json.loads(found.group(1)).values())


def trace(figure: dict, name: str) -> dict:
    matches = [t for t in figure["data"] if t.get("name") == name]
    assert len(matches) == 1, [t.get("name") for t in figure["data"]]
    return matches[0]


def values(array) -> list:
    """A plotly JSON array (plain list, or base64 'bdata' typed array) as a list."""
    if isinstance(array, dict):
        import base64

        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).tolist()
    return list(array)


def titled(figures_: list[dict], start: str) -> dict:
    found = [f for f in figures_ if str(f["layout"].get("title", {}).get("text", "")).startswith(start)]
    assert len(found) == 1, [f["layout"].get("title", {}).get("text") for f in figures_]
    return found[0]


@pytest.fixture
def seeded(service):
    data.build(service.url.render_as_string(hide_password=False))
    service.record_decision({"study_id": "toy_a1", "run_id": "toy_a1:2", "method": "knee", "decided_by": "Ana"})
    service.record_decision({"study_id": "toy_a1", "run_id": "toy_a1:3", "method": "topsis", "decided_by": XSS_NAME,
                             "settings": {"weights": [0.2, 0.8]}, "rationale": XSS_TEXT})
    service.create_study({"study_id": "risk", "study_type": "monte_carlo", "study_name": XSS_NAME, "description": XSS_TEXT,
                          "optimization_objective": "cost", "parameter_names": ["fuel", "capex"]})
    service.log_study_runs([{"study_id": "risk", "parameter_vector": [float(i), float(20 - i)], "objectives": [100.0 + i]}
                            for i in range(20)])
    service.log_uncertainty_analysis({"study_id": "risk", "objective_name": "cost", "mean_value": 109.5,
                                      "percentile_95": 118.0, "var_95": 118.0, "cvar_95": 119.0, "sample_count": 20})
    service.log_sensitivity_analysis([
        {"study_id": "risk", "parameter_name": "fuel", "objective_name": "cost", "sobol_total": 0.75, "importance_rank": 1},
        {"study_id": "risk", "parameter_name": "capex", "objective_name": "cost", "sobol_total": 0.2, "importance_rank": 2}])
    service.update_study_status("risk", "completed")
    return service


def test_report_of_a_study_with_a_decision(seeded):
    from reports.study_report import study_report

    report = study_report(seeded.reader, ["toy_a1"])
    page = report.html
    assert page.startswith("<!DOCTYPE html>") and page.count('id="plotly-gzip"') == 1
    assert "https://" not in page.split('id="plotly-gzip"')[0]          # nothing to fetch before the library
    shown = figures(page)
    assert report.charts == len(shown) == 2                              # convergence, front

    # Front by brute force: (3,6) (4,5) (6,8) (8,9) in (cost min, quality max): (4,5) is dominated by (3,6).
    front = titled(shown, "Pareto front of toy_a1")
    drawn = trace(front, "Pareto front")
    assert sorted(zip(values(drawn["x"]), values(drawn["y"]))) == [(3.0, 6.0), (6.0, 8.0), (8.0, 9.0)]
    decision = trace(front, "recorded decision")                         # the latest decision: run 3 = (8, 9)
    assert (values(decision["x"]), values(decision["y"]), values(decision["customdata"])) == ([8.0], [9.0], ["toy_a1:3"])
    assert "knee point" in [t.get("name") for t in front["data"]]

    convergence = titled(shown, "Convergence of toy_a1")
    best = trace(convergence, "toy_a1 best so far")
    assert values(best["y"]) == [4.0, 3.0]                               # best cost so far: 4 then 3

    # The decision and its history, escaped; the latest first.
    assert "Latest decision" in page and "TOPSIS" in page and "knee point" in page
    assert html.escape(XSS_TEXT) in page and XSS_TEXT not in page
    assert html.escape(XSS_NAME) in page and XSS_NAME not in page
    history = page[page.index("History: 2 decisions"):]
    assert history.index("toy_a1:3") < history.index("toy_a1:2")


def test_report_of_several_studies_compares_them_first_and_shows_risk(seeded):
    from reports.study_report import study_report

    report = study_report(seeded.reader, ["toy_a1", "toy_b1", "risk", "tune_tpe1"])
    page = report.html
    assert page.index('id="comparison"') < page.index('id="study-1">Study toy_a1') < page.index('id="study-2">Study toy_b1')
    shown = figures(page)
    fronts = titled(shown, "Pareto fronts: cost (min), quality (max)")
    assert {t["name"] for t in fronts["data"]} >= {"toy_a1", "toy_b1"}
    hypervolume = titled(shown, "Hypervolume per generation: cost (min), quality (max)")
    # both toy studies on one reference point: the worst of their runs, cost 10 and quality 3 (toy_b1's);
    # toy_a1 after generation 1, by the sweep: 7 * 3 + 4 * 2 + 2 * 1 = 31
    both = [(c, q) for sid in ("toy_a1", "toy_b1") for _, c, q in data.TOY[sid][2]]
    reference = (max(c for c, _ in both), -min(q for _, q in both))
    final = values(trace(hypervolume, "toy_a1")["y"])[-1]
    assert reference == (10.0, -3.0)
    assert final == pytest.approx(data.hypervolume_2d([(c, -q) for _, c, q in data.TOY["toy_a1"][2]], reference)) == 31
    # risk: its uncertainty row and the sensitivity heatmap
    assert "Uncertainty" in page and "Sensitivity" in page and ">109.5<" in page
    heatmap = titled(shown, "Sobol total-order index of each parameter")
    assert values(heatmap["data"][0]["y"]) == ["capex", "fuel"] or heatmap["data"][0]["y"] == ["capex", "fuel"]
    # a single-objective study lists its best designs instead of a front
    assert page.index('id="study-4">Study tune_tpe1') < page.rindex("Best designs")


def test_report_of_an_unknown_study_is_refused(seeded):
    from reports.study_report import study_report
    from storage import UnknownStudyError

    with pytest.raises(UnknownStudyError, match="study_id='ghost'"):
        study_report(seeded.reader, ["toy_a1", "ghost"])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_million_evaluations_fit_in_five_megabytes_thinned_and_saying_so(service, sql):
    """One study of 1,000,000 evaluations (100 generations of 10,000): 20,000 of them lie on the line
    cost + co2 = 1 (the front), the rest above it. The report stays under 5 MB and says what it thinned."""
    rng = np.random.default_rng(1)
    service.create_study({"study_id": "huge", "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
                          "objective_directions": ["minimize", "minimize"], "parameter_names": ["a", "b"]})
    for generation in range(100):
        cost = rng.random(10_000)
        co2 = 1.0 - cost + np.where(np.arange(10_000) < 200, 0.0, rng.exponential(0.2, 10_000))
        service.log_study_runs([{"study_id": "huge", "generation_number": generation, "parameter_vector": [c, d],
                                 "objectives": [c, d]} for c, d in zip(cost.tolist(), co2.tolist())])
    service.update_study_status("huge", "completed")
    assert sql("SELECT run_count FROM studies WHERE study_id = 'huge'")[0]["run_count"] == 1_000_000
    on_front = sql("SELECT COUNT(*) AS n FROM study_runs WHERE study_id = 'huge' AND is_pareto_optimal")[0]["n"]
    assert on_front > 2_000

    from reports.study_report import CLOUD_POINTS, MAX_FRONT_POINTS, study_report

    report = study_report(service.reader, ["huge"])
    size = len(report.html.encode("utf-8"))
    assert size < 5_000_000, f"{size:,} bytes"
    shown = figures(report.html)
    front = titled(shown, "Pareto front of huge")
    assert len(values(trace(front, "Pareto front")["x"])) <= MAX_FRONT_POINTS + 1
    assert len(values(trace(front, next(t["name"] for t in front["data"] if t["name"].startswith("dominated")))["x"])) \
        <= CLOUD_POINTS
    said = " ".join(report.thinned)
    assert f"an even sample of {CLOUD_POINTS:,} of its 1,000,000 evaluations" in said
    assert f"of its {on_front:,} designs along cost is drawn" in said
    assert "Thinned views" in report.html and f"The first 100 of {on_front:,} designs by cost." in report.html
