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
from typing import Final, Literal, TypeAlias, cast, get_args

from factory_core import ha_topics
from factory_core.contract import DEFAULT_PREFIX, ID_PATTERN, PREFIX_PATTERN, Topics, is_identifier

USERNAME_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
# An edge bridge's keepalive: the central broker declares the link down (the bridge's last
# will) after 1.5 times this without a packet, so it bounds how late the dashboard knows.
DEFAULT_EDGE_KEEPALIVE_S: Final = 10
EDGE_KEEPALIVE_RANGE_S: Final = (5, 300)
DEFAULT_MQTT_PORT: Final = 1883
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
    EDGE = "edge"  # an edge broker's bridge: its gateways' telemetry out, their commands in


# Gateways are declared in `gateways` and edge logins in `edges`, so a user table may claim
# neither role.
DECLARED_ROLES: Final = frozenset({Role.GATEWAY, Role.EDGE})
USER_ROLES: Final = tuple(r.value for r in Role if r not in DECLARED_ROLES)
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


Direction: TypeAlias = Literal["in", "out", "both"]
DIRECTIONS: Final = get_args(Direction)


@dataclass(frozen=True, slots=True)
class BridgedTopic:
    """One ``topic`` line of a Mosquitto bridge: ``in`` is central to edge."""

    pattern: str
    direction: Direction
    qos: int = 1
    local_prefix: str = ""
    remote_prefix: str = ""

    @property
    def has_prefix(self) -> bool:
        return bool(self.local_prefix or self.remote_prefix)

    def line(self) -> str:
        line = f"topic {self.pattern} {self.direction} {self.qos}"
        if not self.has_prefix:
            return line
        # Mosquitto takes "" for an empty prefix when the other one is given.
        empty = '""'
        return f"{line} {self.local_prefix or empty} {self.remote_prefix or empty}"


@dataclass(frozen=True, slots=True)
class Edge:
    """An edge broker: the gateways behind it and its bridge login on the central broker."""

    name: str
    address: str  # host[:port] of the central broker, as the edge reaches it
    username: str
    gateways: tuple[str, ...]
    keepalive_s: int = DEFAULT_EDGE_KEEPALIVE_S
    topics: tuple[BridgedTopic, ...] = ()  # the plant's own, beyond the contract's
    # The CA (PEM, a path on the edge host) that signed the central broker's TLS certificate:
    # set, the bridge runs over TLS and checks the certificate and its host name.
    tls_ca: str | None = None

    def host_port(self) -> tuple[str, int]:
        return split_address(self.address)


@dataclass(frozen=True, slots=True)
class Plant:
    prefix: str = DEFAULT_PREFIX
    users: tuple[User, ...] = field(default_factory=tuple)
    # Where gateways publish Home Assistant discovery; "" grants them nothing there.
    home_assistant_prefix: str = ha_topics.DEFAULT_DISCOVERY_PREFIX
    edges: tuple[Edge, ...] = ()
    # Set on an edge broker's own plant (``edge_plant``): the edge whose broker it is. Its
    # gateways may read that edge's link topic (their store and forward follows it).
    own_edge: str | None = None

    def edge_of_login(self, username: str) -> Edge | None:
        return next((e for e in self.edges if e.username == username), None)

    def behind_edges(self) -> dict[str, str]:
        """Gateway id -> the edge it is behind (gateways on the central broker: absent)."""
        return {gw: e.name for e in self.edges for gw in e.gateways}

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
    """Every login of the plant's (central) broker: each user's own, then its samples login if
    it may run a bridge. One login is one connection at a time (the broker makes it the client
    id). A gateway behind an edge logs in to its edge broker only (``edge_plant``)."""
    behind = plant.behind_edges()
    found: list[Login] = []
    for u in plant.users:
        if u.role is Role.GATEWAY and u.name in behind:
            continue
        found.append(Login(u.name, u))
        if u.role in BRIDGE_ROLES:
            found.append(Login(samples_login(u.name), u))
    return found


# --------------------------------------------------------------------------- parsing


