"""The bus bridge: a configured subtree of an agent's internal bus mirrored to MQTT and back.

Out: every internal message matching a ``bridge.out`` filter is published on
``<prefix>/<agent>/bus/out/<topic>`` as its JSON envelope (topic, payload, id, source,
correlation id, reply_to). In: a message on ``<prefix>/<agent>/bus/in/<topic>`` is delivered
on the internal bus under ``<topic>`` if it matches a ``bridge.in`` filter, or if it is the
reply to a request that crossed out (``$reply/...``). A module in another process can therefore
answer the agent's bus requests (see ``modules.remote``) and take part in the decision cycle.
Messages that came in from MQTT are never sent back out (no echo loops).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from cogos.bus import Bus, Message
from cogos.bus.message import new_message_id
from cogos.bus.topics import compile_filter, matches
from cogos.daemon.protocol import CommandError
from memory.cycle_records import to_jsonable

MQTT_SOURCE = "mqtt"


class BusBridge:
    """Mirror for one agent's bus."""

    def __init__(
        self,
        bus: Bus,
        *,
        out: list[str],
        into: list[str],
        publish: Callable[[str, bytes], Awaitable[None]],
    ) -> None:
        self.bus = bus
        self.publish = publish
        self._into = [compile_filter(f) for f in into]
        self._subscriptions = [bus.subscribe(f, self._out, name=f"bridge:{f}") for f in out]
        self.sent = 0
        self.received = 0

    async def _out(self, message: Message) -> None:
        if message.source.startswith(MQTT_SOURCE):
            return
        envelope = to_jsonable(message.to_json())
        await self.publish(message.topic, json.dumps(envelope, default=str).encode())
        self.sent += 1

    async def inject(self, topic: str, payload: bytes) -> None:
        """Deliver a message that arrived from MQTT under ``bus/in/<topic>``."""
        if not (topic.startswith("$reply/") or any(matches(f, topic) for f in self._into)):
            raise CommandError(
                "not_bridged", f"bus topic {topic!r} is not open to MQTT (bridge.in)"
            )
        try:
            data: Any = json.loads(payload) if payload.strip() else {}
        except json.JSONDecodeError as exc:
            raise CommandError("bad_json", f"bridged payload is not JSON: {exc}") from None
        envelope = data if isinstance(data, dict) and "payload" in data else {"payload": data}
        message = Message(
            topic,
            envelope.get("payload"),
            str(envelope.get("id") or new_message_id()),
            f"{MQTT_SOURCE}:{envelope.get('source', '')}",
            float(envelope.get("timestamp") or time.time()),
            envelope.get("correlation_id"),
            None,
            {"error": str(envelope["error"])} if envelope.get("error") else {},
        )
        await self.bus.deliver(message)
        self.received += 1

    def close(self) -> None:
        for sub in self._subscriptions:
            self.bus.unsubscribe(sub)
        self._subscriptions.clear()
