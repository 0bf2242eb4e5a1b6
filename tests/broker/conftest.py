"""A broker with every role of the plant, client ids bound to users as shipped, and the
superuser watching everything on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe
from tests.broker.helpers import PLANT


@pytest.fixture(scope="module")
def plant_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    with LocalBroker(
        tmp_path_factory.mktemp("plant-broker"), plant=PLANT, bind_client_ids=True
    ) as b:
        yield b


@pytest.fixture
def admin(plant_broker: LocalBroker) -> Iterator[MqttProbe]:
    """The test superuser, subscribed to everything: sees whatever the broker delivers."""
    with MqttProbe(plant_broker.url, ["#"]) as p:
        yield p