def parse_plant(data: Mapping[str, object]) -> Plant:
    """A plant from its TOML data; raises PlantError listing every problem at once."""
    problems: list[str] = []
    for key in data:
        if key not in ("prefix", "gateways", "users", "home_assistant_prefix", "edges"):
            problems.append(
                f"{key}: unknown key (expected prefix, gateways, users, home_assistant_prefix, "
                "edges; a user's role goes in users.<name>.role, one of "
                f"{', '.join(USER_ROLES)})"
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

    edges: list[Edge] = []
    edges_raw = data.get("edges", {})
    if not isinstance(edges_raw, dict):
        problems.append(
            f"edges: must be a table of edge brokers ([edges.<name>]), got {edges_raw!r}"
        )
        edges_raw = {}
    for name, spec in edges_raw.items():
        edge = _parse_edge(f"edges.{name}", name, spec, problems)
        if edge is not None:
            edges.append(edge)
            users.append(User(edge.username, Role.EDGE))

    plant = Plant(prefix, tuple(users), ha_prefix, tuple(edges))
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


EDGE_KEYS: Final = ("address", "username", "gateways", "keepalive_s", "topics", "tls_ca")
TOPIC_KEYS: Final = ("pattern", "direction", "qos", "local_prefix", "remote_prefix")


def split_address(address: str) -> tuple[str, int]:
    """``host[:port]`` (``[v6]:port`` too) as host and port; ValueError naming what is wrong."""
    host, port_text = address, str(DEFAULT_MQTT_PORT)
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{address!r} is not host[:port]")
            port_text = rest[1:]
    elif ":" in address:
        host, _, port_text = address.rpartition(":")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{address!r} has no host (expected host[:port])")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{address!r} has port {port_text!r}, not a number from 1 to 65535")
    return host, int(port_text)


def _parse_edge(where: str, name: str, spec: object, problems: list[str]) -> Edge | None:
    if not isinstance(spec, dict):
        problems.append(f"{where}: must be a table with address, username and gateways")
        return None
    found = len(problems)
    if not is_identifier(name):
        problems.append(f"{where}: {name!r} is not an edge id ({ID_PATTERN})")
    for key in spec:
        if key not in EDGE_KEYS:
            problems.append(f"{where}.{key}: unknown key (expected {', '.join(EDGE_KEYS)})")
    username = spec.get("username")
    if username is None:
        problems.append(
            f'{where}: no bridge login: add username = "<user>" (its password comes from '
            f"{PASSWORD_ENV_PREFIX}<USER>, the --secrets file, or is generated)"
        )
    elif not isinstance(username, str) or not _USERNAME_RE.fullmatch(username):
        problems.append(f"{where}.username: {username!r} is not a user name ({USERNAME_PATTERN})")
    address = spec.get("address")
    if address is None:
        problems.append(
            f"{where}: no address: the central broker as this edge reaches it (host[:port])"
        )
    elif not isinstance(address, str):
        problems.append(f"{where}.address: must be host[:port], got {address!r}")
    else:
        try:
            split_address(address)
        except ValueError as exc:
            problems.append(f"{where}.address: {exc}")
    gateways = spec.get("gateways")
    if not isinstance(gateways, list) or not gateways:
        problems.append(f"{where}.gateways: must list the gateway ids behind it, got {gateways!r}")
        gateways = []
    keepalive = spec.get("keepalive_s", DEFAULT_EDGE_KEEPALIVE_S)
    low, high = EDGE_KEEPALIVE_RANGE_S
    if (
        not isinstance(keepalive, int)
        or isinstance(keepalive, bool)
        or not low <= keepalive <= high
    ):
        problems.append(
            f"{where}.keepalive_s: must be whole seconds from {low} to {high}, got {keepalive!r}"
        )
    tls_ca = spec.get("tls_ca")
    if tls_ca is not None and (
        not isinstance(tls_ca, str)
        or not tls_ca.startswith("/")
        or any(c.isspace() for c in tls_ca)
    ):
        problems.append(
            f"{where}.tls_ca: must be the absolute path, on the edge host and without spaces, "
            f"of the CA file that signed the central broker's certificate, got {tls_ca!r}"
        )
    topics_raw = spec.get("topics", [])
    topics: list[BridgedTopic] = []
    if not isinstance(topics_raw, list):
        problems.append(
            f"{where}.topics: must be a list of tables ([[{where}.topics]]), got {topics_raw!r}"
        )
        topics_raw = []
    for i, raw in enumerate(topics_raw):
        topic = _parse_bridged_topic(f"{where}.topics[{i}]", raw, problems)
        if topic is not None:
            topics.append(topic)
    if len(problems) > found:
        return None
    assert isinstance(username, str) and isinstance(address, str) and isinstance(keepalive, int)
    return Edge(
        name,
        address,
        username,
        tuple(str(g) for g in gateways),
        keepalive,
        tuple(topics),
        tls_ca if isinstance(tls_ca, str) else None,
    )


