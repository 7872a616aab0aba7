"""Python's cyclic garbage collector paused while a step builds a large graph of objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block; reference counting still frees everything acyclic.

    Rating a month's tenants or matching its cost lines creates millions of small objects that stay
    alive until the step ends, and every full collection walks them all again: a quarter of the
    invoicing step's time at 10,000 tenants (README "Performance"). The domain objects hold no
    reference cycles, so there is nothing for it to find; any cycle made meanwhile waits for the next
    collection after the block. A block inside a paused block leaves the collector paused."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
