"""The store optimizers write into: ``from storage import DatabaseMetadataService``.

SQLite file by default, PostgreSQL by URL; schema and migrations owned here. Every refusal is a
``HiveError``.

The service and the prompt store are imported on first use (PEP 562 ``__getattr__``), so
``import storage`` (and ``storage.errors``, ``storage.duck``'s analytics child, ``hive-cli --help``)
does not pay for SQLAlchemy, alembic and pydantic until something is opened.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    DuplicateError,
    HiveError,
    NotFoundError,
    SchemaBehindError,
    SchemaError,
    StorageUnavailableError,
    UnknownStudyError,
    ValidationError,
)

if TYPE_CHECKING:
    from .prompts.store import PromptOptimizationStore
    from .studies.service import DatabaseMetadataService

_LAZY = {"DatabaseMetadataService": ".studies.service", "PromptOptimizationStore": ".prompts.store"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DatabaseMetadataService",
    "DuplicateError",
    "HiveError",
    "NotFoundError",
    "PromptOptimizationStore",
    "SchemaBehindError",
    "SchemaError",
    "StorageUnavailableError",
    "UnknownStudyError",
    "ValidationError",
]
