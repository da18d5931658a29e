"""A subscriber's bounded queue and the policy that decides what happens when it is full.

Why per-subscriber queues: a slow subscriber (a tracer writing to disk, a bridge to a broker that
went away) must not stall fast ones or grow memory without bound. Each subscription therefore has
its own queue of at most ``maxsize`` messages and an explicit :class:`OverflowPolicy`; there is
no unbounded mode and no silent drop (drops are counted, logged and announced on
``$bus/overflow``).
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from cogos.bus.message import Message
from cogos.bus.topics import compile_filter, matches
from cogos.errors import BusClosedError, BusOverflowError

Handler = Callable[[Message], Awaitable[Any] | Any]
"""A subscriber callback; may be sync or async. A non-None return value answers a request."""


class OverflowPolicy(enum.StrEnum):
    """What ``publish`` does when a subscriber's queue is full."""

    BLOCK = "block"
    """The publisher waits for room (back-pressure), up to the bus's ``block_timeout``."""
    DROP_OLDEST = "drop_oldest"
    """The oldest queued message is dropped, counted and announced; the publisher goes on."""
    ERROR = "error"
    """``publish`` raises :class:`~cogos.errors.BusOverflowError`."""


class Subscription:
    """One subscriber: compiled filters, a bounded FIFO, and either a handler or an iterator.

    A subscription may hold several filters: messages matching any of them share one queue, so
    the subscriber sees them in publication order (the tracer relies on this to interleave
    cycles and episode boundaries correctly). With a handler the bus runs a worker task that
    drains the queue; without one the owner reads it with ``async for message in subscription``
    or :meth:`get`.
    """

    __slots__ = (
        "_closed",
        "_filters",
        "_getter",
        "_putters",
        "_queue",
        "dropped",
        "errors",
        "filters",
        "handled",
        "handler",
        "maxsize",
        "name",
        "overflow",
    )

    def __init__(
        self,
        topic_filters: str | tuple[str, ...],
        *,
        name: str,
        maxsize: int,
        overflow: OverflowPolicy,
        handler: Handler | None,
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"subscription {name!r}: maxsize must be >= 1, got {maxsize}")
        self.filters = (topic_filters,) if isinstance(topic_filters, str) else tuple(topic_filters)
        if not self.filters:
            raise ValueError(f"subscription {name!r}: at least one topic filter is needed")
        self._filters = tuple(compile_filter(f) for f in self.filters)
        self.name = name
        self.maxsize = maxsize
        self.overflow = OverflowPolicy(overflow)
        self.handler = handler
        self._queue: deque[Message] = deque()
        self._getter: asyncio.Future[None] | None = None
        self._putters: deque[asyncio.Future[None]] = deque()
        self._closed = False
        self.dropped = 0
        self.handled = 0
        self.errors = 0

    def matches(self, topic: str) -> bool:
        return any(matches(levels, topic) for levels in self._filters)

    @property
    def depth(self) -> int:
        """Messages waiting in the queue now."""
        return len(self._queue)

    # -- publisher side -------------------------------------------------------------------

    def offer(self, message: Message) -> Message | bool:
        """Enqueue without waiting.

        Returns True when queued, False when the caller must wait for room (``block``), or the
        dropped message when ``drop_oldest`` made room, so that the bus can announce the drop.
        """
        if self._closed:
            raise BusClosedError(f"subscription {self.name!r} is closed")
        queue = self._queue
        if len(queue) < self.maxsize:
            queue.append(message)
            getter = self._getter
            if getter is not None and not getter.done():
                getter.set_result(None)
            return True
        if self.overflow is OverflowPolicy.DROP_OLDEST:
            dropped = queue.popleft()
            queue.append(message)
            self.dropped += 1
            return dropped
        if self.overflow is OverflowPolicy.ERROR:
            raise BusOverflowError(self.name, message.topic, self.maxsize)
        return False

    async def wait_for_room(self) -> None:
        """Wait until the queue has room (``block`` policy).

        Checks first, then registers the waiter before suspending: a consumer that drained the
        queue in between must not leave the publisher waiting for a wake-up that never comes.
        """
        if len(self._queue) < self.maxsize or self._closed:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._putters.append(future)
        try:
            await future
        finally:
            if not future.done():
                future.cancel()

    # -- consumer side --------------------------------------------------------------------

    def _took_one(self) -> None:
        while self._putters:
            putter = self._putters.popleft()
            if not putter.done():
                putter.set_result(None)
                return

    async def get(self) -> Message:
        """Next message, waiting if the queue is empty; raises BusClosedError once closed."""
        while not self._queue:
            if self._closed:
                raise BusClosedError(f"subscription {self.name!r} is closed")
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        message = self._queue.popleft()
        if self._putters:
            self._took_one()
        return message

    def get_nowait(self) -> Message | None:
        """Next message if one is queued, else None (the worker drains in batches with this)."""
        if not self._queue:
            return None
        message = self._queue.popleft()
        if self._putters:
            self._took_one()
        return message

    def close(self) -> None:
        """Stop accepting messages and wake anyone waiting on this subscription."""
        self._closed = True
        if self._getter is not None and not self._getter.done():
            self._getter.set_result(None)
        while self._putters:
            putter = self._putters.popleft()
            if not putter.done():
                putter.set_result(None)

    @property
    def closed(self) -> bool:
        return self._closed

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            try:
                yield await self.get()
            except BusClosedError:
                return

    def stats(self) -> dict[str, Any]:
        return {
            "filters": list(self.filters),
            "depth": len(self._queue),
            "maxsize": self.maxsize,
            "overflow": self.overflow.value,
            "handled": self.handled,
            "dropped": self.dropped,
            "errors": self.errors,
        }
