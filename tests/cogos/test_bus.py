import asyncio
import logging

import pytest

from cogos.bus import (
    ERROR_TOPIC,
    OVERFLOW_TOPIC,
    Bus,
    BusState,
    Message,
    NoResponderError,
    OverflowPolicy,
    RemoteHandlerError,
)
from cogos.errors import BusClosedError, BusOverflowError, LifecycleError, RequestTimeout


async def settle(bus: Bus, rounds: int = 20) -> None:
    """Let worker tasks drain their queues."""
    for _ in range(rounds):
        await asyncio.sleep(0)
        if all(s.depth == 0 for s in bus._subs):
            await asyncio.sleep(0)
            return


async def test_publish_reaches_matching_subscribers_in_order() -> None:
    got: dict[str, list[str]] = {"all": [], "one": [], "plus": []}
    async with Bus() as bus:
        bus.subscribe("#", lambda m: got["all"].append(m.topic))
        bus.subscribe("cycle/percept", lambda m: got["one"].append(m.topic))
        bus.subscribe("cycle/+", lambda m: got["plus"].append(m.topic))
        for t in ["cycle/percept", "cycle/select", "agent/episode/end", "cycle/percept"]:
            await bus.publish(t, {"x": 1})
        await settle(bus)
    assert got["all"] == ["cycle/percept", "cycle/select", "agent/episode/end", "cycle/percept"]
    assert got["one"] == ["cycle/percept", "cycle/percept"]
    assert got["plus"] == ["cycle/percept", "cycle/select", "cycle/percept"]


async def test_envelope_fields() -> None:
    seen: list[Message] = []
    async with Bus() as bus:
        bus.subscribe("t", seen.append)
        n = await bus.publish("t", [1, 2], source="me", correlation_id="c1", headers={"k": "v"})
        await settle(bus)
    assert n == 1
    (m,) = seen
    assert (m.topic, m.payload, m.source, m.correlation_id, dict(m.headers)) == (
        "t",
        [1, 2],
        "me",
        "c1",
        {"k": "v"},
    )
    assert m.id
    assert m.timestamp > 0
    assert m.to_json()["payload"] == [1, 2]


async def test_publish_with_no_subscriber_reaches_nobody() -> None:
    async with Bus() as bus:
        assert await bus.publish("nobody/listens", 1) == 0
        assert not bus.has_subscribers("nobody/listens")


async def test_multi_filter_subscription_keeps_publication_order() -> None:
    seen: list[str] = []
    async with Bus() as bus:
        bus.subscribe(("a/#", "b/x"), lambda m: seen.append(m.topic))
        for t in ["a/1", "b/x", "c", "a/2", "b/y", "b/x"]:
            await bus.publish(t)
        await settle(bus)
    assert seen == ["a/1", "b/x", "a/2", "b/x"]


async def test_iterator_subscription() -> None:
    async with Bus() as bus:
        sub = bus.subscribe("x/+")
        await bus.publish("x/1", 1)
        await bus.publish("x/2", 2)
        assert (await sub.get()).payload == 1
        assert sub.get_nowait() is not None
        assert sub.get_nowait() is None
        await bus.publish("x/3", 3)
        bus.unsubscribe(sub)
        payloads = [m.payload async for m in sub]  # drains what was queued, then stops
    assert payloads == [3]


async def test_async_handlers_are_awaited() -> None:
    seen: list[int] = []

    async def handler(m: Message) -> None:
        await asyncio.sleep(0)
        seen.append(m.payload)

    async with Bus() as bus:
        bus.subscribe("n", handler)
        for i in range(50):
            await bus.publish("n", i)
    # close() drains queues before stopping workers
    assert seen == list(range(50))


async def test_block_policy_applies_back_pressure() -> None:
    release = asyncio.Event()
    handled: list[int] = []

    async def slow(m: Message) -> None:
        await release.wait()
        handled.append(m.payload)

    async with Bus(queue_size=2, overflow="block", block_timeout=5) as bus:
        bus.subscribe("s", slow)
        await bus.publish("s", 0)
        await asyncio.sleep(0)  # worker takes message 0 and waits on the event
        await bus.publish("s", 1)
        await bus.publish("s", 2)  # queue now full (2)
        blocked = asyncio.ensure_future(bus.publish("s", 3))
        await asyncio.sleep(0.01)
        assert not blocked.done(), "publisher must wait while the queue is full"
        release.set()
        assert await asyncio.wait_for(blocked, 2) == 1
    assert handled == [0, 1, 2, 3]
    assert bus.dropped == 0


async def test_block_policy_times_out_instead_of_deadlocking() -> None:
    async with Bus(queue_size=1, block_timeout=0.05) as bus:
        sub = bus.subscribe("s")  # nobody reads it
        await bus.publish("s", 1)
        with pytest.raises(BusOverflowError) as info:
            await bus.publish("s", 2)
        assert info.value.subscriber == sub.name
        assert sub.depth == 1


