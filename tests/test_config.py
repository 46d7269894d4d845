"""Fail-closed settings: the published development key stays on loopback, never in production;
the image and the compose stack default to production."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from service.config import DEVELOPMENT_SECRET, Environment, Settings, get_settings, settings_or_exit

ROOT = Path(__file__).resolve().parent.parent
REAL_KEY = "k" * 48
ENCRYPTION_KEY = "a2V5LWZvci10aGUtdGVzdHMtb2YtdGhlLXNldHRpbmc="  # 32 bytes, URL-safe base64
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104


@pytest.mark.parametrize("host", [EVERY_INTERFACE, "::", "192.0.2.10", "api.example.org"])
def test_development_secret_is_refused_off_loopback(host: str) -> None:
    with pytest.raises(ValidationError, match="not a loopback address"):
        Settings(env=Environment.development, host=host, secret_key=DEVELOPMENT_SECRET)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_development_secret_is_allowed_on_loopback(host: str) -> None:
    settings = Settings(env=Environment.development, host=host, secret_key=DEVELOPMENT_SECRET)
    assert settings.host == host


def test_a_real_secret_may_listen_anywhere() -> None:
    settings = Settings(env=Environment.development, host=EVERY_INTERFACE, secret_key=REAL_KEY)
    assert settings.secret_key.get_secret_value() == REAL_KEY


@pytest.mark.parametrize("host", ["127.0.0.1", EVERY_INTERFACE])
def test_production_always_refuses_the_development_secret(host: str) -> None:
    with pytest.raises(ValidationError, match="published development key is refused"):
        Settings(env=Environment.production, host=host, secret_key=DEVELOPMENT_SECRET)
    assert Settings(
        env=Environment.production,
        host=host,
        secret_key=REAL_KEY,
        encryption_keys=ENCRYPTION_KEY,
    )


def test_entry_points_state_the_refusal_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEIELINN_ENV", "development")
    monkeypatch.setenv("MEIELINN_HOST", EVERY_INTERFACE)
    monkeypatch.setenv("MEIELINN_SECRET_KEY", DEVELOPMENT_SECRET)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exit_info:
            settings_or_exit()
    finally:
        get_settings.cache_clear()
    message = str(exit_info.value.code)
    assert message.startswith("meielinn: settings refused: MEIELINN_HOST=0.0.0.0")
    assert "\n" not in message


def test_forwarded_allow_ips_defaults_to_loopback_only() -> None:
    assert Settings(env=Environment.development).forwarded_allow_ips == "127.0.0.1"


def test_image_defaults_to_production_on_every_interface() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    env = dict(re.findall(r"\b(MEIELINN_[A-Z_]+)=(\S+)", dockerfile))
    assert env["MEIELINN_ENV"] == "production"
    assert env["MEIELINN_HOST"] == EVERY_INTERFACE
    assert env["MEIELINN_FORWARDED_ALLOW_IPS"] == "127.0.0.1"
    # The app applies the trusted proxies itself; uvicorn must not second-guess it.
    assert "--no-proxy-headers" in dockerfile


def test_compose_defaults_to_production() -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))["services"]
    for name in ("api", "worker"):
        environment = services[name]["environment"]
        assert environment["MEIELINN_ENV"] == "${MEIELINN_ENV:-production}"
        assert environment["MEIELINN_SECRET_KEY"].startswith("${MEIELINN_SECRET_KEY:?")
        assert environment["MEIELINN_FORWARDED_ALLOW_IPS"] == (
            "${MEIELINN_FORWARDED_ALLOW_IPS:-127.0.0.1}"
        )
    assert "--no-proxy-headers" in " ".join(services["api"]["command"])
