"""Fixtures shared by every test: a real Mosquitto, and a probe client on it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.local_broker import PROJECT_CONF, LocalBroker
from devtools.mqtt_probe import MqttProbe


def _docker_engine_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        answer = subprocess.run(["docker", "info"], check=False, capture_output=True, timeout=5)
        return answer.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class ContainerBroker:
    """testcontainers' path: the official image with our config; same interface as LocalBroker."""

    def __init__(self, workdir: Path) -> None:
        from testcontainers.core.container import DockerContainer  # type: ignore[import-not-found]
        from testcontainers.core.waiting_utils import (  # type: ignore[import-not-found]
            wait_for_logs,
        )

        self._wait = wait_for_logs
        self._container = (
            DockerContainer("eclipse-mosquitto:2.0")
            .with_volume_mapping(str(PROJECT_CONF), "/mosquitto/config/mosquitto.conf", "ro")
            .with_exposed_ports(1883)
        )
        self.workdir = workdir
        self.port = 0

    @property
    def url(self) -> str:
        return f"mqtt://{self._container.get_container_host_ip()}:{self.port}"

    def start(self) -> ContainerBroker:
        self._container.start()
        self._wait(self._container, "running")
        self.port = int(self._container.get_exposed_port(1883))
        return self

    def stop(self, kill: bool = False) -> None:
        self._container.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A real Mosquitto with the project's config, on a free port, fresh for each test."""
    if _docker_engine_answers():
        try:
            import testcontainers  # type: ignore[import-not-found]  # noqa: F401
        except ImportError:
            pass
        else:
            container = ContainerBroker(tmp_path).start()
            try:
                yield container  # type: ignore[misc]
            finally:
                container.stop()
            return
    b = LocalBroker(tmp_path / "broker").start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def probe(broker: LocalBroker) -> Iterator[MqttProbe]:
    """Sees everything on the broker, like `mosquitto_sub -t '#' -v`."""
    with MqttProbe(broker.url, ["#"]) as p:
        yield p
