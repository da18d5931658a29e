"""The internal message bus: MQTT-style topics, request/reply, bounded per-subscriber queues."""

from cogos.bus.bus import (
    ERROR_TOPIC,
    OVERFLOW_TOPIC,
    Bus,
    BusState,
    NoResponderError,
    RemoteHandlerError,
)
from cogos.bus.message import Message
from cogos.bus.subscription import Handler, OverflowPolicy, Subscription
from cogos.bus.topics import compile_filter, topic_matches, validate_topic

__all__ = [
    "ERROR_TOPIC",
    "OVERFLOW_TOPIC",
    "Bus",
    "BusState",
    "Handler",
    "Message",
    "NoResponderError",
    "OverflowPolicy",
    "RemoteHandlerError",
    "Subscription",
    "compile_filter",
    "topic_matches",
    "validate_topic",
]
