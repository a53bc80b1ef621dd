"""Synthetic inputs that respect a signature's dtypes and shapes.

Used by ``--probe_new_versions`` (a new version answers before it serves) and by
the tools (``sigserve check``, ``sigserve.export``) that probe signatures.
"""

from __future__ import annotations

import numpy as np

from sigserve.codecs.dtypes import numpy_dtype
from sigserve.types import SignatureInfo, TensorInfo


def shape_for(info: TensorInfo, batch: int, inner: int) -> tuple[int, ...]:
    """The declared shape with the leading unknown dimension as ``batch``, others ``inner``;
    an unknown rank as a scalar."""
    if info.shape is None:
        return ()
    return tuple(d if d >= 0 else (batch if i == 0 else inner) for i, d in enumerate(info.shape))


def tensor(info: TensorInfo, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Random values of the tensor's dtype: small non-negative ints (safe as indices),
    floats around 0, short ASCII byte strings."""
    dtype = info.dtype.removesuffix("_REF")
    if dtype == "DT_STRING":
        words = rng.integers(97, 123, size=(*shape, 5)).astype(np.uint8)
        flat = [bytes(w) for w in words.reshape(-1, 5)]
        return np.array(flat, dtype=object).reshape(shape)
    np_dtype = numpy_dtype(dtype)
    if np_dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    if np_dtype.kind in "iu":
        return rng.integers(0, 4, size=shape).astype(np_dtype)
    if np_dtype.kind == "c":
        return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np_dtype)
    return rng.normal(size=shape).astype(np_dtype)


def inputs(signature: SignatureInfo, batch: int, inner: int, seed: int) -> dict[str, np.ndarray]:
    """One synthetic request: every input with batch size ``batch``."""
    rng = np.random.default_rng(seed)
    return {
        name: tensor(info, shape_for(info, batch, inner), rng)
        for name, info in signature.inputs.items()
    }
