"""Load generator: a field device acting as gateway ``bench`` (run as its own process).

It announces itself like a gateway (retained ``online`` status and meta), then publishes
``DeviceState`` messages round-robin over its devices at a fixed rate, each stamped with
``ts = time.time()`` at send, so any receiver can compute the latency of what it gets.

The network loop runs in this thread (no paho thread): a publish goes straight to the
socket instead of waking another thread first, which would add to every measured latency.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import paho.mqtt.client as paho

from bench.procio import connect_blocking, write_json
from factory_core.contract import DeviceInfo, DeviceState, GatewayMeta, Topics
from factory_core.settings import parse_mqtt_url


def device_ids(count: int) -> list[str]:
    return [f"d{i}" for i in range(count)]


def announce(client: paho.Client, topics: Topics, gateway: str, devices: list[str]) -> None:
    meta = GatewayMeta(
        version="bench",
        name="Benchmark load generator",
        devices=[DeviceInfo(id=d, name=f"Bench {d}", kind="bench", unit="u") for d in devices],
    )
    infos = [
        client.publish(topics.meta(gateway), meta.to_bytes(), qos=1, retain=True),
        client.publish(topics.status(gateway), b"online", qos=1, retain=True),
    ]
    deadline = time.monotonic() + 10
    while not all(i.is_published() for i in infos):
        if time.monotonic() > deadline:
            raise TimeoutError("the broker did not acknowledge the bench gateway's meta")
        client.loop(0.05)


def run(args: argparse.Namespace) -> dict[str, object]:
    topics = Topics(args.prefix)
    devices = device_ids(args.devices)
    device_topics = [topics.device_state(args.gateway, d) for d in devices]
    client = connect_blocking(parse_mqtt_url(args.url), f"bench-pub-{args.gateway}", unbounded=True)
    announce(client, topics, args.gateway, devices)
    if args.settle > 0:
        end = time.monotonic() + args.settle
        while time.monotonic() < end:
            client.loop(0.01)
    sent_log: list[tuple[int, float]] = []
    seq = args.first_seq
    sent = 0
    wall_start = time.time()
    start = time.monotonic()
    stop = start + args.duration
    while True:
        now = time.monotonic()
        if now >= stop:
            break
        due = int((now - start) * args.rate) + 1 - sent
        for _ in range(max(0, due)):
            device = sent % len(devices)
            at = time.time()
            state = DeviceState(value=seq, unit="u", ts=at, seq=seq)
            client.publish(device_topics[device], state.to_bytes(), qos=args.qos, retain=True)
            if args.log_sent:
                sent_log.append((seq, at))
            seq += 1
            sent += 1
        wait = start + sent / args.rate - time.monotonic()
        client.loop(max(0.0, min(wait, 0.01)))
    elapsed = time.monotonic() - start
    wall_end = time.time()
    # Drain what is still queued so that the last messages do reach the broker.
    drain_end = time.monotonic() + 5
    while client.want_write() and time.monotonic() < drain_end:
        client.loop(0.01)
    client.disconnect()
    return {
        "sent": sent,
        "elapsed": elapsed,
        "rate": sent / elapsed if elapsed > 0 else 0.0,
        "last_seq": seq - 1,
        "start": wall_start,
        "end": wall_end,
        "sent_log": sent_log,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.publisher", description=__doc__)
    p.add_argument("--url", required=True, help="broker, mqtt://host:port")
    p.add_argument("--prefix", default="factory")
    p.add_argument("--gateway", default="bench")
    p.add_argument("--devices", type=int, default=10)
    p.add_argument("--rate", type=float, required=True, help="messages per second")
    p.add_argument("--duration", type=float, required=True, help="seconds")
    p.add_argument("--qos", type=int, choices=[0, 1], default=1)
    p.add_argument("--settle", type=float, default=0.5, help="wait after the meta, seconds")
    p.add_argument("--first-seq", type=int, default=int(time.time() * 1000))
    p.add_argument("--log-sent", action="store_true", help="record (seq, send time) of each")
    p.add_argument("--out", type=Path, required=True, help="JSON result file")
    args = p.parse_args(argv)
    problems = []
    if args.devices < 1:
        problems.append(f"--devices must be >= 1, got {args.devices}")
    if args.rate <= 0:
        problems.append(f"--rate must be > 0, got {args.rate}")
    if args.duration <= 0:
        problems.append(f"--duration must be > 0, got {args.duration}")
    if problems:
        p.error("; ".join(problems))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    write_json(args.out, run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
