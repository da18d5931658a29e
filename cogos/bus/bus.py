"""The in-process message bus every module talks over.

Topic-based publish/subscribe with MQTT filters, request/reply, and one bounded queue per
subscriber (see :mod:`cogos.bus.subscription`). A handler that raises does not take the bus down:
the error is counted and published on ``$bus/error`` (and, for a request, sent back to the
requester as an error reply).

Lifecycle: ``async with Bus() as bus`` starts it; leaving the block drains the queues (bounded by
``drain_timeout``) and stops every worker task. A bus is used once; ``close()`` is safe twice.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import time
import traceback
from collections.abc import Mapping
from types import MappingProxyType, TracebackType
from typing import Any, Self

from cogos.bus.message import Message, new_message_id
from cogos.bus.subscription import Handler, OverflowPolicy, Subscription
from cogos.bus.topics import validate_topic
from cogos.errors import (
    BusClosedError,
    BusError,
    BusOverflowError,
    LifecycleError,
    RequestTimeout,
)

log = logging.getLogger("cogos.bus")

ERROR_TOPIC = "$bus/error"
OVERFLOW_TOPIC = "$bus/overflow"
REPLY_PREFIX = "$reply/"
_ROUTE_CACHE_MAX = 4096
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class BusState(enum.Enum):
    """Lifecycle of a bus: new -> running -> closing -> closed (never restarted)."""

    NEW = "new"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"


class RemoteHandlerError(BusError):
    """The handler that served a request raised; carries its exception type and message."""

    def __init__(self, topic: str, error_type: str, message: str) -> None:
        self.topic = topic
        self.error_type = error_type
        super().__init__(f"handler for {topic!r} failed: {error_type}: {message}")


class NoResponderError(BusError):
    """A request was published on a topic that no subscriber matches."""


class Bus:
    """Asyncio pub/sub with MQTT topic filters, request/reply and bounded queues.

    ``queue_size`` and ``overflow`` are the defaults for new subscriptions; ``block_timeout``
    bounds how long a publisher waits on a full ``block`` queue before
    :class:`~cogos.errors.BusOverflowError` (a deadlock guard: a handler that publishes into its
    own full queue would otherwise wait forever).
    """

    def __init__(
        self,
        *,
        name: str = "bus",
        queue_size: int = 1024,
        overflow: OverflowPolicy | str = OverflowPolicy.BLOCK,
        block_timeout: float | None = 10.0,
        drain_timeout: float = 5.0,
    ) -> None:
        self.name = name
        self.queue_size = queue_size
        self.overflow = OverflowPolicy(overflow)
        self.block_timeout = block_timeout
        self.drain_timeout = drain_timeout
        self._state = BusState.NEW
        self._subs: list[Subscription] = []
        self._routes: dict[str, tuple[Subscription, ...]] = {}
        self._workers: dict[Subscription, asyncio.Task[None]] = {}
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self.published = 0
        self.delivered = 0
        self.dropped = 0
        self.errors = 0

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def state(self) -> BusState:
        return self._state

    async def start(self) -> None:
        if self._state is not BusState.NEW:
            raise LifecycleError(f"bus {self.name!r} cannot start from state {self._state.value}")
        self._state = BusState.RUNNING
        for sub in self._subs:
            self._start_worker(sub)

    async def close(self) -> None:
        """Drain queued messages (bounded by ``drain_timeout``), then stop all workers."""
        if self._state in (BusState.CLOSED, BusState.CLOSING):
            return
        if self._state is BusState.NEW:
            self._state = BusState.CLOSED
            return
        self._state = BusState.CLOSING
        deadline = time.monotonic() + self.drain_timeout
        while any(s.depth for s in self._workers) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.001)  # bounded poll while the workers drain
        for sub in self._subs:
            sub.close()
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._workers.clear()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BusClosedError(f"bus {self.name!r} closed"))
        self._pending.clear()
        self._state = BusState.CLOSED

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- subscribing --------------------------------------------------------------------------

    def subscribe(
        self,
        topic_filter: str | tuple[str, ...],
        handler: Handler | None = None,
        *,
        name: str | None = None,
        maxsize: int | None = None,
        overflow: OverflowPolicy | str | None = None,
    ) -> Subscription:
        """Subscribe to ``topic_filter`` (or a tuple of filters sharing one ordered queue).

        With ``handler`` the bus calls it for each message from a worker task (one at a time, in
        order). Without, iterate the returned subscription: ``async for msg in sub``.
        """
        if self._state in (BusState.CLOSING, BusState.CLOSED):
            raise BusClosedError(f"bus {self.name!r} is closed")
        sub = Subscription(
            topic_filter,
            name=name or f"{getattr(handler, '__qualname__', 'iterator')}:{topic_filter}",
            maxsize=maxsize or self.queue_size,
            overflow=OverflowPolicy(overflow) if overflow is not None else self.overflow,
            handler=handler,
        )
        self._subs.append(sub)
        self._routes.clear()
        if self._state is BusState.RUNNING:
            self._start_worker(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Remove a subscription; messages already queued for it are discarded with it."""
        if sub in self._subs:
            self._subs.remove(sub)
            self._routes.clear()
        sub.close()
        task = self._workers.pop(sub, None)
        if task is not None:
            task.cancel()

    def _start_worker(self, sub: Subscription) -> None:
        if sub.handler is not None and sub not in self._workers:
            self._workers[sub] = asyncio.get_running_loop().create_task(
                self._work(sub), name=f"bus:{self.name}:{sub.name}"
            )

    def _route(self, topic: str) -> tuple[Subscription, ...]:
        subs = self._routes.get(topic)
        if subs is None:
            validate_topic(topic)
            subs = tuple(s for s in self._subs if s.matches(topic))
            if not topic.startswith(REPLY_PREFIX):
                if len(self._routes) >= _ROUTE_CACHE_MAX:
                    self._routes.clear()
                self._routes[topic] = subs
        return subs

    def has_subscribers(self, topic: str) -> bool:
        """True if publishing on ``topic`` would reach anyone (callers skip building payloads)."""
        return bool(self._route(topic))

    # -- publishing ---------------------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        payload: Any = None,
        *,
        source: str = "",
        correlation_id: str | None = None,
        reply_to: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> int:
        """Publish and return how many subscribers received the message.

        Returns only once every matching queue accepted it, so a ``block`` subscriber applies
        back-pressure to the publisher.
        """
        if self._state is not BusState.RUNNING:
            raise BusClosedError(f"bus {self.name!r} is {self._state.value}; cannot publish")
        subs = self._routes.get(topic)
        if subs is None:
            subs = self._route(topic)
        message = Message(
            topic,
            payload,
            new_message_id(),
            source,
            time.time(),
            correlation_id,
            reply_to,
            headers or _NO_HEADERS,
        )
        self.published += 1
        if not topic.startswith(REPLY_PREFIX):  # the hot path: no reply bookkeeping
            for sub in subs:
                accepted = sub.offer(message)
                if accepted is not True:
                    await self._overflowed(sub, message, accepted)
            self.delivered += len(subs)
            return len(subs)
        return await self._deliver(message, subs)

    async def deliver(self, message: Message) -> int:
        """Route an already built message (the MQTT bridge re-injects remote messages this way)."""
        if self._state is not BusState.RUNNING:
            raise BusClosedError(f"bus {self.name!r} is {self._state.value}; cannot publish")
        self.published += 1
        return await self._deliver(message, self._route(message.topic))

    async def _deliver(self, message: Message, subs: tuple[Subscription, ...]) -> int:
        topic = message.topic
        if topic.startswith(REPLY_PREFIX):
            future = self._pending.get(topic)
            if future is not None and not future.done():
                future.set_result(message)
        for sub in subs:
            accepted = sub.offer(message)
            if accepted is not True:
                await self._overflowed(sub, message, accepted)
        self.delivered += len(subs)
        return len(subs)

    async def _overflowed(
        self, sub: Subscription, message: Message, accepted: Message | bool
    ) -> None:
        if accepted is False:
            await self._put_blocking(sub, message)
        elif accepted is not True:
            self._note_drop(sub, accepted)

    def publish_nowait(self, topic: str, payload: Any = None, *, source: str = "") -> int:
        """Publish from synchronous code; a full ``block`` queue raises instead of waiting."""
        if self._state is not BusState.RUNNING:
            raise BusClosedError(f"bus {self.name!r} is {self._state.value}; cannot publish")
        message = Message(topic, payload, new_message_id(), source, time.time())
        self.published += 1
        subs = self._route(topic)
        for sub in subs:
            accepted = sub.offer(message)
            if accepted is False:
                raise BusOverflowError(sub.name, topic, sub.maxsize)
            if accepted is not True:
                self._note_drop(sub, accepted)
        self.delivered += len(subs)
        return len(subs)

    async def _put_blocking(self, sub: Subscription, message: Message) -> None:
        loop = asyncio.get_running_loop()
        deadline = None if self.block_timeout is None else loop.time() + self.block_timeout
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    await sub.wait_for_room()
            except TimeoutError:
                raise BusOverflowError(sub.name, message.topic, sub.maxsize) from None
            accepted = sub.offer(message)
            if accepted is True:
                return
            if accepted is not False:
                self._note_drop(sub, accepted)
                return

    def _note_drop(self, sub: Subscription, dropped: Message) -> None:
        self.dropped += 1
        if sub.dropped & (sub.dropped - 1) == 0:  # 1st, 2nd, 4th, 8th ... drop: log, don't flood
            log.warning(
                "bus %s: subscriber %r dropped %d message(s) (queue of %d full, drop_oldest)",
                self.name,
                sub.name,
                sub.dropped,
                sub.maxsize,
            )
        if not dropped.topic.startswith("$bus/"):
            notice = {"subscriber": sub.name, "topic": dropped.topic, "dropped": sub.dropped}
            self._notify(OVERFLOW_TOPIC, notice)

    def _notify(self, topic: str, payload: dict[str, Any]) -> None:
        """Bus notices never block and never recurse: a full notice queue just counts a drop."""
        message = Message(topic, payload, new_message_id(), f"bus:{self.name}", time.time())
        for sub in self._route(topic):
            try:
                accepted = sub.offer(message)
            except BusError:
                accepted = False
            if accepted is not True:
                sub.dropped += 1
                self.dropped += 1

    # -- request / reply ----------------------------------------------------------------------

    async def request(
        self,
        topic: str,
        payload: Any = None,
        *,
        timeout: float = 5.0,
        source: str = "",
    ) -> Message:
        """Publish a request and wait for the first reply (the responder's return value).

        Raises :class:`NoResponderError` at once when nobody subscribes to ``topic``,
        :class:`~cogos.errors.RequestTimeout` after ``timeout`` seconds, and
        :class:`RemoteHandlerError` when the responder raised.
        """
        correlation_id = new_message_id()
        reply_to = f"{REPLY_PREFIX}{self.name}/{correlation_id}"
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[reply_to] = future
        try:
            reached = await self.publish(
                topic, payload, source=source, correlation_id=correlation_id, reply_to=reply_to
            )
            if reached == 0:
                raise NoResponderError(f"no subscriber for request topic {topic!r}")
            try:
                reply = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise RequestTimeout(topic, timeout) from None
        finally:
            self._pending.pop(reply_to, None)
        if reply.is_error:
            raise RemoteHandlerError(topic, reply.headers["error"], str(reply.payload))
        return reply

    async def reply(
        self,
        request: Message,
        payload: Any,
        *,
        source: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer ``request`` on its response topic with the same correlation id."""
        if request.reply_to is None:
            raise BusError(f"message {request.id} on {request.topic!r} asked for no reply")
        await self.publish(
            request.reply_to,
            payload,
            source=source,
            correlation_id=request.correlation_id,
            headers=headers,
        )

    # -- workers ------------------------------------------------------------------------------

    async def _work(self, sub: Subscription) -> None:
        handler = sub.handler
        assert handler is not None
        is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
            getattr(handler, "__call__", None)  # noqa: B004 - async callable objects
        )
        while True:
            try:
                message: Message | None = await sub.get()
            except BusClosedError:
                return
            # Drain in a batch: one wake-up per burst rather than one per message.
            while message is not None:
                if is_async or message.reply_to is not None:
                    await self._handle(sub, handler, message)
                else:  # sync handler, no reply wanted: the cheap path
                    try:
                        result = handler(message)
                        if inspect.isawaitable(result):
                            await result
                        sub.handled += 1
                    except Exception as exc:
                        sub.errors += 1
                        self.errors += 1
                        self._report(sub, message, exc)
                message = sub.get_nowait()

    async def _handle(self, sub: Subscription, handler: Handler, message: Message) -> None:
        try:
            result = handler(message)
            if inspect.isawaitable(result):
                result = await result
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a subscriber's bug must not kill the bus
            sub.errors += 1
            self.errors += 1
            self._report(sub, message, exc)
            if message.reply_to is not None and self._state is BusState.RUNNING:
                await self.reply(
                    message,
                    str(exc),
                    source=sub.name,
                    headers={"error": type(exc).__name__},
                )
            return
        sub.handled += 1
        if result is not None and message.reply_to is not None and self._state is BusState.RUNNING:
            await self.reply(message, result, source=sub.name)

    def _report(self, sub: Subscription, message: Message, exc: Exception) -> None:
        log.error(
            "bus %s: subscriber %r failed on %r: %s: %s",
            self.name,
            sub.name,
            message.topic,
            type(exc).__name__,
            exc,
        )
        if message.topic == ERROR_TOPIC:
            return  # an error handler that fails is logged only, never re-published
        self._notify(
            ERROR_TOPIC,
            {
                "subscriber": sub.name,
                "topic": message.topic,
                "message_id": message.id,
                "error_type": type(exc).__name__,
                "error": str(exc),
                "traceback": "".join(traceback.format_exception(exc)),
            },
        )

    # -- introspection ------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters for metrics and health replies."""
        return {
            "state": self._state.value,
            "published": self.published,
            "delivered": self.delivered,
            "dropped": self.dropped,
            "errors": self.errors,
            "subscriptions": {s.name: s.stats() for s in self._subs},
        }
