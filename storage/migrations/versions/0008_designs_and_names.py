"""Designs, names and the optimizer's own view of each evaluation.

- ``study_runs.design_key``: a 64-bit key of the design (the parameter vector, with its names when
  the run names its own parameters), indexed with ``study_id``, so fronts, best designs and exports
  can count each design once while the runs table keeps every evaluation. Existing rows get their
  key here, computed exactly as ``storage.studies.designs.design_key`` does (a copy below: migrations stand
  alone; a test holds the two equal).
- ``study_runs.run_state``: the optimizer's own state of the evaluation where it knows more than
  success/failed/infeasible (Optuna: complete, pruned, fail), for filters.
- ``studies.parameter_choices``: the labels of categorical parameters (``{"use_bn": [false, true]}``),
  whose values are stored as the index of the choice.
- ``studies.parameter_names_from_runs``: the study declared no names, so the store keeps the union of
  the names its runs give (in order of first appearance); a study that declared its names refuses
  others. Studies without names whose runs named their parameters get that union here.
- ``studies.study_type`` also admits ``bayesian_optimization``, ``evolution_strategy`` and ``other``
  (Optuna's TPE is not a genetic algorithm). SQLite cannot change a CHECK in place: the column is
  re-made (add, copy, drop, rename) inside the table, never by re-creating the table, whose
  deletion would cascade to every run.
- ``intermediate_values``: one row per (run, step) of a run's learning curve (Optuna's
  ``trial.report``); NaN is stored as NULL, the one non-number a value may be.

Downgrade drops what was added; study types outside the old four become ``single_simulation``.

Revision ID: 0008_designs_and_names
Revises: 0007_dspy_import_details
"""
import hashlib
import json

import orjson
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0008_designs_and_names"
down_revision = "0007_dspy_import_details"
branch_labels = None
depends_on = None

FLOAT8 = sa.REAL().with_variant(postgresql.DOUBLE_PRECISION(), "postgresql")
OLD_STUDY_TYPES = ("genetic_algorithm", "monte_carlo", "single_simulation", "milp")
NEW_STUDY_TYPES = OLD_STUDY_TYPES + ("bayesian_optimization", "evolution_strategy", "other")
BATCH = 20_000


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def _study_type_check(types: tuple[str, ...], column: str = "study_type") -> str:
    return f"{column} IN ({', '.join(repr(t) for t in types)})"


def _set_study_types(types: tuple[str, ...]) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE studies DROP CONSTRAINT IF EXISTS ck_studies_study_type")
        op.execute(f"ALTER TABLE studies ADD CONSTRAINT ck_studies_study_type CHECK ({_study_type_check(types)})")
        return
    current = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'studies'").scalar_one()
    if _study_type_check(types) in current:
        return
    op.execute("DROP INDEX IF EXISTS idx_studies_type")
    op.execute(
        "ALTER TABLE studies ADD COLUMN study_type_new TEXT NOT NULL DEFAULT 'single_simulation' "
        f"CONSTRAINT ck_studies_study_type CHECK ({_study_type_check(types, 'study_type_new')})"
    )
    op.execute("UPDATE studies SET study_type_new = study_type")
    op.execute("ALTER TABLE studies DROP COLUMN study_type")
    op.execute("ALTER TABLE studies RENAME COLUMN study_type_new TO study_type")
    op.execute("CREATE INDEX IF NOT EXISTS idx_studies_type ON studies (study_type)")


# A copy of storage.studies.designs.design_key (see the module docstring).
def _digest(payload: list) -> int:
    return int.from_bytes(hashlib.blake2b(orjson.dumps(payload), digest_size=8).digest(), "little", signed=True)


def _design_key(values: list, own_names: list | None, study_names: list | None) -> int | None:
    if not values:
        return None
    floats = [float(v) + 0.0 for v in values]
    if own_names:
        order = {name: i for i, name in enumerate(study_names or ())}
        pairs = sorted(zip(own_names, floats), key=lambda p: (order.get(p[0], len(order)), p[0]))
        names = [n for n, _ in pairs]
        floats = [v for _, v in pairs]
        if study_names is None or names != list(study_names):
            return _digest([names, floats])
    return _digest(floats)


