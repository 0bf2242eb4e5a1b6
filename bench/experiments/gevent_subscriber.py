"""The subscriber side of ``bench.experiments.paho_gevent`` (its own process: monkey-patched)."""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import paho.mqtt.client as paho  # noqa: E402
from gevent.socket import wait_read  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402

from factory_core.contract import Topics  # noqa: E402
from factory_core.settings import parse_mqtt_url  # noqa: E402


def subscriber(url: str, busy: int, busy_us: float, seconds: float, drain: bool) -> None:
    addr = parse_mqtt_url(url)
    got = [0]
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    if addr.username:
        client.username_pw_set(addr.username, addr.password)
    state_filter = next(f for f in Topics().telemetry_filters() if "/devices/" in f)
    client.on_message = lambda *_a: got.__setitem__(0, got[0] + 1)
    client.on_connect = lambda c, *_a: c.subscribe(state_filter, qos=1)
    client.connect(addr.host, addr.port)

    def readable(sock: socket.socket) -> bool:
        try:
            return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except BlockingIOError:
            return False

    def drive() -> None:
        while True:
            sock = client.socket()
            assert isinstance(sock, socket.socket)
            with contextlib.suppress(TimeoutError):
                wait_read(sock.fileno(), timeout=1)
            for _ in range(5000):  # bounded, so that the other greenlets get their turn
                client.loop_read()
                if not readable(sock):
                    break
            if client.want_write():
                client.loop_write()
            client.loop_misc()

    if drain:
        gevent.spawn(drive)
    else:
        client.loop_start()

    def spin() -> None:
        while True:
            start = time.perf_counter()
            while time.perf_counter() - start < busy_us / 1e6:
                pass
            gevent.sleep(0)

    for _ in range(busy):
        gevent.spawn(spin)
    gevent.sleep(1)
    before, started = got[0], time.monotonic()
    gevent.sleep(seconds)
    rate = (got[0] - before) / (time.monotonic() - started)
    way = "drain per wake-up" if drain else "paho loop_start"
    print(f"{way:18}  busy greenlets {busy:4d}: took {rate:6.0f} msg/s", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.experiments.gevent_subscriber")
    p.add_argument("url")
    p.add_argument("busy", type=int)
    p.add_argument("seconds", type=float)
    p.add_argument("--busy-us", type=float, default=50)
    p.add_argument("--drain", action="store_true")
    args = p.parse_args()
    subscriber(args.url, args.busy, args.busy_us, args.seconds, args.drain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
