"""Load receiver: a plain MQTT subscriber timing one gateway's device states (own process).

Latency of a message = arrival time - the ``ts`` its publisher stamped. It runs until
SIGTERM (or ``--duration``), then writes (send ts, latency) pairs to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import paho.mqtt.client as paho

from bench.procio import connect_blocking, mark_ready, write_json
from factory_core.contract import (
    DeviceStateTopic,
    RelayResultTopic,
    RelaySetTopic,
    TopicError,
    Topics,
)
from factory_core.settings import parse_mqtt_url


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.mqtt_sub", description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--prefix", default="factory")
    p.add_argument("--gateway", default="bench", help="whose device states to time")
    p.add_argument("--commands-of", help="also time relay commands to this gateway")
    p.add_argument("--duration", type=float, default=600, help="stop after this many seconds")
    p.add_argument("--ready-file", type=Path)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)

    topics = Topics(args.prefix)
    samples: list[tuple[float, float]] = []
    # command id -> when its `set` and its `result` crossed the broker
    commands: dict[str, dict[str, float]] = {}
    stopping: list[bool] = []
    subscribed: list[bool] = []

    def on_message(msg: paho.MQTTMessage) -> None:
        at = time.time()
        if msg.retain:
            return  # a stored value from before we subscribed, not a live one
        try:
            parsed = topics.parse(msg.topic)
        except TopicError:
            return
        if isinstance(parsed, RelaySetTopic | RelayResultTopic):
            kind = "set" if isinstance(parsed, RelaySetTopic) else "result"
            commands.setdefault(str(json.loads(msg.payload)["id"]), {})[kind] = at
            return
        if not isinstance(parsed, DeviceStateTopic) or parsed.gateway != args.gateway:
            return
        ts = float(json.loads(msg.payload)["ts"])
        samples.append((ts, at - ts))

    def on_connect(client: paho.Client) -> None:
        for f in topics.telemetry_filters():
            if "/devices/" in f:
                client.subscribe(f, qos=1)
        if args.commands_of:
            client.subscribe(topics.command_filter(args.commands_of), qos=1)
            client.subscribe([(f, 1) for f in topics.telemetry_filters() if f.endswith("/result")])
        subscribed.append(True)

    def on_term(_sig: int, _frame: FrameType | None) -> None:
        stopping.append(True)

    signal.signal(signal.SIGTERM, on_term)
    client = connect_blocking(parse_mqtt_url(args.url), "bench-sub", on_connect, on_message)
    end = time.monotonic() + args.duration
    ready_at = time.monotonic() + 0.3  # the SUBACK has surely come back by then
    while not stopping and time.monotonic() < end:
        client.loop(0.05)
        if ready_at and time.monotonic() >= ready_at and subscribed:
            mark_ready(args.ready_file)
            ready_at = 0
    client.disconnect()
    write_json(args.out, {"samples": samples, "commands": commands})
    return 0


if __name__ == "__main__":
    sys.exit(main())
