"""Load receiver: many Socket.IO clients in one process (asyncio, websocket transport only).

Each client records, for every ``devices_update`` value of gateway ``--gateway``, its
latency (arrival - the ``ts`` the publisher stamped), and, for ``relays_update``, when it
first saw each command id. With ``--commands`` the first client is also the operator: it
waits for ``--go-file``, then switches ``--relay`` back and forth through ``set_relay`` and
times the acknowledgement and its own confirming ``relays_update``.

The process marks ``--ready-file`` once every client is connected and holds the full state,
and writes ``--out`` when it gets SIGTERM (or after ``--duration``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio

from bench.procio import bridge_token, mark_ready, write_json


@dataclass
class Recorder:
    """What all clients of this process saw."""

    gateway_prefix: str
    relay_key: str | None
    # (send ts, latency) of every value a measuring client received
    samples: list[tuple[float, float]] = field(default_factory=list)
    messages: int = 0
    # command id -> arrival time of each client that saw it confirmed
    relay_seen: dict[str, list[float]] = field(default_factory=dict)
    disconnects: int = 0

    def devices(self, data: Any, measure: bool) -> None:
        at = time.time()
        self.messages += 1
        if not measure:
            return
        devices = data.get("devices", {}) if isinstance(data, dict) else {}
        for key, item in devices.items():
            if key.startswith(self.gateway_prefix):
                ts = float(item["ts"])
                self.samples.append((ts, at - ts))

    def relays(self, data: Any, seen_by_me: set[str]) -> tuple[str, bool] | None:
        at = time.time()
        if self.relay_key is None or not isinstance(data, dict):
            return None
        item = data.get("relays", {}).get(self.relay_key)
        if not item or not item.get("cmd"):
            return None
        cmd = str(item["cmd"])
        if cmd not in seen_by_me:
            seen_by_me.add(cmd)
            self.relay_seen.setdefault(cmd, []).append(at)
        return cmd, bool(item["on"])


@dataclass
class Client:
    sio: socketio.AsyncClient
    has_state: asyncio.Event
    relay_on: bool | None = None
    confirmed: dict[str, float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


def make_client(rec: Recorder, measure: bool) -> Client:
    sio = socketio.AsyncClient(reconnection=False)
    client = Client(sio, asyncio.Event())
    seen: set[str] = set()

    async def on_state(data: Any) -> None:
        if rec.relay_key and isinstance(data, dict):
            item = data.get("relays", {}).get(rec.relay_key)
            if item is not None:
                client.relay_on = bool(item["on"])
        client.has_state.set()

    async def on_devices(data: Any) -> None:
        rec.devices(data, measure)

    async def on_relays(data: Any) -> None:
        got = rec.relays(data, seen)
        if got is not None:
            cmd, on = got
            client.confirmed.setdefault(cmd, time.time())
            client.relay_on = on
            client.changed.set()

    async def on_disconnect(*_args: Any) -> None:
        rec.disconnects += 1

    sio.on("state", on_state)
    sio.on("devices_update", on_devices)
    sio.on("relays_update", on_relays)
    sio.on("disconnect", on_disconnect)
    return client


async def connect_all(
    url: str, rec: Recorder, count: int, concurrency: int, measured: int
) -> tuple[list[Client], list[str]]:
    gate = asyncio.Semaphore(concurrency)
    token = bridge_token()
    auth = {"token": token} if token else None
    errors: list[str] = []

    async def one(i: int) -> Client | None:
        client = make_client(rec, i < measured)
        async with gate:
            try:
                await client.sio.connect(url, transports=["websocket"], wait_timeout=30, auth=auth)
                await asyncio.wait_for(client.has_state.wait(), 30)
            except (socketio.exceptions.ConnectionError, TimeoutError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return None
        return client

    made = await asyncio.gather(*(one(i) for i in range(count)))
    return [c for c in made if c is not None], errors


async def operate(
    operator: Client, args: argparse.Namespace, results: list[dict[str, Any]]
) -> None:
    """Switch the relay ``--commands`` times, timing the ack and the confirming push."""
    gateway, relay = args.relay.split("/", 1)
    while not args.go_file.exists():
        await asyncio.sleep(0.01)
    on = not operator.relay_on
    for _ in range(args.commands):
        operator.changed.clear()
        sent = time.time()
        ack = await operator.sio.call(
            "set_relay", {"gateway": gateway, "relay": relay, "on": on}, timeout=15
        )
        acked = time.time()
        cmd = ack.get("id") if isinstance(ack, dict) else None
        confirmed = None
        deadline = time.monotonic() + 10
        while cmd and cmd not in operator.confirmed and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(operator.changed.wait(), 0.5)
            operator.changed.clear()
        if cmd in operator.confirmed:
            confirmed = operator.confirmed[cmd]
        results.append(
            {"id": cmd, "sent": sent, "acked": acked, "confirmed": confirmed, "ack": ack}
        )
        on = not on
        await asyncio.sleep(args.command_gap)
    if args.done_file is not None:
        mark_ready(args.done_file)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rec = Recorder(f"{args.gateway}/", args.relay)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    started = time.monotonic()
    measured = args.clients if args.measure is None else args.measure
    clients, errors = await connect_all(args.url, rec, args.clients, args.concurrency, measured)
    connect_s = time.monotonic() - started
    mark_ready(args.ready_file)
    commands: list[dict[str, Any]] = []
    task = None
    if args.commands and clients:
        task = asyncio.create_task(operate(clients[0], args, commands))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), args.duration)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    disconnects_before_stop = rec.disconnects
    await asyncio.gather(*(c.sio.disconnect() for c in clients), return_exceptions=True)
    return {
        "clients": len(clients),
        "connect_errors": errors[:20],
        "connect_failed": len(errors),
        "connect_s": connect_s,
        "disconnects": disconnects_before_stop,
        "messages": rec.messages,
        "samples": rec.samples,
        "relay_seen": {cmd: [len(ts), max(ts)] for cmd, ts in rec.relay_seen.items()},
        "commands": commands,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.sio_clients", description=__doc__)
    p.add_argument("--url", required=True, help="the bridge, http://host:port")
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=25, help="connects in flight")
    p.add_argument("--gateway", default="bench", help="whose device values to time")
    p.add_argument("--measure", type=int, help="how many clients record latencies (all)")
    p.add_argument("--relay", help="gateway/relay whose confirmations to time")
    p.add_argument("--commands", type=int, default=0, help="relay commands to send")
    p.add_argument("--command-gap", type=float, default=0.1, help="seconds between commands")
    p.add_argument("--go-file", type=Path, help="send commands once this file exists")
    p.add_argument("--done-file", type=Path, help="marked when the commands are done")
    p.add_argument("--duration", type=float, default=600)
    p.add_argument("--ready-file", type=Path)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.clients < 1:
        p.error(f"--clients must be >= 1, got {args.clients}")
    if args.commands and not (args.relay and "/" in args.relay and args.go_file):
        p.error(f"--commands needs --relay gateway/relay and --go-file, got {args.relay!r}")
    write_json(args.out, asyncio.run(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
