"""Prometheus metrics of one bridge app, on its own registry (never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages_in = Counter("bridge_mqtt_messages", "MQTT messages received", registry=r)
        self.dropped = Counter(
            "bridge_mqtt_dropped",
            "MQTT messages dropped because they break the contract",
            ["reason"],
            registry=r,
        )
        self.updates_out = Counter(
            "bridge_updates_out", "Socket.IO messages pushed to clients", ["event"], registry=r
        )
        self.deltas = Counter("bridge_state_changes", "Changes applied to the state", registry=r)
        self.clients = Gauge("bridge_clients_connected", "Connected Socket.IO clients", registry=r)
        self.stuck = Counter(
            "bridge_clients_disconnected_stuck", "Clients cut off for not reading", registry=r
        )
        self.commands = Counter(
            "bridge_commands", "Relay commands by outcome", ["outcome"], registry=r
        )
        self.command_latency = Histogram(
            "bridge_command_latency_seconds",
            "Time from a relay command to its outcome",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.mqtt_connected = Gauge("bridge_mqtt_connected", "1 when connected", registry=r)
        self.version = Gauge("bridge_state_version", "Current state version", registry=r)
        self.gateways = Gauge(
            "bridge_gateways", "Gateways by status: online, silent, offline", ["status"], registry=r
        )
        for reason in ("topic", "payload"):
            self.dropped.labels(reason)

    def render(self) -> bytes:
        return generate_latest(self.registry)
