"""The real gateway and bridge, each logged in as its own least-privileged user, still do
their whole job: telemetry reaches the dashboard's API and a relay command is confirmed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe
from devtools.stack import Stack
from factory_core.contract import CommandResult, Topics, decode
from tests.broker.helpers import PLANT

t = Topics()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = Path(tmp_path_factory.mktemp("least-privilege"))
    with (
        LocalBroker(workdir / "broker", plant=PLANT, bind_client_ids=True) as broker,
        Stack(
            workdir,
            broker=broker,
            gateway_env={"FACTORY_MQTT_URL": broker.url_for("line1")},
            bridge_env={"FACTORY_MQTT_URL": broker.url_for("bridge")},
        ) as s,
    ):
        yield s


def test_a_relay_command_round_trips_with_role_users(stack: Stack) -> None:
    with MqttProbe(stack.broker.url_for("historian"), t.telemetry_filters()) as historian:
        answer = requests.post(
            f"{stack.base_url}/api/relays/line1/relay_3",
            json={"on": True},
            headers=stack.auth_header,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["ok"] is True
        result = historian.wait_for(
            lambda m: m.topic == t.relay_result("line1", "relay_3"), what="the command's result"
        )
        outcome = decode(t, result.topic, result.payload).payload
        assert isinstance(outcome, CommandResult) and outcome.ok and outcome.on is True
    assert "line1" in stack.api("/api/gateways")["gateways"]
