"""Per-process random draws (execution seeds, in-memory trace ids) differ between a
process and its forked child."""

from __future__ import annotations

import os
import warnings

import pytest

from statemachine.procrandom import ProcessRandom


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_draws_a_different_sequence() -> None:
    rng = ProcessRandom()
    read, write = os.pipe()
    with warnings.catch_warnings():  # 3.12+: fork() in a threaded process (the child
        warnings.simplefilter("ignore", DeprecationWarning)  # only writes and exits)
        pid = os.fork()
    if pid == 0:  # the child: report its next draw and leave at once
        os.close(read)
        os.write(write, rng.getrandbits(64).to_bytes(8, "big"))
        os._exit(0)
    os.close(write)
    child = int.from_bytes(os.read(read, 8), "big")
    os.close(read)
    os.waitpid(pid, 0)
    assert rng.getrandbits(64) != child


def test_two_generators_differ() -> None:
    assert ProcessRandom().getrandbits(128) != ProcessRandom().getrandbits(128)
