"""``broker.mode: embedded``: an in-process MQTT broker (amqtt) for trying the daemon.

A new user needs nothing installed. It speaks MQTT 3.1.1 only (replies then go to the topic the
request names in its payload, see docs/mqtt.md); production deployments use mosquitto or a
clustered broker (EMQX, VerneMQ, HiveMQ).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any


class EmbeddedBroker:
    """An amqtt broker listening on ``host:port`` for the daemon's lifetime."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._broker: Any = None

    async def start(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from amqtt.broker import Broker
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        self._broker = Broker(config)
        await self._broker.start()

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
