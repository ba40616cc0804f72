"""The README's "Writing results" examples run as written, and store what they say."""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def writing_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Writing results"):text.index("### Evaluations, designs and names")]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_writing_examples_run_and_store_what_they_say(tmp_path, monkeypatch):
    path = tmp_path / "hive.db"
    monkeypatch.setenv("HIVE_DB_URL", str(path))
    blocks = writing_examples()
    assert len(blocks) == 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
    namespace["db"].close()

    X, F = namespace["X"], namespace["F"]
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT parameter_vector, objectives, generation_number FROM study_runs "
                        "WHERE study_id = 'ga_001' ORDER BY evaluation_number").fetchall()
    assert len(rows) == 1 + 50 + 50
    assert json.loads(rows[0][0]) == [120.0, 40.0, 0.0, 15.0]
    # The dict of arrays: generation 1, the arrays' rows; the DataFrame: the named columns, in the study's order.
    assert [json.loads(r[0]) for r in rows[1:51]] == X.tolist()
    assert {r[2] for r in rows[1:51]} == {1}
    assert [json.loads(r[0]) for r in rows[51:]] == X.tolist()
    assert [json.loads(r[1]) for r in rows[51:]] == [[a * 2e6, b * 500] for a, b in F.tolist()]
    assert conn.execute("SELECT run_count FROM studies WHERE study_id = 'ga_001'").fetchone()[0] == 101
