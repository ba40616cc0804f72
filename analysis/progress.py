"""How far a running study is and when it will finish: pure functions of the study's own fields
and of what was seen earlier (``hive-cli watch``, the dashboard's live parts)."""
from __future__ import annotations

import math
from typing import Any

FINISHED = ("completed", "failed")


def fraction_done(study: dict[str, Any]) -> float | None:
    """0..1: the optimizer's own ``progress_percent`` when it reports one; else evaluations over the
    study's budget (``max_evaluations``, or ``max_generations`` x ``population_size``); else None."""
    if study.get("status") == "completed":
        return 1.0
    percent = _number(study.get("progress_percent"))
    if percent is not None:
        return min(max(percent / 100.0, 0.0), 1.0)
    runs = _number(study.get("run_count")) or 0.0
    budget = _number(study.get("max_evaluations"))
    if budget is None:
        generations, population = _number(study.get("max_generations")), _number(study.get("population_size"))
        budget = generations * population if generations and population else None
    return min(runs / budget, 1.0) if budget else None


def eta_seconds(first: tuple[float, float | None], last: tuple[float, float | None]) -> float | None:
    """Seconds left, from two ``(time_s, fraction_done)`` observations: the rate between them carried
    on to 1. None when either fraction is unknown, or nothing moved between them."""
    (t0, f0), (t1, f1) = first, last
    if f0 is None or f1 is None or t1 <= t0 or f1 <= f0:
        return None
    if f1 >= 1.0:
        return 0.0
    return (1.0 - f1) * (t1 - t0) / (f1 - f0)


def duration_text(seconds: float | None) -> str:
    """``"2h 05m"``, ``"3m 07s"``, ``"12s"``; ``"unknown"`` for None."""
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
