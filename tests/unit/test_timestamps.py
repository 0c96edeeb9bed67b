"""ASL timestamps: what parses (RFC 3339, uppercase T/Z), exact ordering, AWS's format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from statemachine.expressions.timestamps import format_timestamp, parse_timestamp, timestamp_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-08-18T17:33:00Z", datetime(2016, 8, 18, 17, 33, tzinfo=UTC)),
        ("2012-10-09T19:00:55+01:00", datetime(2012, 10, 9, 18, 0, 55, tzinfo=UTC)),
        ("2012-10-09T19:00:55-05:30", datetime(2012, 10, 10, 0, 30, 55, tzinfo=UTC)),
        ("2012-10-09T19:00:55+00:00", datetime(2012, 10, 9, 19, 0, 55, tzinfo=UTC)),
        ("2012-10-09T19:00:55-00:00", datetime(2012, 10, 9, 19, 0, 55, tzinfo=UTC)),
        # fractions of any length from 1 to 9 digits (AWS: ".00Z", ".000000Z", nanoseconds)
        ("2023-11-24T08:38:00.5Z", datetime(2023, 11, 24, 8, 38, 0, 500000, tzinfo=UTC)),
        ("2023-11-24T08:38:00.00Z", datetime(2023, 11, 24, 8, 38, tzinfo=UTC)),
        ("2023-11-24T08:38:00.123Z", datetime(2023, 11, 24, 8, 38, 0, 123000, tzinfo=UTC)),
        ("2023-11-24T08:38:00.000000Z", datetime(2023, 11, 24, 8, 38, tzinfo=UTC)),
        ("2024-12-05T21:29:29.243167252Z", datetime(2024, 12, 5, 21, 29, 29, 243167, tzinfo=UTC)),
        ("2024-02-29T23:59:59Z", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_valid_timestamps(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize(
    "text",
    [
        "2016-08-18t17:33:00Z",  # lowercase t
        "2016-08-18T17:33:00z",  # lowercase z
        "2016-08-18 17:33:00Z",  # space separator
        "2012-10-09T19:00:55",  # no offset (AWS rejects it too)
        "2012-10-09T19:00:55.000000",  # fraction but no offset
        "2023-02-24",  # a date alone
        "2023-02-24 12:15:56.832957",
        "2012-10-09T19:00Z",  # seconds are required
        "2012-10-09T19:00:55+0100",  # offset needs a colon
        "2012-10-09T19:00:55+01",
        "2012-10-09T19:00:55+24:00",
        "2012-10-09T19:00:55+01:60",
        "2012-10-09T19:00:55.Z",  # empty fraction
        "2012-10-09T19:00:55.1234567890Z",  # more than nanoseconds
        "2012-10-09T19:00:55,5Z",  # comma fraction
        "2023-02-30T00:00:00Z",  # no such day
        "2023-13-01T00:00:00Z",
        "2023-01-01T24:00:00Z",
        "2023-01-01T23:60:00Z",
        "2016-12-31T23:59:60Z",  # leap second
        "0000-01-01T00:00:00Z",
        "+2016-08-18T17:33:00Z",
        "16-08-18T17:33:00Z",
        "2016-08-18T17:33:00Z ",
        " 2016-08-18T17:33:00Z",
        "2016-08-18T17:33:00ZZ",
        "\uff12\uff10\uff11\uff16-08-18T17:33:00Z",  # fullwidth (non-ASCII) digits
        "",
        "HelloWorld",
    ],
)
def test_invalid_timestamps(text: str) -> None:
    assert parse_timestamp(text) is None
    assert timestamp_key(text) is None


@pytest.mark.parametrize("value", [None, 0, 1.5, True, [], {}])
def test_non_strings_are_not_timestamps(value: object) -> None:
    assert parse_timestamp(value) is None  # type: ignore[arg-type]
    assert timestamp_key(value) is None  # type: ignore[arg-type]


def test_key_is_the_instant_whatever_the_offset() -> None:
    assert timestamp_key("2012-10-09T19:00:55Z") == timestamp_key("2012-10-09T20:00:55+01:00")
    assert timestamp_key("2012-10-09T19:00:55Z") == timestamp_key("2012-10-09T14:00:55-05:00")
    assert timestamp_key("1970-01-01T00:00:00Z") == (0, 0)
    assert timestamp_key("1969-12-31T23:59:59.5Z") == (-1, 500_000_000)


def test_key_keeps_nanoseconds_that_datetime_drops() -> None:
    a, b = "2024-01-01T00:00:00.000000001Z", "2024-01-01T00:00:00.000000002Z"
    assert parse_timestamp(a) == parse_timestamp(b)  # microsecond precision
    key_a, key_b = timestamp_key(a), timestamp_key(b)
    assert key_a is not None and key_b is not None and key_a < key_b
    assert timestamp_key("2024-01-01T00:00:00.1Z") == timestamp_key("2024-01-01T00:00:00.100Z")


def test_key_orders_across_offsets() -> None:
    earlier = timestamp_key("2012-10-09T19:00:55+01:00")  # 18:00:55Z
    later = timestamp_key("2012-10-09T18:30:00Z")
    assert earlier is not None and later is not None and earlier < later


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 1, 1, tzinfo=UTC), "2026-01-01T00:00:00.000Z"),
        (datetime(2019, 3, 26, 20, 14, 13, 192999, tzinfo=UTC), "2019-03-26T20:14:13.192Z"),
        (
            datetime(2019, 3, 26, 22, 14, 13, 5000, tzinfo=timezone(timedelta(hours=2))),
            "2019-03-26T20:14:13.005Z",
        ),
        (datetime(2019, 3, 26, 20, 14, 13), "2019-03-26T20:14:13.000Z"),  # naive = UTC
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02T03:04:05.000Z"),
    ],
)
def test_format_timestamp(moment: datetime, text: str) -> None:
    assert format_timestamp(moment) == text


def test_format_then_parse_round_trips_to_the_millisecond() -> None:
    moment = datetime(2025, 6, 30, 12, 34, 56, 789000, tzinfo=UTC)
    assert parse_timestamp(format_timestamp(moment)) == moment
