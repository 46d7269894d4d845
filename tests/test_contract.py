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


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = json.loads(TARGET.read_text(encoding="utf-8"))
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "patch", "delete"}
    ]


def test_every_error_is_a_documented_problem() -> None:
    for method, path, operation in _operations():
        for status, response in operation["responses"].items():
            content = response.get("content") or {}
            assert "HTTPValidationError" not in json.dumps(content), f"{method} {path} {status}"
            if status >= "400" and not path.startswith("/open311/"):
                assert content["application/problem+json"] == {
                    "schema": {"$ref": "#/components/schemas/Problem"}
                }, f"{method} {path} {status}"
        if "requestBody" in operation and not path.startswith("/open311/"):
            assert {"400", "413", "422"} <= set(operation["responses"]), f"{method} {path}"
        if operation.get("security") and not path.startswith("/open311/"):
            assert "401" in operation["responses"], f"{method} {path}"


def test_links_lead_to_operations_and_name_their_parameters() -> None:
    operations = {
        operation["operationId"]: (path, operation) for _, path, operation in _operations()
    }
    linked = set()
    for method, path, operation in _operations():
        for response in operation["responses"].values():
            for name, link in response.get("links", {}).items():
                target_path, target = operations[link["operationId"]]
                accepted = {p["name"] for p in target.get("parameters", [])}
                assert set(link["parameters"]) <= accepted, f"{method} {path} {name}"
                assert set(re.findall(r"{(\w+)}", target_path)) <= set(link["parameters"])
                linked.add(target_path)
    # Created objects are fetched, changed and deleted.
    assert {
        "/v1/reports/{report_id}",
        "/v1/reports/{report_id}/withdraw",
        "/v1/reports/{report_id}/photos/{photo_id}",
        "/v1/admin/webhooks/{webhook_id}",
        "/v1/api-keys/{key_id}",
        "/v1/training/sessions/{session_id}",
        "/v1/training/programmes/{programme_id}/enrolments",
        "/open311/v2/requests/{service_request_id}.{fmt}",
        "/v1/admin/departments/{department_id}",
    } <= linked


def test_compose_cluster_profile_wires_replica_pooler_and_sentinels() -> None:
    services = _compose()["services"]
    cluster = {
        name for name, service in services.items() if "cluster" in service.get("profiles", [])
    }
    sentinels = {name for name in cluster if name.startswith("sentinel-")}
    assert len(sentinels) == 3
    assert {
        "postgis-replica",
        "pgbouncer",
        "redis-replica",
        "api-cluster",
        "worker-cluster",
    } <= cluster
    # The default stack stays as it was: nothing of it is in a profile.
    assert not {"postgis", "redis", "api", "worker"} & cluster
    replica = services["postgis-replica"]
    script = " ".join(replica["command"])
    assert "pg_basebackup -h postgis" in script and " -R " in script
    assert replica["depends_on"]["postgis"]["condition"] == "service_healthy"
    assert "50-replication-hba.sh" in " ".join(services["postgis"]["volumes"])
    init = (ROOT / "deploy/compose/replication-hba.sh").read_text("utf-8")
    assert "host replication all all" in init
    # The pooler forwards no statement_timeout: the role carries it.
    assert "SET statement_timeout" in init
    pooler = services["pgbouncer"]["environment"]
    assert pooler["DB_HOST"] == "postgis" and pooler["POOL_MODE"] == "transaction"
    assert services["redis-replica"]["command"][-3:] == ["--replicaof", "redis", "6379"]
    environment = services["api-cluster"]["environment"]
    master = environment["MEIELINN_REDIS_SENTINEL_MASTER"]
    for name in sentinels:
        assert f"sentinel monitor {master} redis 6379 2" in services[name]["command"][0]
    assert sorted(environment["MEIELINN_REDIS_SENTINELS"].split(",")) == sorted(
        f"{name}:26379" for name in sentinels
    )
    assert "@pgbouncer:5432/" in environment["MEIELINN_DATABASE_URL"]
    assert environment["MEIELINN_DATABASE_POOLER"] == "transaction"
    assert "@postgis-replica:5432/" in environment["MEIELINN_DATABASE_REPLICA_URLS"]
    fields = {f"MEIELINN_{name.upper()}" for name in Settings.model_fields}
    assert {n for n in environment if n.startswith("MEIELINN_")} <= fields
    assert services["worker-cluster"]["environment"] == environment
    # The settings accept the profile's values together.
    Settings.model_validate(
        {
            k.removeprefix("MEIELINN_").lower(): v
            for k, v in environment.items()
            if k.startswith("MEIELINN_") and "$" not in str(v)
        }
        | {"env": "development", "host": "127.0.0.1"}
    )
