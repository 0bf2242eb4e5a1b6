"""Load receiver: the seed's "before", HTTP clients polling ``/api/devices`` (own process).

``--pollers`` clients each poll every ``--interval`` seconds, their phases spread evenly over
the interval so that together they sample it finely. Each poll records (poller, answer time,
seq of ``--key``); the orchestrator turns that into the staleness each poller saw.
Runs until SIGTERM or ``--duration``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path

import aiohttp

from bench.procio import bridge_token, mark_ready, write_json


async def poll(
    session: aiohttp.ClientSession,
    url: str,
    key: str,
    interval: float,
    phase: float,
    stop: asyncio.Event,
    seen: list[tuple[int, float, int]],
    index: int,
    errors: list[str],
) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), phase)
    next_at = time.monotonic()
    while not stop.is_set():
        try:
            async with session.get(url) as answer:
                body = await answer.json()
            at = time.time()
            device = body["devices"].get(key)
            if device is not None:
                seen.append((index, at, int(device["seq"])))
        except (aiohttp.ClientError, KeyError, ValueError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        next_at += interval
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))


async def run(args: argparse.Namespace) -> dict[str, object]:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    seen: list[tuple[int, float, int]] = []
    errors: list[str] = []
    url = args.url.rstrip("/") + "/api/devices"
    token = bridge_token()
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with aiohttp.ClientSession(headers=headers) as session:
        tasks = [
            asyncio.create_task(
                poll(
                    session,
                    url,
                    args.key,
                    args.interval,
                    args.interval * i / args.pollers,
                    stop,
                    seen,
                    i,
                    errors,
                )
            )
            for i in range(args.pollers)
        ]
        mark_ready(args.ready_file)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.duration)
        stop.set()
        await asyncio.gather(*tasks)
    return {"polls": seen, "errors": errors[:20], "failed": len(errors)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.poller", description=__doc__)
    p.add_argument("--url", required=True, help="the bridge, http://host:port")
    p.add_argument("--key", default="bench/d0", help="the device whose seq to record")
    p.add_argument("--pollers", type=int, default=5)
    p.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    p.add_argument("--duration", type=float, default=600)
    p.add_argument("--ready-file", type=Path)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.pollers < 1 or args.interval <= 0:
        p.error(f"--pollers must be >= 1 and --interval > 0, got {args.pollers}, {args.interval}")
    write_json(args.out, asyncio.run(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
