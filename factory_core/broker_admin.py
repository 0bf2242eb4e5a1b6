"""Broker users and ACL from one plant description: the pure part, shared by everyone.

A plant description (TOML) lists the topic prefix, the gateways (each gets a user named after
its gateway id) and the other users with one role each. From it this module renders the broker
logins and Mosquitto's ACL file. Writing files, hashing passwords and the ``factory-broker``
command live in ``factory_broker`` (provisioning), which no gateway needs.

Identity is the username: ACL rules are ``user`` blocks, never ``%c`` and never ``pattern``
(a pattern applies to every user, so a reader named like a gateway would gain write access to
that gateway's subtree). The broker also makes the username the client id
(``use_username_as_clientid``), so no user can take over another's connection by sending its
client id. Each connection therefore needs its own login: a bridge (or an admin, which may run
one) also gets ``<name>-samples`` for its second connection, with the same password.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from factory_core import ha_topics
from factory_core.contract import DEFAULT_PREFIX, ID_PATTERN, PREFIX_PATTERN, Topics, is_identifier

USERNAME_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
_USERNAME_RE: Final = re.compile(USERNAME_PATTERN)
PASSWORD_ENV_PREFIX: Final = "FACTORY_BROKER_PASSWORD_"
# The bridge's second connection (samples, MQTT 3.1.1) logs in as <user><SAMPLES_SUFFIX>.
SAMPLES_SUFFIX: Final = "-samples"


class Role(enum.StrEnum):
    GATEWAY = "gateway"  # publishes its own subtree, reads its own commands and rebirth
    BRIDGE = "bridge"  # reads the whole prefix, publishes commands and rebirth
    READER = "reader"  # reads telemetry, publishes nothing
    WRITER = "writer"  # reads telemetry, commands the relays it lists
    ADMIN = "admin"  # reads and writes every topic: operators' tools and tests


# Gateways are declared in `gateways`, so a user table may not claim that role.
USER_ROLES: Final = tuple(r.value for r in Role if r is not Role.GATEWAY)
# Roles a bridge may run as: each user of these also gets a login for the samples connection.
BRIDGE_ROLES: Final = frozenset({Role.BRIDGE, Role.ADMIN})


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


def samples_login(username: str) -> str:
    """The login of a bridge's samples connection: with client ids bound to user names, the
    bridge's two connections cannot share one user (each would push the other off)."""
    return username + SAMPLES_SUFFIX


@dataclass(frozen=True, slots=True)
class Login:
    """One user name in the broker's password file and ACL, and the plant user it belongs to
    (whose password it shares)."""

    name: str
    user: User

    @property
    def is_samples_connection(self) -> bool:
        return self.name != self.user.name


def logins(plant: Plant) -> list[Login]:
    """Every broker login of the plant: each user's own, then its samples login if it may run
    a bridge. One login is one connection at a time (the broker makes it the client id)."""
    found: list[Login] = []
    for u in plant.users:
        found.append(Login(u.name, u))
        if u.role in BRIDGE_ROLES:
            found.append(Login(samples_login(u.name), u))
    return found


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
        elif u.role in BRIDGE_ROLES and not _USERNAME_RE.fullmatch(samples_login(u.name)):
            longest = 64 - len(SAMPLES_SUFFIX)
            problems.append(
                f"{where}: {u.name!r} is too long for a {u.role}: at most {longest} characters, "
                f"because its samples connection logs in as {samples_login(u.name)!r}"
            )
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
    for owner in plant.users:
        taken = seen.get(samples_login(owner.name))
        if owner.role in BRIDGE_ROLES and taken is not None:
            where = (
                f"gateways: {taken.name!r}" if taken.role is Role.GATEWAY else f"users.{taken.name}"
            )
            problems.append(
                f"{where}: the name {taken.name!r} is the login of {owner.name!r}'s samples "
                f"connection (every {owner.role} has one); choose another name"
            )
    if problems:
        raise PlantError(problems)


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
                f"topic read {t.lock_filter(user.name)}",
                f"topic read {t.all_to_safe(user.name)}",
                f"topic read {t.alarm_command_filter(user.name)}",
                # Read back to clear the alarms that left its config (docs/mqtt-contract.md).
                f"topic read {t.alarm_state_filter(user.name)}",
                f"topic read {t.rebirth()}",
                *(discovery if ha else []),
            ]
        case Role.BRIDGE:
            return [
                f"topic read {t.everything_filter()}",
                f"topic write {t.all_commands_filter()}",
                # Locks and all to safe: bridges only, so the user named in them is the one
                # the bridge authenticated (docs/security.md, "Who set a lock").
                f"topic write {t.all_locks_filter()}",
                f"topic write {t.all_to_safe_filter()}",
                f"topic write {t.all_alarm_commands_filter()}",
                f"topic write {t.gateway_alarm_acks_filter()}",
                f"topic write {t.service_filter()}",
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


def samples_acl_rules(plant: Plant) -> list[str]:
    """The samples connection only subscribes, to the frequent superseded states."""
    return [f"topic read {f}" for f in Topics(plant.prefix).sample_filters()]


def render_acl(plant: Plant) -> str:
    """Mosquitto ACL file text: one ``user`` block per login, nothing for anyone else."""
    lines = [
        "# Generated by `factory-broker render`; edit the plant description, not this file.",
        "# No rules before the first `user` line: clients without a username get nothing.",
    ]
    for login in logins(plant):
        if login.is_samples_connection:
            title = f"# {login.user.name}'s samples connection"
            rules = samples_acl_rules(plant)
        else:
            title, rules = f"# {login.user.role}", acl_rules(plant, login.user)
        lines += ["", title, f"user {login.name}", *rules]
    return "\n".join(lines) + "\n"
