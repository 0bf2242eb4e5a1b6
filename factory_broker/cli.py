"""``factory-broker``: render or check a plant's broker users and ACL (docs/broker.md)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from factory_broker.emqx import add_emqx_command, run_emqx_command
from factory_broker.provision import load_plant, print_generated_passwords, render
from factory_broker.reachability import DEFAULT_TIMEOUT_S, unreachable
from factory_core.broker_admin import PlantError, render_acl

EXIT_INVALID: Final = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="factory-broker", description="Mosquitto users and ACL for Factory IoT"
    )
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser(
        "render",
        help="write DIR/passwd and DIR/acl (and DIR/edges/<edge>/) from a plant description",
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
    c.add_argument(
        "--connect",
        action="store_true",
        help="also open a TCP connection to each edge's central broker (run it on the edge)",
    )
    c.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="seconds to wait for each connection (default %(default)s)",
    )
    add_emqx_command(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        plant = load_plant(args.plant)
        if args.command == "check":
            if args.connect and (problems := unreachable(plant, args.timeout)):
                raise PlantError(problems)
            print(render_acl(plant), end="")
            return 0
        if args.command == "emqx":
            return run_emqx_command(plant, args.out, args.secrets)
        done = render(plant, args.out, os.environ, args.secrets)
    except PlantError as exc:
        print(f"factory-broker: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except (OSError, RuntimeError) as exc:
        print(f"factory-broker: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {done.passwd} ({len(done.passwords)} users) and {done.acl}")
    for name, where in done.edges.items():
        print(f"wrote edge {name}'s passwd, acl and conf.d/bridge.conf in {where}")
    print_generated_passwords(done.passwords, done.generated, args.secrets)
    return 0
