"""``storage.studies.exports`` called directly: spreadsheet-safe cells (hand-written expectations), exact CSV
numbers, and ``export_study_table`` paging (several pages must give what one page gives), progress,
and refusals, on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
import math

import pandas as pd
import pytest

import readset
from storage import ValidationError
from storage.studies import exports


pytest_plugins = ["readplugin"]
ds, svc, reader = readset.local_fixtures()

@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"),
    ("+A1", "'+A1"),
    ("-A1", "'-A1"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\tx", "'\tx"),
    ("  =x", "'  =x"),
    ("   @x", "'   @x"),
    ("=", "'="),
    ("--5", "'--5"),
    ("-inf", "'-inf"),
    ("first\n=2+2", "first\n'=2+2"),
    ("first\r\n  -cmd\nlast", "first\r\n'  -cmd\nlast"),
    ("a\r=b", "a\r'=b"),
    ("=a\n=b", "'=a\n'=b"),
    ("x=1", "x=1"),
    ("plain text", "plain text"),
    ("", ""),
    ("-2.5", "-2.5"),
    (" -2.5 ", " -2.5 "),
    ("+3", "+3"),
    ("-1e-5", "-1e-5"),
    ("-.5", "-.5"),
    ("1E+10", "1E+10"),
    (-2.5, -2.5),
    (None, None),
    (7, 7),
    (math.inf, math.inf),
])
def test_neutralize_cell(value, expected):
    assert exports.neutralize_cell(value) == expected


@pytest.mark.parametrize("value, expected", [("\rCR", "'\rCR"), ("\r", "'\r")])
def test_neutralize_cell_starting_with_carriage_return(value, expected):
    assert exports.neutralize_cell(value) == expected


def test_to_safe_csv_keeps_numbers_exact_and_neutralizes_text():
    frame = pd.DataFrame({
        "=col": [1.0, 2.0, 3.0],
        "number": [-2.5, 0.1 + 0.2, 1e-300],
        "mixed": [-2.5, "=x", None],
        "listy": [["=a"], {"k": "=b"}, [-2.5]],
        "text": ["-2.5", "@me", "ok"],
    })
    rows = list(csv.reader(io.StringIO(exports.to_safe_csv(frame).decode("utf-8"), newline="")))
    assert rows[0] == ["'=col", "number", "mixed", "listy", "text"]
    assert [float(r[1]) for r in rows[1:]] == [-2.5, 0.1 + 0.2, 1e-300]  # shortest repr, exact
    assert [r[2] for r in rows[1:]] == ["-2.5", "'=x", ""]
    assert [json.loads(r[3]) for r in rows[1:]] == [["=a"], {"k": "=b"}, [-2.5]]
    assert [r[4] for r in rows[1:]] == ["-2.5", "'@me", "ok"]
    assert readset.unsafe_cells(rows) == []


# ------------------------------------------------------------------------------ export_study_table


def _read(path, fmt) -> pd.DataFrame:
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "json":
        return pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
    return pd.read_csv(path, keep_default_na=False)


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_in_several_pages_equals_one_page(ds, reader, tmp_path, monkeypatch, fmt):
    s = ds["ga_min"]
    pages: list[int] = []
    rows = exports.export_study_table(reader, "ga_min", "runs", fmt, tmp_path / f"one.{fmt}", progress=pages.append)
    assert rows == len(s.runs) and pages == [len(s.runs)]
    monkeypatch.setattr(exports, "PAGE_ROWS", 5)
    pages = []
    rows = exports.export_study_table(reader, "ga_min", "runs", fmt, tmp_path / f"paged.{fmt}", progress=pages.append)
    assert rows == len(s.runs) and pages == [5] * 8 + [2]
    one, paged = _read(tmp_path / f"one.{fmt}", fmt), _read(tmp_path / f"paged.{fmt}", fmt)
    pd.testing.assert_frame_equal(one, paged)
    assert paged["run_id"].tolist() == [r.run_id for r in s.runs]
    if fmt == "csv":
        assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "paged.csv").read_bytes()


def test_parquet_export_when_the_first_page_lacks_values(ds, reader, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "PAGE_ROWS", 1)  # page 1 = run 0: no timing, no simulation; run 1 has both
    rows = exports.export_study_table(reader, "ga_min", "runs", "parquet", tmp_path / "runs.parquet")
    frame = pd.read_parquet(tmp_path / "runs.parquet")
    assert rows == len(frame) == len(ds["ga_min"].runs)
    assert [None if pd.isna(v) else v for v in frame["evaluation_time_seconds"]] == \
        [r.eval_time for r in ds["ga_min"].runs]


@pytest.mark.parametrize("table, fmt", [("runs", "xlsx"), ("studies", "csv"), ("runs; DROP", "csv")])
def test_export_refuses_unknown_tables_and_formats(reader, tmp_path, table, fmt):
    with pytest.raises(ValidationError):
        exports.export_study_table(reader, "ga_min", table, fmt, tmp_path / "x.out")


def test_export_tables_match_the_queries(ds, reader, tmp_path):
    s = ds["mo_mixed"]
    rows = exports.export_study_table(reader, "mo_mixed", "pareto", "json", tmp_path / "front.json")
    front = json.loads((tmp_path / "front.json").read_text(encoding="utf-8"))
    assert rows == len(front) == len(readset.brute_front(s))
    for record in front:
        run = s.run(record["run_id"])
        assert [record["total_cost"], record["renewable_fraction"]] == run.objectives
        assert [record["param:x0"], record["param:x1"]] == run.params
    rows = exports.export_study_table(reader, "mo_mixed", "runs", "json", tmp_path / "runs.json")
    records = json.loads((tmp_path / "runs.json").read_text(encoding="utf-8"))
    assert rows == len(s.runs)
    nan_run, inf_run = [r for r in s.runs if not all(math.isfinite(v) for v in r.objectives)]
    by_id = {r["run_id"]: r for r in records}
    assert by_id[nan_run.run_id]["renewable_fraction"] == 0.995 and by_id[nan_run.run_id]["fitness"] == 15.0
    assert by_id[inf_run.run_id]["total_cost"] == "Infinity" and by_id[inf_run.run_id]["fitness"] == "Infinity"


def test_json_export_spells_a_nan_objective(ds, reader, tmp_path):
    exports.export_study_table(reader, "mo_mixed", "runs", "json", tmp_path / "runs.json")
    records = {r["run_id"]: r for r in json.loads((tmp_path / "runs.json").read_text(encoding="utf-8"))}
    nan_run = next(r for r in ds["mo_mixed"].runs if math.isnan(r.objectives[0]))
    assert records[nan_run.run_id]["total_cost"] == "NaN"
