"""The safeguards' part of the MQTT contract: lock and all-to-safe topics, their payloads, the
new error codes and what a relay state and a meta carry."""

from __future__ import annotations

import pytest

from factory_core.contract import (
    AllToSafeResultTopic,
    AllToSafeTopic,
    ErrorCode,
    GatewayMeta,
    InterlockRule,
    LockCommand,
    PayloadError,
    RelayLockTopic,
    RelayState,
    Topics,
    decode,
)

topics = Topics()


def test_lock_and_all_to_safe_topics_build_and_parse() -> None:
    cases = [
        (topics.relay_lock("line1", "relay_1"), RelayLockTopic("line1", "relay_1")),
        (topics.all_to_safe("line1"), AllToSafeTopic("line1")),
        (topics.all_to_safe_result("line1"), AllToSafeResultTopic("line1")),
    ]
    for text, parsed in cases:
        assert topics.parse(text) == parsed
        assert topics.build(parsed) == text
    assert topics.relay_lock("line1", "relay_1") == "factory/line1/relays/relay_1/lock"
    assert "factory/+/all_to_safe/result" in topics.telemetry_filters()
    # Lock commands are not telemetry: readers never see who locks what being commanded.
    assert not any(f.endswith("/lock") for f in topics.telemetry_filters())


def test_a_lock_command_names_what_was_wrong() -> None:
    with pytest.raises(PayloadError) as caught:
        decode(topics, topics.relay_lock("gw", "r1"), b'{"lock": "yes", "id": "c1", "role": "x"}')
    reason = caught.value.reason
    for field in ("lock", "by", "role", "deadline"):
        assert field in reason
    ok = decode(
        topics,
        topics.relay_lock("gw", "r1"),
        b'{"lock": true, "id": "c1", "by": "alice", "role": "operator", "reason": "belt",'
        b' "deadline": 1}',
    ).payload
    assert isinstance(ok, LockCommand) and ok.by == "alice"


def test_the_new_error_codes_and_what_states_and_meta_carry() -> None:
    assert {"interlocked", "locked"} <= set(ErrorCode.__args__)  # type: ignore[attr-defined]
    state = RelayState.model_validate(
        {"on": False, "ts": 1, "seq": 1, "reason": "trip", "rule": "fan_first", "cycles": 3,
         "on_time_s": 12.5, "lock": {"by": "alice", "reason": "belt", "since": 1}}
    )  # fmt: skip
    assert state.lock is not None and state.cycles == 3
    meta = GatewayMeta(
        version="1",
        interlocks=[InterlockRule(id="r", kind="excludes", relay="a", other="b")],
    )
    assert decode(topics, "factory/g/meta", meta.to_bytes()).payload == meta
    assert meta.interlocks[0].describe() == "a and b are never both on"
