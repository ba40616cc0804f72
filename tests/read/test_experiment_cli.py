"""``hive-cli query experiments / experiment / decisions``, ``list-studies --experiment/--label``,
``import optuna --experiment/--label`` and ``hive-cli report`` on SQLite and PostgreSQL.

The commands run in-process through click's runner (the same command group, parsing and error
handling as the installed script). Expected numbers come from ``experiment_data``'s raw values
through independent computations (a hypervolume sweep, scipy's Mann-Whitney U, a direct A12 count,
numpy quartiles), never from the code under test.
"""
from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import create_pg_database, drop_pg_database  # tests/conftest.py
from scipy import stats

import experiment_data as data
from hive_cli.main import cli


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        location = f"sqlite:///{tmp_path_factory.mktemp('experiment_cli') / 'hive.db'}"
    else:
        location = create_pg_database(template=request.getfixturevalue("pg_template"))
    data.build(location)
    from storage import DatabaseMetadataService

    with DatabaseMetadataService(location) as db:
        db.record_decision({"study_id": "toy_a1", "run_id": "toy_a1:2", "method": "knee", "decided_by": "Ana"})
        db.record_decision({"study_id": "toy_a1", "run_id": "toy_a1:3", "method": "topsis",
                            "settings": {"weights": [0.2, 0.8]}, "rationale": "quality first", "decided_by": "Ben"})
    yield location
    if request.param == "postgresql":
        drop_pg_database(location)


def run(url: str, *args: str):
    return CliRunner().invoke(cli, ["--db", url, *args], catch_exceptions=False)


