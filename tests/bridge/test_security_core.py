"""The pure parts of bridge security: token buckets, parsers (property-tested), accounts,
sessions and the audit file, without sockets."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.control.relay_commands import Outcome, SetRelay, parse_request
from bridge.security.accounts import AccountError, Accounts
from bridge.security.audit import AuditEntry, AuditLog, AuditQuery, parse_audit_query
from bridge.security.principals import (
    Auth,
    Login,
    bearer,
    origin_allowed,
    parse_login,
    socket_token,
)
from bridge.security.ratelimit import RateLimiter, TokenBucket
from bridge.security.sessions import Sessions
from bridge.settings import FIELD_NAMES, BridgeSettings, SettingsError, parse_settings

MANY = settings(max_examples=10_000, deadline=None)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
# Flat on purpose: 10,000 examples of a recursive strategy cost Hypothesis far more time
# than the parsers themselves, and a nested value fails the same type checks as a list.
json_values = (
    scalars
    | st.lists(scalars, max_size=3)
    | st.dictionaries(st.text(max_size=5), scalars, max_size=2)
)
identifiers = st.sampled_from(["line1", "relay_1", "", "a b", "x" * 65, "ü", "relay-2"])


# --------------------------------------------------------------------------- rate limits


def test_a_bucket_allows_its_burst_then_one_per_interval() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, tokens=3, stamp=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.25) == pytest.approx(0.25)
    assert bucket.take(0.5) == 0.0
    assert bucket.take(100.0) == 0.0 and bucket.tokens == pytest.approx(2.0)  # capped at burst


def test_a_clock_going_backwards_gives_nothing_away() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, tokens=0, stamp=10.0)
    assert bucket.take(5.0) == pytest.approx(1.0)
    assert bucket.take(10.5) == pytest.approx(0.5)


def test_the_limiter_keeps_one_bucket_per_caller_and_forgets_full_ones() -> None:
    limiter = RateLimiter(per_minute=60, burst=1, max_keys=2)
    assert limiter.take("alice", 0.0) == 0.0
    assert limiter.take("alice", 0.0) == pytest.approx(1.0)
    assert limiter.take("bob", 0.0) == 0.0
    assert limiter.take("carol", 5.0) == 0.0  # alice and bob refilled long ago: forgotten
    assert limiter.take("alice", 5.0) == 0.0
    with pytest.raises(ValueError, match="0"):
        RateLimiter(per_minute=0, burst=1)


# --------------------------------------------------------------------------- parsers


@pytest.mark.fuzz
@MANY
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries({"gateway": identifiers, "relay": identifiers, "on": json_values}),
    )
)
def test_set_relay_parsing_never_raises(data: Any) -> None:
    parsed = parse_request(data)
    if isinstance(parsed, Outcome):
        assert parsed.error == "invalid" and parsed.detail and not parsed.ok
    else:
        assert isinstance(parsed, SetRelay) and isinstance(parsed.on, bool)


@pytest.mark.fuzz
@MANY
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"username": json_values | st.text(max_size=70), "password": json_values},
            optional={"extra": json_values},
        ),
    )
)
def test_login_parsing_never_raises_and_never_echoes_the_password(body: Any) -> None:
    parsed = parse_login(body)
    if isinstance(parsed, str):
        assert parsed
        for part in parsed.split("; "):
            if part.startswith("password"):
                assert "(got" not in part
    else:
        assert isinstance(parsed, Login) and 1 <= len(parsed.username) <= 64


env_names = st.sampled_from(sorted(f"FACTORY_{name.upper()}" for name in FIELD_NAMES))


@pytest.mark.fuzz
@MANY
@given(st.dictionaries(env_names, st.text(max_size=30), max_size=4))
def test_settings_parsing_names_every_bad_variable(values: dict[str, str]) -> None:
    try:
        parsed = parse_settings(values)
    except SettingsError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.split("=", 1)[0] in values
    else:
        assert isinstance(parsed, BridgeSettings)


@pytest.mark.fuzz
@MANY
@given(
    st.dictionaries(st.sampled_from([*sorted(AuditQuery.model_fields), "x"]), st.text(max_size=12))
)
def test_audit_query_parsing_never_raises(args: dict[str, str]) -> None:
    parsed = parse_audit_query(args)
    assert isinstance(parsed, AuditQuery) or (isinstance(parsed, str) and parsed)


def test_settings_report_every_problem_and_hide_the_secret() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(
            {
                "FACTORY_SECRET_KEY": "too-short-secret",
                "FACTORY_CORS_ORIGINS": "*",
                "FACTORY_HTTP_RATE_LIMIT": "lots",
                "FACTORY_COMMAND_BURST": "0",
            }
        )
    text = str(caught.value)
    for variable in ("SECRET_KEY", "CORS_ORIGINS", "HTTP_RATE_LIMIT", "COMMAND_BURST"):
        assert f"FACTORY_{variable}=" in text
    assert "too-short-secret" not in text and "at least 32" in text


def test_bearer_tokens_and_origins() -> None:
    assert bearer("Bearer abc") == "abc" and bearer("bearer  abc ") == "abc"
    assert bearer("Basic abc") is None and bearer(None) is None and bearer("Bearer ") is None
    assert socket_token({"token": "t"}, "Bearer h") == "t"
    assert socket_token({"token": 5}, "Bearer h") == "h" and socket_token(None, None) is None
    environ = {"HTTP_HOST": "plant:5000", "wsgi.url_scheme": "http"}
    assert origin_allowed(None, environ, [])
    assert origin_allowed("http://plant:5000", environ, [])
    assert not origin_allowed("https://plant:5000", environ, [])
    assert not origin_allowed("null", environ, [])
    assert origin_allowed("https://ops.example", environ, ["https://ops.example"])


# --------------------------------------------------------------------------- state files


def test_accounts_sessions_and_roles(tmp_path: Path) -> None:
    clock = [1000.0]
    accounts = Accounts(tmp_path)
    sessions = Sessions(tmp_path / "sessions.json", lifetime=60, clock=lambda: clock[0])
    auth = Auth(accounts, sessions)
    accounts.add_user("vera", "viewer", "long enough")
    assert accounts.verify("vera", "long enough") is not None
    assert accounts.verify("vera", "wrong password") is None
    assert accounts.verify("nobody", "long enough") is None
    with pytest.raises(AccountError, match="role 'root'"):
        accounts.add_user("root", "root", "long enough")
    with pytest.raises(AccountError, match="'Vera!'"):
        accounts.add_user("Vera!", "viewer", "long enough")

    session = sessions.create("vera")
    vera = auth.identify(None, session.id)
    assert vera is not None and vera.role == "viewer" and not vera.can("set_relay")
    assert auth.csrf_ok(vera, session.csrf) and not auth.csrf_ok(vera, None)
    assert session.id not in (tmp_path / "sessions.json").read_text()  # only its hash
    clock[0] += 61
    assert auth.refresh(vera) is None  # expired

    secret = accounts.add_token("plc", "operator")
    plc = auth.identify(secret, "ignored")
    assert plc is not None and plc.name == "token:plc" and plc.can("set_relay")
    assert auth.csrf_ok(plc, None)  # tokens are not ambient: no CSRF
    assert auth.identify(secret + "x", session.id) is None  # a bad token is not saved by a cookie
    accounts.revoke_token("plc")
    again = accounts.add_token("plc", "operator")
    assert auth.refresh(plc) is None and auth.identify(again, None) is not None
    for name in ("users.json", "tokens.json", "sessions.json"):
        assert os.stat(tmp_path / name).st_mode & 0o777 == 0o600


def test_the_audit_file_skips_junk_lines_and_guards_csv_cells(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    for n, detail in enumerate(["fine", '=HYPERLINK("http://x")']):
        log.append(
            AuditEntry(
                float(n), "u", "admin", "http", "::1", "g", "r", True, "ok", True, None, detail
            )
        )
    with log.path.open("a") as f:
        f.write("not json\n[1]\n")
    page = log.query(AuditQuery(limit=1))
    assert page["total"] == 2 and page["entries"][0]["ts"] == 1.0 and page["next_offset"] == 1
    assert json.loads(log.path.read_text().splitlines()[0])["time"] == "1970-01-01T00:00:00.000Z"
    assert "'=HYPERLINK" in log.csv(AuditQuery())
    assert log.query(AuditQuery(since=0.5))["total"] == 1


def test_the_audit_log_uses_the_disk_worker_it_is_given(tmp_path: Path) -> None:
    """The server's one-thread pool must be used even when it is idle (and so falsy)."""
    from gevent.threadpool import ThreadPool

    pool = ThreadPool(1)
    assert not pool, "an idle gevent ThreadPool is falsy: the reason for this test"
    log = AuditLog(tmp_path / "audit.jsonl", pool)
    assert log.worker is pool
    entry = AuditEntry(ts=1.0, user="u", role="operator", via="http", remote=None,
                       gateway="line1", relay="relay_1", on=True, outcome="ok", ok=True,
                       id="c1", detail=None)  # fmt: skip
    log.append(entry)
    assert log.query(AuditQuery())["total"] == 1, "a read sees every earlier write"
    pool.kill()
