"""The in-process live event pub/sub: sync and async subscribers, closing, buffering."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from handler_context import context

from statemachine.handlers.stream import Broker

PATIENCE = 30.0


def test_subscribers_get_events_published_after_they_subscribe() -> None:
    broker = Broker()
    broker.publish("e1", {"n": 0})  # nobody listens: dropped
    first = broker.subscribe("e1")
    second = broker.subscribe("e1")
    other = broker.subscribe("e2")
    assert broker.publish("e1", {"n": 1}) == 2
    assert first.get(PATIENCE) == {"n": 1}
    assert second.get(PATIENCE) == {"n": 1}
    assert other.drain() == []
    with pytest.raises(TimeoutError):
        first.get(timeout=0)


def test_iteration_ends_when_the_execution_is_closed() -> None:
    broker = Broker()
    sub = broker.subscribe("e1")
    received: list[Any] = []
    reader = threading.Thread(target=lambda: received.extend(sub))
    reader.start()
    for n in range(3):
        broker.publish("e1", {"n": n})
    broker.close_execution("e1")
    reader.join(PATIENCE)
    assert not reader.is_alive()
    assert received == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert not broker.has_subscribers("e1")


def test_async_iteration_across_threads() -> None:
    broker = Broker()

    async def watch() -> list[Any]:
        sub = broker.subscribe("e1")
        producer = threading.Thread(
            target=lambda: (
                [broker.publish("e1", {"n": n}) for n in range(3)] + [broker.close_execution("e1")]
            )
        )
        producer.start()
        events = [event async for event in sub]
        producer.join(PATIENCE)
        return events

    events = asyncio.run(asyncio.wait_for(watch(), PATIENCE))
    assert events == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_closing_one_subscription_leaves_the_others() -> None:
    broker = Broker()
    with broker.subscribe("e1") as gone:
        kept = broker.subscribe("e1")
    assert gone.closed
    assert broker.publish("e1", {"x": 1}) == 1
    assert kept.get(PATIENCE) == {"x": 1}
    with pytest.raises(EOFError):
        gone.get(PATIENCE)


def test_a_slow_subscriber_loses_the_oldest_events_never_blocks_the_publisher() -> None:
    broker = Broker()
    sub = broker.subscribe("e1", buffer=2)
    for n in range(5):
        broker.publish("e1", {"n": n})
    assert sub.drain() == [{"n": 3}, {"n": 4}]
    assert sub.dropped == 3


def test_task_context_publishes_to_its_execution() -> None:
    from statemachine.handlers import stream

    ctx = context(state="Work")
    with stream.subscribe(ctx.execution_id) as sub:
        assert ctx.publish({"type": "progress", "done": 3}) == 1
        assert sub.get(PATIENCE) == {"state": "Work", "type": "progress", "done": 3}
