"""Observability: OpenTelemetry traces and metrics derived from the execution history,
and structured logs.

Switched on by the environment: ``STATEMACHINE_OTEL=1``, or ``OTEL_SERVICE_NAME`` or
``OTEL_EXPORTER_OTLP_ENDPOINT`` set (``STATEMACHINE_OTEL=0`` and ``OTEL_SDK_DISABLED=true``
switch it off), with the ``statemachine[otel]`` extra installed. Otherwise nothing here
imports ``opentelemetry`` and the drivers' hooks are a ``None`` check.

* :func:`from_env` builds the process's :class:`Observer`: spans go to an exporter child
  process (see :mod:`.agent` and :mod:`.exporter`), metrics to an OTLP metric exporter.
* The in-memory runner takes it as ``Runner(observer=...)`` (by default: from the
  environment); a durable :class:`~statemachine.store.db.Database` gets it through
  :func:`attach_from_env`, which the worker and the service call.
* :mod:`.context` carries the ``traceparent`` of the REST request that starts an
  execution; :mod:`.logging` formats log lines as JSON with the execution's fields.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from statemachine.observability.durable import DurableFeed
    from statemachine.observability.observer import Observer
    from statemachine.observability.rows import RowFeed
    from statemachine.store.db import Database

__all__ = ["attach_from_env", "from_env", "requested"]

_TRUE = {"1", "true", "yes", "on"}
_lock = threading.Lock()
_observer: Observer | None = None
_failed = False


def requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for OpenTelemetry (installed or not)."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    switch = env.get("STATEMACHINE_OTEL", "").strip().lower()
    if switch:
        return switch in _TRUE
    return bool(env.get("OTEL_SERVICE_NAME") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def from_env() -> Observer | None:
    """The process-wide observer the environment asks for, or None (the common case:
    then nothing is imported). Built once; a missing ``otel`` extra is logged once."""
    global _observer, _failed
    if _failed or not requested():
        return None
    if _observer is not None:
        return _observer
    with _lock:
        if _observer is None and not _failed:
            try:
                _observer = _build()
            except ImportError as exc:
                _failed = True
                logging.getLogger("statemachine.observability").warning(
                    "OpenTelemetry was asked for but is not installed "
                    "(pip install 'statemachine[otel]'): %s",
                    exc,
                )
    return _observer


def _build() -> Observer:
    import opentelemetry.sdk  # noqa: F401  - fail here, not in the exporter process

    from statemachine.observability.agent import AgentSink
    from statemachine.observability.metrics import ProcessMetrics, provider_from_env
    from statemachine.observability.observer import Observer, env_sampler

    # Spans and the metrics computed from them go to the exporter process; this process
    # only reports what it alone can see (its databases' queues, its lease losses).
    provider = provider_from_env()
    metrics = ProcessMetrics(provider) if provider is not None else None
    return Observer(AgentSink(), metrics, sampler=env_sampler())


def attach_from_env(db: Database) -> DurableFeed | RowFeed | None:
    """The feed observing ``db``: the one already attached (e.g. by a test), else one
    from the environment's observer, else None."""
    listener: Any = getattr(db, "history_listener", None)
    if listener is not None:
        return getattr(listener, "__self__", None)
    observer = from_env()
    return None if observer is None else observer.attach(db)