def _backfill(bind) -> None:
    """Design keys of every existing run; names for studies that declared none but whose runs did."""
    studies = {
        row[0]: (json.loads(row[1]) if row[1] else None)
        for row in bind.exec_driver_sql("SELECT study_id, parameter_names FROM studies")
    }
    unions: dict[str, list] = {}
    for study_id, names in studies.items():
        if names is None:
            union: list = []
            for (text,) in bind.execute(sa.text(
                    "SELECT DISTINCT parameter_names FROM study_runs WHERE study_id = :s AND parameter_names IS NOT NULL"),
                    {"s": study_id}):
                for name in json.loads(text) or []:
                    if name not in union:
                        union.append(name)
            if union:
                unions[study_id] = union
                studies[study_id] = union
    for study_id, union in unions.items():
        bind.execute(sa.text("UPDATE studies SET parameter_names = :n, parameter_names_from_runs = :t WHERE study_id = :s"),
                     {"n": json.dumps(union, separators=(",", ":"), ensure_ascii=False), "t": True, "s": study_id})
    last = ""
    while True:
        rows = bind.execute(sa.text(
            "SELECT run_id, study_id, parameter_vector, parameter_names FROM study_runs "
            "WHERE run_id > :last ORDER BY run_id LIMIT :n"), {"last": last, "n": BATCH}).all()
        if not rows:
            return
        keys = [
            {"k": _design_key(json.loads(vector), json.loads(names) if names else None, studies.get(study_id)), "r": run_id}
            for run_id, study_id, vector, names in rows
        ]
        bind.execute(sa.text("UPDATE study_runs SET design_key = :k WHERE run_id = :r"), keys)
        last = rows[-1][0]


def upgrade() -> None:
    bind = op.get_bind()
    study_columns = _columns("studies")
    if "parameter_choices" not in study_columns:
        op.add_column("studies", sa.Column("parameter_choices", sa.Text))
    if "parameter_names_from_runs" not in study_columns:
        op.add_column("studies", sa.Column("parameter_names_from_runs", sa.Boolean, nullable=False,
                                           server_default=sa.false()))
    _set_study_types(NEW_STUDY_TYPES)
    run_columns = _columns("study_runs")
    if "run_state" not in run_columns:
        op.add_column("study_runs", sa.Column("run_state", sa.Text))
    if "design_key" not in run_columns:
        op.add_column("study_runs", sa.Column("design_key", sa.BigInteger))
        _backfill(bind)
    op.create_index("idx_study_runs_design", "study_runs", ["study_id", "design_key"], if_not_exists=True)
    if "intermediate_values" not in sa.inspect(bind).get_table_names():
        op.create_table(
            "intermediate_values",
            sa.Column("run_id", sa.Text, sa.ForeignKey("study_runs.run_id", ondelete="CASCADE",
                                                       name="fk_intermediate_values_run_id_study_runs"), nullable=False),
            sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE",
                                                         name="fk_intermediate_values_study_id_studies"), nullable=False),
            sa.Column("step", sa.Integer, nullable=False),
            sa.Column("value", FLOAT8),
            sa.PrimaryKeyConstraint("run_id", "step", name="pk_intermediate_values"),
        )
        op.create_index("idx_intermediate_values_study_id", "intermediate_values", ["study_id"])


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("DROP TABLE IF EXISTS intermediate_values")
    op.drop_index("idx_study_runs_design", table_name="study_runs", if_exists=True)
    run_columns = _columns("study_runs")
    for name in ("design_key", "run_state"):
        if name in run_columns:
            op.execute(f"ALTER TABLE study_runs DROP COLUMN {name}")
    bind.execute(sa.text("UPDATE studies SET study_type = 'single_simulation' WHERE study_type NOT IN :old")
                 .bindparams(sa.bindparam("old", expanding=True)), {"old": list(OLD_STUDY_TYPES)})
    _set_study_types(OLD_STUDY_TYPES)
    study_columns = _columns("studies")
    for name in ("parameter_names_from_runs", "parameter_choices"):
        if name in study_columns:
            op.execute(f"ALTER TABLE studies DROP COLUMN {name}")
