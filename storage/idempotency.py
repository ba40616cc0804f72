"""A batch written once per idempotency key, whatever the retries.

The caller (the HTTP server for a request's ``Idempotency-Key``, the remote client for its retries)
names a batch; ``replay`` and ``remember`` run inside the batch's own transaction, so either the
batch and its record commit together or neither does. A second attempt finds the record and gets
the first answer without writing; two attempts at once cannot both commit (the record's primary key
refuses the second, whose transaction rolls back). The same key with a different batch is refused.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .engine import connection_project
from .errors import DuplicateError, ValidationError
from .timestamps import now_text

MAX_KEY_LENGTH = 200


def fingerprint(payload: Any) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)).hexdigest()


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH or "\x00" in key:
        raise ValidationError(f"idempotency_key={key!r}: 1-{MAX_KEY_LENGTH} characters")
    return key


def replay(conn: Connection, key: str, print_: str) -> Any | None:
    """What the batch named ``key`` returned, if it was written; None if it was not."""
    row = conn.execute(sa.text("SELECT fingerprint, response FROM idempotent_requests "
                               "WHERE project_id = :p AND idempotency_key = :k"),
                       {"p": connection_project(conn), "k": key}).first()
    if row is None:
        return None
    if row.fingerprint != print_:
        raise DuplicateError(f"idempotency_key={key!r} was used for a different batch; nothing was written")
    return orjson.loads(row.response)


def remember(conn: Connection, key: str, print_: str, response: Any) -> None:
    conn.execute(sa.text("INSERT INTO idempotent_requests (project_id, idempotency_key, fingerprint, response, created_at) "
                         "VALUES (:p, :k, :f, :r, :t)"),
                 {"p": connection_project(conn), "k": key, "f": print_, "r": orjson.dumps(response).decode(),
                  "t": now_text()})


@dataclass
class Once:
    done: bool = False  # the batch was written before: ``result`` is its answer, write nothing
    result: Any = None  # set by the caller after writing: remembered as the answer


@contextmanager
def once(conn: Connection, key: str | None, payload: Any) -> Iterator[Once]:
    """Inside a write transaction: ``with once(conn, key, batch) as o: if o.done: return o.result``,
    then write and set ``o.result``. Without a key it is a plain write."""
    if key is None:
        yield Once()
        return
    print_ = fingerprint(payload)
    found = replay(conn, check_key(key), print_)
    state = Once(done=found is not None, result=found)
    yield state
    if not state.done:
        remember(conn, key, print_, state.result)
