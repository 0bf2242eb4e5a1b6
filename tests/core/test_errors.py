"""Error messages name the bad key and value and never show a secret."""

from __future__ import annotations

import pytest

from bridge.settings import SettingsError, parse_settings
from factory_core.errors import redact_url, shown
from gateway.config import ConfigError, parse_config

SECRET = "S3cretPW"
BAD_URL = f"mqtt://bridge:{SECRET}@broker:99999"


def test_urls_lose_their_password_and_long_values_are_cut() -> None:
    assert redact_url(BAD_URL) == "mqtt://bridge:***@broker:99999"
    assert redact_url("mqtt://broker:1883") == "mqtt://broker:1883"
    assert shown(SECRET, "password") == "<hidden>"
    assert len(shown("x" * 500)) == 60


def test_a_bad_broker_url_is_named_without_its_password() -> None:
    with pytest.raises(SettingsError) as bridge_err:
        parse_settings({"FACTORY_MQTT_URL": BAD_URL, "FACTORY_HTTP_PORT": "0"})
    text = str(bridge_err.value)
    assert "FACTORY_MQTT_URL" in text and "FACTORY_HTTP_PORT" in text and "invalid port" in text
    assert SECRET not in text

    with pytest.raises(ConfigError) as gateway_err:
        parse_config({"mqtt_url": BAD_URL, "hardware": {"backend": "simulated"}})
    assert SECRET not in str(gateway_err.value)
    assert "mqtt_url" in str(gateway_err.value)
