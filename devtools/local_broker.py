"""Run a real Mosquitto with the project's config on a chosen port (tests, demo, bench).

The broker has no anonymous access, as in production: it gets its users and ACL from a plant
description (factory_core.broker_admin, written by factory_broker.provision), plus a test
superuser whose credentials are in ``LocalBroker.url``, so that a client given only that URL can
read and write every topic.

Production binds each client id to its username (``use_username_as_clientid``): one login, one
connection. Tests that hand ``LocalBroker.url`` to many clients at once cannot live with that,
so a LocalBroker leaves client ids free unless ``bind_client_ids=True`` (the broker tests and
the demo run bound, as shipped).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final
from urllib.parse import quote

from factory_broker.provision import (
    ACL_FILE,
    PASSWD_FILE,
    read_secrets,
    render,
    resolve_passwords,
    write_secrets,
)
from factory_core.broker_admin import Plant, Role, User, password_env_var

REPO = Path(__file__).resolve().parents[1]
PROJECT_CONF = REPO / "mosquitto" / "mosquitto.conf"
TEST_ADMIN: Final = "test-admin"


class BrokerError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files of a TLS listener: the CA clients trust, the server's certificate and key."""

    ca: Path
    cert: Path
    key: Path


def tls_listener_config(port: int, files: TlsFiles, bind: str = "127.0.0.1") -> str:
    """The TLS listener of mosquitto.conf's commented example, with real paths."""
    return (
        f"listener {port} {bind}\nprotocol mqtt\n"
        f"cafile {files.ca}\ncertfile {files.cert}\nkeyfile {files.key}\n"
    )


CLIENT_ID_BINDING: Final = r"^use_username_as_clientid true\s*$"


def project_config(*, bind_client_ids: bool) -> str:
    """mosquitto.conf as shipped, or without its client-id binding (many connections of one
    test superuser at once)."""
    text = PROJECT_CONF.read_text()
    unbound, found = re.subn(CLIENT_ID_BINDING, "", text, count=1, flags=re.M)
    if not found:
        raise BrokerError(f"{PROJECT_CONF} lost the line matching {CLIENT_ID_BINDING!r}")
    return text if bind_client_ids else unbound


def render_config(
    port: int,
    data_dir: Path,
    bind: str = "127.0.0.1",
    extra: str = "",
    auth_dir: Path | None = None,
    *,
    bind_client_ids: bool = True,
) -> str:
    """The project's mosquitto.conf with only the listener address, the data directory and
    (given ``auth_dir``) the password and ACL file locations changed, and the client-id
    binding dropped unless ``bind_client_ids``."""
    text = project_config(bind_client_ids=bind_client_ids)
    wanted = {
        r"^listener 1883\s*$": f"listener {port} {bind}",
        r"^persistence_location .*$": f"persistence_location {data_dir}/",
    }
    if auth_dir is not None:
        wanted[r"^password_file .*$"] = f"password_file {auth_dir / PASSWD_FILE}"
        wanted[r"^acl_file .*$"] = f"acl_file {auth_dir / ACL_FILE}"
    for pattern, line in wanted.items():
        text, found = re.subn(pattern, line, text, count=1, flags=re.M)
        if not found:
            raise BrokerError(f"{PROJECT_CONF} lost the line matching {pattern!r}")
    return text + ("\n" + extra if extra else "")


def make_test_certificates(directory: Path, host: str = "127.0.0.1") -> TlsFiles:
    """A throw-away CA and a server certificate for ``host`` and localhost (openssl)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        ["req", "-x509", *ec, "-keyout", str(directory / "ca.key"), "-out", str(files.ca),
         "-days", "2", "-subj", "/CN=Factory IoT test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", *ec, "-keyout", str(files.key), "-out", str(directory / "server.csr"),
         "-subj", "/CN=localhost"],
    ]  # fmt: skip
    extensions = directory / "server.ext"
    extensions.write_text(
        f"subjectAltName=IP:{host},DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    steps.append(
        ["x509", "-req", "-in", str(directory / "server.csr"), "-CA", str(files.ca),
         "-CAkey", str(directory / "ca.key"), "-CAcreateserial", "-days", "2",
         "-out", str(files.cert), "-extfile", str(extensions)]
    )  # fmt: skip
    openssl = shutil.which("openssl")
    if not openssl:
        raise BrokerError("openssl is not installed: `sudo apt-get install openssl`")
    for step in steps:
        answer = subprocess.run([openssl, *step], capture_output=True, text=True, check=False)
        if answer.returncode != 0:
            raise BrokerError(f"openssl {step[0]} failed: {answer.stderr}")
    return files


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 30) -> None:
    """Generous by default: a broker starting on a busy CI box may take seconds to listen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise BrokerError(f"nothing listens on {host}:{port} after {timeout} s")


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )
    if not found:
        raise BrokerError(
            "mosquitto is not installed: run `make setup` as root,"
            " or `sudo apt-get install mosquitto`"
        )
    return found


