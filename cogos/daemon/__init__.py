"""The long-running daemon: agents with persistent memory, driven over MQTT 5 (docs/mqtt.md)."""
