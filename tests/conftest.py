"""Fixtures shared by every test: a real Mosquitto, and a probe client on it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.waiting_utils import wait_for_logs

from devtools.local_broker import LocalBroker, project_config
from devtools.mqtt_probe import MqttProbe
from factory_broker.provision import render


def _docker_engine_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        answer = subprocess.run(["docker", "info"], check=False, capture_output=True, timeout=5)
        return answer.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class ContainerBroker(LocalBroker):
    """testcontainers' path: the official image with our config, password file and ACL.

    Same users, URLs and restart as LocalBroker; only the process is a container. (Written
    for machines with a Docker engine; CI here has none, so it runs the binary instead.)
    """

    def start(self) -> ContainerBroker:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        render(self.plant, self.auth_dir, env={}, passwords=self.passwords)
        (self.auth_dir / "passwd").chmod(0o644)  # read by uid 1883 inside the image
        self.conf_path.write_text(project_config(bind_client_ids=self.bind_client_ids))
        self._container = (
            DockerContainer("eclipse-mosquitto:2.0")
            .with_volume_mapping(str(self.conf_path), "/mosquitto/config/mosquitto.conf", "ro")
            .with_volume_mapping(str(self.auth_dir), "/mosquitto/auth", "ro")
            .with_volume_mapping(str(self.data_dir), "/mosquitto/data", "rw")
            .with_exposed_ports(1883)
        )
        self._container.start()
        wait_for_logs(self._container, "running")
        self.port = int(self._container.get_exposed_port(1883))
        return self

    def stop(self, kill: bool = False) -> None:
        container = self.__dict__.pop("_container", None)
        if container is not None:
            container.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A real Mosquitto with the project's config, on a free port, fresh for each test."""
    if _docker_engine_answers():
        container = ContainerBroker(tmp_path / "broker").start()
        try:
            yield container
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
