"""What an expression sees besides its input data."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = Any


@dataclass(slots=True)
class EvalContext:
    """Evaluation environment.

    ``context`` is the ASL Context object (``$$`` in JSONPath, ``$states.context`` in JSONata).
    ``variables`` are the workflow variables visible to the state (``$name``).
    ``rng`` is the only source of randomness (``States.UUID``, ``States.MathRandom``,
    ``$uuid()``, ``$random()``): the interpreter seeds it per transition so a resumed run
    computes the same values, and nothing else in an expression may read a clock or ``os``.
    """

    context: JSON = None
    variables: Mapping[str, JSON] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
