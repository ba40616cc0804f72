"""Usage a run spent outside its iterations: ``unattributed_prompt_tokens``,
``unattributed_completion_tokens`` and ``unattributed_cost`` on ``optimization_runs``.

A DSPy optimizer calls its LMs outside its trials too (bootstrapping demos, proposing
instructions), and a log without per-trial attribution has only the run's total. Until now a run's
``prompt_tokens``, ``completion_tokens`` and ``cost`` were the sums of its iterations, so that usage
had nowhere to go and imported runs showed 0 tokens and $0.00. Now the database keeps

    run.prompt_tokens     = unattributed_prompt_tokens     + sum(iterations.prompt_tokens)
    run.completion_tokens = unattributed_completion_tokens + sum(iterations.completion_tokens)
    run.cost              = unattributed_cost              + sum(iterations.cost)

after every change of the iterations (the statistics recompute of migration 0004, extended) and of
the unattributed columns themselves (a new trigger on the runs: BEFORE on PostgreSQL, AFTER on
SQLite; a new run without unattributed usage keeps the totals its writer gave, as before). Runs
written before this migration have 0 unattributed usage, so their totals do not move.

Every step checks whether it already happened (column existence, IF [NOT] EXISTS, OR REPLACE), so
running the upgrade again is harmless. Downgrade restores migration 0004's recompute and drops the
three columns (a run's totals fall back to its iterations' sums at its next iteration change).

Revision ID: 0007_dspy_import_details
Revises: 0006_project_directory
"""
from alembic import op
import sqlalchemy as sa

revision = "0007_dspy_import_details"
down_revision = "0006_project_directory"
branch_labels = None
depends_on = None

COLUMNS = ("unattributed_prompt_tokens", "unattributed_completion_tokens", "unattributed_cost")
SQL_TYPES = {
    "sqlite": {"unattributed_prompt_tokens": "BIGINT", "unattributed_completion_tokens": "BIGINT",
               "unattributed_cost": "REAL"},
    "postgresql": {"unattributed_prompt_tokens": "BIGINT", "unattributed_completion_tokens": "BIGINT",
                   "unattributed_cost": "NUMERIC(14, 6)"},
}


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("optimization_runs")}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    existing = _columns()
    for column in COLUMNS:
        if column in existing:
            continue
        # One CHECK per column, attached to it: SQLite can then drop the column again (downgrade).
        op.execute(
            f"ALTER TABLE optimization_runs ADD COLUMN {column} {SQL_TYPES[dialect][column]} NOT NULL DEFAULT 0 "
            f"CONSTRAINT ck_optimization_runs_{column} CHECK ({column} >= 0)"
        )
    if dialect == "postgresql":
        op.execute(PG_SYNC_RUN.format(**_PG_WITH_UNATTRIBUTED))
        op.execute(PG_RUN_USAGE)
        op.execute(PG_RUN_USAGE_TRIGGER)
    else:
        for name in SQLITE_ITERATION_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in _sqlite_iteration_triggers(with_unattributed=True) + SQLITE_RUN_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_optimization_runs_unattributed_usage ON optimization_runs")
        op.execute("DROP FUNCTION IF EXISTS hive_optimization_run_unattributed_usage()")
        op.execute(PG_SYNC_RUN.format(**_PG_ITERATIONS_ONLY))
    else:
        for name in (*SQLITE_RUN_TRIGGER_NAMES, *SQLITE_ITERATION_TRIGGERS):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in _sqlite_iteration_triggers(with_unattributed=False):
            op.execute(statement)
    existing = _columns()
    for column in COLUMNS:
        if column in existing:
            if dialect == "postgresql":
                op.execute(f"ALTER TABLE optimization_runs DROP CONSTRAINT IF EXISTS ck_optimization_runs_{column}")
            op.execute(f"ALTER TABLE optimization_runs DROP COLUMN {column}")


# ------------------------------------------------------------------------------------ PostgreSQL

