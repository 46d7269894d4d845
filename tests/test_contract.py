"""The committed contracts: OpenAPI document, compose file and migrations agree with the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

import service.models  # noqa: F401
from migrations.filters import include_object
from scripts.export_openapi import TARGET, render
from service.config import Settings
from service.db import metadata

ROOT = Path(__file__).resolve().parent.parent


def test_openapi_document_is_current() -> None:
    committed = TARGET.read_text(encoding="utf-8")
    assert json.loads(committed) == json.loads(render()), (
        "openapi/openapi.json differs from the app's schema: run `make openapi` and commit it"
    )


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))
    return document


def test_compose_describes_the_stack_with_healthchecks() -> None:
    services = _compose()["services"]
    assert set(services) >= {"postgis", "redis", "api", "worker"}
    for name in ("postgis", "redis", "api"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    assert "postgis" in services["postgis"]["image"]
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["postgis"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"


def test_compose_environment_matches_settings() -> None:
    fields = {f"MEIELINN_{name.upper()}" for name in Settings.model_fields}
    services = _compose()["services"]
    for name in ("api", "worker"):
        environment = services[name]["environment"]
        names = set(environment)
        unknown = {n for n in names if n.startswith("MEIELINN_")} - fields
        assert not unknown, f"{name} sets variables the settings do not know: {unknown}"
        assert {"MEIELINN_DATABASE_URL", "MEIELINN_REDIS_URL", "MEIELINN_ENV"} <= names
        # The URLs must point at the compose services, not at a developer's loopback.
        assert "@postgis:5432/" in environment["MEIELINN_DATABASE_URL"]
        assert re.match(r"redis://redis:6379/\d+$", environment["MEIELINN_REDIS_URL"])
    # The worker runs the same services as the API: it must see the same configuration.
    worker_env = services["worker"]["environment"].items()
    assert worker_env <= services["api"]["environment"].items()


async def test_migrations_match_the_models(connection: AsyncConnection) -> None:
    def diff(sync_connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            sync_connection,
            opts={
                "compare_type": True,
                "target_metadata": metadata,
                "include_object": include_object,
            },
        )
        differences: list[Any] = compare_metadata(context, metadata)
        return differences

    differences = await connection.run_sync(diff)
    assert not differences, f"models and migrations differ; add an alembic revision: {differences}"
