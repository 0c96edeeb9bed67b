"""The REST service: ``create_app(service, settings)`` builds the FastAPI application."""

from api.app import attach_worker, create_app
from api.settings import Settings

__all__ = ["Settings", "attach_worker", "create_app"]
