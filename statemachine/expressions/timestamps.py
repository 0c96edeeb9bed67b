"""Timestamps as Amazon States Language reads and writes them.

Reading (Choice ``Timestamp*`` / ``IsTimestamp``, Wait ``Timestamp`` / ``TimestampPath``):
the spec asks for an RFC 3339 ``date-time`` ("ISO-8601 extended offset date-time") and
the AWS developer guide adds two restrictions: the ``T`` between date and time must be
uppercase, and so must the ``Z`` used when there is no numeric offset. So the accepted
shape is exactly::

    YYYY-MM-DDThh:mm:ss[.f{1,9}](Z|+hh:mm|-hh:mm)

Seconds are required (RFC 3339), the fraction may have one to nine digits (AWS accepts
``.00Z`` and ``.000000Z`` as well as nanoseconds), and an offset without a colon, a
missing offset, a lowercase ``t``/``z``, a leap second (``:60``) or a date that does not
exist (``02-30``) make the text "not a timestamp". A timestamp is still a string, so
``StringEquals`` can match it too.

Writing (Context object ``Execution.StartTime``, ``State.EnteredTime``): AWS renders
instants in UTC with exactly three fractional digits, e.g. ``2026-01-01T00:00:00.000Z``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["format_timestamp", "parse_timestamp", "timestamp_key"]

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _parse(text: str) -> tuple[datetime, int] | None:
    """Return the instant (to the second, as an aware datetime) and the nanoseconds."""
    if not isinstance(text, str):
        return None
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if zulu:
        tz = UTC
    else:
        hours, minutes = int(off_h), int(off_m)
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if sign == "-" else offset)
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz
        )
    except ValueError:  # month 13, Feb 30, hour 24, second 60, year 0, ...
        return None
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    return moment, nanos


def parse_timestamp(text: str) -> datetime | None:
    """The timezone-aware instant ``text`` denotes, or ``None`` if it is not an ASL timestamp.

    Sub-microsecond digits are truncated (``datetime`` stops at microseconds); use
    :func:`timestamp_key` to compare timestamps exactly.
    """
    parsed = _parse(text)
    if parsed is None:
        return None
    moment, nanos = parsed
    return moment.replace(microsecond=nanos // 1000)


def timestamp_key(text: str) -> tuple[int, int] | None:
    """``(epoch seconds, nanoseconds)`` of ``text``: an exact, totally ordered instant.

    Two timestamps that name the same instant with different offsets get the same key,
    which is what the ``Timestamp*`` comparison operators compare.
    """
    parsed = _parse(text)
    if parsed is None:
        return None
    moment, nanos = parsed
    delta = moment - _EPOCH
    return delta.days * 86_400 + delta.seconds, nanos


def format_timestamp(dt: datetime) -> str:
    """Render ``dt`` the way AWS writes Context-object times: UTC, milliseconds, ``Z``.

    A naive datetime is taken to be UTC already.
    """
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:"
        f"{dt.second:02d}.{dt.microsecond // 1000:03d}Z"
    )
