"""Prompt-optimization runs: projects, runs, iterations, samples; triggers, row-level security, analytics.

Tables (both backends): ``projects`` (the tenant), ``optimization_runs``, ``optimization_iterations``,
``optimization_samples``; a run's iterations and samples go with it (ON DELETE CASCADE), and a
project's runs with the project. Children carry ``project_id`` too, tied to their run's by the
composite foreign key (run_id, project_id) -> optimization_runs (id, project_id).

What the database itself maintains, whoever writes (API or plain SQL):
- ``duration_ms``, ``improvement``, ``improvement_pct``: STORED generated columns.
- ``updated_at`` of a run: a trigger on every UPDATE.
- A run's ``iterations_completed``, ``best_score``, ``prompt_tokens``, ``completion_tokens``,
  ``cost`` and ``avg_latency_ms``: recomputed from its iterations after every insert, update or
  delete of them (PostgreSQL: statement-level triggers with transition tables, one recompute per
  touched run per statement; SQLite: row-level triggers).
- ``is_best``: exactly one iteration per run that has a scored iteration. A FULL evaluation always
  outranks a MINIBATCH one; then the higher score; ties go to the earliest iteration.

PostgreSQL only:
- ``hive_epoch_ms(text)``: milliseconds since the epoch of a store timestamp. Declared IMMUTABLE so
  that the generated ``duration_ms`` may use it; that is true for every value the timestamp
  CHECKs admit ('YYYY-MM-DD HH:MM:SS[.fff]', UTC), which parse the same under any DateStyle or
  TimeZone.
- Row-level security, ENABLED and FORCED on all four tables (so the owner is subject too), one
  policy each on ``current_setting('app.project_id', true)``: no setting, no rows.
- ``optimization_run_analytics``: a materialized view of per-(project, optimizer, status)
  aggregates, refreshed on demand by ``hive_refresh_optimization_analytics()``. A materialized view
  cannot carry row-level security, so nobody but the owner reads it directly: applications read
  ``optimization_project_analytics``, a security-barrier view showing the current project's rows.
  The refresh must aggregate every project, while FORCE applies the policies to the owner too; the
  refresh function (SECURITY DEFINER, owned by the owner) therefore sets the transaction-local flag
  ``hive.analytics_refresh``, and the runs policy admits every row only when that flag is on AND
  the current role is the table's owner (``hive_analytics_refreshing()``). An application role
  that is not the owner gains nothing by setting the flag; the owner could disable RLS anyway.

Every step checks whether it already happened (IF NOT EXISTS, OR REPLACE, existence checks), so
running the upgrade again is harmless. Downgrade drops, in dependency order, the views, policies,
triggers, tables and functions: the prompt-optimization data is lost.

Revision ID: 0004_prompt_optimization
Revises: 0003_milp_progress
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

revision = "0004_prompt_optimization"
down_revision = "0003_milp_progress"
branch_labels = None
depends_on = None

OPTIMIZER_TYPES = "'miprov2', 'bootstrap_fewshot', 'bootstrap_fewshot_random_search', 'copro', 'gepa', 'custom'"
RUN_STATUSES = "'pending', 'running', 'completed', 'failed', 'cancelled'"
EVALUATION_KINDS = "'minibatch', 'full'"
TABLES = ("projects", "optimization_runs", "optimization_iterations", "optimization_samples")


class _PerDialect(ColumnElement):
    inherit_cache = False

    def __init__(self, sqlite: str, postgresql: str):
        self.texts = {"sqlite": sqlite, "postgresql": postgresql}


@compiles(_PerDialect)
def _compile(element, compiler, **_kw):
    return element.texts[compiler.dialect.name]


FLOAT8 = sa.REAL().with_variant(postgresql.DOUBLE_PRECISION(), "postgresql")
SCORE = sa.REAL().with_variant(sa.Numeric(7, 4), "postgresql")
PCT = sa.REAL().with_variant(sa.Numeric(10, 2), "postgresql")
MONEY = sa.REAL().with_variant(sa.Numeric(14, 6), "postgresql")
JSON_DOC = sa.Text().with_variant(postgresql.JSONB(), "postgresql")
TAGS = sa.Text().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

NOW_MS = _PerDialect(
    sqlite="(strftime('%Y-%m-%d %H:%M:%f', 'now'))",
    postgresql="to_char((now() AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI:SS.MS')",
)
NEW_RUN_ID = _PerDialect(
    sqlite="(lower(hex(randomblob(16))))", postgresql="replace((gen_random_uuid())::text, '-', '')"
)
EMPTY_OBJECT = _PerDialect(sqlite="'{}'", postgresql="'{}'::jsonb")
EMPTY_TAGS = _PerDialect(sqlite="'[]'", postgresql="'{}'::text[]")
DURATION_MS = _PerDialect(
    sqlite="CAST(round((julianday(end_time) - julianday(start_time)) * 86400000.0) AS INTEGER)",
    postgresql="(hive_epoch_ms(end_time) - hive_epoch_ms(start_time))",
)
IMPROVEMENT = "round((final_score - baseline_score), 4)"
IMPROVEMENT_PCT = (
    "CASE WHEN (baseline_score > 0) THEN round((((final_score - baseline_score) / baseline_score) * 100), 2) "
    "ELSE NULL END"
)


def _timestamp_check(table: str, column: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        _PerDialect(
            sqlite=(  # '+0 days' normalizes, so an impossible date such as Feb 30 reads back different
            f"{column} IS strftime('%Y-%m-%d %H:%M:%f', {column}, '+0 days') "
            f"OR {column} IS strftime('%Y-%m-%d %H:%M:%S', {column}, '+0 days')"
        ),
            postgresql=(
                f"{column} IS NULL OR ({column} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}} [0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}([.][0-9]{{3}})?$' "
                f"AND hive_epoch_ms({column}) IS NOT NULL)"
            ),
        ),
        name=op.f(f"ck_{table}_{column}"),
    )


def _score_check(table: str, column: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        _PerDialect(
            sqlite=f"{column} >= 0 AND {column} <= 1 AND {column} = round({column}, 4)",
            postgresql=f"{column} >= 0 AND {column} <= 1",
        ),
        name=op.f(f"ck_{table}_{column}"),
    )


def _json_object_check(table: str, column: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        _PerDialect(
            sqlite=f"json_valid({column}) AND json_type({column}) = 'object'",
            postgresql=f"jsonb_typeof({column}) = 'object'",
        ),
        name=op.f(f"ck_{table}_{column}"),
    )


def _tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


# ------------------------------------------------------------------------------------- upgrade


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_EPOCH_MS)  # the generated duration and the timestamp CHECKs use it
    _create_tables(_tables())
    _create_indexes(dialect)
    if dialect == "postgresql":
        _postgresql_upgrade()
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def _create_tables(tables: set[str]) -> None:
    if "projects" not in tables:
        op.create_table(
            "projects",
            sa.Column("id", sa.Text, nullable=False),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("created_at", sa.Text, nullable=False, server_default=NOW_MS),
            sa.PrimaryKeyConstraint("id", name="pk_projects"),
            sa.CheckConstraint("length(id) BETWEEN 1 AND 200", name=op.f("ck_projects_id")),
        )
    if "optimization_runs" not in tables:
        op.create_table(
            "optimization_runs",
            sa.Column("id", sa.Text, nullable=False, server_default=NEW_RUN_ID),
            sa.Column("project_id", sa.Text, nullable=False),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("description", sa.Text),
            sa.Column("optimizer_type", sa.Text, nullable=False),
            sa.Column("status", sa.Text, nullable=False, server_default="pending"),
            sa.Column("config", JSON_DOC, nullable=False, server_default=EMPTY_OBJECT),
            sa.Column("metadata", JSON_DOC, nullable=False, server_default=EMPTY_OBJECT),
            sa.Column("tags", TAGS, nullable=False, server_default=EMPTY_TAGS),
            sa.Column("task_name", sa.Text),
            sa.Column("dataset_name", sa.Text),
            sa.Column("model_name", sa.Text),
            sa.Column("prompt_model_name", sa.Text),
            sa.Column("start_time", sa.Text),
            sa.Column("end_time", sa.Text),
            sa.Column("duration_ms", sa.BigInteger, sa.Computed(DURATION_MS, persisted=True)),
            sa.Column("baseline_score", SCORE),
            sa.Column("best_score", SCORE),
            sa.Column("final_score", SCORE),
            sa.Column("improvement", SCORE, sa.Computed(sa.text(IMPROVEMENT), persisted=True)),
            sa.Column("improvement_pct", PCT, sa.Computed(sa.text(IMPROVEMENT_PCT), persisted=True)),
            sa.Column("iterations_planned", sa.Integer),
            sa.Column("iterations_completed", sa.Integer, nullable=False, server_default=sa.text("0")),
            sa.Column("samples_evaluated", sa.Integer, nullable=False, server_default=sa.text("0")),
            sa.Column("samples_successful", sa.Integer, nullable=False, server_default=sa.text("0")),
            sa.Column("samples_failed", sa.Integer, nullable=False, server_default=sa.text("0")),
            sa.Column("prompt_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
            sa.Column("completion_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
            sa.Column("cost", MONEY, nullable=False, server_default=sa.text("0")),
            sa.Column("avg_latency_ms", FLOAT8),
            sa.Column("error_message", sa.Text),
            sa.Column("created_at", sa.Text, nullable=False, server_default=NOW_MS),
            sa.Column("updated_at", sa.Text, nullable=False, server_default=NOW_MS),
            sa.PrimaryKeyConstraint("id", name="pk_optimization_runs"),
            sa.UniqueConstraint("id", "project_id", name="uq_optimization_runs_id_project_id"),
            sa.ForeignKeyConstraint(
                ["project_id"], ["projects.id"], ondelete="CASCADE", name="fk_optimization_runs_project_id_projects"
            ),
            sa.CheckConstraint(f"optimizer_type IN ({OPTIMIZER_TYPES})", name=op.f("ck_optimization_runs_optimizer_type")),
            sa.CheckConstraint(f"status IN ({RUN_STATUSES})", name=op.f("ck_optimization_runs_status")),
            _score_check("optimization_runs", "baseline_score"),
            _score_check("optimization_runs", "best_score"),
            _score_check("optimization_runs", "final_score"),
            _timestamp_check("optimization_runs", "start_time"),
            _timestamp_check("optimization_runs", "end_time"),
            _timestamp_check("optimization_runs", "created_at"),
            _timestamp_check("optimization_runs", "updated_at"),
            sa.CheckConstraint(
                _PerDialect(
                    sqlite="julianday(end_time) >= julianday(start_time)",
                    postgresql="hive_epoch_ms(end_time) >= hive_epoch_ms(start_time)",
                ),
                name=op.f("ck_optimization_runs_time_order"),
            ),
            sa.CheckConstraint(
                "samples_evaluated >= 0 AND samples_successful >= 0 AND samples_failed >= 0 "
                "AND samples_evaluated >= samples_successful + samples_failed",
                name=op.f("ck_optimization_runs_sample_counts"),
            ),
            sa.CheckConstraint(
                "iterations_completed >= 0 AND (iterations_planned IS NULL OR iterations_planned >= 0)",
                name=op.f("ck_optimization_runs_iteration_counts"),
            ),
            sa.CheckConstraint(
                "prompt_tokens >= 0 AND completion_tokens >= 0 AND cost >= 0", name=op.f("ck_optimization_runs_usage")
            ),
            _json_object_check("optimization_runs", "config"),
            _json_object_check("optimization_runs", "metadata"),
            sa.CheckConstraint(
                _PerDialect(
                    sqlite="json_valid(tags) AND json_type(tags) = 'array'",
                    postgresql="array_position(tags, NULL) IS NULL",
                ),
                name=op.f("ck_optimization_runs_tags"),
            ),
        )
    if "optimization_iterations" not in tables:
        op.create_table(
            "optimization_iterations",
            sa.Column("id", ROW_ID, nullable=False, autoincrement=True),
            sa.Column("run_id", sa.Text, nullable=False),
            sa.Column("project_id", sa.Text, nullable=False),
            sa.Column("iteration", sa.Integer, nullable=False),
            sa.Column("instructions", JSON_DOC),
            sa.Column("demo_set_ids", JSON_DOC),
            sa.Column("params", JSON_DOC),
            sa.Column("score", SCORE),
            sa.Column("evaluation_kind", sa.Text, nullable=False, server_default="full"),
            sa.Column("batch_size", sa.Integer),
            sa.Column("is_best", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("prompt_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
            sa.Column("completion_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
            sa.Column("cost", MONEY, nullable=False, server_default=sa.text("0")),
            sa.Column("latency_ms", FLOAT8),
            sa.Column("created_at", sa.Text, nullable=False, server_default=NOW_MS),
            sa.PrimaryKeyConstraint("id", name="pk_optimization_iterations"),
            sa.ForeignKeyConstraint(
                ["run_id", "project_id"],
                ["optimization_runs.id", "optimization_runs.project_id"],
                ondelete="CASCADE",
                name="fk_optimization_iterations_run_id_optimization_runs",
            ),
            sa.UniqueConstraint("run_id", "iteration", name="uq_optimization_iterations_run_id_iteration"),
            sa.CheckConstraint("iteration >= 0", name=op.f("ck_optimization_iterations_iteration")),
            _score_check("optimization_iterations", "score"),
            sa.CheckConstraint(
                f"evaluation_kind IN ({EVALUATION_KINDS})", name=op.f("ck_optimization_iterations_evaluation_kind")
            ),
            sa.CheckConstraint("batch_size IS NULL OR batch_size >= 0", name=op.f("ck_optimization_iterations_batch_size")),
            sa.CheckConstraint(
                "prompt_tokens >= 0 AND completion_tokens >= 0 AND cost >= 0 AND (latency_ms IS NULL OR latency_ms >= 0)",
                name=op.f("ck_optimization_iterations_usage"),
            ),
            _timestamp_check("optimization_iterations", "created_at"),
        )
    if "optimization_samples" not in tables:
        op.create_table(
            "optimization_samples",
            sa.Column("id", ROW_ID, nullable=False, autoincrement=True),
            sa.Column("run_id", sa.Text, nullable=False),
            sa.Column("project_id", sa.Text, nullable=False),
            sa.Column("iteration", sa.Integer, nullable=False),
            sa.Column("sample_index", sa.Integer, nullable=False),
            sa.Column("input", JSON_DOC),
            sa.Column("output", JSON_DOC),
            sa.Column("expected", JSON_DOC),
            sa.Column("score", SCORE),
            sa.Column("success", sa.Boolean, nullable=False, server_default=sa.true()),
            sa.Column("error", sa.Text),
            sa.Column("latency_ms", FLOAT8),
            sa.Column("prompt_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
            sa.Column("completion_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
            sa.Column("created_at", sa.Text, nullable=False, server_default=NOW_MS),
            sa.PrimaryKeyConstraint("id", name="pk_optimization_samples"),
            sa.ForeignKeyConstraint(
                ["run_id", "project_id"],
                ["optimization_runs.id", "optimization_runs.project_id"],
                ondelete="CASCADE",
                name="fk_optimization_samples_run_id_optimization_runs",
            ),
            sa.UniqueConstraint(
                "run_id", "iteration", "sample_index", name="uq_optimization_samples_run_id_iteration_sample_index"
            ),
            sa.CheckConstraint("iteration >= 0 AND sample_index >= 0", name=op.f("ck_optimization_samples_position")),
            _score_check("optimization_samples", "score"),
            sa.CheckConstraint(
                "prompt_tokens >= 0 AND completion_tokens >= 0 AND (latency_ms IS NULL OR latency_ms >= 0)",
                name=op.f("ck_optimization_samples_usage"),
            ),
            _timestamp_check("optimization_samples", "created_at"),
        )


def _create_indexes(dialect: str) -> None:
    runs = "optimization_runs"
    newest = [sa.text("created_at DESC"), sa.text("id DESC")]
    op.create_index("idx_optimization_runs_project_created", runs, ["project_id", *newest], if_not_exists=True)
    op.create_index(
        "idx_optimization_runs_project_status", runs, ["project_id", "status", *newest], if_not_exists=True
    )
    op.create_index(
        "idx_optimization_runs_project_optimizer", runs, ["project_id", "optimizer_type", *newest], if_not_exists=True
    )
    completed = sa.text("status = 'completed' AND final_score IS NOT NULL")
    op.create_index(
        "idx_optimization_runs_leaderboard",
        runs,
        ["project_id", sa.text("final_score DESC"), "created_at", "id"],
        sqlite_where=completed,
        postgresql_where=completed,
        if_not_exists=True,
    )
    for name, column, ops in (
        ("idx_optimization_runs_config_gin", "config", "jsonb_path_ops"),
        ("idx_optimization_runs_metadata_gin", "metadata", "jsonb_path_ops"),
        ("idx_optimization_runs_tags_gin", "tags", None),
    ):
        if dialect == "postgresql":
            op.create_index(
                name, runs, [column], postgresql_using="gin", postgresql_ops={column: ops} if ops else {},
                if_not_exists=True,
            )
        else:
            # SQLite has no inverted index: the name is kept as an empty partial index (no entries,
            # no write cost) so that one model describes both backends.
            op.create_index(name, runs, [column], sqlite_where=sa.text("0"), if_not_exists=True)


# ------------------------------------------------------------------------------ PostgreSQL

PG_EPOCH_MS = """
CREATE OR REPLACE FUNCTION hive_epoch_ms(ts text) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT round(extract(epoch FROM ts::timestamp) * 1000)::bigint $$
"""

PG_TOUCH_UPDATED_AT = """
CREATE OR REPLACE FUNCTION hive_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := to_char((clock_timestamp() AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI:SS.MS');
    RETURN NEW;
END $$
"""

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
       SET iterations_completed = a.n, best_score = a.best, prompt_tokens = a.pt,
           completion_tokens = a.ct, cost = a.cost, avg_latency_ms = a.lat
      FROM (SELECT count(*)::integer AS n,
                   max(score) FILTER (WHERE id = best_id) AS best,
                   coalesce(sum(prompt_tokens), 0) AS pt,
                   coalesce(sum(completion_tokens), 0) AS ct,
                   coalesce(sum(cost), 0) AS cost,
                   avg(latency_ms) AS lat
              FROM optimization_iterations WHERE run_id = p_run_id) a
     WHERE r.id = p_run_id
       AND (r.iterations_completed, r.best_score, r.prompt_tokens, r.completion_tokens, r.cost, r.avg_latency_ms)
           IS DISTINCT FROM (a.n, a.best, a.pt, a.ct, a.cost, a.lat);
END $$
"""

PG_ITERATIONS_CHANGED = """
CREATE OR REPLACE FUNCTION hive_optimization_iterations_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched text;
BEGIN
    -- One recompute per touched run per statement, runs in id order (no lock-order deadlocks).
    IF TG_OP = 'INSERT' THEN
        FOR touched IN SELECT DISTINCT run_id FROM new_rows ORDER BY 1 LOOP
            PERFORM hive_sync_optimization_run(touched);
        END LOOP;
    ELSIF TG_OP = 'DELETE' THEN
        FOR touched IN SELECT DISTINCT run_id FROM old_rows ORDER BY 1 LOOP
            PERFORM hive_sync_optimization_run(touched);
        END LOOP;
    ELSE
        FOR touched IN SELECT run_id FROM new_rows UNION SELECT run_id FROM old_rows ORDER BY 1 LOOP
            PERFORM hive_sync_optimization_run(touched);
        END LOOP;
    END IF;
    RETURN NULL;
END $$
"""

PG_TRIGGERS = [
    """CREATE OR REPLACE TRIGGER trg_optimization_runs_updated_at BEFORE UPDATE ON optimization_runs
       FOR EACH ROW EXECUTE FUNCTION hive_touch_updated_at()""",
    """CREATE OR REPLACE TRIGGER trg_optimization_iterations_insert AFTER INSERT ON optimization_iterations
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hive_optimization_iterations_changed()""",
    """CREATE OR REPLACE TRIGGER trg_optimization_iterations_update AFTER UPDATE ON optimization_iterations
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION hive_optimization_iterations_changed()""",
    """CREATE OR REPLACE TRIGGER trg_optimization_iterations_delete AFTER DELETE ON optimization_iterations
       REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hive_optimization_iterations_changed()""",
]

PG_TRIGGER_NAMES = [
    ("trg_optimization_runs_updated_at", "optimization_runs"),
    ("trg_optimization_iterations_insert", "optimization_iterations"),
    ("trg_optimization_iterations_update", "optimization_iterations"),
    ("trg_optimization_iterations_delete", "optimization_iterations"),
]

PROJECT_SETTING = "current_setting('app.project_id', true)"
PG_POLICIES = {
    "projects": f"id = {PROJECT_SETTING}",
    "optimization_runs": f"project_id = {PROJECT_SETTING}",
    "optimization_iterations": f"project_id = {PROJECT_SETTING}",
    "optimization_samples": f"project_id = {PROJECT_SETTING}",
}
# Only the analytics refresh needs to read across projects, and it reads runs only.
PG_RUNS_REFRESH_CLAUSE = " OR (SELECT hive_analytics_refreshing())"

PG_MATVIEW = """
CREATE MATERIALIZED VIEW IF NOT EXISTS optimization_run_analytics AS
SELECT project_id, optimizer_type, status,
       count(*)::bigint AS runs,
       count(improvement)::bigint AS runs_with_improvement,
       sum(improvement) AS improvement_sum,
       count(final_score)::bigint AS runs_with_final_score,
       max(final_score) AS best_final_score,
       sum(prompt_tokens)::bigint AS prompt_tokens,
       sum(completion_tokens)::bigint AS completion_tokens,
       sum(cost) AS cost,
       sum(duration_ms)::bigint AS duration_ms_sum,
       count(duration_ms)::bigint AS runs_with_duration,
       sum(samples_evaluated)::bigint AS samples_evaluated,
       sum(samples_successful)::bigint AS samples_successful,
       sum(samples_failed)::bigint AS samples_failed,
       max(created_at) AS last_created_at,
       to_char((now() AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI:SS.MS') AS refreshed_at
  FROM optimization_runs
 GROUP BY project_id, optimizer_type, status
WITH DATA
"""


def _postgresql_upgrade() -> None:
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar_one()
    search_path = f'"{schema}", pg_temp'
    for statement in (PG_TOUCH_UPDATED_AT, PG_SYNC_RUN, PG_ITERATIONS_CHANGED):
        op.execute(statement)
    op.execute(
        f"""
CREATE OR REPLACE FUNCTION hive_analytics_refreshing() RETURNS boolean
LANGUAGE sql STABLE SET search_path = {search_path}
AS $$
    SELECT coalesce(current_setting('hive.analytics_refresh', true), '') = 'on'
       AND pg_has_role(current_user,
                       (SELECT c.relowner FROM pg_class c WHERE c.oid = 'optimization_runs'::regclass),
                       'USAGE')
$$"""
    )
    for statement in PG_TRIGGERS:
        op.execute(statement)
    for table, condition in PG_POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        using = condition + (PG_RUNS_REFRESH_CLAUSE if table == "optimization_runs" else "")
        op.execute(f"DROP POLICY IF EXISTS {table}_project_isolation ON {table}")
        op.execute(
            f"CREATE POLICY {table}_project_isolation ON {table} USING ({using}) WITH CHECK ({condition})"
        )
    op.execute(PG_MATVIEW)
    op.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS idx_optimization_run_analytics_key "
        "ON optimization_run_analytics (project_id, optimizer_type, status)"
    )
    op.execute("REVOKE ALL ON optimization_run_analytics FROM PUBLIC")
    op.execute(
        "CREATE OR REPLACE VIEW optimization_project_analytics WITH (security_barrier) AS "
        f"SELECT * FROM optimization_run_analytics WHERE project_id = {PROJECT_SETTING}"
    )
    op.execute(
        f"""
CREATE OR REPLACE FUNCTION hive_refresh_optimization_analytics() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {search_path}
AS $$
BEGIN
    PERFORM set_config('hive.analytics_refresh', 'on', true);
    REFRESH MATERIALIZED VIEW CONCURRENTLY optimization_run_analytics;
    PERFORM set_config('hive.analytics_refresh', 'off', true);
END $$"""
    )


# ----------------------------------------------------------------------------------- SQLite


def _sqlite_sync(run: str) -> str:
    """Statements recomputing is_best and the run's statistics for the run whose id is ``run``."""
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
        prompt_tokens = (SELECT coalesce(sum(prompt_tokens), 0) {of_run}),
        completion_tokens = (SELECT coalesce(sum(completion_tokens), 0) {of_run}),
        cost = (SELECT round(coalesce(sum(cost), 0), 6) {of_run}),  -- REAL sums drift in the last bits
        avg_latency_ms = (SELECT avg(latency_ms) {of_run})
     WHERE id = {run};"""


_CHANGED = " OR ".join(
    f"OLD.{c} IS NOT NEW.{c}"
    for c in ("run_id", "iteration", "score", "evaluation_kind", "is_best", "prompt_tokens", "completion_tokens",
              "cost", "latency_ms")
)

SQLITE_TRIGGERS = [
    # Recursion ends: 'now' is fixed within a statement, so the nested UPDATE fails the WHEN.
    """CREATE TRIGGER IF NOT EXISTS trg_optimization_runs_updated_at
    AFTER UPDATE ON optimization_runs FOR EACH ROW
    WHEN NEW.updated_at IS NOT strftime('%Y-%m-%d %H:%M:%f', 'now')
    BEGIN
        UPDATE optimization_runs SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = NEW.id;
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS trg_optimization_iterations_insert
    AFTER INSERT ON optimization_iterations FOR EACH ROW
    BEGIN{_sqlite_sync("NEW.run_id")}
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS trg_optimization_iterations_update
    AFTER UPDATE ON optimization_iterations FOR EACH ROW WHEN {_CHANGED}
    BEGIN{_sqlite_sync("NEW.run_id")}
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS trg_optimization_iterations_move
    AFTER UPDATE OF run_id ON optimization_iterations FOR EACH ROW WHEN OLD.run_id IS NOT NEW.run_id
    BEGIN{_sqlite_sync("OLD.run_id")}
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS trg_optimization_iterations_delete
    AFTER DELETE ON optimization_iterations FOR EACH ROW
    BEGIN{_sqlite_sync("OLD.run_id")}
    END""",
]
SQLITE_TRIGGER_NAMES = [
    "trg_optimization_runs_updated_at",
    "trg_optimization_iterations_insert",
    "trg_optimization_iterations_update",
    "trg_optimization_iterations_move",
    "trg_optimization_iterations_delete",
]


# ----------------------------------------------------------------------------------- downgrade


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    tables = _tables()
    if dialect == "postgresql":
        op.execute("DROP VIEW IF EXISTS optimization_project_analytics")
        op.execute("DROP MATERIALIZED VIEW IF EXISTS optimization_run_analytics")
        for table in TABLES:
            if table in tables:
                op.execute(f"DROP POLICY IF EXISTS {table}_project_isolation ON {table}")
        for trigger, table in PG_TRIGGER_NAMES:
            if table in tables:
                op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    else:
        for trigger in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for table in reversed(TABLES):  # children first
        op.execute(f"DROP TABLE IF EXISTS {table}")
    if dialect == "postgresql":
        for function in (
            "hive_refresh_optimization_analytics()",
            "hive_analytics_refreshing()",
            "hive_optimization_iterations_changed()",
            "hive_sync_optimization_run(text)",
            "hive_touch_updated_at()",
            "hive_epoch_ms(text)",  # last: the tables' generated column and CHECKs used it
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
