"""Keep Python's cyclic garbage collector off the request path.

TensorFlow and a loaded model leave a few hundred thousand long-lived Python
objects. Requests allocate many short-lived containers (a JSON body parses into
lists), which trigger collections; a full one walks every tracked object, so
inside the server one parse of a 1 MB body took ~150 ms instead of ~15 ms.
After a version loads, everything alive is moved out of the collector's reach
(``gc.freeze``), so collections walk only what requests allocate. After an
unload the frozen objects are put back, collected once (a version's cyclic
garbage is freed, not kept frozen forever) and frozen again.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()


def freeze_after_load() -> None:
    """Collect once, then freeze what survives (called once a version has loaded)."""
    with _lock:
        gc.collect()
        gc.freeze()


def collect_after_unload() -> None:
    """Free an unloaded version's cyclic garbage, then freeze the rest again."""
    with _lock:
        gc.unfreeze()
        gc.collect()
        gc.freeze()


class _Paused:
    """Collections off while any thread decodes a large body (reference counted)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self._count += 1
            if self._count == 1:
                self._was_enabled = gc.isenabled()
                gc.disable()

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._count -= 1
            if self._count == 0 and self._was_enabled:
                gc.enable()


paused = _Paused()
"""``with heap.paused:`` around work that allocates many acyclic objects at once (a
parsed JSON body: lists of numbers), so the collector does not walk them again and
again while they are built; they are freed by reference counting as usual."""
