"""The MQTT contract module: topics and payloads, without a broker."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factory_core.alarms import Condition
from factory_core.contract import (
    DEVICE_ALARMS,
    ID_PATTERN,
    AlarmState,
    AlarmStateTopic,
    CommandResult,
    ContractError,
    DeviceState,
    DeviceStateTopic,
    GatewayMeta,
    LateSamples,
    LateSamplesTopic,
    PayloadError,
    RebirthTopic,
    RelayCommand,
    RelaySetTopic,
    RelayState,
    ServiceTopic,
    StatusTopic,
    SystemStats,
    TopicError,
    Topics,
    decode,
    json_schemas,
)
from factory_core.settings import parse_mqtt_url

ids = st.from_regex(ID_PATTERN, fullmatch=True)
topics = Topics()
FUZZ = settings(max_examples=10_000, deadline=None)
# 10,000 payloads took 55 s on the shared, busy 2-core box (measured), near the suite's
# default 120 s timeout. This is CPU time, not a wait: a slow run is not a failure.
FUZZ_TIMEOUT = pytest.mark.timeout(600)


def test_builders_follow_the_design_table() -> None:
    assert topics.status("gw1") == "factory/gw1/status"
    assert topics.meta("gw1") == "factory/gw1/meta"
    assert topics.device_state("gw1", "temp") == "factory/gw1/devices/temp/state"
    assert topics.relay_state("gw1", "r1") == "factory/gw1/relays/r1/state"
    assert topics.relay_set("gw1", "r1") == "factory/gw1/relays/r1/set"
    assert topics.relay_result("gw1", "r1") == "factory/gw1/relays/r1/result"
    assert topics.system("gw1") == "factory/gw1/system"
    assert topics.rebirth() == "factory/rebirth"
    assert Topics("plant/a").status("gw") == "plant/a/gw/status"


def test_samples_are_the_frequent_telemetry_and_nothing_a_command_depends_on() -> None:
    samples = topics.sample_filters()
    assert set(samples) < set(topics.telemetry_filters())
    assert samples == ["factory/+/devices/+/state", "factory/+/system"]


@pytest.mark.parametrize("bad", ["GW", "a/b", "", "x" * 65, "+", "#", "é"])
def test_builders_refuse_ids_outside_the_pattern(bad: str) -> None:
    with pytest.raises(ValueError) as err:
        topics.device_state("gw", bad)
    assert repr(bad) in str(err.value)


@pytest.mark.parametrize("bad", ["", "a//b", "a/+", "#", "/lead"])
def test_prefix_is_validated(bad: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        Topics(bad)


@given(gw=ids, item=ids)
def test_every_built_topic_parses_back(gw: str, item: str) -> None:
    for built in (
        topics.status(gw),
        topics.meta(gw),
        topics.system(gw),
        topics.device_state(gw, item),
        topics.relay_state(gw, item),
        topics.relay_set(gw, item),
        topics.relay_result(gw, item),
        topics.late_samples(gw),
    ):
        assert topics.build(topics.parse(built)) == built
    assert topics.parse(topics.relay_set(gw, item)) == RelaySetTopic(gw, item)


@pytest.mark.parametrize(
    "topic",
    [
        "other/gw/status",
        "factory/GW/status",
        "factory/gw/unknown",
        "factory/gw/devices/t/value",
        "factory/gw/devices/T!/state",
        "factory/gw/relays/r1/toggle",
        "factory",
        "factory/",
    ],
)
def test_topics_outside_the_contract_are_named_in_the_error(topic: str) -> None:
    with pytest.raises(TopicError) as err:
        topics.parse(topic)
    assert repr(topic) in str(err.value)


def test_status_and_rebirth_are_plain_text() -> None:
    assert decode(topics, "factory/gw/status", b"offline").payload == "offline"
    assert decode(topics, "factory/rebirth", b"").topic == RebirthTopic()
    with pytest.raises(PayloadError, match="online"):
        decode(topics, "factory/gw/status", b"maybe")


def test_device_state_round_trip() -> None:
    state = DeviceState(value=21.5, unit="°C", ts=1_700_000_000.5, seq=7)
    msg = decode(topics, topics.device_state("gw", "temp"), state.to_bytes())
    assert msg.topic == DeviceStateTopic("gw", "temp")
    assert msg.payload == state


def test_unknown_fields_from_field_devices_are_ignored() -> None:
    raw = json.dumps({"value": True, "ts": 1.0, "seq": 1, "battery": 87}).encode()
    payload = decode(topics, "factory/gw/devices/door/state", raw).payload
    assert isinstance(payload, DeviceState)
    assert payload.value is True


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"on": "yes", "id": "c1", "deadline": 5}', "on"),
        (b'{"on": true, "deadline": 5}', "id"),
        (b'{"on": true, "id": "bad id!", "deadline": 5}', "id"),
        (b'{"on": true, "id": "c1", "deadline": -1}', "deadline"),
        (b'{"on": 1, "id": "c1", "deadline": 5}', "on"),
    ],
)
def test_bad_commands_are_rejected_naming_the_problem(payload: bytes, named: str) -> None:
    with pytest.raises(PayloadError) as err:
        decode(topics, "factory/gw/relays/r1/set", payload)
    assert named in str(err.value)
    assert "factory/gw/relays/r1/set" in str(err.value)


@pytest.mark.parametrize("payload", [b"[" * 60_000, b'{"v":' * 12_000])
def test_deeply_nested_payload_is_a_payload_error(payload: bytes) -> None:
    with pytest.raises(PayloadError, match=r"nested too deeply|not valid JSON"):
        decode(topics, "factory/gw/relays/r1/set", payload)


def test_huge_payload_is_refused_before_parsing() -> None:
    with pytest.raises(PayloadError, match="exceeds"):
        decode(topics, "factory/gw/meta", b"{" + b" " * 70_000 + b"}")


def test_nan_is_not_a_reading() -> None:
    with pytest.raises(PayloadError, match="value"):
        decode(topics, "factory/gw/devices/t/state", b'{"value": NaN, "ts": 1, "seq": 1}')


def test_every_payload_model_has_a_schema_with_its_required_fields() -> None:
    schemas = json_schemas()
    assert set(schemas["relay_command"]["required"]) == {"on", "id", "deadline"}
    assert set(schemas["device_state"]["required"]) >= {"value", "ts", "seq"}
    assert set(schemas) == {
        "meta",
        "device_state",
        "relay_state",
        "relay_command",
        "lock_command",
        "all_to_safe_command",
        "command_result",
        "system",
        "alarm_state",
        "alarm_command",
        "alarm_result",
        "gateway_alarm_ack",
        "out_of_service",
        "late_samples",
    }
    assert set(schemas["late_samples"]["required"]) == {"seq", "samples"}
    assert set(schemas["lock_command"]["required"]) == {"lock", "id", "by", "role", "deadline"}
    assert set(schemas["alarm_command"]["required"]) == {"action", "id", "deadline"}


@given(gw=ids, source=ids, condition=st.sampled_from(sorted(DEVICE_ALARMS)))
def test_alarm_topics_parse_back(gw: str, source: str, condition: Condition) -> None:
    for built in (
        topics.alarm_state(gw, source, condition),
        topics.alarm_set(gw, source, condition),
        topics.alarm_result(gw, source, condition),
    ):
        assert topics.build(topics.parse(built)) == built
    assert topics.parse(topics.alarm_state(gw, source, condition)) == AlarmStateTopic(
        gw, source, condition
    )


def test_late_samples_are_history_only_and_validated_naming_the_sample() -> None:
    topic = topics.late_samples("gw")
    assert topic == "factory/gw/late_samples"
    # Read by every reader of the plant, but not a sample: superseded by nothing, QoS 1.
    assert "factory/+/late_samples" in topics.telemetry_filters()
    assert "factory/+/late_samples" not in topics.sample_filters()
    good = b'{"seq": 7, "samples": [{"device": "t", "ts": 5.5, "value": 21.5}], "dropped": 3}'
    message = decode(topics, topic, good)
    assert message.topic == LateSamplesTopic("gw")
    assert isinstance(message.payload, LateSamples)
    assert message.payload.samples[0].quality == "good"
    with pytest.raises(PayloadError, match=r"samples\[1\]\.device.*'T!'"):
        decode(topics, topic, b'{"seq": 1, "samples": [{"device": "t", "ts": 1, "value": 1},'
               b' {"device": "T!", "ts": 1, "value": 1}]}')  # fmt: skip
    with pytest.raises(PayloadError, match="samples"):
        decode(topics, topic, b'{"seq": 1, "samples": []}')


def test_alarm_topics_follow_the_contract() -> None:
    assert topics.alarm_state("gw1", "temp", "hi") == "factory/gw1/alarms/temp/hi/state"
    assert topics.gateway_alarm_ack("gw1", "silent") == "factory/gw1/gateway_alarms/silent/ack"
    with pytest.raises(TopicError, match="'warm'"):
        topics.parse("factory/gw1/alarms/temp/warm/state")
    with pytest.raises(TopicError, match="'hi'"):
        topics.parse("factory/gw1/gateway_alarms/hi/ack")
    with pytest.raises(TopicError, match="'offline'"):  # a gateway's own: not a device's
        topics.parse("factory/gw1/alarms/gateway/offline/state")
    with pytest.raises(ValueError, match="'hi'"):
        topics.gateway_alarm_ack("gw1", "hi")
    assert topics.service("gw1", "temp") == "factory/gw1/service/temp"
    assert topics.parse("factory/gw1/service/temp") == ServiceTopic("gw1", "temp")
    assert decode(topics, "factory/gw1/service/temp", b"").payload is None  # back in service
    # A retained alarm is removed with an empty payload.
    assert decode(topics, "factory/gw1/alarms/temp/hi/state", b"").payload is None


def test_malformed_alarm_states_are_refused_naming_the_field() -> None:
    with pytest.raises(PayloadError, match="priority"):
        decode(
            topics,
            "factory/gw1/alarms/temp/hi/state",
            b'{"priority": "urgent", "active": true, "acked": false, "state": "unacked",'
            b' "since": 1, "ts": 1}',
        )
    good = AlarmState(priority="high", active=True, acked=False, state="unacked", since=1, ts=1)
    assert decode(topics, "factory/gw1/alarms/temp/hi/state", good.to_bytes()).payload == good


def test_models_validate_on_construction() -> None:
    with pytest.raises(ValueError, match="id"):
        RelayCommand(on=True, id="", deadline=1.0)
    assert CommandResult(id="c1", ok=False, error="expired").error == "expired"
    assert RelayState(on=True, ts=1, seq=1, reason="link_loss").reason == "link_loss"
    assert SystemStats(cpu=1, memory=2, disk=3, uptime=4, ts=5).temperature is None
    meta = GatewayMeta(version="1", devices=[], relays=[])
    assert decode(topics, "factory/g/meta", meta.to_bytes()).payload == meta


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1883", ("127.0.0.1", 1883, None, None, False)),
        ("mqtt://broker", ("broker", 1883, None, None, False)),
        ("mqtts://u:p%40ss@broker:8884", ("broker", 8884, "u", "p@ss", True)),
    ],
)
def test_mqtt_url(url: str, expected: tuple[object, ...]) -> None:
    b = parse_mqtt_url(url)
    assert (b.host, b.port, b.username, b.password, b.tls) == expected
    assert "p@ss" not in str(b)


@pytest.mark.parametrize("bad", ["http://x", "mqtt://", "mqtt://h:99999", "mqtt://h/path"])
def test_bad_mqtt_url_is_named(bad: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_mqtt_url(bad)
    assert repr(bad) in str(err.value)


# Fuzz: at least 10,000 generated inputs per parser; only contract errors may come out.


@FUZZ_TIMEOUT
@pytest.mark.fuzz
@FUZZ
@given(st.text(max_size=120))
def test_fuzz_topic_parser(topic: str) -> None:
    try:
        parsed = topics.parse(topic)
    except TopicError:
        return
    assert topics.build(parsed) == topic


@FUZZ_TIMEOUT
@pytest.mark.fuzz
@FUZZ
@given(
    st.sampled_from(
        [
            "factory/gw/status",
            "factory/gw/meta",
            "factory/gw/system",
            "factory/gw/devices/d/state",
            "factory/gw/relays/r/state",
            "factory/gw/relays/r/set",
            "factory/gw/relays/r/result",
        ]
    ),
    st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["on", "id", "ts", "seq", "value", "deadline", "cpu", "x"]),
                    inner,
                    max_size=6,
                )
            ),
            max_leaves=12,
        ).map(lambda v: json.dumps(v).encode()),
    ),
)
def test_fuzz_payload_decoder(topic: str, payload: bytes) -> None:
    try:
        msg = decode(topics, topic, payload)
    except ContractError:
        return
    assert msg.topic == topics.parse(topic)
    if isinstance(msg.topic, StatusTopic):
        assert msg.payload in ("online", "offline")


def test_published_json_schemas_match_the_code() -> None:
    """docs/schemas/ is what field-device authors read; `make schemas` regenerates it."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "docs" / "schemas"
    for name, schema in json_schemas().items():
        on_disk = json.loads((folder / f"{name}.schema.json").read_text())
        assert on_disk == schema, f"docs/schemas/{name}.schema.json is stale: run `make schemas`"
