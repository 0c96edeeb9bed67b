"""Reading Task ``Resource`` strings, and the policy on which of them may run.

Standard library only and no I/O, so the validator can call
:func:`check_resource_allowed` as cheaply as the dispatcher does at run time.

The resource schemes (DESIGN.md, "Task resources"):

* ``tool:NAME``: a registered tool; ``tool:call`` runs a model's tool call.
* ``llm:chat``: the built-in OpenAI-compatible chat handler.
* ``python:pkg.module:function``: a function by import path, only inside packages the
  operator allowed (``STATEMACHINE_PYTHON_ALLOW``); everything else is refused, at
  validation time and again at run time.
* ``activity:NAME`` (and AWS activity ARNs): no local handler; an external worker polls.
* any of them with ``.waitForTaskToken``: the callback pattern.
* ``arn:aws:lambda:...:function:NAME`` and ``arn:aws:states:::lambda:invoke``: mapped to
  local tools by function name.
"""

from __future__ import annotations

import keyword
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CALLBACK_SUFFIX = ".waitForTaskToken"
PYTHON_ALLOW_ENV = "STATEMACHINE_PYTHON_ALLOW"
LAMBDA_INVOKE = "lambda:invoke"

# arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE (AWS "Amazon Resource Names" format)
_ARN = re.compile(r"arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):([0-9]*):(.+)")
# A Lambda FunctionName parameter: a name, NAME:QUALIFIER, a partial ARN
# ACCOUNT:function:NAME[:QUALIFIER], or a full function ARN (Lambda Invoke API reference).
_PARTIAL_FUNCTION = re.compile(r"(?:[0-9]{12}:)?function:([A-Za-z0-9_-]+)(?::([A-Za-z0-9$_-]+))?")
_PLAIN_FUNCTION = re.compile(r"([A-Za-z0-9_-]+)(?::([A-Za-z0-9$_-]+))?")


def split_callback(resource: str) -> tuple[str, bool]:
    """``(resource without .waitForTaskToken, whether it had it)``."""
    if resource.endswith(CALLBACK_SUFFIX):
        return resource[: -len(CALLBACK_SUFFIX)], True
    return resource, False


def is_callback(resource: str) -> bool:
    return resource.endswith(CALLBACK_SUFFIX)


@dataclass(frozen=True, slots=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str


def parse_arn(value: str) -> Arn | None:
    match = _ARN.fullmatch(value)
    return Arn(*match.groups()) if match else None


def activity_name(resource: str) -> str | None:
    """The activity a resource names: ``activity:NAME`` or AWS's
    ``arn:aws:states:REGION:ACCOUNT:activity:NAME``; None for anything else."""
    base, _ = split_callback(resource)
    if base.startswith("activity:"):
        return base[9:] or None
    arn = parse_arn(base)
    if arn and arn.service == "states" and arn.resource.startswith("activity:"):
        return arn.resource[9:] or None
    return None


def is_activity(resource: str) -> bool:
    """True when no local handler runs the resource: an external worker polls for it
    and the engine parks the frame until it answers."""
    return activity_name(resource) is not None


def lambda_function(resource: str) -> tuple[str, str | None] | None:
    """``(function name, qualifier)`` of a bare Lambda ARN Resource
    (``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:VERSION_OR_ALIAS]``)."""
    arn = parse_arn(resource)
    if arn is None or arn.service != "lambda":
        return None
    match = _PARTIAL_FUNCTION.fullmatch(arn.resource)
    return (match[1], match[2]) if match else None


def is_lambda_invoke(resource: str) -> bool:
    """``arn:aws:states:::lambda:invoke`` (optionally ``.waitForTaskToken``)."""
    base, _ = split_callback(resource)
    arn = parse_arn(base)
    return arn is not None and arn.service == "states" and arn.resource == LAMBDA_INVOKE


def function_name(value: str) -> tuple[str, str | None] | None:
    """Read a ``lambda:invoke`` ``FunctionName`` parameter into ``(name, qualifier)``."""
    if value.startswith("arn:"):
        return lambda_function(value)
    for pattern in (_PLAIN_FUNCTION, _PARTIAL_FUNCTION):
        match = pattern.fullmatch(value)
        if match:
            return match[1], match[2]
    return None


# --- python: resources ------------------------------------------------------------------------


def parse_python(resource: str) -> tuple[str, str] | None:
    """``(module, function)`` of ``python:pkg.module:function``; None if malformed."""
    base, _ = split_callback(resource)
    if not base.startswith("python:"):
        return None
    module, sep, function = base[7:].rpartition(":")
    if not sep or not _is_identifier(function):
        return None
    if not module or not all(_is_identifier(part) for part in module.split(".")):
        return None
    return module, function


def _is_identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def in_packages(module: str, packages: Iterable[str]) -> bool:
    """Is ``module`` one of ``packages`` or inside one? (``billing`` covers
    ``billing.charges``, not ``billing_tools``)."""
    return any(module == pkg or module.startswith(pkg + ".") for pkg in packages)


@dataclass(frozen=True, slots=True)
class ResourcePolicy:
    """What the operator allows definitions to reach.

    ``allowed_python_packages``: packages whose functions ``python:`` resources may
    call. Empty (the default) allows none, so a definition submitted over REST can never
    reach arbitrary Python.
    """

    allowed_python_packages: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ResourcePolicy:
        env = os.environ if environ is None else environ
        return cls(parse_package_list(env.get(PYTHON_ALLOW_ENV, "")))


def parse_package_list(text: str) -> tuple[str, ...]:
    """``"billing, reports.jobs"`` -> ``("billing", "reports.jobs")``."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def check_resource_allowed(
    resource: str, config: ResourcePolicy | Iterable[str] | None = None
) -> str | None:
    """None when ``resource`` may run under ``config``, else why not (one sentence).

    ``config`` is a :class:`ResourcePolicy`, an iterable of allowed package names, or
    None to read ``STATEMACHINE_PYTHON_ALLOW`` from the environment. Only ``python:``
    resources are restricted; every other scheme is allowed here (whether a tool is
    registered is a run-time question).
    """
    if not resource.startswith("python:"):
        return None
    if config is None:
        policy = ResourcePolicy.from_env()
    elif isinstance(config, ResourcePolicy):
        policy = config
    else:
        policy = ResourcePolicy(tuple(config))
    parsed = parse_python(resource)
    if parsed is None:
        return f"Resource {resource!r} does not have the form python:package.module:function"
    module, function = parsed
    if function.startswith("_") or any(part.startswith("__") for part in module.split(".")):
        return f"Resource {resource!r} names a private function or module; it cannot run"
    allowed = policy.allowed_python_packages
    if not in_packages(module, allowed):
        listed = ", ".join(allowed) if allowed else "none"
        return (
            f"Resource {resource!r} is not allowed: module {module!r} is not inside a "
            f"package the operator allowed (allowed: {listed}; set {PYTHON_ALLOW_ENV})"
        )
    return None
