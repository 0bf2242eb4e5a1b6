"""A simulated plant of any size on a real broker, for the demo and the benchmarks.

``python -m devtools.plant_sim --gateways 100 --devices 50 --relays 10 --rate 200`` speaks
the MQTT contract (factory_core/contract.py) as that many gateways would: each one's meta,
status and system stats (retained), every device's and relay's state, then device readings at
``--rate`` updates per second spread evenly over all devices. What to publish is decided by
:class:`PlantPlan` (pure); :func:`run` only sends it. It does not answer relay commands: it is
the load of a plant, not its behaviour (for that there is ``factory-gateway --simulate``).
"""

from __future__ import annotations

import argparse
import math
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from factory_core.contract import (
    DEFAULT_PREFIX,
    DeviceInfo,
    DeviceState,
    GatewayMeta,
    RelayInfo,
    RelayState,
    SystemStats,
    Topics,
)
from factory_core.mqtt import set_nodelay
from factory_core.settings import parse_mqtt_url

# Kinds and units the simulated devices cycle through (every fifth a digital input).
KINDS: tuple[tuple[str, str | None], ...] = (
    ("temperature", "°C"),
    ("humidity", "%"),
    ("pressure", "bar"),
    ("vibration", "mm/s"),
    ("digital_input", None),
)
STATS_INTERVAL_S = 10.0

Publish = tuple[str, bytes, bool]  # topic, payload, retained


def gateway_id(g: int) -> str:
    return f"gw{g:03d}"


def device_id(d: int) -> str:
    return f"dev{d:02d}"


@dataclass
class PlantPlan:
    """What a plant of ``gateways`` x ``devices`` (+ ``relays``) publishes, message by message."""

    gateways: int
    devices: int
    relays: int
    topics: Topics = field(default_factory=Topics)
    _seq: dict[tuple[int, int], int] = field(default_factory=dict)
    _next: int = 0

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be {low}..{high}, not {value}"
            for name, value, low, high in (
                ("gateways", self.gateways, 1, 1000),
                ("devices", self.devices, 0, 1024),
                ("relays", self.relays, 0, 1024),
            )
            if not low <= value <= high
        ]
        if problems:
            raise ValueError("; ".join(problems))

    def meta(self, g: int) -> GatewayMeta:
        devices = [
            DeviceInfo(
                id=device_id(d),
                name=f"Line {g + 1} {KINDS[d % len(KINDS)][0].replace('_', ' ')} {d + 1}",
                kind=KINDS[d % len(KINDS)][0],
                unit=KINDS[d % len(KINDS)][1],
            )
            for d in range(self.devices)
        ]
        relays = [
            RelayInfo(id=f"relay_{r + 1}", name=f"Line {g + 1} relay {r + 1}")
            for r in range(self.relays)
        ]
        return GatewayMeta(
            version="sim",
            name=f"Line {g + 1}",
            devices=devices,
            relays=relays,
            stats_interval_s=STATS_INTERVAL_S,
        )

    def value(self, g: int, d: int, now: float) -> float | bool:
        """A slow wave per device, different for each, so that charts show something."""
        phase = g * 0.37 + d * 1.3
        if KINDS[d % len(KINDS)][0] == "digital_input":
            return math.sin(now / 20 + phase) > 0
        return round(50 + 20 * math.sin(now / 30 + phase), 2)

    def reading(self, g: int, d: int, now: float) -> Publish:
        seq = self._seq.get((g, d), 0) + 1
        self._seq[g, d] = seq
        state = DeviceState(
            value=self.value(g, d, now), unit=KINDS[d % len(KINDS)][1], ts=now, seq=seq
        )
        return self.topics.device_state(gateway_id(g), device_id(d)), state.to_bytes(), True

    def stats(self, g: int, now: float) -> Publish:
        stats = SystemStats(cpu=12.5, memory=40.0, disk=30.0, uptime=now % 86400, ts=now)
        return self.topics.system(gateway_id(g)), stats.to_bytes(), True

    def birth(self, now: float) -> Iterator[Publish]:
        """Every gateway's meta, status, stats, relays and a first reading of each device."""
        for g in range(self.gateways):
            gw = gateway_id(g)
            yield self.topics.meta(gw), self.meta(g).to_bytes(), True
            yield self.topics.status(gw), b"online", True
            yield self.stats(g, now)
            for r in range(self.relays):
                state = RelayState(on=r % 2 == 0, ts=now, seq=1, reason="boot")
                yield self.topics.relay_state(gw, f"relay_{r + 1}"), state.to_bytes(), True
            for d in range(self.devices):
                yield self.reading(g, d, now)

    def next_reading(self, now: float) -> Publish:
        """The next device in turn, round-robin over the whole plant."""
        total = self.gateways * self.devices
        g, d = divmod(self._next % total, self.devices)
        self._next += 1
        return self.reading(g, d, now)

    def offline(self) -> Iterator[Publish]:
        for g in range(self.gateways):
            yield self.topics.status(gateway_id(g)), b"offline", True


def run(url: str, plan: PlantPlan, rate: float, stop: threading.Event) -> int:
    """Publishes the plant's birth, then ``rate`` readings a second until ``stop``; returns the
    number of readings sent after the birth."""
    address = parse_mqtt_url(url)
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"plant-sim-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv311,
    )
    if address.username:
        client.username_pw_set(address.username, address.password)
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(1000)
    client.connect(address.host, address.port, keepalive=30)
    set_nodelay(client)
    client.loop_start()
    try:
        for topic, payload, retain in plan.birth(time.time()):
            client.publish(topic, payload, qos=0, retain=retain)
        sent = 0
        started = time.monotonic()
        last_stats = started
        while not stop.is_set() and plan.devices > 0:
            due = int((time.monotonic() - started) * rate)
            now = time.time()
            while sent < due:
                topic, payload, retain = plan.next_reading(now)
                client.publish(topic, payload, qos=0, retain=retain)
                sent += 1
            if time.monotonic() - last_stats >= STATS_INTERVAL_S:
                last_stats = time.monotonic()
                for g in range(plan.gateways):
                    client.publish(*plan.stats(g, now)[:2], qos=0, retain=True)
            stop.wait(0.01)
        for topic, payload, retain in plan.offline():
            client.publish(topic, payload, qos=1, retain=retain)
        return sent
    finally:
        client.disconnect()
        client.loop_stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.plant_sim", description=__doc__)
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--gateways", type=int, default=100)
    parser.add_argument("--devices", type=int, default=50, help="per gateway")
    parser.add_argument("--relays", type=int, default=10, help="per gateway")
    parser.add_argument("--rate", type=float, default=200, help="readings per second, in all")
    parser.add_argument(
        "--topic-prefix",
        default=DEFAULT_PREFIX,
        help="a plant of its own on a shared broker; its ACL must give that prefix to the "
        "bridge's samples login too, or no reading reaches the bridge (docs/broker.md)",
    )
    args = parser.parse_args(argv)
    try:
        plan = PlantPlan(args.gateways, args.devices, args.relays, Topics(args.topic_prefix))
    except ValueError as exc:
        parser.error(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run(args.mqtt_url, plan, args.rate, stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