def _parse_bridged_topic(where: str, raw: object, problems: list[str]) -> BridgedTopic | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a table with pattern and direction, got {raw!r}")
        return None
    found = len(problems)
    for key in raw:
        if key not in TOPIC_KEYS:
            problems.append(f"{where}.{key}: unknown key (expected {', '.join(TOPIC_KEYS)})")
    pattern = raw.get("pattern")
    if not isinstance(pattern, str) or (problem := filter_problem(pattern)) is not None:
        problems.append(
            f"{where}.pattern: {pattern!r} is not a topic filter"
            + (f" ({problem})" if isinstance(pattern, str) and problem else "")
        )
    direction = raw.get("direction")
    if direction not in DIRECTIONS:
        problems.append(f"{where}.direction: {direction!r} is not one of {', '.join(DIRECTIONS)}")
    qos = raw.get("qos", 1)
    if qos not in (0, 1, 2) or isinstance(qos, bool):
        problems.append(f"{where}.qos: must be 0, 1 or 2, got {qos!r}")
    prefixes: dict[str, str] = {}
    for key in ("local_prefix", "remote_prefix"):
        value = raw.get(key, "")
        if not isinstance(value, str) or "+" in value or "#" in value or " " in value:
            problems.append(
                f"{where}.{key}: {value!r} must be topic levels without wildcards or spaces"
            )
        else:
            prefixes[key] = value
    if len(problems) > found:
        return None
    assert isinstance(pattern, str) and isinstance(qos, int)
    return BridgedTopic(
        pattern,
        cast(Direction, direction),
        qos,
        prefixes["local_prefix"],
        prefixes["remote_prefix"],
    )


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
        where = _where(plant, u)
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
            where = _where(plant, taken)
            problems.append(
                f"{where}: the name {taken.name!r} is the login of {owner.name!r}'s samples "
                f"connection (every {owner.role} has one); choose another name"
            )
    problems += _edge_problems(plant, gateways)
    if problems:
        raise PlantError(problems)


def _where(plant: Plant, user: User) -> str:
    if user.role is Role.GATEWAY:
        return f"gateways: {user.name!r}"
    edge = plant.edge_of_login(user.name) if user.role is Role.EDGE else None
    return f"edges.{edge.name}.username" if edge is not None else f"users.{user.name}"


def _edge_problems(plant: Plant, gateways: set[str]) -> list[str]:
    problems: list[str] = []
    behind: dict[str, str] = {}
    names: set[str] = set()
    for edge in plant.edges:
        where = f"edges.{edge.name}"
        if edge.name in names:
            problems.append(f"{where}: duplicate edge {edge.name!r}")
        names.add(edge.name)
        # (A user of another role by that name is reported as a duplicate above.)
        if not any(u.name == edge.username for u in plant.users):
            problems.append(f"{where}.username: no user {edge.username!r} with role edge")
        for gw in edge.gateways:
            if gw not in gateways:
                problems.append(
                    f"{where}.gateways: {gw!r} is not listed in gateways (known: "
                    f"{', '.join(sorted(gateways)) or 'none'})"
                )
            elif gw in behind:
                problems.append(
                    f"{where}.gateways: {gw!r} is already behind edge {behind[gw]!r}: a gateway "
                    "connects to one broker"
                )
            else:
                behind[gw] = edge.name
        if re.fullmatch(PREFIX_PATTERN, plant.prefix):
            # Loops among the topics of the gateways it may have (the others are reported).
            listed = dataclasses.replace(
                edge, gateways=tuple(g for g in edge.gateways if g in gateways)
            )
            problems += [f"{where}.{p}" for p in bridge_loops(plant, listed)]
    return problems


