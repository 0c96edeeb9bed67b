"""FastAPI dependencies: the service, the settings, the live-update notifier, the metrics.

Routes ask for them as ``Annotated`` parameters (``service: ServiceDep``); tests replace
them with ``app.dependency_overrides[get_service] = ...``. The values themselves live on
``app.state``, set once by :func:`api.app.create_app`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.metrics import Metrics
from api.notify import Notifier
from api.settings import Settings
from statemachine.service import Service


def get_service(request: Request) -> Service:
    return request.app.state.service


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_notifier(request: Request) -> Notifier:
    return request.app.state.notifier


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


ServiceDep = Annotated[Service, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NotifierDep = Annotated[Notifier, Depends(get_notifier)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
