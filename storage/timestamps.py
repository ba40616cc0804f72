"""Timestamps as the store writes them: UTC text ``YYYY-MM-DD HH:MM:SS.fff``.

The format is SQLite's ``CURRENT_TIMESTAMP`` plus milliseconds, so rows the old service wrote and rows
we write sort together as text, and DuckDB, PostgreSQL and ``datetime.fromisoformat`` all parse it.
"""
from __future__ import annotations

from datetime import datetime, timezone

FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def now_text() -> str:
    return format_timestamp(datetime.now(timezone.utc))


def format_timestamp(moment: datetime) -> str:
    """UTC text with millisecond precision; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime(FORMAT)[:-3]


def parse_timestamp(text: str) -> datetime:
    """Inverse of ``format_timestamp`` (also accepts any ISO 8601 text); the result is UTC-aware."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def seconds_between(start: str, end: str) -> float:
    return (parse_timestamp(end) - parse_timestamp(start)).total_seconds()