# --------------------------------------------------------------------------- topic filters


def filter_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not an MQTT topic filter, or None."""
    if not pattern:
        return "empty"
    if any(c.isspace() for c in pattern) or "\x00" in pattern:
        return "contains a space or a control character"
    levels = pattern.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "'#' must be a whole level, and the last one"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None


def common_topic(a: str, b: str) -> str | None:
    """A topic both filters match, or None when no topic does: their overlap, witnessed."""
    la, lb = a.split("/"), b.split("/")
    witness: list[str] = []
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else None
        y = lb[i] if i < len(lb) else None
        if x == "#" or y == "#":
            # '#' matches any rest, none too ("a/#" matches "a"): the other's rest will do.
            rest = [level for level in (lb[i:] if x == "#" else la[i:]) if level != "#"]
            witness += ["x" if level == "+" else level for level in rest]
            return "/".join(witness) or "x"
        if x is None or y is None:
            return None
        if x != y and "+" not in (x, y):
            return None
        witness.append("x" if x == y == "+" else y if x == "+" else x)
    return "/".join(witness)


# --------------------------------------------------------------------------- edge bridges


def edge_topics(plant: Plant, edge: Edge) -> list[BridgedTopic]:
    """The bridge's ``topic`` lines: exactly the contract's topics of the edge's gateways
    (what they publish out, their commands and the rebirth request in), then the plant's own."""
    t = Topics(plant.prefix)
    out = [f for gw in edge.gateways for f in t.gateway_output_filters(gw)]
    into = [f for gw in edge.gateways for f in t.gateway_input_filters(gw)] + [t.rebirth()]
    return [
        *(BridgedTopic(f, "out") for f in out),
        *(BridgedTopic(f, "in") for f in into),
        *edge.topics,
    ]


def bridge_loops(plant: Plant, edge: Edge) -> list[str]:
    """The plant's own topic lines that would send a message back where it came from: one
    bridged ``both`` ways, or one that overlaps a line of the other direction, without a
    prefix. (The contract's lines never overlap: commands in, everything else out.)"""
    earlier = edge_topics(plant, dataclasses.replace(edge, topics=()))
    problems: list[str] = []
    for i, a in enumerate(edge.topics):
        where = f"topics[{i}]"
        if a.has_prefix:
            pass
        elif a.direction == "both":
            problems.append(
                f"{where}: {a.pattern!r} is bridged both in and out without a prefix: messages "
                "would loop between the brokers (give it a local_prefix or remote_prefix, or "
                "one direction)"
            )
        else:
            for b in earlier:
                witness = common_topic(a.pattern, b.pattern)
                if b.has_prefix or b.direction == a.direction or witness is None:
                    continue
                problems.append(
                    f"{where}: {a.pattern!r} ({a.direction}) and {b.pattern!r} ({b.direction}) "
                    f"both carry {witness!r} without a prefix: it would loop between the "
                    "brokers (give one a local_prefix or remote_prefix, or narrow it)"
                )
        earlier.append(a)
    return problems


def edge_notification_topic(plant: Plant, edge: Edge) -> str:
    return Topics(plant.prefix).edge_link(edge.name)


def edge_plant(plant: Plant, edge: Edge) -> Plant:
    """The edge broker's own users: its gateways, nothing else (its bridge to the central
    broker runs inside the broker and needs no login there)."""
    users = tuple(User(gw, Role.GATEWAY) for gw in edge.gateways)
    return Plant(plant.prefix, users, plant.home_assistant_prefix, own_edge=edge.name)


