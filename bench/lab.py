"""Runs the load generators as separate processes and collects what they measured (I/O edge).

Every process is a ``ManagedProcess`` (stopped by its pid), writes its result to a JSON file
and marks a ready file when it is set up, so the orchestrator starts the load only once
every receiver is listening.
"""

from __future__ import annotations

import itertools
import math
import shutil
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

from bench.procio import TOKEN_ENV, read_json
from devtools.procs import ManagedProcess, ProcessError, python_module

BENCH = Path(__file__).resolve().parent
RECEIVERS = BENCH / "receivers.mjs"
PUBLISHER = BENCH / "publisher.mjs"
MQTT_RECEIVERS = BENCH / "mqtt_receivers.mjs"
WS_RELAY = BENCH / "ws_relay.mjs"
# MQTT.js receivers take the broker login from here (kept out of the process list).
MQTT_AUTH_ENV = "FACTORY_BENCH_MQTT_AUTH"


def node_script(script: Path) -> list[str]:
    """argv that runs one of our Node.js scripts; a clear error when Node.js is missing."""
    node = shutil.which("node")
    if node is None:
        raise ProcessError(
            f"bench/{script.name} runs on Node.js, but `node` is not on PATH: install Node.js "
            ">= 20, then `npm ci` in web/ (socket.io-client) and in bench/ (MQTT.js)"
        )
    return [node, str(script)]


class Worker:
    """One load process: ``<command> ... --out <file> [--ready-file <file>]``, where the
    command is ``python -m bench.<module>`` or ``node bench/<script>.mjs``."""

    def __init__(
        self,
        workdir: Path,
        name: str,
        command: list[str],
        args: list[str],
        ready: bool,
        env: dict[str, str] | None = None,
    ):
        self.name = name
        self.out = workdir / f"{name}.json"
        self.ready_file = workdir / f"{name}.ready" if ready else None
        argv = [*args, "--out", str(self.out)]
        if self.ready_file is not None:
            argv += ["--ready-file", str(self.ready_file)]
        self.proc = ManagedProcess(name, [*command, *argv], workdir / f"{name}.log", env)

    def start(self) -> Worker:
        self.proc.start()
        return self

    def is_ready(self) -> bool:
        return self.ready_file is not None and self.ready_file.exists()

    def wait_ready(self, timeout: float) -> None:
        self.proc.wait_until(self.is_ready, timeout=timeout, what="ready")

    def wait_exit(self, timeout: float) -> Any:
        """Let it finish on its own; its result."""
        assert self.proc.proc is not None
        try:
            code = self.proc.proc.wait(timeout=timeout)
        except Exception:
            self.proc.stop()
            raise ProcessError(f"{self.name} did not finish within {timeout} s") from None
        return self._result(code)

    def finish(self, timeout: float = 60) -> Any:
        """SIGTERM, then its result."""
        return self._result(self.proc.stop(timeout=timeout))

    def kill(self) -> None:
        self.proc.stop(timeout=5)

    def _result(self, code: int | None) -> Any:
        if code != 0 or not self.out.exists():
            raise ProcessError(f"{self.name} exited with {code}:\n{self.proc.log()[-3000:]}")
        return read_json(self.out)


