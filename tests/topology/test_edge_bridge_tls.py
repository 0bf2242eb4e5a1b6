"""An edge's bridge to the central broker over TLS (`tls_ca` in the plant description): what
`factory-broker render` writes is what Mosquitto 2.0.11 uses, the certificate is checked, and a
bad `tls_ca` is refused before any broker starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devtools.edge_topology import EDGE, WATCHER, EdgeTopology, plant_toml
from devtools.local_broker import make_test_certificates
from devtools.mqtt_probe import MqttProbe
from devtools.waits import wait_until
from factory_broker.provision import BRIDGE_CONF_DIR, BRIDGE_CONF_FILE, edge_dir
from factory_core.contract import Topics

GW = "tls-gw"
t = Topics()


def test_readings_cross_a_tls_bridge_that_checks_the_central_certificate(tmp_path: Path) -> None:
    with EdgeTopology(tmp_path, GW, tls=True) as topology:
        conf = (edge_dir(topology.out, EDGE) / BRIDGE_CONF_DIR / BRIDGE_CONF_FILE).read_text()
        assert topology.tls is not None
        assert f"bridge_cafile {topology.tls.ca}" in conf.splitlines()
        assert "bridge_insecure false" in conf.splitlines()
        with (
            MqttProbe(topology.url_central(WATCHER), [t.device_state(GW, "temp")]) as central,
            MqttProbe(topology.url_edge(GW), []) as gateway,
        ):
            # The proxy leads only to the central broker's TLS listener: a reading that
            # arrives crossed the bridge over TLS. Published until the link is up.
            def crossed() -> bool:
                gateway.publish(t.device_state(GW, "temp"), '{"value": 21.5}')
                return bool(central.on_topic(t.device_state(GW, "temp")))

            wait_until(crossed, timeout=60, poll=0.5, what="a reading across the TLS bridge")


def test_a_certificate_from_another_ca_is_refused_by_the_edge(tmp_path: Path) -> None:
    # The edge is told to trust a CA that did not sign the central broker's certificate.
    stranger = make_test_certificates(tmp_path / "other-ca")
    topology = EdgeTopology(tmp_path, GW, tls=True, edge_trusts=stranger.ca)
    with topology:
        log = topology.edge_log
        wait_until(
            lambda: log.is_file() and "certificate verify failed" in log.read_text(),
            timeout=60,
            what="the edge broker's log naming the failed certificate check",
        )
        with MqttProbe(topology.url_central(WATCHER), [t.edge_link(EDGE)]) as central:
            assert not [m for m in central.on_topic(t.edge_link(EDGE)) if m.text == "1"]


def test_a_tls_ca_that_is_not_an_absolute_path_is_refused_before_any_broker_starts(
    tmp_path: Path,
) -> None:
    plant = tmp_path / "plant.toml"
    plant.write_text(plant_toml(GW, "central.plant.lan:8883", 10, Path("certs/ca.pem")))
    answer = subprocess.run(
        [sys.executable, "-m", "factory_broker", "check", "--plant", str(plant)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert answer.returncode == 2
    assert "edges.hall.tls_ca" in answer.stderr and "'certs/ca.pem'" in answer.stderr
