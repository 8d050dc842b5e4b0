"""The cyclic garbage collector paused over one chunk of a batch.

A chunk of a batch (a cycle opened or decided, a relay's batch of notices) allocates tens of
thousands of short-lived dicts and rows, freed by reference counting as soon as the chunk is
written; few of them form cycles. The collector still counts them and, with the chunk's and
the process's long-lived objects in its oldest generation, walks them all again and again:
at 40,000 tenancies about a quarter of opening a cycle went to collections that found next
to nothing. Paused for the chunk, the collector runs again after it, and any cycle the chunk
left behind is collected then.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector's state is restored after it
    (left off if something else had turned it off, as the command line's start does)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
