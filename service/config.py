"""Settings: every knob is an environment variable with the ``MEIELINN_`` prefix.

The README's configuration table lists them; ``tests/test_compose.py`` checks that
``compose.yaml`` passes the same names to the api and worker containers.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me-in-production"  # noqa: S105


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
        SecretStr(DEVELOPMENT_SECRET),
        description="Key for signing tokens; must be set to a long random value in production.",
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL under which the API is reached from outside; emailed links "
        "point to its /v1/auth pages.",
    )
    # Tokens.
    jwt_issuer: str = Field("meielinn", description="`iss` of access tokens.")
    jwt_audience: str = Field("meielinn-api", description="`aud` of access tokens.")
    access_token_minutes: int = Field(15, ge=1, le=1440, description="Access token lifetime.")
    refresh_token_days: int = Field(30, ge=1, le=365, description="Refresh token lifetime.")
    email_token_hours: int = Field(48, ge=1, description="Lifetime of email verification links.")
    password_reset_minutes: int = Field(60, ge=5, description="Lifetime of password reset links.")
    # Password hashing (argon2id). The defaults are RFC 9106's second recommendation and exceed
    # OWASP's minimum (19 MiB, 2 iterations); outside tests anything below that is refused.
    argon2_time_cost: int = Field(3, ge=1, description="argon2id iterations.")
    argon2_memory_kib: int = Field(65536, ge=8, description="argon2id memory in KiB.")
    argon2_parallelism: int = Field(4, ge=1, description="argon2id lanes.")
    # Rate limits (Redis). Sign-in attempts are counted before the password is checked;
    # see service/auth/throttle.py for why there are three windows.
    login_attempts_per_minute_per_ip: int = Field(
        30, ge=1, description="Sign-in attempts per client address per minute, any account."
    )
    login_attempts_per_minute_per_account_ip: int = Field(
        5, ge=1, description="Sign-in attempts per account from one client address per minute."
    )
    login_attempts_per_account: int = Field(
        50,
        ge=1,
        description="Sign-in attempts per account in MEIELINN_LOGIN_ACCOUNT_WINDOW_MINUTES from "
        "addresses that have not signed in to it before.",
    )
    login_account_window_minutes: int = Field(
        15, ge=1, le=1440, description="Window of MEIELINN_LOGIN_ATTEMPTS_PER_ACCOUNT."
    )
    registrations_per_hour_per_ip: int = Field(
        10,
        ge=1,
        description="Registrations, verification resends and reset requests per client "
        "address per hour (each counted apart).",
    )
    account_emails_per_hour: int = Field(
        5,
        ge=1,
        description="Verification, reset and registration-notice emails one address receives "
        "per hour, however they are asked for.",
    )
    # Outgoing email.
    smtp_host: str = Field("127.0.0.1", description="SMTP server for outgoing email.")
    smtp_port: int = Field(8025, ge=1, le=65535, description="SMTP port.")
    smtp_username: str | None = Field(None, description="SMTP user, when the server wants one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_timeout_seconds: float = Field(10.0, gt=0, description="SMTP connect and send timeout.")
    mail_from: str = Field(
        "meielinn <no-reply@meielinn.localhost>", description="From address of outgoing email."
    )
    # Reports.
    report_quota_per_day: int = Field(
        10, ge=1, description="Reports one person may file in any 24 hours (429 above)."
    )
    idempotency_hours: int = Field(
        24, ge=1, le=168, description="How long an Idempotency-Key and its answer are kept."
    )
    media_dir: str = Field(
        "media", description="Directory for uploaded photos and thumbnails (created if missing)."
    )
    photo_max_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest photo upload in bytes (413 above)."
    )
    photo_max_pixels: int = Field(
        40_000_000, ge=10_000, description="Largest photo in pixels; larger ones are refused."
    )
    photos_per_report: int = Field(5, ge=1, le=20, description="Photos one report may carry.")
    map_point_budget: int = Field(
        500, ge=10, le=10_000, description="Above this many reports in view, /v1/map clusters."
    )
    heartbeat_seconds: int = Field(
        30, ge=1, le=60, description="Seconds between worker heartbeats (1–60)."
    )

    @model_validator(mode="after")
    def _refuse_weak_production_settings(self) -> Settings:
        if self.env is Environment.test:
            return self
        if self.argon2_memory_kib < 19456 or self.argon2_time_cost < 2:
            raise ValueError(
                "argon2 parameters below OWASP's minimum (19456 KiB, 2 iterations) "
                "are only allowed with MEIELINN_ENV=test"
            )
        if self.env is Environment.production:
            key = self.secret_key.get_secret_value()
            if key == DEVELOPMENT_SECRET or len(key) < 32:
                raise ValueError("MEIELINN_SECRET_KEY must be a random value of 32+ characters")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