class Group:
    """Several workers started together; all ready before the load begins."""

    def __init__(self, workers: list[Worker], ready_timeout: float) -> None:
        self.workers = workers
        self.ready_timeout = ready_timeout
        self.results: list[Any] = []

    def __enter__(self) -> Group:
        for w in self.workers:
            w.start()
        try:
            deadline = time.monotonic() + self.ready_timeout
            for w in self.workers:
                w.wait_ready(max(1.0, deadline - time.monotonic()))
        except BaseException:
            for w in self.workers:
                w.kill()
            raise
        return self

    def cpu_seconds(self) -> float:
        """CPU time the group's processes have used so far."""
        return sum(cpu_seconds(w.proc.pid) for w in self.workers if w.proc.running())

    def finish(self) -> list[Any]:
        self.results = [w.finish() for w in self.workers]
        return self.results

    def __exit__(
        self, t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if t is not None or not self.results:
            for w in self.workers:
                w.kill()


class Lab:
    """Names, directories and the command lines of every load process of one run."""

    def __init__(self, workdir: Path, mqtt_url: str, clients_per_process: int) -> None:
        self.workdir = workdir
        # The bridge's API token for the Socket.IO and HTTP load (the environment keeps it
        # out of the process list).
        self.token: str | None = None
        self.mqtt_url = mqtt_url
        self.clients_per_process = clients_per_process
        self._ids = itertools.count(1)
        workdir.mkdir(parents=True, exist_ok=True)

    def _name(self, what: str) -> str:
        return f"{next(self._ids):03d}-{what}"

    def publish(
        self,
        rate: float,
        duration: float,
        devices: int,
        gateway: str = "bench",
        log_sent: bool = False,
        qos: int = 1,
    ) -> dict[str, Any]:
        """Run one publisher to its end; what it sent."""
        args = ["--url", self.mqtt_url, "--gateway", gateway, "--rate", str(rate)]
        args += ["--duration", str(duration), "--devices", str(devices), "--qos", str(qos)]
        if log_sent:
            args.append("--log-sent")
        command = node_script(PUBLISHER)
        worker = Worker(self.workdir, self._name("publisher"), command, args, False)
        result: dict[str, Any] = worker.start().wait_exit(duration + 60)
        return result

    def mqtt_subscriber(self, gateway: str = "bench", commands_of: str | None = None) -> Group:
        args = ["--url", self.mqtt_url, "--gateway", gateway]
        if commands_of:
            args += ["--commands-of", commands_of]
        command = python_module("bench.mqtt_sub")
        return Group([Worker(self.workdir, self._name("mqtt-sub"), command, args, True)], 30)

    def sio_clients(
        self,
        base_url: str,
        clients: int,
        measure: int | None = None,
        relay: str | None = None,
        commands: int = 0,
        go_file: Path | None = None,
        done_file: Path | None = None,
    ) -> Group:
        """``clients`` Socket.IO clients (bench/receivers.mjs) over as few processes as
        ``clients_per_process`` allows.

        The first process's first client is the operator when ``commands`` > 0.
        """
        command = node_script(RECEIVERS)
        procs = math.ceil(clients / self.clients_per_process)
        share, extra = divmod(clients, procs)
        workers = []
        for i in range(procs):
            n = share + (1 if i < extra else 0)
            args = ["--url", base_url, "--clients", str(n)]
            if measure is not None:
                args += ["--measure", str(math.ceil(measure / procs))]
            if relay is not None:
                args += ["--relay", relay]
            if commands and i == 0:
                assert go_file is not None and done_file is not None
                args += ["--commands", str(commands), "--go-file", str(go_file)]
                args += ["--done-file", str(done_file)]
            workers.append(
                Worker(self.workdir, self._name("sio"), command, args, True, self._env())
            )
        return Group(workers, ready_timeout=60 + clients * 0.1)

    def ws_relay(self, port: int, broker_port: int) -> Group:
        """bench/ws_relay.mjs: WebSockets on ``port`` to the broker's TCP listener."""
        args = ["--port", str(port), "--broker-port", str(broker_port)]
        command = node_script(WS_RELAY)
        return Group([Worker(self.workdir, self._name("ws-relay"), command, args, True)], 30)

    def mqtt_ws_clients(
        self, ws_url: str, login: str, clients: int, measure: int | None = None
    ) -> Group:
        """``clients`` MQTT.js clients over WebSockets (bench/mqtt_receivers.mjs), split over
        processes as ``sio_clients`` does; ``login`` is ``user:password``."""
        command = node_script(MQTT_RECEIVERS)
        procs = math.ceil(clients / self.clients_per_process)
        share, extra = divmod(clients, procs)
        workers = []
        for i in range(procs):
            n = share + (1 if i < extra else 0)
            args = ["--url", ws_url, "--clients", str(n)]
            if measure is not None:
                args += ["--measure", str(math.ceil(measure / procs))]
            name = self._name("mqtt-ws")
            workers.append(Worker(self.workdir, name, command, args, True, {MQTT_AUTH_ENV: login}))
        return Group(workers, ready_timeout=60 + clients * 0.1)

    def pollers(self, base_url: str, pollers: int, interval: float) -> Group:
        args = ["--url", base_url, "--pollers", str(pollers), "--interval", str(interval)]
        command = python_module("bench.poller")
        worker = Worker(self.workdir, self._name("poller"), command, args, True, self._env())
        return Group([worker], 30)

    def _env(self) -> dict[str, str]:
        return {TOKEN_ENV: self.token} if self.token else {}

    def go_files(self) -> tuple[Path, Path]:
        name = self._name("relay")
        return self.workdir / f"{name}.go", self.workdir / f"{name}.done"


def rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)
