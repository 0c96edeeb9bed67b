"""Retry and Catch as pure decisions.

Rules (ASL "Error Handling", AWS developer guide):

* Retriers are scanned in order; the first whose ``ErrorEquals`` names the error applies.
  Its own counter decides: below ``MaxAttempts`` the state runs again after
  ``IntervalSeconds * BackoffRate ** n`` seconds (capped by ``MaxDelaySeconds``; ``FULL``
  jitter picks a uniform delay below that). Exhausted, the error goes to the catchers.
* Catchers are only tried once no retrier applies; the first match wins.
* ``States.ALL`` matches every error except ``States.Runtime`` and
  ``States.DataLimitExceeded`` (AWS). ``States.TaskFailed`` matches every error except
  ``States.Timeout`` (and heartbeat timeouts). ``States.Timeout`` also matches
  ``States.HeartbeatTimeout`` (see DESIGN.md).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from statemachine.model.states import Catcher, Retrier

_UNCATCHABLE_BY_ALL = frozenset({"States.Runtime", "States.DataLimitExceeded"})
_TIMEOUTS = frozenset({"States.Timeout", "States.HeartbeatTimeout"})


def error_matches(names: Sequence[str], error: str, *, wildcard_all: bool = False) -> bool:
    """Does a retrier/catcher ``ErrorEquals`` list match ``error``? ``wildcard_all`` lets
    States.ALL match even States.DataLimitExceeded: AWS does so for an oversized Task
    result, which it reports as a task failure."""
    for name in names:
        if name == error:
            return True
        if name == "States.ALL" and (wildcard_all or error not in _UNCATCHABLE_BY_ALL):
            return True
        if name == "States.Timeout" and error == "States.HeartbeatTimeout":
            return True
        if (
            name == "States.TaskFailed"
            and error not in _TIMEOUTS
            and error not in _UNCATCHABLE_BY_ALL
        ):
            return True
    return False


@dataclass(frozen=True, slots=True)
class RetryDecision:
    index: int
    delay_seconds: float
    attempts: tuple[int, ...]


def decide_retry(
    retriers: Sequence[Retrier],
    attempts: tuple[int, ...],
    error: str,
    rng: random.Random,
    *,
    wildcard_all: bool = False,
) -> RetryDecision | None:
    """The retry to perform, or None when the error must go to the catchers."""
    for i, retrier in enumerate(retriers):
        if not error_matches(retrier.error_equals, error, wildcard_all=wildcard_all):
            continue
        done = attempts[i] if i < len(attempts) else 0
        if done >= retrier.max_attempts:
            return None
        delay = float(retrier.interval_seconds) * float(retrier.backoff_rate) ** done
        if retrier.max_delay_seconds is not None:
            delay = min(delay, float(retrier.max_delay_seconds))
        if retrier.jitter_strategy == "FULL":
            delay = rng.uniform(0, delay)
        counts = list(attempts) + [0] * (len(retriers) - len(attempts))
        counts[i] = done + 1
        return RetryDecision(index=i, delay_seconds=delay, attempts=tuple(counts))
    return None


def find_catcher(
    catchers: Sequence[Catcher], error: str, *, wildcard_all: bool = False
) -> Catcher | None:
    for catcher in catchers:
        if error_matches(catcher.error_equals, error, wildcard_all=wildcard_all):
            return catcher
    return None