# Migration 0004's recompute; {pt}, {ct} and {cost} say what the run's totals are made of.
PG_SYNC_RUN = """
CREATE OR REPLACE FUNCTION hive_sync_optimization_run(p_run_id text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    best_id bigint;
BEGIN
    -- Writers of one run's iterations queue here; after the lock each statement below takes a
    -- fresh snapshot (READ COMMITTED) and so sees every iteration committed before it.
    PERFORM 1 FROM optimization_runs WHERE id = p_run_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;  -- the run itself is being deleted (cascade)
    END IF;
    SELECT i.id INTO best_id
      FROM optimization_iterations i
     WHERE i.run_id = p_run_id AND i.score IS NOT NULL
     ORDER BY (i.evaluation_kind = 'full') DESC, i.score DESC, i.iteration ASC
     LIMIT 1;
    UPDATE optimization_iterations i
       SET is_best = (i.id IS NOT DISTINCT FROM best_id)
     WHERE i.run_id = p_run_id AND i.is_best IS DISTINCT FROM (i.id IS NOT DISTINCT FROM best_id);
    UPDATE optimization_runs r
       SET iterations_completed = a.n, best_score = a.best, prompt_tokens = {pt},
           completion_tokens = {ct}, cost = {cost}, avg_latency_ms = a.lat
      FROM (SELECT count(*)::integer AS n,
                   max(score) FILTER (WHERE id = best_id) AS best,
                   coalesce(sum(prompt_tokens), 0) AS pt,
                   coalesce(sum(completion_tokens), 0) AS ct,
                   coalesce(sum(cost), 0) AS cost,
                   avg(latency_ms) AS lat
              FROM optimization_iterations WHERE run_id = p_run_id) a
     WHERE r.id = p_run_id
       AND (r.iterations_completed, r.best_score, r.prompt_tokens, r.completion_tokens, r.cost, r.avg_latency_ms)
           IS DISTINCT FROM (a.n, a.best, {pt}, {ct}, {cost}, a.lat);
END $$
"""
_PG_ITERATIONS_ONLY = {"pt": "a.pt", "ct": "a.ct", "cost": "a.cost"}
_PG_WITH_UNATTRIBUTED = {
    "pt": "a.pt + r.unattributed_prompt_tokens",
    "ct": "a.ct + r.unattributed_completion_tokens",
    "cost": "a.cost + r.unattributed_cost",
}

PG_RUN_USAGE = """
CREATE OR REPLACE FUNCTION hive_optimization_run_unattributed_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A new run without unattributed usage keeps what its writer gave (and meets the CHECKs).
    IF TG_OP = 'INSERT' AND (NEW.unattributed_prompt_tokens, NEW.unattributed_completion_tokens,
                             NEW.unattributed_cost) = (0, 0, 0) THEN
        RETURN NEW;
    END IF;
    SELECT NEW.unattributed_prompt_tokens + coalesce(sum(i.prompt_tokens), 0),
           NEW.unattributed_completion_tokens + coalesce(sum(i.completion_tokens), 0),
           NEW.unattributed_cost + coalesce(sum(i.cost), 0)
      INTO NEW.prompt_tokens, NEW.completion_tokens, NEW.cost
      FROM optimization_iterations i
     WHERE i.run_id = NEW.id;
    RETURN NEW;
END $$
"""

PG_RUN_USAGE_TRIGGER = """
CREATE OR REPLACE TRIGGER trg_optimization_runs_unattributed_usage
BEFORE INSERT OR UPDATE OF unattributed_prompt_tokens, unattributed_completion_tokens, unattributed_cost
ON optimization_runs FOR EACH ROW EXECUTE FUNCTION hive_optimization_run_unattributed_usage()
"""


# ---------------------------------------------------------------------------------------- SQLite

SQLITE_ITERATION_TRIGGERS = (
    "trg_optimization_iterations_insert",
    "trg_optimization_iterations_update",
    "trg_optimization_iterations_move",
    "trg_optimization_iterations_delete",
)
SQLITE_RUN_TRIGGER_NAMES = ("trg_optimization_runs_unattributed_insert", "trg_optimization_runs_unattributed_update")


