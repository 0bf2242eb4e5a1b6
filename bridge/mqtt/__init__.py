"""MQTT: the bridge's connections to the broker (the I/O edge)."""
