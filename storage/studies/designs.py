"""Designs and their parameter names: which evaluations are the same design, and what each value is.

An evaluation is one row of ``study_runs``; a design is a distinct parameter vector. Optimizers meet
a design again (elitism, caches, re-evaluation under noise), so fronts, best-design lists, knee
points and exports count designs, while the runs table and throughput count evaluations.

Names. A study's ``parameter_names`` are declared by ``create_study`` or, when it declares none,
taken from the runs (the union, in order of first appearance). A run either has the study's
*leading* names (its first ``len(parameter_vector)`` names: the whole list, or none at all) and
stores no names of its own, or it stores its own ``parameter_names`` (a conditional search space:
an Optuna trial with ``b`` only). Because a study's list only ever grows at its end, "the first k
names" never changes meaning for a run already stored.

The design key is a 64-bit hash of the design: its values (``-0.0`` as ``0.0``, integers as floats)
and, for a run with names of its own, the names, each value paired with its name in the study's
name order. So ``[1, 2]`` without names, ``[1, 2]`` named ``["a", "b"]`` and ``[2, 1]`` named
``["b", "a"]`` in a study of ``a, b`` are one design; ``b=15.5`` and ``a=15.5`` are two. A run that
recorded no parameters has no key (NULL): nothing says which design it was, so it counts as one of
its own.
Migration 0008 computes the same key for rows written before it (a copy of ``design_key``; a test
holds the two equal).
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

import orjson


def _digest(payload: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8).digest(), "little", signed=True)


def design_key(values: Sequence[float], own_names: Sequence[str] | None = None,
               study_names: Sequence[str] | None = None) -> int | None:
    """The key of one design (None without parameters). ``own_names``: the run's own names (None:
    the study's leading names); ``study_names``: the study's names, which order its own pairs."""
    if not len(values):
        return None
    floats = [float(v) + 0.0 for v in values]
    if own_names:
        order = {name: i for i, name in enumerate(study_names or ())}
        pairs = sorted(zip(own_names, floats), key=lambda p: (order.get(p[0], len(order)), p[0]))
        names = [n for n, _ in pairs]
        floats = [v for _, v in pairs]
        if study_names is None or names != list(study_names):  # not just the study's names reordered
            return _digest(orjson.dumps([names, floats]))
    return _digest(orjson.dumps(floats))


def design_keys(vectors: Sequence[Sequence[float]]) -> list[int | None]:
    """Keys of many runs that have the study's leading names (the optimizer's hot path)."""
    dumps, digest = orjson.dumps, _digest
    return [digest(dumps([float(v) + 0.0 for v in vector])) if len(vector) else None for vector in vectors]


def own_names_or_none(names: Sequence[str] | None, study_names: Sequence[str] | None) -> list[str] | None:
    """A run's names as stored: None when they are the study's leading names (so the run reads its
    names from the study), else the names as given."""
    if names is None:
        return None
    names = list(names)
    if study_names is not None and list(study_names[: len(names)]) == names and len(names) in (0, len(study_names)):
        return None
    return names


def names_of_run(vector_length: int, own_names: Sequence[str] | None, study_names: Sequence[str] | None) -> list[str]:
    """The name of each value of a stored run; ``x0, x1, ...`` only where nobody named them."""
    if own_names is not None:
        return list(own_names)
    if study_names is not None and len(study_names) >= vector_length:
        return list(study_names[:vector_length])
    known = list(study_names or ())
    return known + [f"x{i}" for i in range(len(known), vector_length)]
