"""The quick checks that let a warm `make run` skip migrating and seeding (scripts/db_state.py):
right answers, and none of the app's heavy modules imported to get them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from scripts import db_state
from service.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_head_revision_read_from_the_files_is_alembics() -> None:
    alembic_heads = set(ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_heads())
    assert db_state.head_revisions() == alembic_heads


def test_head_revisions_follow_the_chain(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text("revision: str = 'b'\ndown_revision: str | None = 'a'\n")
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')
    assert db_state.head_revisions(tmp_path) == {"b", "c"}
    (tmp_path / "m.py").write_text('revision = "m"\ndown_revision = ("b", "c")\n')
    assert db_state.head_revisions(tmp_path) == {"m"}


async def test_a_migrated_database_is_at_head(settings: Settings, tmp_path: Path) -> None:
    dsn = db_state.asyncpg_dsn(settings.database_url)
    assert await db_state.answer("at-head", dsn)
    # A newer migration file than the database has: not at head.
    (tmp_path / "next.py").write_text('revision = "next"\ndown_revision = "0005"\n')
    for path in db_state.VERSIONS.glob("*.py"):
        (tmp_path / path.name).write_text(path.read_text("utf-8"))
    assert not await db_state.answer("at-head", dsn, tmp_path)


async def test_has_city_sees_the_demo_city(settings: Settings) -> None:
    assert await db_state.answer("has-city", db_state.asyncpg_dsn(settings.database_url))
    # The maintenance database has no city (nor the table).
    other = make_url(settings.database_url).set(database="postgres")
    other_dsn = db_state.asyncpg_dsn(other.render_as_string(hide_password=False))
    assert not await db_state.answer("has-city", other_dsn)


def test_warm_checks_import_neither_the_app_nor_sqlalchemy(settings: Settings) -> None:
    probe = (
        "import sys; sys.argv = ['seed_demo.py']\n"
        "from scripts import db_state, seed_demo\n"
        "assert db_state.main(['at-head']) == 0\n"
        "assert seed_demo.main(['--if-empty']) == 0\n"
        "heavy = sorted(m for m in ('service.main', 'service.demo.seed', 'sqlalchemy', 'alembic')"
        " if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    environment = {**os.environ, "MEIELINN_DATABASE_URL": settings.database_url}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "nothing loaded" in result.stderr
