"""A faster process start: the cyclic garbage collector rests while the engine loads.

Importing the worker (SQLAlchemy, the interpreter's many classes) allocates hundreds of
thousands of objects that all live as long as the process. The collector, triggered by
allocation counts, traverses them again and again and finds nothing to free: a few per
cent of the start-up time with a warm bytecode cache, about a quarter when the modules
compile from source (``PYTHONDONTWRITEBYTECODE``), and the start-up is the time a
restarted worker takes to resume its executions. The command line calls :func:`pause`
when it starts as a process, and the long-running commands (``worker``, ``serve``,
``run``) call :func:`resume` once their imports are done: it moves everything allocated
so far to the permanent generation (:func:`gc.freeze`, so later collections skip it too)
and turns the collector back on. The few cycles the imports left as garbage (884 objects
for the worker and the API, measured) are frozen with the rest: collecting them first
would cost a full collection, some 90 ms, on the path to the first resumed transition.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Stop the cyclic collector until :func:`resume` (the process's start-up)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """End the start-up: freeze what it allocated and collect again. Only undoes
    :func:`pause` (a collector that someone else disabled stays off); idempotent."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
