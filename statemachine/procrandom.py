"""A random generator the OS seeds once per process, and again in a forked child.

For values drawn per execution (seeds, in-memory trace ids): ``os.urandom`` on every
execution releases the interpreter lock each time, and CPython hands it straight back to
the caller, so another thread (a span shipper, say) starves while short runs follow one
another. A forked child reseeds, so two processes never draw the same sequence.
"""

from __future__ import annotations

import os
import random


class ProcessRandom(random.Random):
    def __init__(self) -> None:
        super().__init__(os.urandom(32))
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        self.seed(os.urandom(32))