def ok(url: str, *args: str) -> str:
    result = run(url, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def one_error_line(result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_experiments_are_listed(url):
    rows = {r["experiment"]: r for r in json.loads(ok(url, "query", "experiments", "--format", "json"))}
    assert rows["toy"]["studies"] == 8 and rows["toy"]["labels"] == {"algorithm": 3, "seed": 4}
    assert rows["tuning"]["studies"] == 6 and rows["tuning"]["runs"] == 12
    assert "toy" in ok(url, "query", "experiments") and "algorithm (3), seed (4)" in ok(url, "query", "experiments")


def test_experiment_json_against_independent_numbers(url):
    result = json.loads(ok(url, "query", "experiment", "--experiment", "toy", "--format", "json"))
    assert (result["by"], result["measure"], result["larger_is_better"]) == ("algorithm", "hypervolume", True)
    assert result["reference_point"] == {"cost": 10.0, "quality": 2.0} == dict(zip(("cost", "quality"),
                                                                                 data.toy_reference()))
    assert result["reference_point_text"].startswith("Reference point cost = 10, quality = 2: the worst value")
    assert result["left_out"] == {
        "c_other": "its objectives cost (min), risk (min) are not the experiment's cost (min), quality (max)",
        "nolabel": "it has no label 'algorithm'"}
    expected = data.toy_hypervolumes()
    assert {r["study_id"]: r["hypervolume"] for r in result["studies"]} == pytest.approx(expected)
    assert {r["study_id"]: r["group"] for r in result["studies"]} == {sid: v[0] for sid, v in data.TOY.items()}
    groups = data.by_group(expected, data.TOY)
    for row in result["groups"]:
        values = groups[row["group"]]
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        assert (row["n"], row["median"], row["q1"], row["q3"], row["iqr"]) == (3, pytest.approx(median),
                                                                              pytest.approx(q1), pytest.approx(q3),
                                                                              pytest.approx(q3 - q1))
    (pair,) = result["pairs"]
    test = stats.mannwhitneyu(groups["A"], groups["B"], alternative="two-sided")
    assert pair["p_value"] == pytest.approx(test.pvalue) and pair["p_holm"] == pytest.approx(test.pvalue)
    assert pair["a12"] == pytest.approx(data.a12_by_counting(groups["A"], groups["B"]))
    assert pair["better"] == "A" and pair["a12"] == 1.0
    # convergence: generation 0's median over A's seeds of the hypervolume of generation 0's points
    first = data.toy_hypervolumes(up_to_generation=0)
    row = next(r for r in result["convergence"] if r["group"] == "A" and r["generation"] == 0)
    assert row["median"] == pytest.approx(np.median(data.by_group(first, data.TOY)["A"])) and row["n"] == 3
    # attainment surfaces (best = the union's front), in the objectives' own units
    fronts = [data.front_min(runs) for sid, (g, _, runs) in data.TOY.items() if g == "A"]
    union = data.front_min([(0, c, -q) for f in fronts for c, q in f])
    assert result["attainment_surfaces"]["A"]["best"] == [[c, -q] for c, q in union.tolist()]


def test_single_objective_experiment_compares_best_fitness(url):
    result = json.loads(ok(url, "query", "experiment", "--experiment", "tuning", "--format", "json"))
    assert (result["by"], result["measure"], result["larger_is_better"], result["reference_point"]) == (
        "sampler", "best_fitness", True, None)
    best = data.tuning_best()
    assert {r["study_id"]: r["best_fitness"] for r in result["studies"]} == pytest.approx(best)
    groups = data.by_group(best, data.TUNING)
    (pair,) = result["pairs"]
    assert (pair["group_a"], pair["group_b"]) == ("Random", "TPE")   # groups in order of their names
    assert pair["p_value"] == pytest.approx(stats.mannwhitneyu(groups["Random"], groups["TPE"]).pvalue)
    assert pair["a12"] == pytest.approx(data.a12_by_counting(groups["Random"], groups["TPE"])) and pair["better"] == "TPE"
    # best so far across seeds: generation 0 TPE 0.80, 0.85, 0.91 -> 0.85; generation 1: 0.90, 0.92, 0.91 -> 0.91
    tpe = {r["generation"]: r["median"] for r in result["convergence"] if r["group"] == "TPE"}
    assert tpe == pytest.approx({0: 0.85, 1: 0.91})


def test_experiment_tables_and_csv(url):
    text = ok(url, "query", "experiment", "--experiment", "toy")
    assert text.startswith("Experiment toy: 6 studies grouped by algorithm; measure: Final hypervolume (larger is better).")
    assert "Reference point cost = 10, quality = 2" in text
    assert "Left out: c_other (its objectives cost (min), risk (min)" in text
    for heading in ("Studies", "Groups (quartiles by linear interpolation)", "Pairs: two-sided Mann-Whitney U"):
        assert heading in text
    pairs = list(csv.DictReader(io.StringIO(ok(url, "query", "experiment", "--experiment", "toy", "--table", "pairs",
                                               "--format", "csv"))))
    assert [(p["group_a"], p["group_b"], p["better"]) for p in pairs] == [("A", "B", "A")]
    studies = list(csv.DictReader(io.StringIO(ok(url, "query", "experiment", "--experiment", "toy", "--format", "csv"))))
    assert [s["study_id"] for s in studies] == list(data.TOY)
    assert [s["label:seed"] for s in studies] == ["1", "2", "3", "1", "2", "3"]


def test_experiment_refusals_print_one_line_and_write_nothing(url, tmp_path):
    line = one_error_line(run(url, "query", "experiment", "--experiment", "nope"), 1)
    assert line.startswith("error: experiment='nope': no such experiment (experiments here: ") and "'toy'" in line
    line = one_error_line(run(url, "query", "experiment", "--experiment", "toy", "--by", "colour"), 2)
    assert "'colour' is not a label of experiment 'toy' (its labels: algorithm, seed)" in line
    line = one_error_line(run(url, "query", "experiment", "--experiment", "toy", "--diff", "A,B"), 2)
    assert "--diff changes the chart only" in line
    target = tmp_path / "exp.html"
    line = one_error_line(run(url, "query", "experiment", "--experiment", "toy", "--diff", "A,Z", "--output", str(target)), 2)
    assert "'Z' is not a group of algorithm (groups: A, B)" in line
    assert list(tmp_path.iterdir()) == []


def test_experiment_charts(url, tmp_path):
    target = tmp_path / "toy.html"
    result = run(url, "query", "experiment", "--experiment", "toy", "--output", str(target))
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["toy-attainment-difference.html", "toy-attainment.html", "toy-convergence.html", "toy-groups.html"]
    assert "Final hypervolume per study of toy, by algorithm" in (tmp_path / "toy-groups.html").read_text()
    assert "Attainment difference: A against B" in (tmp_path / "toy-attainment-difference.html").read_text()
    assert "Reference point cost = 10, quality = 2" in result.stderr


def test_decisions_latest_first(url):
    text = ok(url, "query", "decisions", "--study-id", "toy_a1")
    assert re.match(r"Latest decision: toy_a1:3 by topsis, Ben, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: quality first\n", text)
    rows = json.loads(ok(url, "query", "decisions", "--study-id", "toy_a1", "--format", "json"))
    assert [(r["run_id"], r["method"], r["decided_by"]) for r in rows] == [("toy_a1:3", "topsis", "Ben"),
                                                                        ("toy_a1:2", "knee", "Ana")]
    # the chosen runs' objectives, by name: run 3 is (8, 9), run 2 is (3, 6)
    assert [(r["cost"], r["quality"]) for r in rows] == [(8.0, 9.0), (3.0, 6.0)]
    assert rows[0]["settings"] == {"weights": [0.2, 0.8]}
    assert ok(url, "query", "decisions", "--study-id", "toy_b1") == "No decision recorded for toy_b1 yet.\n"
    assert one_error_line(run(url, "query", "decisions", "--study-id", "ghost"), 1) == (
        "error: study_id='ghost': no such study (create it first with create_study)")


def test_list_studies_by_experiment_and_label(url):
    def ids(*args):
        return sorted(r["study_id"] for r in json.loads(ok(url, "query", "list-studies", "--format", "json", *args)))

    assert ids("--experiment", "toy", "--label", "algorithm=A") == ["toy_a1", "toy_a2", "toy_a3"]
    assert ids("--experiment", "tuning", "--label", "seed=1") == ["tune_rnd1", "tune_tpe1"]
    assert ids("--label", "seed=1.0", "--label", "sampler=TPE") == ["tune_tpe1"]      # 1.0 is the number 1
    assert ids("--label", "seed=9") == ["nolabel"]
    line = one_error_line(run(url, "query", "list-studies", "--label", "seed"), 2)
    assert "'seed': give NAME=VALUE" in line


def test_optuna_import_takes_experiment_and_labels(url, tmp_path):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="quad", storage=storage, sampler=optuna.samplers.RandomSampler(seed=3))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=4)
    ok(url, "import", "optuna", "--storage", storage, "--study", "quad", "--study-id", "optuna_quad_seed3",
       "--sampler", "RandomSampler", "--experiment", "optuna imports", "--label", "sampler=Random", "--label", "seed=3")
    rows = json.loads(ok(url, "query", "list-studies", "--experiment", "optuna imports", "--format", "json"))
    assert [(r["study_id"], r["labels"]) for r in rows] == [("optuna_quad_seed3", {"sampler": "Random", "seed": 3})]


def test_report_command(url, tmp_path):
    target = tmp_path / "report.html"
    result = run(url, "report", "--study-id", "toy_a1", "--study-id", "toy_b1,tune_tpe1", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"wrote .*report\.html \(\d\.\d MB, \d+ charts\)\n", result.stderr)
    page = target.read_text()
    assert page.count('id="plotly-gzip"') == 1
    for needle in ("Hive report: toy_a1, toy_b1, tune_tpe1", 'id="comparison"', "Study toy_a1", "Study tune_tpe1",
                   "quality first", "TOPSIS"):
        assert needle in page, needle
    assert one_error_line(run(url, "report", "--study-id", "ghost", "--output", str(tmp_path / "g.html")), 1) == (
        "error: study_id='ghost': no such study (create it first with create_study)")
    assert not (tmp_path / "g.html").exists()
    line = one_error_line(run(url, "report", "--study-id", "toy_a1", "--output", str(tmp_path / "r.pdf")), 2)
    assert "use a file name ending in .html or .htm" in line
