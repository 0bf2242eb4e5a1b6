"""Prometheus metrics of one gateway, in its own registry (several gateways may share a
process in tests; the global registry would mix them). Served over HTTP when
``metrics_port`` is set; counted either way, since counting costs next to nothing."""

from __future__ import annotations

import logging
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

# Command latency on a Pi: from the MQTT message to the answer, read-back included.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class GatewayMetrics:
    def __init__(self, gateway_id: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"gateway": gateway_id}
        r = self.registry
        self.messages_published = Counter(
            "factory_gateway_messages_published",
            "MQTT messages handed to the client, by payload kind",
            ["kind"],
            registry=r,
        )
        self.commands = Counter(
            "factory_gateway_commands",
            "Relay commands answered, by outcome (ok or the error code)",
            ["outcome"],
            registry=r,
        )
        self.command_latency = Histogram(
            "factory_gateway_command_latency_seconds",
            "From receiving a relay command to publishing its result",
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.actuation_latency = Histogram(
            "factory_gateway_actuation_latency_seconds",
            "From receiving a relay command to its pin read back (the gateway's own measure "
            "of how fast a command acts; also in its system stats as command_latency_s)",
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        # The last of those, for the system stats (written on the actuator, read by the
        # sampler: one float, no lock needed).
        self.last_actuation_s: float | None = None
        self.sensor_read_errors = Counter(
            "factory_gateway_sensor_read_errors",
            "Sensor or input reads that failed (published as quality bad)",
            ["device"],
            registry=r,
        )
        self.mqtt_connected = Gauge(
            "factory_gateway_mqtt_connected", "1 while connected to the broker", registry=r
        )
        self.link_losses = Counter(
            "factory_gateway_link_losses", "Connections to the broker lost", registry=r
        )
        self.link_loss_timeouts = Counter(
            "factory_gateway_link_loss_timeouts",
            "Times the broker stayed unreachable past link_loss_timeout_s (relay policy applied)",
            registry=r,
        )
        self.buffered = Gauge(
            "factory_gateway_buffered_samples",
            "Samples in the store-and-forward buffer, not yet forwarded",
            registry=r,
        )
        self.buffer_dropped = Counter(
            "factory_gateway_buffer_dropped_samples",
            "Samples the store-and-forward buffer dropped over its limits (oldest first)",
            registry=r,
        )
        self.late_forwarded = Counter(
            "factory_gateway_late_samples_forwarded",
            "Buffered samples forwarded as late samples and acknowledged by the broker",
            registry=r,
        )
        info = Gauge("factory_gateway_info", "Constant 1, labelled", ["gateway"], registry=r)
        info.labels(**labels).set(1)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def serve(self, port: int, host: str) -> None:
        """Start the HTTP endpoint (``/metrics``); OSError if the port is taken."""
        self._server, self._thread = start_http_server(port, host, registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", host, self.port)

    @property
    def port(self) -> int:
        return self._server.server_port if self._server else 0

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
