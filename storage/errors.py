"""The store's own exceptions: every refusal the product makes is a ``HiveError``.

Callers catch one base class; the subclasses say what kind of refusal it was. Messages name the
field and the offending value, because the person reading them is debugging an optimizer run.
"""
from __future__ import annotations


class HiveError(Exception):
    """Base class of every error the store raises on purpose."""


class ValidationError(HiveError, ValueError):
    """A record was refused before anything was written (wrong type, missing field, out of range...)."""


class UnknownStudyError(ValidationError, LookupError):
    """A record refers to a study that does not exist."""

    def __init__(self, study_id: str, field: str = "study_id"):
        super().__init__(f"{field}={study_id!r}: no such study (create it first with create_study)")
        self.study_id = study_id


class UnknownStudyWarning(UserWarning):
    """Runs were logged for a study that did not exist, so the store created it (type ``other``)."""


class NotFoundError(HiveError, LookupError):
    """A requested row (run, analysis...) does not exist."""


class DuplicateError(ValidationError):
    """A unique key (study_id, run_id, evaluation number...) is already taken."""


class SchemaError(HiveError):
    """The database schema is not the one this version of the code expects."""


class SchemaBehindError(SchemaError):
    """The database is older than the code; the message names the exact upgrade command."""

    def __init__(self, url_for_cli: str, current: str | None, head: str):
        current_text = "an older layout without version table" if current is None else f"revision {current}"
        super().__init__(
            f"database schema is behind: it is at {current_text}, this code needs {head}. "
            f"Upgrade it with: hive-cli db upgrade {url_for_cli}"
        )
        self.current = current
        self.head = head
        self.upgrade_command = f"hive-cli db upgrade {url_for_cli}"


class StorageUnavailableError(HiveError):
    """The database cannot be reached, opened, or written (down, locked too long, disk full...)."""


class AuthenticationError(HiveError):
    """An HTTP request without a valid API key: none, malformed, unknown or revoked (401)."""


class PayloadTooLargeError(HiveError):
    """An HTTP request body over the server's limit (413); nothing was read into the store."""
