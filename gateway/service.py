"""The gateway service: the components wired together, started in order, stopped in reverse.

Shared parts it owns: the MQTT link, the actuator worker (every relay action, in order, plus
the timers that act on relays), the metrics endpoint and the systemd notifier. Components
(:mod:`gateway.component`): the relays, store and forward (samples kept through an outage),
sampling, link-loss supervision, rebirth and, when enabled, Home Assistant discovery, and the
alarms of its devices (``alarming``). Interlocks, locks and wear live with the relays
(:mod:`gateway.actuation`), since they decide every pin move.

Threads: paho's network loop (never blocked: it only parses and hands work over), the
actuator worker, the sampler worker, the store-and-forward worker and the pin backend's
edge-callback thread.
"""

from __future__ import annotations

import logging

from gateway.alarming import Alarming
from gateway.component import Component
from gateway.config import GatewayConfig
from gateway.hardware.base import PinBackend
from gateway.home_assistant import HomeAssistantDiscovery
from gateway.link_supervision import LinkSupervision
from gateway.meta import gateway_meta
from gateway.metrics import GatewayMetrics
from gateway.mqtt_link import MqttLink
from gateway.rebirth import Rebirth
from gateway.relay_control import RelayControl
from gateway.sampling import Sampling
from gateway.sdnotify import Notifier
from gateway.sensors import Sensor
from gateway.store_forward import StoreAndForward
from gateway.system_stats import HostStats
from gateway.worker import Worker

log = logging.getLogger(__name__)


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        backend: PinBackend,
        *,
        sensors: dict[str, Sensor] | None = None,
        host_stats: HostStats | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        """``start()`` starts it; OSError from there if the metrics port is taken."""
        self.config = config
        self.backend = backend
        self.gw = config.gateway_id
        self.notifier = notifier or Notifier({})
        self.metrics = GatewayMetrics(self.gw)
        self.actuator = Worker(f"{self.gw}-actuator")
        self.link = MqttLink(
            config.broker, self.gw, config.topics, self.metrics, config.mqtt_keepalive
        )
        meta = gateway_meta(config)

        self.alarms = Alarming(config, self.link, self.actuator)
        self.relays = RelayControl(
            config, backend, self.link, self.actuator, self.metrics, self.alarms.relay_result
        )
        # Samples taken while the broker is unreachable are kept and forwarded late.
        self.store_forward = StoreAndForward(config, self.link, self.metrics)
        self.sampling = Sampling(
            config,
            backend,
            self.store_forward.send,
            self.metrics,
            sensors=sensors,
            host_stats=host_stats,
            observe=self.alarms.observe,
        )
        if config.interlocks:
            self.sampling.input_listeners.append(self.relays.input_changed)
        # The order matters twice: start order (relays at their safe state before anything
        # else) and the order link listeners hear of a connect (rebirth before discovery).
        self.components: list[Component] = [
            self.relays,
            self.alarms,
            self.store_forward,  # open before the first sample, closed after the last
            self.sampling,
            LinkSupervision(
                self.link,
                self.actuator,
                self.relays.controller,
                self.metrics,
                config.link_loss_timeout_s,
            ),
            Rebirth(
                self.gw,
                config.topics,
                meta,
                self.link,
                self.actuator,
                # The backlog of late samples last: the live view is whole first.
                [
                    self.relays.republish,
                    self.sampling.republish,
                    self.alarms.republish,
                    self.store_forward.resume,
                ],
            ),
        ]
        if config.home_assistant.enabled:
            self.components.append(HomeAssistantDiscovery(config, meta, self.link, self.actuator))
        self._started: list[Component] = []
        self._connecting = False
        self._stopping = False

    def add(self, component: Component) -> None:
        """Plug in one more component, before ``start``: started after the built-in ones and
        stopped before them (the relays are at their safe state when it starts and have not
        been shut down when it stops). It registers its routes and listeners on ``link``."""
        if self._started or self._stopping:
            raise RuntimeError("components are added before the gateway starts")
        self.components.append(component)

    def start(self) -> None:
        """Safe states first, then the other components, then the broker (retried forever)."""
        if self.config.metrics_port:
            self.metrics.serve(self.config.metrics_port, self.config.metrics_host)
        self.actuator.start()
        for component in self.components:
            component.start()
            self._started.append(component)
        if self.notifier.watchdog_interval_s:
            half = self.notifier.watchdog_interval_s / 2
            self.actuator.call_every(half, self._watchdog, first_delay_s=half)
        self.link.connect()
        self._connecting = True
        self.notifier.notify("READY=1", f"STATUS=gateway {self.gw} running")
        log.info(
            "gateway %s started (backend %s, broker %s)",
            self.gw,
            self.backend.name,
            self.config.broker,
        )

    def stop(self) -> None:
        """Relays to their shutdown state, ``offline`` published, a clean disconnect."""
        if self._stopping:
            return
        self._stopping = True
        self.notifier.notify("STOPPING=1")
        self.link.stop_dispatching()  # no command may start once shutdown has begun
        while self._started:
            self._started.pop().stop()
        self.actuator.stop()
        if self._connecting:
            self.link.close()
        self.backend.close(keep=self.relays.held_pins())
        self.metrics.stop()
        log.info("gateway %s stopped", self.gw)

    def _watchdog(self) -> None:
        self.notifier.notify("WATCHDOG=1")
