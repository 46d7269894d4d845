"""Operator commands: ``python -m service.cli <command> …`` (run ``--help`` for each).

create-admin    --email E [--name N]            (password read from MEIELINN_ADMIN_PASSWORD
                                                 or asked for on the terminal)
grant-role      --email E --role R [--department CODE] [--building ID]
create-api-key  --owner E --name N --scope S [--scope S …] [--expires-at 2027-01-01T00:00Z]
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

import service.wiring  # noqa: F401  (what the lower layers look up, installed)
from service.auth import repository
from service.auth import service as auth
from service.auth.models import Role, RoleGrant
from service.auth.schemas import ApiKeyCreate, RegisterRequest, RoleGrantCreate
from service.auth.scopes import Scope
from service.city.models import Department
from service.clock import Clock, system_clock
from service.config import Settings, get_settings
from service.db import create_engine, create_sessionmaker, transaction
from service.errors import AppError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m service.cli",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create a verified admin account")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="Administrator")
    grant = commands.add_parser("grant-role", help="grant a role to an existing account")
    grant.add_argument("--email", required=True)
    grant.add_argument("--role", required=True, choices=[r.value for r in Role])
    grant.add_argument("--department", help="department code, for staff and supervisor")
    grant.add_argument("--building", type=uuid.UUID, help="building id, for ambassador")
    key = commands.add_parser("create-api-key", help="create an API key and print it once")
    key.add_argument("--owner", required=True, help="email of the account the key acts for")
    key.add_argument("--name", required=True)
    key.add_argument(
        "--scope",
        action="append",
        required=True,
        dest="scopes",
        choices=[scope.value for scope in Scope],
    )
    key.add_argument(
        "--expires-at",
        type=_instant,
        help="when the key stops working, ISO 8601 with a UTC offset (default: never)",
    )
    return parser


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC offset, e.g. 2027-01-01T00:00:00+02:00")
    return moment


def _password() -> str:
    password = os.environ.get("MEIELINN_ADMIN_PASSWORD")
    if password:
        return password
    if not sys.stdin.isatty():
        raise SystemExit("set MEIELINN_ADMIN_PASSWORD or run on a terminal")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise SystemExit("the passwords differ")
    return first


async def _department_id(session: AsyncSession, code: str | None) -> uuid.UUID | None:
    if code is None:
        return None
    department = (
        await session.execute(select(Department).where(col(Department.code) == code))
    ).scalar_one_or_none()
    if department is None:
        raise SystemExit(f"no department with code {code!r}")
    return department.id


async def run(
    argv: Sequence[str],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock = system_clock,
) -> str:
    """Execute one command in one transaction; returns what to print."""
    args = _parser().parse_args(argv)
    now = clock()
    async with transaction(sessionmaker) as session:
        if args.command == "create-admin":
            user = await auth.create_account(
                session,
                settings,
                RegisterRequest(email=args.email, password=_password(), display_name=args.name),
                verified_at=now,
            )
            session.add(RoleGrant(user_id=user.id, role=Role.admin))
            return f"admin {user.email} created ({user.id})"
        account = await repository.user_by_email(
            session, args.email if args.command == "grant-role" else args.owner
        )
        if account is None:
            raise SystemExit("no such account")
        user = account
        if args.command == "grant-role":
            department_id = await _department_id(session, args.department)
            grant = await auth.grant_role(
                session,
                None,
                user.id,
                RoleGrantCreate(
                    role=Role(args.role), department_id=department_id, building_id=args.building
                ),
            )
            return f"granted {grant.role} to {user.email}"
        key, secret = await auth.create_api_key(
            session,
            None,
            ApiKeyCreate(
                name=args.name,
                scopes=[Scope(scope) for scope in args.scopes],
                owner_id=user.id,
                expires_at=args.expires_at,
            ),
            now,
        )
        until = f", until {key.expires_at.isoformat()}" if key.expires_at else ""
        return (
            f"API key {key.name} ({key.id}) for {user.email}{until}:\n{secret}\n"
            "It is not shown again."
        )


async def _main(argv: Sequence[str]) -> int:
    settings = get_settings()
    engine = create_engine(settings)
    try:
        print(await run(argv, create_sessionmaker(engine), settings))
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main(sys.argv[1:])))
