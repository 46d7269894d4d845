"""Quick questions about the configured database, for a warm ``make run`` to skip what is done.

    python scripts/db_state.py at-head    exit 0 when the database is at the newest migration
    python scripts/db_state.py has-city   exit 0 when the database holds a city (districts)

Each answers with one query over asyncpg, without importing the app, SQLAlchemy or alembic
(those take seconds to import): the newest revision is read from the migration files' text.
Exit status 1 means "no" and also "could not tell" (the caller then runs the real step, which
reports any error properly).
"""

from __future__ import annotations

import ast
import asyncio
import os
import sys
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "migrations" / "versions"
# The table `service.demo.seed.is_empty` looks at (service/city/models.py: District).
CITY_TABLE = "district"


def database_url() -> str:
    """MEIELINN_DATABASE_URL as the settings read it."""
    url = os.environ.get("MEIELINN_DATABASE_URL")
    if url:
        return url
    sys.path.insert(0, str(ROOT))
    from service.config import get_settings

    return get_settings().database_url


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL (``postgresql+asyncpg://…``) as a libpq-style DSN for asyncpg."""
    scheme, sep, rest = url.partition("://")
    return scheme.split("+", 1)[0] + sep + rest


def _revision_ids(value: ast.expr | None) -> set[str]:
    """The revision ids of ``"0005"``, ``None`` or ``("0004", "0005")``."""
    items = value.elts if isinstance(value, ast.Tuple | ast.List) else [value]
    return {
        item.value
        for item in items
        if isinstance(item, ast.Constant) and isinstance(item.value, str)
    }


def head_revisions(versions: Path = VERSIONS) -> set[str]:
    """The revisions no other revision builds on, read from ``revision``/``down_revision``."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            value: ast.expr | None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign):
                target, value = node.target, node.value
            else:
                continue
            if isinstance(target, ast.Name) and target.id == "revision":
                revisions |= _revision_ids(value)
            elif isinstance(target, ast.Name) and target.id == "down_revision":
                parents |= _revision_ids(value)
    return revisions - parents


async def current_revisions(dsn: str) -> set[str]:
    """The revisions in the database's ``alembic_version`` (none when never migrated)."""
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        if await connection.fetchval("SELECT to_regclass('alembic_version')") is None:
            return set()
        rows = await connection.fetch("SELECT version_num FROM alembic_version")
        return {row["version_num"] for row in rows}
    finally:
        await connection.close()


async def has_city(dsn: str) -> bool:
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        if await connection.fetchval("SELECT to_regclass($1)", CITY_TABLE) is None:
            return False
        return bool(await connection.fetchval(f"SELECT EXISTS (SELECT 1 FROM {CITY_TABLE})"))  # noqa: S608
    finally:
        await connection.close()


async def answer(question: str, dsn: str, versions: Path = VERSIONS) -> bool:
    if question == "at-head":
        heads = head_revisions(versions)
        return bool(heads) and await current_revisions(dsn) == heads
    if question == "has-city":
        return await has_city(dsn)
    raise ValueError(question)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in {"at-head", "has-city"}:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return 0 if asyncio.run(answer(argv[0], asyncpg_dsn(database_url()))) else 1
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
