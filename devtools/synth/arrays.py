"""Helpers for dataclasses of per-customer numpy arrays: shrink dtypes, and build in chunks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def compact(obj: object, dtypes: dict[str, type]) -> None:
    for name, dtype in dtypes.items():
        setattr(obj, name, getattr(obj, name).astype(dtype))


def assemble(cls: type[T], n: int, parts: Iterable[T]) -> T:
    """Concatenate chunk-built dataclasses of arrays into one, preallocating the final arrays (no 2x peak)."""
    out: dict[str, object] = {}
    pos = 0
    for part in parts:
        values = {f.name: getattr(part, f.name) for f in fields(cls)}  # type: ignore[arg-type]
        arrays = {k: v for k, v in values.items() if isinstance(v, np.ndarray)}
        if not out:
            out = {k: (np.empty((n, *v.shape[1:]), v.dtype) if k in arrays else v) for k, v in values.items()}
        size = len(next(iter(arrays.values())))
        for k, v in arrays.items():
            out[k][pos : pos + size] = v  # type: ignore[index]
        pos += size
    if "n" in out:
        out["n"] = n
    return cls(**out)
