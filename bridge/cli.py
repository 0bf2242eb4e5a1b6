"""``factory-bridge``: run the bridge until SIGTERM/SIGINT."""

from gevent import monkey

# Before anything else is imported: paho's thread and every socket must be gevent's.
monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import getpass  # noqa: E402
import logging  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402

from bridge.security.accounts import ROLES, Account, AccountError, Accounts  # noqa: E402
from bridge.security.private_files import StateFileError  # noqa: E402
from bridge.security.sessions import Sessions  # noqa: E402
from bridge.settings import BridgeSettings, SettingsError, load_settings  # noqa: E402
from factory_core.logs import setup_logging  # noqa: E402

log = logging.getLogger("bridge")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="factory-bridge",
        description="Serve the plant's MQTT state to browsers over Socket.IO and HTTP; "
        "without a command, run the bridge.",
        epilog="Settings come from FACTORY_* environment variables; see docs/configuration.md.",
    )
    parser.add_argument("--env-file", help="read FACTORY_* settings from this file too")
    parser.add_argument("--state-dir", help="the bridge's state dir (default: FACTORY_STATE_DIR)")
    commands = parser.add_subparsers(dest="command", metavar="{users,tokens}")
    users = commands.add_parser("users", help="dashboard users: add, remove, list")
    user_cmd = users.add_subparsers(dest="action", required=True, metavar="{add,remove,list}")
    add = user_cmd.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    how = add.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    how.add_argument("--generate-password", action="store_true", help="make one; print it")
    user_cmd.add_parser("remove", help="remove a user and end their sessions").add_argument("name")
    user_cmd.add_parser("list", help="list users and roles")
    tokens = commands.add_parser("tokens", help="API tokens for scripts: add, revoke, list")
    token_cmd = tokens.add_subparsers(dest="action", required=True, metavar="{add,revoke,list}")
    add_token = token_cmd.add_parser("add", help="make a token; it is shown once")
    add_token.add_argument("name")
    add_token.add_argument("--role", required=True, choices=ROLES)
    token_cmd.add_parser("revoke", help="revoke a token").add_argument("name")
    token_cmd.add_parser("list", help="list tokens and roles (never the secrets)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is not None:
        state_dir = Path(args.state_dir or _settings_or_exit(args.env_file).state_dir)
        try:
            return manage(args, state_dir)
        except (AccountError, StateFileError, OSError) as exc:
            print(f"factory-bridge {args.command} {args.action}: {exc}", file=sys.stderr)
            return 1
    settings = _settings_or_exit(args.env_file)
    if args.state_dir:
        settings = settings.model_copy(update={"state_dir": Path(args.state_dir)})
    return serve(settings)


def _settings_or_exit(env_file: str | None) -> BridgeSettings:
    try:
        return load_settings(env_file)
    except SettingsError as exc:
        print(f"factory-bridge: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def manage(args: argparse.Namespace, state_dir: Path) -> int:
    accounts = Accounts(state_dir)
    listed: list[Account] = []
    if (args.command, args.action) == ("users", "add"):
        password = _password(args)
        accounts.add_user(args.name, args.role, password)
        print(f"added user {args.name} ({args.role})")
        if args.generate_password:
            print(f"password: {password}")
    elif (args.command, args.action) == ("users", "remove"):
        accounts.remove_user(args.name)
        Sessions(state_dir / "sessions.json", 0).end_user(args.name)
        print(f"removed user {args.name}; their sessions are ended")
    elif (args.command, args.action) == ("tokens", "add"):
        secret = accounts.add_token(args.name, args.role)
        print(f"added token {args.name} ({args.role}); it is shown only now:\n{secret}")
    elif (args.command, args.action) == ("tokens", "revoke"):
        accounts.revoke_token(args.name)
        print(f"revoked token {args.name}")
    else:
        listed = accounts.users() if args.command == "users" else accounts.tokens()
        for account in listed:
            created = datetime.fromtimestamp(account.created, UTC).strftime("%Y-%m-%d %H:%M")
            print(f"{account.name:<32} {account.role:<8} created {created} UTC")
        if not listed:
            print(f"no {args.command} in {state_dir}", file=sys.stderr)
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.generate_password:
        return secrets.token_urlsafe(15)
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise AccountError("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def serve(settings: BridgeSettings) -> int:
    # Here, not at the top: the users/tokens commands should not pay for the web stack.
    from bridge.app import create_app  # noqa: PLC0415
    from bridge.server import PortInUseError, make_server  # noqa: PLC0415

    setup_logging(settings.log_level, settings.log_format)
    try:
        bridge = create_app(settings)
    except (StateFileError, OSError) as exc:
        print(f"factory-bridge: state dir {settings.state_dir}: {exc}", file=sys.stderr)
        return 1
    try:
        server = make_server(bridge.app, settings.http_host, settings.http_port)
    except PortInUseError as exc:
        print(f"factory-bridge: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"factory-bridge: cannot listen on {settings.http_host}:{settings.http_port}: "
              f"{exc.strerror or exc}", file=sys.stderr)  # fmt: skip
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, server.stop)
    if not bridge.auth.accounts.users() and not bridge.auth.accounts.tokens():
        log.warning(
            "no users or tokens in %s: nobody can log in; add one with "
            "`factory-bridge users add NAME --role admin`",
            settings.state_dir,
        )
    bridge.start()
    # Everything made so far lives as long as the process: keep it out of every full
    # collection, which otherwise walks it all and stalls every push (bench, 1,000 clients:
    # 67-80 ms pauses during the load, the whole p99). Young collections 14x less often
    # promote fewer packets that are merely in flight, so full ones come rarely.
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    log.info(
        "bridge %s on http://%s:%d, broker %s",
        bridge.mqtt.client_id,
        settings.http_host,
        settings.http_port,
        settings.broker,
    )
    try:
        server.serve_forever()
    finally:
        bridge.stop()
        log.info("bridge stopped")
    return 0
