"""Persistence for the durable engine: tables, migrations and repository functions.

This package is the only place that defines database tables (SQLModel). Everything above
it (engine, service) calls the repository functions; the hot path uses SQLAlchemy Core.
"""

from statemachine.store.db import HEAD_REVISION, Database, normalize_url

__all__ = ["HEAD_REVISION", "Database", "normalize_url"]
