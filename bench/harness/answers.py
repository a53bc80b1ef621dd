"""Is a server's answer the model's answer? Predictions compared with a float tolerance."""

from __future__ import annotations

import math
from typing import Any


def same_predictions(got: Any, want: Any, rel: float = 1e-3, abs_: float = 1e-4) -> bool:
    """True when ``got`` has ``want``'s structure and its numbers are close to ``want``'s.

    Servers write floats with different precision (TF Serving's ``%.6g``, Python's repr), so
    numbers match within ``rel``/``abs_``; strings, booleans and structure match exactly.
    """
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, int | float) and isinstance(got, int | float):
        return math.isclose(got, want, rel_tol=rel, abs_tol=abs_)
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(
            same_predictions(g, w, rel, abs_) for g, w in zip(got, want, strict=True)
        )
    if isinstance(want, dict) and isinstance(got, dict):
        return got.keys() == want.keys() and all(
            same_predictions(got[k], want[k], rel, abs_) for k in want
        )
    return type(got) is type(want) and got == want
