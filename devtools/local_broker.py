"""Run a real Mosquitto with the project's config on a chosen port (tests, demo, bench)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[1]
PROJECT_CONF = REPO / "mosquitto" / "mosquitto.conf"


class BrokerError(RuntimeError):
    pass


def render_config(port: int, data_dir: Path, bind: str = "127.0.0.1", extra: str = "") -> str:
    """The project's mosquitto.conf with only the listener address and data directory changed."""
    text = PROJECT_CONF.read_text()
    text, listeners = re.subn(
        r"^listener 1883\s*$", f"listener {port} {bind}", text, count=1, flags=re.M
    )
    text, locations = re.subn(
        r"^persistence_location .*$", f"persistence_location {data_dir}/", text, flags=re.M
    )
    if not (listeners and locations):
        raise BrokerError(f"{PROJECT_CONF} lost its 'listener 1883' or persistence_location line")
    return text + ("\n" + extra if extra else "")


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise BrokerError(f"nothing listens on {host}:{port} after {timeout} s")


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )
    if not found:
        raise BrokerError(
            "mosquitto is not installed: run `make setup` as root,"
            " or `sudo apt-get install mosquitto`"
        )
    return found


class LocalBroker:
    """A mosquitto process; restartable with the same port and data (fault tests)."""

    def __init__(self, workdir: Path, port: int | None = None, extra_config: str = "") -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.data_dir = workdir / "data"
        self.conf_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        self.extra_config = extra_config
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> LocalBroker:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(render_config(self.port, self.data_dir, extra=self.extra_config))
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [mosquitto_binary(), "-c", str(self.conf_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(self.port)
        except BrokerError:
            self.stop()
            tail = self.log_path.read_text()[-2000:]
            raise BrokerError(f"mosquitto did not start: {tail}") from None
        return self

    def stop(self, kill: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.kill() if kill else proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self, wipe_persistence: bool = False) -> None:
        self.stop()
        if wipe_persistence:
            for f in self.data_dir.glob("*.db"):
                f.unlink()
        self.start()

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
