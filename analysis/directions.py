"""The two optimization directions an objective can have, and their validation."""

MINIMIZE = "minimize"
MAXIMIZE = "maximize"
DIRECTIONS = (MINIMIZE, MAXIMIZE)


def validate_direction(direction: object, argument: str = "direction") -> str:
    """Return ``direction`` if it is ``"minimize"`` or ``"maximize"``.

    Raises ValueError naming ``argument`` and the offending value otherwise.
    Matching is exact (no case folding) so a typo never silently flips a sign.
    """
    if not isinstance(direction, str) or direction not in DIRECTIONS:
        raise ValueError(
            f"{argument} must be 'minimize' or 'maximize', got {direction!r}"
        )
    return direction
