"""What python-socketio costs per client for one push: N emits (``to=sid``) vs one emit to
the list of sids. The transport is stubbed out, so this times only what the bridge's
flusher does per emit. ``python -m bench.experiments.emit_cost``."""

from __future__ import annotations

import sys
import time
from typing import Any

import socketio


def main(clients: int = 1000) -> int:
    server = socketio.Server(async_mode="threading")
    server._send_eio_packet = lambda _eio_sid, _pkt: None  # no transport: time the emit only
    sids = [server.manager.connect(f"e{i}", "/") for i in range(clients)]
    for devices in (1, 100):
        item: dict[str, Any] = {"gateway": "bench", "value": 1.5, "ts": 1.0, "seq": 7}
        item |= {"unit": "u", "quality": "good", "name": "x", "kind": "bench"}
        payload = {
            "prev": 1,
            "version": 2,
            "devices": {f"bench/d{i}": {**item, "id": f"d{i}"} for i in range(devices)},
        }
        start = time.perf_counter()
        for sid in sids:
            server.emit("devices_update", payload, to=sid)
        each = (time.perf_counter() - start) / clients * 1e6
        start = time.perf_counter()
        server.emit("devices_update", payload, to=sids)
        once = (time.perf_counter() - start) / clients * 1e6
        print(
            f"{devices:3d} devices per update: one emit per client {each:6.1f} us/client, "
            f"one emit to all {once:5.1f} us/client ({each / once:.0f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
