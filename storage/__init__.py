"""The store optimizers write into: ``from storage import DatabaseMetadataService``.

SQLite file by default, PostgreSQL by URL; schema and migrations owned here. Every refusal is a
``HiveError``.
"""
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
from .prompt_optimization import PromptOptimizationStore
from .service import DatabaseMetadataService

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