def _sqlite_totals(run: str, of_run: str, with_unattributed: bool) -> str:
    def plus(column: str) -> str:
        return f"unattributed_{column} + " if with_unattributed else ""

    return f"""prompt_tokens = {plus("prompt_tokens")}(SELECT coalesce(sum(prompt_tokens), 0) {of_run}),
        completion_tokens = {plus("completion_tokens")}(SELECT coalesce(sum(completion_tokens), 0) {of_run}),
        cost = round({plus("cost")}(SELECT coalesce(sum(cost), 0) {of_run}), 6)"""


def _sqlite_sync(run: str, with_unattributed: bool) -> str:
    """Migration 0004's statements recomputing is_best and the run's statistics, for ``run``."""
    best = (
        "(SELECT b.id FROM optimization_iterations b "
        f"WHERE b.run_id = {run} AND b.score IS NOT NULL "
        "ORDER BY b.evaluation_kind = 'full' DESC, b.score DESC, b.iteration ASC LIMIT 1)"
    )
    of_run = f"FROM optimization_iterations WHERE run_id = {run}"
    return f"""
    UPDATE optimization_iterations SET is_best = (id IS {best})
     WHERE run_id = {run} AND is_best IS NOT (id IS {best});
    UPDATE optimization_runs SET
        iterations_completed = (SELECT count(*) {of_run}),
        best_score = (SELECT score {of_run} AND is_best),
        {_sqlite_totals(run, of_run, with_unattributed)},  -- REAL sums drift in the last bits
        avg_latency_ms = (SELECT avg(latency_ms) {of_run})
     WHERE id = {run};"""


_CHANGED = " OR ".join(
    f"OLD.{c} IS NOT NEW.{c}"
    for c in ("run_id", "iteration", "score", "evaluation_kind", "is_best", "prompt_tokens", "completion_tokens",
              "cost", "latency_ms")
)


def _sqlite_iteration_triggers(with_unattributed: bool) -> list[str]:
    return [
        f"""CREATE TRIGGER IF NOT EXISTS trg_optimization_iterations_insert
    AFTER INSERT ON optimization_iterations FOR EACH ROW
    BEGIN{_sqlite_sync("NEW.run_id", with_unattributed)}
    END""",
        f"""CREATE TRIGGER IF NOT EXISTS trg_optimization_iterations_update
    AFTER UPDATE ON optimization_iterations FOR EACH ROW WHEN {_CHANGED}
    BEGIN{_sqlite_sync("NEW.run_id", with_unattributed)}
    END""",
        f"""CREATE TRIGGER IF NOT EXISTS trg_optimization_iterations_move
    AFTER UPDATE OF run_id ON optimization_iterations FOR EACH ROW WHEN OLD.run_id IS NOT NEW.run_id
    BEGIN{_sqlite_sync("OLD.run_id", with_unattributed)}
    END""",
        f"""CREATE TRIGGER IF NOT EXISTS trg_optimization_iterations_delete
    AFTER DELETE ON optimization_iterations FOR EACH ROW
    BEGIN{_sqlite_sync("OLD.run_id", with_unattributed)}
    END""",
    ]


_RUN_TOTALS = f"""
    UPDATE optimization_runs SET
        {_sqlite_totals("NEW.id", "FROM optimization_iterations WHERE run_id = NEW.id", True)}
     WHERE id = NEW.id;"""

SQLITE_RUN_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS trg_optimization_runs_unattributed_insert
    AFTER INSERT ON optimization_runs FOR EACH ROW
    WHEN NEW.unattributed_prompt_tokens != 0 OR NEW.unattributed_completion_tokens != 0 OR NEW.unattributed_cost != 0
    BEGIN{_RUN_TOTALS}
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS trg_optimization_runs_unattributed_update
    AFTER UPDATE OF unattributed_prompt_tokens, unattributed_completion_tokens, unattributed_cost
    ON optimization_runs FOR EACH ROW
    BEGIN{_RUN_TOTALS}
    END""",
]