class LocalBroker:
    """A mosquitto process; restartable with the same port, data and users (fault tests).

    ``plant`` gives the users and roles (default: none) and ``passwords`` any passwords to use
    (by user name; the others are generated once per instance). ``admin`` names a superuser
    added to the plant (``None``: no superuser). With ``tls`` a second listener, on
    ``tls_port``, speaks TLS only. ``bind_client_ids`` keeps mosquitto.conf's binding of
    client ids to usernames (one connection per login, as in production); without it a login,
    such as the superuser, may hold many connections, each with its own client id.
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        extra_config: str = "",
        *,
        plant: Plant | None = None,
        passwords: Mapping[str, str] | None = None,
        admin: str | None = TEST_ADMIN,
        tls: TlsFiles | None = None,
        tls_port: int | None = None,
        bind_client_ids: bool = False,
    ) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.data_dir = workdir / "data"
        self.auth_dir = workdir / "auth"
        self.conf_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        self.extra_config = extra_config
        base = plant or Plant()
        self.plant = base.with_users(User(admin, Role.ADMIN)) if admin else base
        self.admin = admin
        given = {password_env_var(user): pw for user, pw in (passwords or {}).items()}
        self.passwords, _ = resolve_passwords(self.plant, given)
        self.tls = tls
        self.tls_port = (tls_port or free_port()) if tls else None
        self.bind_client_ids = bind_client_ids
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The superuser's URL: reads and writes every topic."""
        if self.admin is None:
            raise BrokerError("this broker has no superuser: use url_for(<user>)")
        return self.url_for(self.admin)

    def url_for(self, username: str, *, tls: bool = False) -> str:
        """``mqtt://user:password@127.0.0.1:port`` of one of the plant's users."""
        if username not in self.passwords:
            raise BrokerError(f"no user {username!r}; users: {', '.join(self.passwords)}")
        credentials = f"{quote(username, safe='')}:{quote(self.passwords[username], safe='')}"
        if tls:
            if self.tls_port is None:
                raise BrokerError("this broker has no TLS listener (pass tls=TlsFiles(...))")
            return f"mqtts://{credentials}@127.0.0.1:{self.tls_port}"
        return f"mqtt://{credentials}@127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> LocalBroker:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        render(self.plant, self.auth_dir, env={}, passwords=self.passwords)
        extra = self.extra_config
        if os.geteuid() == 0:
            # Mosquitto started as root drops to user `mosquitto`, which cannot read our 0600
            # password file nor the caller's private temporary directories.
            extra = "user root\n" + extra
        if self.tls is not None and self.tls_port is not None:
            extra = tls_listener_config(self.tls_port, self.tls) + extra
        self.conf_path.write_text(
            render_config(
                self.port,
                self.data_dir,
                extra=extra,
                auth_dir=self.auth_dir,
                bind_client_ids=self.bind_client_ids,
            )
        )
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [mosquitto_binary(), "-c", str(self.conf_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(self.port)
            if self.tls_port is not None:
                wait_for_port(self.tls_port)
        except BrokerError:
            self.stop()
            tail = self.log_path.read_text()[-2000:]
            raise BrokerError(f"mosquitto did not start: {tail}") from None
        return self

    def stop(self, kill: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.kill() if kill else proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self, wipe_persistence: bool = False) -> None:
        self.stop()
        if wipe_persistence:
            for f in self.data_dir.glob("*.db"):
                f.unlink()
        self.start()

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()


DEMO_GATEWAY: Final = "line1"
DEMO_BRIDGE: Final = "bridge"
DEMO_READER: Final = "reader"


def demo_credentials(state_dir: Path) -> tuple[Plant, dict[str, str]]:
    """The demo's users (gateway ``line1``, ``bridge``, read-only ``reader``) and passwords:
    generated on the first run into ``state_dir/credentials.env`` (0600), reused after."""
    plant = Plant(
        users=(
            User(DEMO_GATEWAY, Role.GATEWAY),
            User(DEMO_BRIDGE, Role.BRIDGE),
            User(DEMO_READER, Role.READER),
        )
    )
    secrets_file = state_dir / "credentials.env"
    passwords, generated = resolve_passwords(plant, {}, read_secrets(secrets_file))
    if generated:
        write_secrets(secrets_file, plant, passwords)
    return plant, passwords
