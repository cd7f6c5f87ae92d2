"""Cache keys from content: a SHA-256 over arrays, bytes, text and numbers.

`st.cache_data` cannot hash a model and samples large arrays instead of reading them whole, so a
cached function takes what it cannot hash as `_underscore` arguments and a key that stands for
them. That key must come from their content, not from a name: two uploads called preds.npy are
two different results.

    @st.cache_data(max_entries=4)
    def gif(content: str, short_len: int, _panels) -> bytes: ...
    gif(fingerprint(panels), short_len, panels)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np


def _update(h, value: Any) -> None:
    # Each part is tagged with its type (and an array with its dtype and shape), so that
    # ("ab",) and ("a", "b"), or the same bytes read as uint8 and as float32, differ.
    if value is None or isinstance(value, bool | int | float | str):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        h.update(f"bytes:{len(data)};".encode())
        h.update(data)
    elif isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        array = np.ascontiguousarray(np.asarray(value))
        h.update(f"array:{array.dtype.str}:{array.shape};".encode())
        h.update(array.tobytes())
    elif isinstance(value, Mapping):
        h.update(f"map:{len(value)};".encode())
        for k in sorted(value, key=repr):
            _update(h, k)
            _update(h, value[k])
    elif isinstance(value, list | tuple):
        h.update(f"seq:{len(value)};".encode())
        for item in value:
            _update(h, item)
    else:
        raise TypeError(f"fingerprint: cannot hash a {type(value).__name__} by its content")


def fingerprint(*parts: Any) -> str:
    """A hex digest of `parts` (numbers, text, bytes, numpy arrays and tensors, and lists,
    tuples and dicts of them) that changes whenever any of their content does."""
    h = hashlib.sha256()
    _update(h, parts)
    return h.hexdigest()
