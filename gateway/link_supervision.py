"""Link-loss supervision as a component: relays go to their link-loss policy when the control
link stays down for ``link_loss_timeout_s`` (also when it never came up after start).

Each link change starts a new epoch; a timeout check scheduled in an older epoch does nothing.
The check runs on the actuator worker, in order with every other relay action.
"""

from __future__ import annotations

import logging
import threading
import time

from paho.mqtt.reasoncodes import ReasonCode

from gateway.actuation import RelayController
from gateway.metrics import GatewayMetrics
from gateway.mqtt_link import MqttLink
from gateway.worker import Worker

log = logging.getLogger(__name__)


class LinkSupervision:
    def __init__(
        self,
        link: MqttLink,
        actuator: Worker,
        controller: RelayController,
        metrics: GatewayMetrics,
        timeout_s: float,
    ) -> None:
        self.actuator = actuator
        self.controller = controller
        self.metrics = metrics
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._epoch = 0
        self._up = False
        self._down_since = time.monotonic()
        self._applied: list[str] = []  # relays moved to safe state during this outage
        self._stopped = False
        link.on_up(self._link_up)
        link.on_down(self._link_down)

    def start(self) -> None:
        with self._lock:
            epoch, since = self._epoch, self._down_since
        self._schedule_check(epoch, since)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True

    def _link_up(self) -> None:
        with self._lock:
            self._epoch += 1
            self._up = True
            down_for = time.monotonic() - self._down_since
            moved, self._applied = self._applied, []
        if moved:
            log.warning(
                "control link back after %.1f s; relays driven to safe state meanwhile: %s",
                down_for,
                ", ".join(moved),
            )

    def _link_down(self, reason: ReasonCode) -> None:
        with self._lock:
            self._up = False
            self._epoch += 1
            self._down_since = time.monotonic()
            epoch, since, stopped = self._epoch, self._down_since, self._stopped
        if stopped:
            return  # our own disconnect at shutdown is no link loss
        self.metrics.link_losses.inc()
        log.warning("control link lost (%s)", reason)
        self._schedule_check(epoch, since)

    def _schedule_check(self, epoch: int, since: float) -> None:
        def check() -> None:
            with self._lock:
                if epoch != self._epoch or self._up or self._stopped:
                    return
            self.metrics.link_loss_timeouts.inc()
            moved = self.controller.link_lost(time.monotonic() - since)
            with self._lock:
                self._applied.extend(moved)

        self.actuator.call_at(since + self.timeout_s, check)
