"""Server settings: who may call the API, how large a request may be, what it may reach.

Everything a deployment tunes is here, in one frozen value, so that a test builds the app
with exactly the settings it wants (``create_app(service, Settings(...))``) and nothing
reads the environment behind its back. :meth:`Settings.from_env` is the one place that
does, for ``statemachine serve``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from statemachine.handlers.resources import ResourcePolicy

TOKENS_ENV = "STATEMACHINE_API_TOKENS"
STATIC_DIR = Path(__file__).parent / "static"

KIB = 1024
MIB = 1024 * KIB


def parse_tokens(text: str) -> frozenset[str]:
    """``"a, b"`` or one token a line -> ``{"a", "b"}``; blank entries and ``#`` comment
    lines are ignored."""
    tokens: set[str] = set()
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        tokens.update(part.strip() for part in line.split(",") if part.strip())
    return frozenset(tokens)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and addresses in 127.0.0.0/8 or ``::1``. Anything else,
    including ``0.0.0.0`` and host names, may be reachable from other machines."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Settings:
    """What the REST service enforces.

    ``api_tokens``: bearer tokens accepted on ``/v1`` and ``/metrics``; empty means no
    authentication (only allowed on a loopback address, see ``statemachine serve``).
    ``max_body_bytes``: any request body larger than this is refused with 413 before it is
    read whole. ``max_definition_bytes``: a definition's text. ``payload_limit``: an
    execution input or a task result, in bytes of compact JSON (None: the service's own
    limit). ``max_wait_seconds`` caps ``?wait=`` and long polls. ``cors_origins``: CORS is
    off unless origins are listed. ``resource_policy``: which ``python:`` resources a
    definition submitted over REST may name.
    """

    api_tokens: frozenset[str] = frozenset()
    max_body_bytes: int = 2 * MIB
    max_definition_bytes: int = 1 * MIB
    payload_limit: int | None = None
    max_wait_seconds: float = 60.0
    cors_origins: tuple[str, ...] = ()
    resource_policy: ResourcePolicy = field(default_factory=ResourcePolicy)
    sse_poll_seconds: float = 1.0
    sse_keepalive_seconds: float = 15.0
    static_dir: Path = STATIC_DIR

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_tokens)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        extra_tokens: Iterable[str] = (),
        **overrides: object,
    ) -> Settings:
        """Tokens from ``STATEMACHINE_API_TOKENS`` (comma separated) plus ``extra_tokens``;
        the ``python:`` policy from ``STATEMACHINE_PYTHON_ALLOW``."""
        env = os.environ if environ is None else environ
        tokens = parse_tokens(env.get(TOKENS_ENV, "")) | frozenset(extra_tokens)
        values: dict[str, object] = {
            "api_tokens": tokens,
            "resource_policy": ResourcePolicy.from_env(env),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
