"""Floats as TF Serving writes them in JSON.

TF Serving prints a float32 with ``%.6g`` when that reads back to the same
float32, else with ``%.9g``. These functions give the double each such text
denotes, so that a JSON writer printing the shortest form of that double writes
the same number; large arrays take a vectorised path checked against printf.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

_POW10 = np.power(10.0, np.arange(-22, 23, dtype=np.float64))  # 10**k for k in -22..22


def _round_significant(values: np.ndarray, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """``float("%.{digits}g" % v)`` for each value, computed with numpy.

    Rounds ``v * 10**k`` to an integer and divides by ``10**k`` exactly: for
    ``|k| <= 22`` both powers are exact doubles, so the result is the double
    nearest the decimal, as parsing the printed text gives. Returns the values
    and a mask of those computed this way (the rest need the slow path).
    """
    exponent = np.floor(np.log10(np.abs(values)))
    for _ in range(2):  # log10 may be one off next to a power of ten
        power = (digits - 1 - exponent).astype(np.int64)
        scaled = np.round(values * _POW10[np.clip(power, -22, 22) + 22])
        too_big = np.abs(scaled) >= 10.0**digits
        too_small = np.abs(scaled) < 10.0 ** (digits - 1)
        if not (too_big.any() or too_small.any()):
            break
        exponent = exponent + too_big - too_small
    safe = np.abs(power) <= 22
    negative = power < 0
    result = np.where(
        negative,
        scaled * _POW10[np.clip(-power, 0, 22) + 22],
        scaled / _POW10[np.clip(power, 0, 22) + 22],
    )
    return result, safe


_SMALL = 256


def float32_value(value: float) -> float:
    """A float32 as the double TF Serving's JSON text for it denotes (%.6g, else %.9g)."""
    if value != value or value in (_INF, -_INF):
        return value
    short = float(f"{value:.6g}")
    return short if np.float32(short) == np.float32(value) else float(f"{value:.9g}")


_INF = float("inf")


def _float32_display_small(wide: np.ndarray) -> list[float]:
    """:func:`float32_display` for a few values: printf per value, one vector compare."""
    values = wide.tolist()
    with np.errstate(all="ignore"):
        short = [float(f"{v:.6g}") for v in values]
        exact = np.array(short, np.float32) == wide.astype(np.float32)
        exact |= np.isnan(wide)
    if not exact.all():
        for index in np.flatnonzero(~exact).tolist():
            short[index] = float(f"{values[index]:.9g}")
    return short


def float32_display(values: np.ndarray) -> np.ndarray:
    """float32 values as the doubles TF Serving's text denotes (%.6g, else %.9g)."""
    wide = values.astype(np.float64)
    if wide.size <= _SMALL:  # numpy's per-call overhead outweighs a Python loop here
        return np.array(_float32_display_small(wide), dtype=np.float64)
    out = wide.copy()
    regular = np.isfinite(wide) & (wide != 0)
    if not regular.any():
        return out
    v = wide[regular]
    with np.errstate(all="ignore"):
        short, safe_short = _round_significant(v, 6)
        exact = short.astype(np.float32) == v.astype(np.float32)
        long, safe_long = _round_significant(v, 9)
    chosen = np.where(exact, short, long)
    slow = ~np.where(exact, safe_short, safe_long)
    if slow.any():  # |v| beyond 1e+-16 or so: let printf do it
        text6 = np.char.mod("%.6g", v[slow]).astype(np.float64)
        text9 = np.char.mod("%.9g", v[slow]).astype(np.float64)
        chosen[slow] = np.where(text6.astype(np.float32) == v[slow].astype(np.float32),
                                text6, text9)  # fmt: skip
    out[regular] = chosen
    return out


def decimal_text(value: float, float32: bool) -> str:
    """TF Serving's text for a float (``WriteDecimal``): ``%.6g``, else full precision.

    Whole numbers get a trailing ``.0``; NaN and infinities are the bare
    literals ``NaN``, ``Infinity`` and ``-Infinity``.
    """
    if value != value:
        return "NaN"
    if value in (_INF, -_INF):
        return "Infinity" if value > 0 else "-Infinity"
    text = f"{value:.6g}"
    exact = np.float32(float(text)) == np.float32(value) if float32 else float(text) == value
    if not exact:
        text = f"{value:.9g}" if float32 else f"{value:.17g}"
    if "." not in text and "e" not in text:
        text += ".0"
    return text


def json_float_value(array: np.ndarray) -> Any:
    """A float tensor as a value orjson writes with exactly TF Serving's text.

    orjson prints the shortest text of a double; for the doubles that TF
    Serving's ``%.6g`` texts denote, between 1e-4 and 1e6, that is the same
    text. Other values (NaN, infinities, exponent forms, float64 values that
    need 17 digits) become ``orjson.Fragment`` holding TF Serving's own text.
    """
    float32 = array.dtype != np.float64
    display = float32_display(array.astype(np.float32).ravel()) if float32 else array.ravel()
    with np.errstate(all="ignore"):
        magnitude = np.abs(display)
        plain = np.isfinite(display) & (
            (magnitude == 0) | ((magnitude >= 1e-4) & (magnitude < 1e6))
        )
        if not float32 and plain.any():
            plain &= _six_digits_suffice(display)
    if plain.all():
        return float(display[0]) if array.ndim == 0 else display.reshape(array.shape)
    flat: list[Any] = display.tolist()
    for index in np.flatnonzero(~plain).tolist():
        flat[index] = orjson.Fragment(decimal_text(flat[index], float32))
    if array.ndim == 0:
        return flat[0]
    holder = np.empty(len(flat), dtype=object)
    holder[:] = flat
    return holder.reshape(array.shape).tolist()


def _six_digits_suffice(values: np.ndarray) -> np.ndarray:
    """Whether ``%.6g`` reads back to each double (computed where that is safe)."""
    nonzero = values != 0
    result = ~nonzero
    if nonzero.any():
        rounded, safe = _round_significant(values[nonzero], 6)
        result[nonzero] = safe & (rounded == values[nonzero])
    return result
