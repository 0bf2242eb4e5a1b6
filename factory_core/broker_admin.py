"""Broker users and ACL from one plant description (``factory-broker render``).

A plant description (TOML) lists the topic prefix, the gateways (each gets a user named after
its gateway id) and the other users with one role each. From it this module renders
Mosquitto's ACL file (pure) and its password file (hashed by ``mosquitto_passwd -U``, never by
us). Passwords never live in the description: they come from ``FACTORY_BROKER_PASSWORD_<USER>``
environment variables, from a secrets file written by an earlier run, or are generated.

Identity is the username: ACL rules are ``user`` blocks, never ``%c`` (a client picks its own
client id) and never ``pattern`` (a pattern applies to every user, so a reader named like a
gateway would gain write access to that gateway's subtree).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from factory_core import ha_topics
from factory_core.contract import DEFAULT_PREFIX, ID_PATTERN, PREFIX_PATTERN, Topics, is_identifier

USERNAME_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
_USERNAME_RE: Final = re.compile(USERNAME_PATTERN)
PASSWORD_ENV_PREFIX: Final = "FACTORY_BROKER_PASSWORD_"
PASSWD_FILE: Final = "passwd"
ACL_FILE: Final = "acl"
EXIT_INVALID: Final = 2


class Role(enum.StrEnum):
    GATEWAY = "gateway"  # publishes its own subtree, reads its own commands and rebirth
    BRIDGE = "bridge"  # reads the whole prefix, publishes commands and rebirth
    READER = "reader"  # reads telemetry, publishes nothing
    WRITER = "writer"  # reads telemetry, commands the relays it lists
    ADMIN = "admin"  # reads and writes every topic: operators' tools and tests


# Gateways are declared in `gateways`, so a user table may not claim that role.
USER_ROLES: Final = tuple(r.value for r in Role if r is not Role.GATEWAY)


class PlantError(ValueError):
    """Every problem of a plant description, one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("invalid plant description:\n  " + "\n  ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class RelayRef:
    gateway: str
    relay: str

    def __str__(self) -> str:
        return f"{self.gateway}/{self.relay}"


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    relays: tuple[RelayRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Plant:
    prefix: str = DEFAULT_PREFIX
    users: tuple[User, ...] = field(default_factory=tuple)
    # Where gateways publish Home Assistant discovery; "" grants them nothing there.
    home_assistant_prefix: str = ha_topics.DEFAULT_DISCOVERY_PREFIX

    def user(self, name: str) -> User:
        for u in self.users:
            if u.name == name:
                return u
        raise KeyError(f"no user {name!r} in the plant description")

    def with_users(self, *extra: User) -> Plant:
        plant = dataclasses.replace(self, users=(*self.users, *extra))
        validate(plant)
        return plant


def password_env_var(username: str) -> str:
    return PASSWORD_ENV_PREFIX + username.upper().replace("-", "_")


# --------------------------------------------------------------------------- parsing


def parse_plant(data: Mapping[str, object]) -> Plant:
    """A plant from its TOML data; raises PlantError listing every problem at once."""
    problems: list[str] = []
    for key in data:
        if key not in ("prefix", "gateways", "users", "home_assistant_prefix"):
            problems.append(
                f"{key}: unknown key (expected prefix, gateways, users, home_assistant_prefix; "
                f"a user's role goes in users.<name>.role, one of {', '.join(USER_ROLES)})"
            )

    prefix = data.get("prefix", DEFAULT_PREFIX)
    if not isinstance(prefix, str):
        problems.append(f"prefix: must be a string, got {prefix!r}")
        prefix = DEFAULT_PREFIX

    ha_prefix = data.get("home_assistant_prefix", ha_topics.DEFAULT_DISCOVERY_PREFIX)
    if not isinstance(ha_prefix, str) or not (
        ha_prefix == "" or re.fullmatch(PREFIX_PATTERN, ha_prefix)
    ):
        problems.append(
            "home_assistant_prefix: must be topic levels of letters, digits, '_' or '-' "
            f"separated by '/' (or empty to turn discovery off), got {ha_prefix!r}"
        )
        ha_prefix = ha_topics.DEFAULT_DISCOVERY_PREFIX

    gateways_raw = data.get("gateways", [])
    gateways: list[str] = []
    if not isinstance(gateways_raw, list):
        problems.append(f"gateways: must be a list of gateway ids, got {gateways_raw!r}")
    else:
        for i, gw in enumerate(gateways_raw):
            if not isinstance(gw, str) or not is_identifier(gw):
                problems.append(f"gateways[{i}]: {gw!r} is not a gateway id ({ID_PATTERN})")
            else:
                gateways.append(gw)

    users = [User(gw, Role.GATEWAY) for gw in gateways]
    users_raw = data.get("users", {})
    if not isinstance(users_raw, dict):
        problems.append(f"users: must be a table of users, got {users_raw!r}")
        users_raw = {}
    for name, spec in users_raw.items():
        user = _parse_user(f"users.{name}", name, spec, problems)
        if user is not None:
            users.append(user)

    plant = Plant(prefix, tuple(users), ha_prefix)
    try:
        validate(plant)
    except PlantError as exc:
        problems.extend(exc.problems)
    if problems:
        raise PlantError(problems)
    return plant


def _parse_user(where: str, name: str, spec: object, problems: list[str]) -> User | None:
    if not isinstance(spec, dict):
        problems.append(f"{where}: must be a table with a role, got {spec!r}")
        return None
    for key in spec:
        if key not in ("role", "relays"):
            problems.append(f"{where}.{key}: unknown key (expected role, relays)")
    role_raw = spec.get("role")
    if role_raw not in USER_ROLES:
        hint = " (gateways are listed in `gateways`)" if role_raw == Role.GATEWAY else ""
        problems.append(
            f"{where}.role: unknown role {role_raw!r}{hint}; "
            f"expected one of {', '.join(USER_ROLES)}"
        )
        return None
    role = Role(role_raw)
    relays_raw = spec.get("relays", [])
    relays: list[RelayRef] = []
    if not isinstance(relays_raw, list):
        problems.append(f"{where}.relays: must be a list of 'gateway/relay', got {relays_raw!r}")
    else:
        for i, ref in enumerate(relays_raw):
            parts = ref.split("/") if isinstance(ref, str) else []
            if len(parts) != 2:
                problems.append(f"{where}.relays[{i}]: {ref!r} is not 'gateway/relay'")
            else:
                relays.append(RelayRef(parts[0], parts[1]))
    return User(name, role, tuple(relays))


def validate(plant: Plant) -> None:
    """Checks that hold for a plant however it was built (TOML or code)."""
    problems: list[str] = []
    try:
        Topics(plant.prefix)
    except ValueError as exc:
        problems.append(f"prefix: {exc}")
    gateways = {u.name for u in plant.users if u.role is Role.GATEWAY}
    seen: dict[str, User] = {}
    env_vars: dict[str, str] = {}
    for u in plant.users:
        where = f"gateways: {u.name!r}" if u.role is Role.GATEWAY else f"users.{u.name}"
        if not _USERNAME_RE.fullmatch(u.name):
            problems.append(f"{where}: {u.name!r} is not a valid user name ({USERNAME_PATTERN})")
        if u.name in seen:
            problems.append(f"{where}: duplicate user {u.name!r} (already a {seen[u.name].role})")
            continue
        seen[u.name] = u
        var = password_env_var(u.name)
        if var in env_vars:
            problems.append(
                f"{where}: user {u.name!r} and user {env_vars[var]!r} would share the "
                f"password variable {var}"
            )
        env_vars[var] = u.name
        if u.role is Role.WRITER and not u.relays:
            problems.append(f"{where}.relays: a writer needs at least one 'gateway/relay'")
        if u.role is not Role.WRITER and u.relays:
            problems.append(f"{where}.relays: only a writer lists relays (this user is a {u.role})")
        for i, ref in enumerate(u.relays):
            if not is_identifier(ref.gateway) or not is_identifier(ref.relay):
                problems.append(f"{where}.relays[{i}]: {str(ref)!r} has an id outside {ID_PATTERN}")
            elif ref.gateway not in gateways:
                problems.append(
                    f"{where}.relays[{i}]: {str(ref)!r} names gateway {ref.gateway!r}, "
                    "which is not listed in gateways"
                )
    if problems:
        raise PlantError(problems)


def load_plant(path: Path) -> Plant:
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise PlantError([f"{path}: cannot read ({exc.strerror})"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlantError([f"{path}: not valid TOML ({exc})"]) from None
    return parse_plant(data)


# --------------------------------------------------------------------------- ACL (pure)


def acl_rules(plant: Plant, user: User) -> list[str]:
    """The ``topic`` lines of one user's ACL block."""
    t = Topics(plant.prefix)
    telemetry = [f"topic read {f}" for f in t.telemetry_filters()]
    match user.role:
        case Role.GATEWAY:
            # Home Assistant discovery: its own entities only (written, and read back to
            # remove stale ones), and HA's birth message.
            ha = plant.home_assistant_prefix
            discovery = [
                f"topic readwrite {ha_topics.discovery_filter(ha, user.name)}",
                f"topic read {ha_topics.status_topic(ha)}",
            ]
            return [
                f"topic write {t.gateway_filter(user.name)}",
                f"topic read {t.command_filter(user.name)}",
                f"topic read {t.rebirth()}",
                *(discovery if ha else []),
            ]
        case Role.BRIDGE:
            return [
                f"topic read {t.everything_filter()}",
                f"topic write {t.all_commands_filter()}",
                f"topic write {t.rebirth()}",
            ]
        case Role.READER:
            return telemetry
        case Role.WRITER:
            return telemetry + [
                f"topic write {t.relay_set(r.gateway, r.relay)}" for r in user.relays
            ]
        case Role.ADMIN:
            return ["topic readwrite #"]
    raise AssertionError(user.role)  # pragma: no cover


def render_acl(plant: Plant) -> str:
    """Mosquitto ACL file text: one ``user`` block per user, nothing for anyone else."""
    lines = [
        "# Generated by `factory-broker render`; edit the plant description, not this file.",
        "# No rules before the first `user` line: clients without a username get nothing.",
    ]
    for user in plant.users:
        lines += ["", f"# {user.role}", f"user {user.name}", *acl_rules(plant, user)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- passwords


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def _check_password(source: str, password: str) -> str | None:
    if not password:
        return f"{source}: the password is empty"
    # mosquitto_passwd -U cuts a plain-text line at its second ':', silently.
    if ":" in password or "\n" in password or "\r" in password:
        return f"{source}: the password contains ':' or a line break, which Mosquitto cannot store"
    return None


def read_secrets(path: Path) -> dict[str, str]:
    """``VAR=value`` lines of a secrets file (comments and blank lines skipped)."""
    if not path.exists():
        return {}
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            var, _, value = line.partition("=")
            found[var.strip()] = value.strip()
    return found


def write_secrets(path: Path, plant: Plant, passwords: Mapping[str, str]) -> None:
    """An env file (``set -a; . FILE`` or compose ``env_file``), created 0600."""
    lines = ["# Broker passwords generated by factory-broker. Keep this file secret."]
    lines += [f"{password_env_var(u.name)}={passwords[u.name]}" for u in plant.users]
    _write_private(path, "\n".join(lines) + "\n")


def resolve_passwords(
    plant: Plant,
    env: Mapping[str, str],
    known: Mapping[str, str] | None = None,
    generate: Callable[[], str] = generate_password,
) -> tuple[dict[str, str], list[str]]:
    """Each user's password: from ``env``, else ``known`` (an earlier secrets file, keyed by
    variable), else generated. Returns the passwords and the names whose password is new."""
    known = known or {}
    passwords: dict[str, str] = {}
    generated: list[str] = []
    problems: list[str] = []
    for u in plant.users:
        var = password_env_var(u.name)
        if var in env:
            source, password = f"environment variable {var}", env[var]
        elif var in known:
            source, password = f"secrets file entry {var}", known[var]
        else:
            source, password = "generated", generate()
            generated.append(u.name)
        if problem := _check_password(source, password):
            problems.append(problem)
        passwords[u.name] = password
    if problems:
        raise PlantError(problems)
    return passwords, generated


def mosquitto_passwd_binary() -> str:
    found = shutil.which("mosquitto_passwd")
    if not found:
        raise FileNotFoundError(
            "mosquitto_passwd is not installed (it comes with the mosquitto package)"
        )
    return found


def write_password_file(path: Path, passwords: Mapping[str, str]) -> None:
    """Hash with ``mosquitto_passwd -U`` (passwords stay off the command line), then swap the
    finished file into place so that a running broker never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".passwd-", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w") as f:
            f.writelines(f"{user}:{pw}\n" for user, pw in passwords.items())
        answer = subprocess.run(
            [mosquitto_passwd_binary(), "-U", str(tmp)], capture_output=True, text=True, check=False
        )
        if answer.returncode != 0:
            raise RuntimeError(f"mosquitto_passwd -U failed: {answer.stdout}{answer.stderr}")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        Path(tmp_name).replace(path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Rendered:
    passwd: Path
    acl: Path
    passwords: dict[str, str]
    generated: list[str]


def render(
    plant: Plant,
    out: Path,
    env: Mapping[str, str],
    secrets_file: Path | None = None,
    passwords: Mapping[str, str] | None = None,
) -> Rendered:
    """Write ``out/passwd`` and ``out/acl``; with ``secrets_file``, passwords are read from it
    and new ones are stored there (0600), so a second run keeps everyone's password.
    ``passwords`` (by user name) take precedence over everything: for tools that hold them."""
    known = read_secrets(secrets_file) if secrets_file else {}
    given = {password_env_var(u): pw for u, pw in (passwords or {}).items()}
    resolved, generated = resolve_passwords(plant, {**env, **given}, known)
    out.mkdir(parents=True, exist_ok=True)
    write_password_file(out / PASSWD_FILE, resolved)
    acl = out / ACL_FILE
    _write_private(acl, render_acl(plant))
    acl.chmod(0o644)
    if secrets_file is not None and generated:
        # Passwords supplied from outside stay out of the file: it holds only what we made up.
        from_outside = {u.name for u in plant.users if password_env_var(u.name) in {**env, **given}}
        write_secrets(
            secrets_file,
            Plant(plant.prefix, tuple(u for u in plant.users if u.name not in from_outside)),
            resolved,
        )
    return Rendered(out / PASSWD_FILE, acl, resolved, generated)


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="factory-broker", description="Mosquitto users and ACL for Factory IoT"
    )
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser(
        "render",
        help="write DIR/passwd and DIR/acl from a plant description",
        description=(
            "Passwords come from FACTORY_BROKER_PASSWORD_<USER> (user name upper-cased, '-' as "
            "'_'), else from --secrets, else are generated: stored in --secrets (0600) when "
            "given, otherwise printed once."
        ),
    )
    r.add_argument("--plant", type=Path, required=True, help="plant description (TOML)")
    r.add_argument("--out", type=Path, required=True, help="directory for passwd and acl")
    r.add_argument("--secrets", type=Path, help="env file holding generated passwords (0600)")
    c = sub.add_parser("check", help="validate a plant description and print its ACL")
    c.add_argument("--plant", type=Path, required=True)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        plant = load_plant(args.plant)
        if args.command == "check":
            print(render_acl(plant), end="")
            return 0
        done = render(plant, args.out, os.environ, args.secrets)
    except PlantError as exc:
        print(f"factory-broker: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except (OSError, RuntimeError) as exc:
        print(f"factory-broker: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {done.passwd} ({len(done.passwords)} users) and {done.acl}")
    if done.generated and args.secrets:
        print(f"new passwords for {', '.join(done.generated)} stored in {args.secrets}")
    elif done.generated:
        print("generated passwords (shown once, store them now):")
        for name in done.generated:
            print(f"  {password_env_var(name)}={done.passwords[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
