"""Prometheus metrics of one bridge app, on its own registry (never the global one)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from bridge.history_store import HistoryStore

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
        for reason in ("topic", "payload"):
            self.dropped.labels(reason)

    def watch_history(self, history: HistoryStore) -> None:
        """Figures the disk thread keeps up to date; read when /metrics is scraped (no I/O)."""
        r = self.registry
        Gauge(
            "factory_bridge_history_db_bytes",
            "Size of the history database and its write-ahead log, bytes",
            registry=r,
        ).set_function(lambda: history.size_bytes)
        Gauge(
            "factory_bridge_history_samples_written",
            "Readings and relay states stored in the history since the start",
            registry=r,
        ).set_function(lambda: history.written)
        Gauge(
            "factory_bridge_history_samples_skipped",
            "Readings not stored: repeats of a retained state, or older than the latest stored",
            registry=r,
        ).set_function(lambda: history.skipped)
        Gauge(
            "factory_bridge_history_samples_pending",
            "Readings recorded but not yet handed to the disk",
            registry=r,
        ).set_function(history.pending)

    def render(self) -> bytes:
        return generate_latest(self.registry)
