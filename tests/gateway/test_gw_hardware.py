"""The RPi.GPIO backend against the fake RPi.GPIO module; sensors against fake sysfs trees."""

from __future__ import annotations

import threading
from pathlib import Path
from types import ModuleType

import pytest
from gw_helpers import write_ds18b20

from gateway.config import InputConfig, RelayConfig
from gateway.hardware.base import HardwareError
from gateway.hardware.rpi_gpio import RpiGpioBackend
from gateway.hardware.simulated import SimulatedBoard
from gateway.inputs import DigitalInput
from gateway.relays import Relay
from gateway.sensors import SensorError
from gateway.sensors.cpu_temp import CpuTemperature
from gateway.sensors.ds18b20 import Ds18b20


def test_an_active_low_relay_boots_off_without_a_glitch(gpio: ModuleType) -> None:
    backend = RpiGpioBackend("BCM")
    relay = Relay(RelayConfig(id="motor", name="Motor", pin=5, active_low=True), backend)
    assert relay.setup() is False
    # Claimed as an output already at the safe (high = off) level: never low, not even briefly.
    assert gpio.setup_calls == [(5, gpio.OUT, {"pull_up_down": gpio.PUD_OFF, "initial": 1})]
    assert gpio.writes == []
    assert relay.drive(True, cmd="c1", reason="command") is True
    assert gpio.level(5) == gpio.LOW
    assert relay.record.cmd == "c1"


def test_relay_state_is_read_back_from_the_pin(gpio: ModuleType) -> None:
    relay = Relay(RelayConfig(id="pump", name="Pump", pin=6), RpiGpioBackend("BCM"))
    relay.setup()
    gpio.stick(6, gpio.LOW)
    assert relay.drive(True, cmd="c1", reason="command") is False  # the pin did not follow
    assert gpio.writes == [(6, 1)]


def test_an_input_edge_reaches_the_callback_with_the_logical_value(gpio: ModuleType) -> None:
    backend = RpiGpioBackend("BOARD")
    seen: list[bool] = []
    called_from: list[str] = []

    def on_change(_inp: DigitalInput, value: bool) -> None:
        seen.append(value)
        called_from.append(threading.current_thread().name)

    door = DigitalInput(
        InputConfig(id="door", name="Door", pin=11, pull="up", active_low=True, debounce_ms=30),
        backend,
        on_change,
    )
    door.setup()
    assert door.read() is False  # pulled up, switch open
    gpio.drive(11, 0)  # switch closes to ground
    gpio.drive(11, 1)
    assert seen == [True, False]
    assert threading.current_thread().name not in called_from


def test_close_releases_pins_but_keeps_held_relays(gpio: ModuleType) -> None:
    backend = RpiGpioBackend("BCM")
    backend.setup_output(5, True)
    backend.setup_output(6, True)
    backend.setup_input(17, "down")
    backend.watch(17, lambda _lvl: None, 0)
    backend.close(keep=[6])
    assert sorted(gpio.cleaned) == [5, 17]
    assert gpio.is_output(6) and gpio.level(6) == 1


def test_gpio_misuse_becomes_a_hardware_error_naming_the_pin(gpio: ModuleType) -> None:
    backend = RpiGpioBackend("BCM")
    with pytest.raises(HardwareError, match="pin 9"):
        backend.write(9, True)


def test_rpi_gpio_backend_without_the_module_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "RPi", None)
    with pytest.raises(HardwareError, match=r"factory-iot\[pi\]"):
        RpiGpioBackend("BCM")


def test_ds18b20_reads_w1_slave_and_the_temperature_file(tmp_path: Path) -> None:
    device = write_ds18b20(tmp_path, 21437)
    assert Ds18b20(tmp_path).read() == pytest.approx(21.437)
    (device / "temperature").write_text("-1250\n")
    assert Ds18b20(tmp_path, "28-0316a2791cff").read() == pytest.approx(-1.25)


def test_ds18b20_failures_are_sensor_errors(tmp_path: Path) -> None:
    with pytest.raises(SensorError, match="no DS18B20"):
        Ds18b20(tmp_path).read()
    write_ds18b20(tmp_path, 21437, crc_ok=False)
    with pytest.raises(SensorError, match="CRC"):
        Ds18b20(tmp_path).read()
    with pytest.raises(SensorError, match="28-000000000001"):
        Ds18b20(tmp_path, "28-000000000001").read()


def test_ds18b20_power_on_reset_value_is_not_a_reading(tmp_path: Path) -> None:
    write_ds18b20(tmp_path, 85000)
    sensor = Ds18b20(tmp_path)
    with pytest.raises(SensorError, match=r"85\.000 °C, its power-on reset value"):
        sensor.read()
    write_ds18b20(tmp_path, 84500)
    assert sensor.read() == pytest.approx(84.5)
    write_ds18b20(tmp_path, 85000)  # a process really warming up through 85 °C
    assert sensor.read() == pytest.approx(85.0)
    write_ds18b20(tmp_path, 21000)
    assert sensor.read() == pytest.approx(21.0)
    write_ds18b20(tmp_path, 85000)  # a jump from 21 °C: the sensor was power-cycled
    with pytest.raises(SensorError, match="reset value"):
        sensor.read()
    write_ds18b20(tmp_path, 85001)
    assert sensor.read() == pytest.approx(85.001)


def test_cpu_temperature_from_a_thermal_zone(tmp_path: Path) -> None:
    zone = tmp_path / "temp"
    zone.write_text("48312\n")
    assert CpuTemperature(zone).read() == pytest.approx(48.312)


def test_simulated_input_follows_its_wired_output() -> None:
    board = SimulatedBoard(wiring={17: 5})
    board.setup_output(5, False)
    seen: list[bool] = []
    running = DigitalInput(
        InputConfig(id="machine_running", name="Running", pin=17),
        board,
        lambda _i, v: seen.append(v),
    )
    running.setup()
    board.write(5, True)
    assert running.read() is True
    assert seen == [True]
