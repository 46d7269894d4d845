"""The Kubernetes manifests (deploy/): what a cluster would refuse, or run wrongly, found here.

The kustomizations are read as kustomize reads them (resources, nested kustomizations,
patches by kind and name); no kustomize binary or cluster is needed."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.config import Settings
from service.main import create_app
from service.outbox.pools import Pool, queue_name

ROOT = Path(__file__).resolve().parent.parent
POOLS = [pool.value for pool in Pool]
DEPLOY = ROOT / "deploy"
WORKLOADS = {"Deployment", "StatefulSet", "Job"}
SETTINGS = {f"MEIELINN_{name.upper()}" for name in Settings.model_fields}
# Settings whose values are secrets: never in a ConfigMap.
SECRET_SETTINGS = {
    "MEIELINN_DATABASE_URL",
    "MEIELINN_DATABASE_REPLICA_URLS",
    "MEIELINN_REDIS_URL",
    "MEIELINN_SECRET_KEY",
    "MEIELINN_ENCRYPTION_KEYS",
    "MEIELINN_SMTP_PASSWORD",
    "MEIELINN_METRICS_TOKEN",
}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc is not None]


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build(directory: Path) -> list[dict[str, Any]]:
    """The resources a kustomization produces (the subset of kustomize this repository uses:
    resources, namespace, images, strategic-merge patches by kind and name)."""
    kustomization = _documents(directory / "kustomization.yaml")[0]
    resources: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        resources += build(target) if target.is_dir() else _documents(target)
    for patch_entry in kustomization.get("patches", []):
        (patch,) = _documents(directory / patch_entry["path"])
        matches = [
            index
            for index, resource in enumerate(resources)
            if resource["kind"] == patch["kind"]
            and resource["metadata"]["name"] == patch["metadata"]["name"]
        ]
        assert matches, f"patch {patch_entry['path']} matches no resource"
        for index in matches:
            resources[index] = _merge(resources[index], patch)
    namespace = kustomization.get("namespace")
    for resource in resources:
        if namespace and resource["kind"] != "Namespace":
            resource.setdefault("metadata", {})["namespace"] = namespace
    for image in kustomization.get("images", []):
        for container in _containers(resources):
            if container["image"].split(":")[0] == image["name"]:
                container["image"] = f"{image['newName']}:{image['newTag']}"
    return resources


def _pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = resource["spec"]["template"]["spec"]
    return spec


def _containers(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for resource in resources:
        if resource["kind"] in WORKLOADS:
            spec = _pod_spec(resource)
            found += spec.get("containers", []) + spec.get("initContainers", [])
    return found


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return build(DEPLOY / "overlays" / "production")


def _of(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [resource for resource in resources if resource["kind"] == kind]


def _named(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in _of(resources, kind) if r["metadata"]["name"] == name]
    return found


def test_every_yaml_parses_and_every_resource_is_addressable() -> None:
    files = sorted(DEPLOY.rglob("*.yaml"))
    assert len(files) >= 8
    for path in files:
        for document in _documents(path):
            assert document.get("apiVersion"), path
            assert document.get("kind"), path
            if document["kind"] != "Kustomization":
                assert document["metadata"]["name"], path


def test_the_overlay_builds_every_piece(production: list[dict[str, Any]]) -> None:
    names = {(r["kind"], r["metadata"]["name"]) for r in production}
    assert {
        ("Deployment", "meielinn-api"),
        ("Service", "meielinn-api"),
        ("HorizontalPodAutoscaler", "meielinn-api"),
        ("Job", "meielinn-migrate"),
        ("ConfigMap", "meielinn-settings"),
        ("Deployment", "meielinn-worker-general"),
        ("Deployment", "meielinn-worker-deadlines"),
        ("Deployment", "meielinn-worker-mail"),
        ("Deployment", "meielinn-worker-media"),
        ("Cluster", "meielinn-db"),
        ("Pooler", "meielinn-db-pooler-rw"),
        ("Pooler", "meielinn-db-pooler-ro"),
        ("StatefulSet", "meielinn-redis"),
    } <= names
    assert len(names) == len(production), "two resources share a kind and a name"
    assert all(
        r["metadata"].get("namespace") == "meielinn" for r in production if r["kind"] != "Namespace"
    )
    # The overlay's patch reached the autoscaler.
    assert _named(production, "HorizontalPodAutoscaler", "meielinn-api")["spec"]["minReplicas"] == 3


def test_selectors_match_their_pod_templates(production: list[dict[str, Any]]) -> None:
    for resource in production:
        if resource["kind"] in {"Deployment", "StatefulSet"}:
            selector = resource["spec"]["selector"]["matchLabels"]
            labels = resource["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items(), resource["metadata"]["name"]
    pods = [r["spec"]["template"]["metadata"]["labels"] for r in _of(production, "Deployment")]
    for service in _of(production, "Service"):
        selector = service["spec"]["selector"]
        everything = pods + [
            r["spec"]["template"]["metadata"]["labels"] for r in _of(production, "StatefulSet")
        ]
        assert any(selector.items() <= labels.items() for labels in everything), service[
            "metadata"
        ]["name"]


def test_every_container_has_an_image_and_bounded_resources(
    production: list[dict[str, Any]],
) -> None:
    containers = _containers(production)
    assert len(containers) >= 7
    for container in containers:
        assert container.get("image"), container["name"]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), container["name"]
    assert all(
        c["image"].startswith("registry.example.org/meielinn:") or c["image"].startswith("redis:")
        for c in containers
    )


def test_probes_use_paths_the_app_serves(production: list[dict[str, Any]]) -> None:
    paths = set(create_app().openapi()["paths"])
    api = _named(production, "Deployment", "meielinn-api")
    (container,) = _pod_spec(api)["containers"]
    ports = {port["name"] for port in container["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        http = container[probe]["httpGet"]
        assert http["path"] in paths, probe
        assert http["port"] in ports, probe
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "/readyz/workers" in paths
    for name in POOLS:
        worker = _named(production, "Deployment", f"meielinn-worker-{name}")
        (container,) = _pod_spec(worker)["containers"]
        assert container["livenessProbe"]["exec"]["command"][:2] == ["arq", "--check"]


def test_worker_pools_run_settings_the_worker_defines(production: list[dict[str, Any]]) -> None:
    targets = set()
    for name in POOLS:
        (container,) = _pod_spec(_named(production, "Deployment", f"meielinn-worker-{name}"))[
            "containers"
        ]
        command = container["command"]
        assert command[0] == "arq"
        assert container["livenessProbe"]["exec"]["command"][2] == command[1]
        module, _, attribute = command[1].rpartition(".")
        settings_class = getattr(importlib.import_module(module), attribute)
        assert settings_class.functions and settings_class.redis_settings
        targets.add(settings_class.queue_name)
    # Every pool the worker knows runs, each on its own queue.
    assert targets == {queue_name(Settings().arq_queue_name, pool) for pool in Pool}


def test_disruption_budgets_and_the_autoscaler_point_at_workloads(
    production: list[dict[str, Any]],
) -> None:
    workloads = [r for r in production if r["kind"] in {"Deployment", "StatefulSet"}]
    budgets = _of(production, "PodDisruptionBudget")
    assert len(budgets) >= 5
    for budget in budgets:
        selector = budget["spec"]["selector"]["matchLabels"]
        matched = [
            w
            for w in workloads
            if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matched) == 1, budget["metadata"]["name"]
    for autoscaler in _of(production, "HorizontalPodAutoscaler"):
        target = autoscaler["spec"]["scaleTargetRef"]
        assert _named(production, target["kind"], target["name"])
        assert autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]


def test_settings_are_known_and_secrets_stay_out_of_the_configmap(
    production: list[dict[str, Any]],
) -> None:
    config = _named(production, "ConfigMap", "meielinn-settings")["data"]
    assert set(config) <= SETTINGS, set(config) - SETTINGS
    assert not set(config) & SECRET_SETTINGS
    assert all(isinstance(value, str) for value in config.values()), "ConfigMap values are strings"
    for value in config.values():
        assert "://" not in value or "@" not in value, "a URL with credentials in the ConfigMap"
    (secret,) = _documents(DEPLOY / "secret.example.yaml")
    keys = set(secret["stringData"])
    assert {k for k in keys if k.startswith("MEIELINN_")} <= SETTINGS
    assert {"MEIELINN_DATABASE_URL", "MEIELINN_SECRET_KEY", "MEIELINN_ENCRYPTION_KEYS"} <= keys
    # The values are what the app accepts together (production refuses weak ones).
    Settings.model_validate(
        {
            **{k.removeprefix("MEIELINN_").lower(): v for k, v in config.items()},
            "database_url": secret["stringData"]["MEIELINN_DATABASE_URL"],
            "database_replica_urls": secret["stringData"]["MEIELINN_DATABASE_REPLICA_URLS"],
            "secret_key": "x" * 40,
            "encryption_keys": "A" * 43 + "=",
        }
    )
    for container in _containers(production):
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] == "meielinn-settings"
            if "secretRef" in source:
                assert source["secretRef"]["name"] == secret["metadata"]["name"]
        for variable in container.get("env", []):
            assert variable["name"] in SETTINGS, variable["name"]
            ref = variable.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in keys


def test_the_database_is_postgis_with_a_replica_and_a_transaction_pooler(
    production: list[dict[str, Any]],
) -> None:
    cluster = _named(production, "Cluster", "meielinn-db")["spec"]
    assert cluster["instances"] >= 2
    assert "postgis" in cluster["imageName"]
    assert any("postgis" in sql for sql in cluster["bootstrap"]["initdb"]["postInitApplicationSQL"])
    for pooler in _of(production, "Pooler"):
        assert pooler["spec"]["cluster"]["name"] == "meielinn-db"
        assert pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"
    config = _named(production, "ConfigMap", "meielinn-settings")["data"]
    assert config["MEIELINN_DATABASE_POOLER"] == "transaction"
    sentinels = config["MEIELINN_REDIS_SENTINELS"].split(",")
    redis = _named(production, "StatefulSet", "meielinn-redis")
    assert len(sentinels) == redis["spec"]["replicas"] == 3
    assert {c["name"] for c in _pod_spec(redis)["containers"]} == {"redis", "sentinel"}
