"""Call a version's signatures exactly as ``sigserve serve`` does, at chosen sizes.

The server loads a version with :func:`sigserve.runtime.saved_model.load` (TensorFlow's
session loader, as TF Serving's ``SavedModelBundle``) and answers with
``servable.run(signature, inputs)``. A SavedModel that ``tf.saved_model.load`` reads
happily can still fail there (a Keras 3 model saved with ``tf.saved_model.save``:
"Could not find variable ..."), so the tools verify through this path only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from sigserve.errors import Code, ServingError
from sigserve.runtime import synthetic
from sigserve.types import SignatureInfo

Call = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]

# Batch sizes every check uses: 1 (the classic frozen `x.shape[0] == 1` branch), 2, and a
# larger odd one; sizes for the other unknown dimensions: 3 by default, then 1 and 5.
BATCH_SIZES = (1, 2, 7)
BASE_INNER = 3
INNER_SIZES = (1, 5)

# Failures that are the model's fault, whatever the request (a variable or table missing,
# an op the server cannot run), as opposed to synthetic values a model may reject.
MODEL_FAULTS = frozenset({
    Code.FAILED_PRECONDITION, Code.NOT_FOUND, Code.INTERNAL, Code.UNIMPLEMENTED, Code.DATA_LOSS,
})  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One synthetic request: batch size, size of the other unknown dimensions, seed."""

    batch: int
    inner: int
    seed: int

    def label(self, batched: bool) -> str:
        parts = [f"batch size {self.batch}"] if batched else []
        if self.inner != BASE_INNER:
            parts.append(f"other unknown dimensions {self.inner}")
        return ", ".join(parts) or "one request"


def sizes_text(chosen: list[Case], is_batched: bool) -> str:
    """``batch sizes 2, 7 and 0`` (or each case's label when other dimensions vary)."""
    if is_batched and chosen and all(c.inner == BASE_INNER for c in chosen):
        numbers = [str(c.batch) for c in chosen]
        if len(numbers) == 1:
            return f"batch size {numbers[0]}"
        return f"batch sizes {', '.join(numbers[:-1])} and {numbers[-1]}"
    return "; ".join(c.label(is_batched) for c in chosen) or "no size"


def batched(info: SignatureInfo) -> bool:
    """Whether some input has an unknown leading (batch) dimension."""
    return any(s is not None and len(s) >= 1 and s[0] == -1 for s in _shapes(info))


def has_inner_unknowns(info: SignatureInfo) -> bool:
    """Whether some input has an unknown dimension after the first."""
    return any(s is not None and any(d == -1 for d in s[1:]) for s in _shapes(info))


def _shapes(info: SignatureInfo) -> list[tuple[int, ...] | None]:
    return [i.shape for i in info.inputs.values()]


def cases(info: SignatureInfo, include_zero: bool = False) -> list[Case]:
    """Batch sizes 1, 2, 7 (and 0 last when asked), then the other unknown dimensions
    varied at batch size 2; one request when nothing is unknown."""
    is_batched = batched(info)
    sizes = BATCH_SIZES + ((0,) if include_zero else ()) if is_batched else (1,)
    result = [Case(b, BASE_INNER, 11 + i) for i, b in enumerate(sizes)]
    if has_inner_unknowns(info):
        batch = 2 if is_batched else 1
        result += [Case(batch, inner, 31 + i) for i, inner in enumerate(INNER_SIZES)]
    return result


def feed(info: SignatureInfo, case: Case) -> dict[str, np.ndarray]:
    return synthetic.inputs(info, case.batch, case.inner, case.seed)


def load(path: str, tags: frozenset[str]):  # -> SavedModelServable
    """The version loaded exactly as the server loads it (raises ServingError)."""
    from sigserve.runtime import saved_model

    return saved_model.load(path, tags)


def signature_call(servable, key: str) -> Call:
    """``inputs -> outputs`` through ``servable.run``, as a request to the server."""
    return lambda inputs: servable.run(key, dict(inputs))


def is_model_fault(error: BaseException) -> bool:
    return isinstance(error, ServingError) and error.code in MODEL_FAULTS


def error_text(error: BaseException, limit: int = 300) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    first = message.strip().splitlines()[0] if message.strip() else message
    return first[:limit]


def difference(
    got: Mapping[str, np.ndarray], want: Mapping[str, np.ndarray], rtol: float, atol: float
) -> str:
    """'' when the answers agree; else what differs first (output, shapes or values)."""
    if set(got) != set(want):
        return f"outputs {sorted(got)} versus {sorted(want)}"
    for key in sorted(got):
        a, b = np.asarray(got[key]), np.asarray(want[key])
        if a.shape != b.shape:
            return f"output {key!r}: shape {list(a.shape)} versus {list(b.shape)}"
        if a.dtype != b.dtype and not (a.dtype.kind in "OSU" and b.dtype.kind in "OSU"):
            return f"output {key!r}: dtype {a.dtype} versus {b.dtype}"
        if a.dtype.kind in "fc":
            same = np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
        else:
            same = np.array_equal(a, b)
        if not same:
            return f"output {key!r}: {_first_values(a, b)}"
    return ""


def _first_values(a: np.ndarray, b: np.ndarray) -> str:
    """The first differing element, e.g. ``[0] 60.0 versus 30.0``."""
    if a.ndim == 0:
        return f"{a.item()!r} versus {b.item()!r}"
    flat_a, flat_b = a.reshape(-1), b.reshape(-1)
    if a.dtype.kind in "fc":
        unequal = ~np.isclose(flat_a, flat_b, equal_nan=True)
    else:
        unequal = flat_a != flat_b
    index = int(np.argmax(unequal))
    where = [int(i) for i in np.unravel_index(index, a.shape)]
    return f"{where} {flat_a[index].item()!r} versus {flat_b[index].item()!r}"