def _edge_tls_lines(edge: Edge) -> list[str]:
    """TLS to the central broker, when the plant names the CA: between buildings the bridge
    carries every reading and command and its own password."""
    if edge.tls_ca is None:
        return []
    return [
        f"bridge_cafile {edge.tls_ca}",
        "bridge_insecure false",  # the certificate must name the host in `address`
        "bridge_tls_version tlsv1.2",
    ]


def render_edge_bridge(plant: Plant, edge: Edge, password: str) -> str:
    """The edge broker's ``connection`` section (a Mosquitto config file, for ``include_dir``).
    It holds the bridge's password: keep it private (``factory-broker render`` writes 0600)."""
    lines = [
        "# Generated by `factory-broker render`; edit the plant description, not this file.",
        f"# Edge {edge.name!r}: its gateways' contract topics to and from the central broker.",
        f"connection {edge.name}",
        f"address {edge.address}",
        *_edge_tls_lines(edge),
        f"remote_username {edge.username}",
        f"remote_password {password}",
        # The central broker makes the username the client id anyway (use_username_as_clientid).
        f"remote_clientid {edge.username}",
        # No session across a cut: what the gateways publish meanwhile is superseded, and
        # a command queued at the central broker must not run late (the bridge service
        # refuses commands to a gateway behind a down edge). State converges from the
        # retained messages re-sent on connect, and the rebirth the bridge service asks.
        "cleansession true",
        f"keepalive_interval {edge.keepalive_s}",
        # Reconnect after 1 s, backing off to 10 s: a link that returns is used soon.
        "restart_timeout 1 10",
        "notifications true",
        "notifications_local_only false",
        f"notification_topic {edge_notification_topic(plant, edge)}",
        "try_private true",
        # MQTT 5 carries a command's message-expiry interval across (Mosquitto >= 2.0).
        "bridge_protocol_version mqttv50",
        *(t.line() for t in edge_topics(plant, edge)),
    ]
    return "\n".join(lines) + "\n"


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
                # Behind an edge: whether the edge's link to the central broker is up, so
                # that it keeps its samples while it is not (docs/mqtt-contract.md).
                *([f"topic read {t.edge_link(plant.own_edge)}"] if plant.own_edge else []),
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
        case Role.EDGE:
            edge = plant.edge_of_login(user.name)
            if edge is None:
                return []
            # The bridge publishes what it takes out and subscribes to what it takes in;
            # its notifications (and their last will) go to its link topic.
            access = {"out": "write", "in": "read", "both": "readwrite"}
            return [
                f"topic write {edge_notification_topic(plant, edge)}",
                *(
                    f"topic {access[t.direction]} {t.remote_prefix}{t.pattern}"
                    for t in edge_topics(plant, edge)
                ),
            ]
    raise AssertionError(user.role)  # pragma: no cover


def samples_acl_rules(plant: Plant) -> list[str]:
    """The samples connection only subscribes, to the frequent superseded states."""
    return [f"topic read {f}" for f in Topics(plant.prefix).sample_filters()]


@dataclass(frozen=True, slots=True)
class AclBlock:
    """One login's rights, in Mosquitto's ``topic <access> <filter>`` lines (every broker's
    renderer starts from these, so all of them grant the same rights)."""

    login: Login
    title: str  # what the login is for, for a comment above its block
    rules: list[str]


def acl_by_login(plant: Plant) -> list[AclBlock]:
    """Every login of the plant's broker with its ACL rules, in file order."""
    blocks: list[AclBlock] = []
    for login in logins(plant):
        if login.is_samples_connection:
            title, rules = f"{login.user.name}'s samples connection", samples_acl_rules(plant)
        else:
            title, rules = str(login.user.role), acl_rules(plant, login.user)
        blocks.append(AclBlock(login, title, rules))
    return blocks


def render_acl(plant: Plant) -> str:
    """Mosquitto ACL file text: one ``user`` block per login, nothing for anyone else."""
    lines = [
        "# Generated by `factory-broker render`; edit the plant description, not this file.",
        "# No rules before the first `user` line: clients without a username get nothing.",
    ]
    for block in acl_by_login(plant):
        lines += ["", f"# {block.title}", f"user {block.login.name}", *block.rules]
    return "\n".join(lines) + "\n"
