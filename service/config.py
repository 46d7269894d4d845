"""Settings: every knob is an environment variable with the ``MEIELINN_`` prefix.

The README's configuration table lists them; ``tests/test_compose.py`` checks that
``compose.yaml`` passes the same names to the api and worker containers.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEIELINN_", extra="ignore")

    env: Environment = Field(
        Environment.development,
        description="development, test or production; production refuses demo accounts.",
    )
    database_url: str = Field(
        "postgresql+asyncpg://meielinn:meielinn@127.0.0.1:54329/meielinn",
        description="SQLAlchemy URL of the PostgreSQL + PostGIS database (asyncpg driver).",
    )
    database_pool_size: int = Field(10, ge=1, description="Connections kept per process.")
    database_max_overflow: int = Field(10, ge=0, description="Extra connections under load.")
    redis_url: str = Field(
        "redis://127.0.0.1:63799/0", description="Redis URL for the job queue and rate limits."
    )
    arq_queue_name: str = Field("meielinn:queue", description="arq queue the workers consume.")
    port: int = Field(8000, ge=1, le=65535, description="Port `make run` serves the API on.")
    log_level: str = Field("INFO", description="Python log level of the JSON logs.")
    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest request body accepted outside photo uploads (413 above).",
    )
    readiness_timeout_seconds: float = Field(
        2.0, gt=0, description="How long /readyz waits for each dependency."
    )
    secret_key: SecretStr = Field(
        SecretStr("development-only-secret-change-me-in-production"),
        description="Key for signing tokens; must be set to a long random value in production.",
    )
    heartbeat_seconds: int = Field(
        30, ge=1, le=60, description="Seconds between worker heartbeats (1–60)."
    )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
