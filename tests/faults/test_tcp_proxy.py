"""The fault tests' TCP proxy itself: pass, drop, stall and delay, against an echo server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from devtools.tcp_proxy import TcpProxy


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def proxy(echo_port: int) -> Iterator[TcpProxy]:
    with TcpProxy(echo_port) as p:
        yield p


def _connect(proxy: TcpProxy) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    s.sendall(b"hello")
    assert s.recv(100) == b"hello"
    return s


def test_passes_both_ways_and_delays(proxy: TcpProxy) -> None:
    with _connect(proxy) as s:
        proxy.delay(0.3)
        started = time.monotonic()
        s.sendall(b"late")
        assert s.recv(100) == b"late"
        assert time.monotonic() - started >= 0.6  # 0.3 s each way


def test_stall_holds_bytes_and_delivers_them_in_order(proxy: TcpProxy) -> None:
    with _connect(proxy) as s:
        proxy.stall()
        s.sendall(b"one,")
        s.sendall(b"two")
        s.settimeout(0.5)
        with pytest.raises(TimeoutError):
            s.recv(100)
        proxy.pass_()
        s.settimeout(5)
        got = b""
        while len(got) < 7:
            got += s.recv(100)
        assert got == b"one,two"


def test_drop_closes_connections_and_refuses_new_ones_until_pass(proxy: TcpProxy) -> None:
    s = _connect(proxy)
    proxy.drop()
    assert s.recv(100) == b"", "the dropped connection must read as closed"
    s.close()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as refused:
        assert refused.recv(100) == b""
    proxy.pass_()
    _connect(proxy).close()
    assert [a.upstream for a in proxy.accepted] == [True, False, True]


def test_only_loopback_targets() -> None:
    with pytest.raises(ValueError, match="not loopback"):
        TcpProxy(80, "192.0.2.1")