async def test_drop_oldest_counts_and_announces(caplog: pytest.LogCaptureFixture) -> None:
    async with Bus() as bus:
        notices = bus.subscribe(OVERFLOW_TOPIC, maxsize=100)
        sub = bus.subscribe("d", maxsize=3, overflow=OverflowPolicy.DROP_OLDEST, name="lossy")
        with caplog.at_level(logging.WARNING, logger="cogos.bus"):
            for i in range(10):
                await bus.publish("d", i)
        kept = [sub.get_nowait() for _ in range(3)]
        assert [m.payload for m in kept if m] == [7, 8, 9]
        assert sub.dropped == 7
        assert bus.stats()["subscriptions"]["lossy"]["dropped"] == 7
        assert notices.depth == 7
        first = await notices.get()
        assert first.payload == {"subscriber": "lossy", "topic": "d", "dropped": 1}
    assert "dropped" in caplog.text


async def test_error_policy_raises_to_publisher() -> None:
    async with Bus() as bus:
        sub = bus.subscribe("e", maxsize=1, overflow="error", name="strict")
        await bus.publish("e", 1)
        with pytest.raises(BusOverflowError, match="strict"):
            await bus.publish("e", 2)
        assert sub.depth == 1
        assert sub.dropped == 0


async def test_failing_subscriber_is_reported_and_bus_survives() -> None:
    good: list[int] = []
    calls = 0

    def flaky(m: Message) -> None:
        nonlocal calls
        calls += 1
        if m.payload == 1:
            raise ValueError("boom on 1")

    async with Bus() as bus:
        errors = bus.subscribe(ERROR_TOPIC)
        bus.subscribe("t", flaky, name="flaky")
        bus.subscribe("t", lambda m: good.append(m.payload), name="good")
        for i in range(3):
            await bus.publish("t", i)
        await settle(bus)
        err = await asyncio.wait_for(errors.get(), 1)
    assert calls == 3, "the failing subscriber keeps receiving later messages"
    assert good == [0, 1, 2], "other subscribers are unaffected"
    assert err.payload["subscriber"] == "flaky"
    assert err.payload["error_type"] == "ValueError"
    assert "boom on 1" in err.payload["traceback"]
    assert bus.errors == 1


async def test_failing_error_handler_does_not_loop() -> None:
    async with Bus() as bus:

        def bad(m: Message) -> None:
            raise RuntimeError("handler of errors fails too")

        bus.subscribe(ERROR_TOPIC, bad)
        bus.subscribe("t", bad)
        await bus.publish("t")
        await settle(bus)
        assert bus.errors == 2  # the original failure and the error handler's, nothing more


async def test_request_reply() -> None:
    async with Bus() as bus:
        bus.subscribe("math/double", lambda m: {"y": m.payload["x"] * 2})
        reply = await bus.request("math/double", {"x": 21}, timeout=1)
        assert reply.payload == {"y": 42}
        assert reply.correlation_id is not None


async def test_request_with_explicit_reply_and_concurrency() -> None:
    async with Bus() as bus:

        async def echo(m: Message) -> None:
            await asyncio.sleep(0.01 * (3 - m.payload))  # answer out of order
            await bus.reply(m, m.payload)

        bus.subscribe("echo", echo)
        bus.subscribe("echo", echo)  # two responders: the first reply wins
        replies = await asyncio.gather(*(bus.request("echo", i, timeout=2) for i in range(3)))
        assert [r.payload for r in replies] == [0, 1, 2]


async def test_request_errors() -> None:
    async with Bus() as bus:
        with pytest.raises(NoResponderError):
            await bus.request("nobody", 1, timeout=0.1)
        bus.subscribe("silent", lambda m: None)
        with pytest.raises(RequestTimeout) as info:
            await bus.request("silent", 1, timeout=0.05)
        assert isinstance(info.value, TimeoutError)

        def broken(m: Message) -> None:
            raise KeyError("missing")

        bus.subscribe("broken", broken)
        with pytest.raises(RemoteHandlerError, match="KeyError"):
            await bus.request("broken", 1, timeout=1)
        assert not bus._pending


async def test_lifecycle() -> None:
    bus = Bus()
    with pytest.raises(BusClosedError):
        await bus.publish("t")
    await bus.start()
    with pytest.raises(LifecycleError):
        await bus.start()
    await bus.close()
    await bus.close()  # safe twice
    assert bus.state is BusState.CLOSED
    with pytest.raises(BusClosedError):
        await bus.publish("t")
    with pytest.raises(BusClosedError):
        bus.subscribe("t")


async def test_pending_request_fails_on_close() -> None:
    bus = Bus()
    await bus.start()
    bus.subscribe("silent", lambda m: None)
    pending = asyncio.ensure_future(bus.request("silent", timeout=5))
    await asyncio.sleep(0.01)
    await bus.close()
    with pytest.raises(BusClosedError):
        await pending


async def test_publish_nowait() -> None:
    seen: list[int] = []
    async with Bus() as bus:
        bus.subscribe("s", lambda m: seen.append(m.payload))
        full = bus.subscribe("f", maxsize=1)
        assert bus.publish_nowait("s", 5) == 1
        bus.publish_nowait("f", 1)
        with pytest.raises(BusOverflowError):
            bus.publish_nowait("f", 2)
        assert full.depth == 1
    assert seen == [5]
