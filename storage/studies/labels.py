"""A study's experiment and labels: what is accepted, and the JSON text they are stored and filtered as.

Studies that solve one problem (several algorithms, several seeds) share an ``experiment``; their
``labels`` say which is which, e.g. ``{"algorithm": "NSGA-II", "pop": 80, "seed": 3}``. A label's
value is short text or a finite number, nothing else: labels are grouped and filtered on, and a list,
an object, ``True`` or NaN cannot be compared as a group's name.

Two encodings, on purpose:
- ``studies.labels`` keeps the object as given (names in the given order, ``80.0`` stays ``80.0``);
- ``study_labels.value`` is the value's canonical JSON text, the key of filters and groups: a whole
  number is written as an integer (``80`` and ``80.0`` are one group; ``"80"``, text, is another).
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError
from ..jsonfields import check_text, short_repr

MAX_LABELS = 32
MAX_NAME_CHARS = 100
MAX_TEXT_CHARS = 200
MAX_EXACT_INTEGER = 2**53  # beyond it a JSON number is not exact in DuckDB or PostgreSQL


def _check_text(field: str, text: str, where: str, tail: str) -> None:
    """NUL characters and lone surrogates refused (``check_text``), in this module's words."""
    try:
        check_text(field, text)
    except ValidationError as error:
        raise ValidationError(f"{where}: {error}{tail}") from None


def validate_experiment(value: Any, where: str = "study") -> str | None:
    """``experiment``: non-empty text of at most 200 characters, or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{where}: experiment={short_repr(value, 60)}: expected non-empty text; nothing was written")
    if len(value) > MAX_TEXT_CHARS:
        raise ValidationError(f"{where}: experiment={short_repr(value, 60)}: at most {MAX_TEXT_CHARS} characters; "
                              "nothing was written")
    _check_text("experiment", value, where, "; nothing was written")
    return value


def validate_labels(value: Any, where: str = "study", tail: str = "; nothing was written"
                    ) -> dict[str, str | int | float] | None:
    """``labels``: a JSON object (a dict, or its JSON text) of short text or finite number values.
    ``tail`` ends every refusal (a filter writes nothing, so it says nothing about writing)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise ValidationError(f"{where}: labels={short_repr(value, 60)}: not valid JSON ({error}){tail}") from None
    if not isinstance(value, Mapping):
        raise ValidationError(f"{where}: labels={short_repr(value, 60)}: expected an object of name: value, "
                              f'e.g. {{"algorithm": "NSGA-II", "seed": 3}}{tail}')
    if len(value) > MAX_LABELS:
        raise ValidationError(f"{where}: labels has {len(value)} labels; at most {MAX_LABELS}{tail}")
    labels = {}
    for name, label in value.items():
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
            raise ValidationError(f"{where}: labels name {short_repr(name, 60)}: expected non-empty text of at most "
                                  f"{MAX_NAME_CHARS} characters{tail}")
        _check_text(f"labels name {name!r}", name, where, tail)
        labels[name] = _label_value(name, label, where, tail)
    return labels


def _label_value(name: str, value: Any, where: str, tail: str) -> str | int | float:
    field = f"{where}: labels[{name!r}]={short_repr(value, 60)}"
    if isinstance(value, str):
        if not value or len(value) > MAX_TEXT_CHARS:
            raise ValidationError(f"{field}: a text label holds 1 to {MAX_TEXT_CHARS} characters{tail}")
        _check_text(f"labels[{name!r}]", value, where, tail)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "true/false" if isinstance(value, bool) else type(value).__name__
        raise ValidationError(f"{field}: a label value is short text or a number, not {kind}{tail}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"{field}: a label value is a finite number{tail}")
    if abs(value) > MAX_EXACT_INTEGER:
        raise ValidationError(f"{field}: numbers beyond 2**53 are not exact in JSON; give it as text{tail}")
    return value


def labels_text(labels: Mapping[str, Any] | None) -> str | None:
    """``studies.labels``: the object as given (compact JSON)."""
    if labels is None:
        return None
    return json.dumps(dict(labels), ensure_ascii=False, separators=(",", ":"))


def value_text(value: str | int | float) -> str:
    """``study_labels.value``: the canonical JSON text a filter or a group compares (see the docstring)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False)


def value_of(text: str) -> str | int | float:
    """Back from ``study_labels.value``."""
    return json.loads(text)
