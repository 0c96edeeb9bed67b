"""What an expression sees besides its input data."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

JSON = Any


class EvalContext:
    """Evaluation environment.

    ``context`` is the ASL Context object (``$$`` in JSONPath, ``$states.context`` in JSONata).
    ``variables`` are the workflow variables visible to the state (``$name``).
    ``rng`` is the only source of randomness (``States.UUID``, ``States.MathRandom``,
    ``$uuid()``, ``$random()``): the interpreter seeds it per transition so a resumed run
    computes the same values, and nothing else in an expression may read a clock or ``os``.
    Pass ``rng_source`` instead of ``rng`` to create it only when an expression draws from
    it (seeding costs more than most transitions spend on expressions); the source must
    return the same generator every time, so that all the expressions of one transition
    draw from one stream.
    """

    __slots__ = ("_rng", "_source", "context", "variables")

    def __init__(
        self,
        context: JSON = None,
        variables: Mapping[str, JSON] | None = None,
        rng: random.Random | None = None,
        *,
        rng_source: Callable[[], random.Random] | None = None,
    ) -> None:
        self.context = context
        self.variables: Mapping[str, JSON] = {} if variables is None else variables
        self._rng = rng
        self._source = rng_source

    @property
    def rng(self) -> random.Random:
        rng = self._rng
        if rng is None:
            rng = self._rng = random.Random(0) if self._source is None else self._source()
        return rng

    def __repr__(self) -> str:
        return f"EvalContext(context={self.context!r}, variables={self.variables!r})"
