"""Who may see which project on a dashboard with sign-in: (project, user email) -> role.

Granting, revoking and listing are the owner's work (``hive-cli projects ...`` with the migration
owner's URL on PostgreSQL), as keys are. The dashboard asks only ``projects_of(email)``: on PostgreSQL
through ``hive_user_projects``, since the application role cannot read the table.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .engine import check_project_id, transaction
from .errors import NotFoundError, ValidationError
from .timestamps import now_text

ROLES = ("viewer", "editor")
# What sign-in providers send as ``email``: one @, no spaces; compared lower-case.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+$")


def check_email(email: object) -> str:
    if not isinstance(email, str) or not EMAIL_PATTERN.match(email.strip()) or len(email.strip()) > 320:
        raise ValidationError(f"user={email!r}: an email address (name@domain)")
    return email.strip().lower()


def grant(engine: Engine, project_id: str, email: str, role: str = "viewer") -> dict:
    """Let ``email`` see ``project_id`` (created if new); granting again changes the role."""
    check_project_id(project_id)
    email = check_email(email)
    if role not in ROLES:
        raise ValidationError(f"role={role!r}: one of {', '.join(ROLES)}")
    row = {"p": project_id, "e": email, "r": role, "t": now_text()}
    with transaction(engine) as conn:
        if conn.dialect.name == "postgresql":  # projects admits a new row of the connection's own project only
            conn.execute(sa.text("SELECT set_config('app.project_id', :p, true)"), {"p": project_id})
        conn.execute(sa.text("INSERT INTO projects (id, name) VALUES (:p, :p) ON CONFLICT (id) DO NOTHING"), row)
        conn.execute(sa.text("INSERT INTO project_members (project_id, user_email, role, granted_at) "
                             "VALUES (:p, :e, :r, :t) ON CONFLICT (project_id, user_email) "
                             "DO UPDATE SET role = excluded.role, granted_at = excluded.granted_at"), row)
    return {"project_id": project_id, "user_email": email, "role": role, "granted_at": row["t"]}


def revoke(engine: Engine, project_id: str, email: str) -> None:
    """``email`` no longer sees ``project_id``, from the next page it opens."""
    email = check_email(email)
    with transaction(engine) as conn:
        gone = conn.execute(sa.text("DELETE FROM project_members WHERE project_id = :p AND user_email = :e"),
                            {"p": check_project_id(project_id), "e": email}).rowcount
    if not gone:
        raise NotFoundError(f"user={email!r} has no grant on project={project_id!r} (hive-cli projects list shows them)")


def list_members(engine: Engine, project_id: str | None = None, email: str | None = None) -> list[dict]:
    """Grants by project, then user; optionally of one project or one user."""
    clauses, params = [], {}
    if project_id is not None:
        clauses.append("project_id = :p")
        params["p"] = check_project_id(project_id)
    if email is not None:
        clauses.append("user_email = :e")
        params["e"] = check_email(email)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    with transaction(engine, write=False) as conn:
        rows = conn.execute(sa.text(f"SELECT project_id, user_email, role, granted_at FROM project_members {where} "
                                    "ORDER BY project_id, user_email"), params).mappings()
        return [dict(r) for r in rows]


def projects_of(engine: Engine, email: str) -> list[dict]:
    """The projects ``email`` may see, by id: ``[{"project_id": ..., "role": ...}]``."""
    email = check_email(email)
    with transaction(engine, write=False) as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.execute(sa.text("SELECT project_id, role FROM hive_user_projects(:e)"), {"e": email})
        else:
            rows = conn.execute(sa.text("SELECT project_id, role FROM project_members WHERE user_email = :e "
                                        "ORDER BY project_id"), {"e": email})
        return [dict(r._mapping) for r in rows]
