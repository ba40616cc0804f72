"""How values become the JSON text the store keeps, and back.

Rules (the README's "Non-finite numbers and JSON" table repeats them):
- Free-form JSON fields (``metadata_json``, ``optimization_constraints``, ``constraint_violations``,
  ``config``...) hold standard JSON only: NaN and infinities are refused, as are NUL characters and
  lone surrogates anywhere inside, nesting beyond ``MAX_JSON_DEPTH`` and text over
  ``MAX_JSON_BYTES``. The reason: PostgreSQL, DuckDB and every other JSON reader reject them.
- Number vectors (``parameter_vector``, ``reference_point``) hold finite numbers only.
- ``objectives`` may hold NaN, +inf and -inf (a failed evaluation is still a result worth keeping):
  they are written as the JSON strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, which keeps the
  text valid JSON, casts to DOUBLE in DuckDB and PostgreSQL, and decodes back to the exact float.
"""
from __future__ import annotations

import json
import math
from typing import Any

import orjson

from .errors import ValidationError

MAX_JSON_BYTES = 1_048_576  # 1 MiB per JSON value
MAX_JSON_DEPTH = 64

_encode_standard = json.JSONEncoder(
    separators=(",", ":"), allow_nan=False, ensure_ascii=False, check_circular=True
).encode

NON_FINITE_TOKENS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _depth_exceeds(value: Any, limit: int, field: str = "json") -> bool:
    # Iterative, so hostile nesting cannot exhaust Python's recursion limit here.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > limit:
                return True
            for key in item:
                if not isinstance(key, str):  # JSON would turn it into text: not what was given
                    raise ValidationError(f"{field}: object key {key!r} is not text (JSON keys are strings)")
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in item)
    return False


def encode_json(field: str, value: Any) -> str | None:
    """Canonical JSON text for a free-form field; a ``str`` is taken to be JSON text already."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_constant=_refuse_constant(field))
        except ValidationError:
            raise
        except ValueError as exc:
            raise ValidationError(f"{field}={short_repr(value)}: not valid JSON ({exc})") from None
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, (dict, list, int, float, bool)) and value is not None:
        raise ValidationError(
            f"{field}={short_repr(value)}: expected JSON (dict, list, number, bool or JSON text), "
            f"got {type(value).__name__}"
        )
    if _depth_exceeds(value, MAX_JSON_DEPTH, field):
        raise ValidationError(f"{field}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        text = _encode_standard(value)
    except ValueError as exc:  # NaN / inf, circular reference
        raise ValidationError(f"{field}={short_repr(value)}: {exc}") from None
    except TypeError as exc:
        raise ValidationError(f"{field}={short_repr(value)}: {exc}") from None
    check_text(field, text, inside_json=True)
    if len(text) > MAX_JSON_BYTES // 4 and len(text.encode("utf-8")) > MAX_JSON_BYTES:
        raise ValidationError(
            f"{field}: JSON of {len(text.encode('utf-8')):,} bytes is over the {MAX_JSON_BYTES:,}-byte cap"
        )
    return text


def check_text(field: str, text: str, inside_json: bool = False) -> None:
    """Refuse NUL characters and lone surrogates: PostgreSQL cannot store them, UTF-8 cannot encode them."""
    if "\x00" in text or (inside_json and "\\u0000" in text):
        raise ValidationError(f"{field}={short_repr(text)}: contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{field}={short_repr(text)}: contains a lone surrogate (not valid Unicode)") from None


def encode_finite_vector(values: list) -> str:
    """JSON array of finite numbers (already validated), shortest round-trip float text (orjson)."""
    return orjson.dumps(values).decode()


def encode_objectives(values: list) -> str:
    """JSON array where NaN / +inf / -inf become the strings "NaN" / "Infinity" / "-Infinity"."""
    text = orjson.dumps(values)
    if b"null" not in text:  # orjson writes non-finite floats as null; only then the slow path
        return text.decode()
    parts = []
    for v in values:
        if math.isfinite(v):
            parts.append(repr(v))
        elif v != v:
            parts.append('"NaN"')
        else:
            parts.append('"Infinity"' if v > 0 else '"-Infinity"')
    return "[" + ",".join(parts) + "]"


def decode_objectives(text: str | None) -> list[float] | None:
    if text is None:
        return None
    return [NON_FINITE_TOKENS[v] if isinstance(v, str) else float(v) for v in json.loads(text)]


def decode_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def parse_number_list(field: str, text: str) -> list:
    """A JSON array given as text (the seed passes ``json.dumps(...)``); Python's NaN tokens allowed."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"{field}={short_repr(text)}: not valid JSON ({exc})") from None
    if not isinstance(value, list):
        raise ValidationError(f"{field}={short_repr(text)}: expected a JSON array of numbers")
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            if isinstance(v, str) and v in NON_FINITE_TOKENS:
                value[i] = NON_FINITE_TOKENS[v]
                continue
            raise ValidationError(f"{field}[{i}]={short_repr(v)}: expected a number")
    return value


def _refuse_constant(field: str):
    def refuse(token: str):
        raise ValidationError(f"{field}: {token} is not valid JSON (free-form JSON holds finite numbers only)")

    return refuse


def short_repr(value: Any, limit: int = 80) -> str:
    """A value as it appears in an error message: its repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
