"""How many MQTT messages/s paho takes under gevent next to N busy greenlets.

``python -m bench.experiments.paho_gevent`` starts a Mosquitto and the bench publisher
(bench/publisher.mjs, 5,000 msg/s), and for N in 0, 10, 100 runs a gevent subscriber process
(``gevent_subscriber``) twice: with paho's own loop (``loop_start``: one packet per
``select``, i.e. per hub turn) and with a greenlet that drains every packet already in the
socket per wake-up. Each busy greenlet spends ``--busy-us`` per turn, standing in for the
bridge's per-client writers and flusher.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.lab import PUBLISHER, node_script
from devtools.local_broker import LocalBroker
from devtools.procs import python_module


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.experiments.paho_gevent")
    p.add_argument("--rate", type=float, default=5000)
    p.add_argument("--busy-us", type=float, default=50)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LocalBroker(Path(tmp) / "broker") as broker:
        for drain in (False, True):
            for n in ("0", "10", "100"):
                argv = python_module("bench.experiments.gevent_subscriber", broker.url, n, "4")
                argv += ["--busy-us", str(args.busy_us), *(["--drain"] if drain else [])]
                sub = subprocess.Popen(argv)
                time.sleep(0.5)
                out = str(Path(tmp) / "publisher.json")
                publish = ["--url", broker.url, "--rate", str(args.rate), "--duration", "6"]
                publish += ["--devices", "100", "--out", out]
                subprocess.run([*node_script(PUBLISHER), *publish], check=True)
                sub.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
