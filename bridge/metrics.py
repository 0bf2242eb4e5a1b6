"""Prometheus metrics of one bridge app, on its own registry (never the global one)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from bridge.state.history_store import HistoryStore

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Every series is factory_bridge_*, beside the gateways' factory_gateway_*: one project prefix
# for dashboards and alert rules.
NAMESPACE = "factory_bridge"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r, ns = self.registry, NAMESPACE
        self.messages_in = Counter(
            "mqtt_messages", "MQTT messages received", namespace=ns, registry=r
        )
        self.dropped = Counter(
            "mqtt_dropped",
            "MQTT messages dropped because they break the contract",
            ["reason"],
            namespace=ns,
            registry=r,
        )
        self.updates_out = Counter(
            "updates_out",
            "Socket.IO messages pushed to clients",
            ["event"],
            namespace=ns,
            registry=r,
        )
        self.updates_out_direct = Counter(
            "updates_out_direct",
            "Of those, written as one shared frame straight to an idle client's WebSocket "
            "(the others waited in python-engineio's queue for its writer)",
            namespace=ns,
            registry=r,
        )
        self.deltas = Counter(
            "state_changes", "Changes applied to the state", namespace=ns, registry=r
        )
        self.clients = Gauge(
            "clients_connected", "Connected Socket.IO clients", namespace=ns, registry=r
        )
        self.stuck = Counter(
            "clients_disconnected_stuck",
            "Clients cut off for not reading",
            namespace=ns,
            registry=r,
        )
        self.commands = Counter(
            "commands", "Relay commands by outcome", ["outcome"], namespace=ns, registry=r
        )
        self.command_latency = Histogram(
            "command_latency_seconds",
            "Time from a relay command to its outcome",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            namespace=ns,
            registry=r,
        )
        self.mqtt_connected = Gauge("mqtt_connected", "1 when connected", namespace=ns, registry=r)
        self.version = Gauge("state_version", "Current state version", namespace=ns, registry=r)
        self.gateways = Gauge(
            "gateways",
            "Gateways by status: online, silent, offline",
            ["status"],
            namespace=ns,
            registry=r,
        )
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
