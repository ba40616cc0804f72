"""Timestamps as the store writes them: UTC text ``YYYY-MM-DD HH:MM:SS``.

Exactly SQLite's ``CURRENT_TIMESTAMP`` format, which the old service's rows use, so old and new rows
sort together as text, and DuckDB, PostgreSQL and ``datetime.fromisoformat`` all parse it. Whole
seconds: every evaluation row carries one, and milliseconds would cost 4 bytes per evaluation for
an order that ``evaluation_number`` already gives.
"""
from __future__ import annotations

from datetime import datetime, timezone

FORMAT = "%Y-%m-%d %H:%M:%S"


def now_text() -> str:
    return format_timestamp(datetime.now(timezone.utc))


def format_timestamp(moment: datetime) -> str:
    """UTC text to the second; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime(FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Inverse of ``format_timestamp`` (also accepts any ISO 8601 text); the result is UTC-aware."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def seconds_between(start: str, end: str) -> float:
    return (parse_timestamp(end) - parse_timestamp(start)).total_seconds()
