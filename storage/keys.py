"""API keys: each key works in one project (the HTTP server's ``Authorization: Bearer KEY``).

A key reads ``hive_<key_id>_<secret>``. ``key_id`` is public (listed, used to revoke); the secret
is 256 random bits, printed once by ``create_key`` and kept only as ``scrypt`` of it with a salt of
its own (``hashlib.scrypt``, n=2^14, r=8, p=1: the standard memory-hard KDF). ``authenticate`` looks
the key id up (on PostgreSQL through ``hive_api_key``, the application role cannot read the table)
and compares in constant time; a key verified once is remembered by its SHA-256 for the process, so
only the first request of a key pays for the KDF, while revocation is still read on every request.

Creating, listing and revoking keys is the owner's work (``hive-cli keys ...`` with the migration
owner's URL on PostgreSQL), as granting roles is.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .engine import check_project_id, create_engine, transaction
from .errors import AuthenticationError, NotFoundError, ValidationError
from .timestamps import now_text

KEY_PATTERN = re.compile(r"^hive_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def _hash(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=64 * 1024 * 1024)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _hash(secret, salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def secret_matches(secret: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        return hmac.compare_digest(_hash(secret, bytes.fromhex(salt), int(n), int(r), int(p)), bytes.fromhex(digest))
    except ValueError:
        return False


def create_key(engine: Engine, project_id: str, name: str) -> dict:
    """A new key of ``project_id`` (the project is created if new). Returns ``{"key": ..., "key_id": ...,
    ...}``: the only time the whole key exists outside its holder."""
    check_project_id(project_id)
    if not isinstance(name, str) or not 1 <= len(name) <= 200 or "\x00" in name:
        raise ValidationError(f"name={name!r}: 1-200 characters")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = {"key_id": key_id, "project_id": project_id, "name": name, "key_hash": hash_secret(secret),
           "created_at": now_text()}
    with transaction(engine) as conn:
        if conn.dialect.name == "postgresql":  # projects admits a new row of the connection's own project only
            conn.execute(sa.text("SELECT set_config('app.project_id', :p, true)"), {"p": project_id})
        conn.execute(sa.text("INSERT INTO projects (id, name) VALUES (:p, :p) ON CONFLICT (id) DO NOTHING"),
                     {"p": project_id})
        conn.execute(sa.text("INSERT INTO api_keys (key_id, project_id, name, key_hash, created_at) "
                             "VALUES (:key_id, :project_id, :name, :key_hash, :created_at)"), row)
    return {"key": f"hive_{key_id}_{secret}", "key_id": key_id, "project_id": project_id, "name": name,
            "created_at": row["created_at"]}


def list_keys(engine: Engine, project_id: str | None = None) -> list[dict]:
    """Every key (or one project's), newest first: id, project, name, created, revoked. No secrets."""
    where, params = ("WHERE project_id = :p", {"p": check_project_id(project_id)}) if project_id else ("", {})
    with transaction(engine, write=False) as conn:
        rows = conn.execute(sa.text("SELECT key_id, project_id, name, created_at, revoked_at FROM api_keys "
                                    f"{where} ORDER BY created_at DESC, key_id"), params).mappings()
        return [dict(r) for r in rows]


def revoke_key(engine: Engine, key_id: str) -> dict:
    """Revoke a key: every later request with it is refused. Revoking twice keeps the first time."""
    with transaction(engine) as conn:
        row = conn.execute(sa.text("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, :now) WHERE key_id = :k "
                                   "RETURNING key_id, project_id, name, created_at, revoked_at"),
                           {"k": key_id, "now": now_text()}).mappings().first()
    if row is None:
        raise NotFoundError(f"key_id={key_id!r}: no such key (hive-cli keys list shows them)")
    return dict(row)


class KeyChecker:
    """``authenticate(key) -> project_id`` for one database, for the life of a server process."""

    def __init__(self, url: sa.URL):
        self.engine = create_engine(url)
        self._verified: dict[bytes, str] = {}  # SHA-256 of a key -> its key id, once scrypt said yes
        self._lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    def authenticate(self, presented: str | None) -> str:
        match = KEY_PATTERN.match(presented or "")
        if match is None:
            raise AuthenticationError("missing or malformed API key (Authorization: Bearer hive_...)")
        key_id, secret = match.groups()
        with transaction(self.engine, write=False) as conn:
            if conn.dialect.name == "postgresql":
                found = conn.execute(sa.text("SELECT * FROM hive_api_key(:k)"), {"k": key_id}).first()
            else:
                found = conn.execute(sa.text("SELECT project_id, key_hash, revoked_at IS NOT NULL AS revoked "
                                             "FROM api_keys WHERE key_id = :k"), {"k": key_id}).first()
        if found is None or found.revoked:
            raise AuthenticationError("unknown or revoked API key")
        fingerprint = hashlib.sha256(presented.encode()).digest()
        with self._lock:
            known = self._verified.get(fingerprint) == key_id
        if not known:
            if not secret_matches(secret, found.key_hash):
                raise AuthenticationError("unknown or revoked API key")
            with self._lock:
                self._verified[fingerprint] = key_id
        return found.project_id
