"""Settings: every knob is an environment variable with the ``MEIELINN_`` prefix.

The README's configuration table lists them; ``tests/test_contract.py`` checks that
``compose.yaml`` passes the same names to the api and worker containers.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from enum import StrEnum
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me-in-production"  # noqa: S105


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_fernet_key(text: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(text.encode("ascii"))) == 32 and len(text) == 44
    except (ValueError, UnicodeError):
        return False


def _local_database_url() -> str:
    # The same port scripts/dev_services.sh starts the local server on, so that a script run
    # without scripts/with_env.sh still finds it.
    port = os.environ.get("MEIELINN_PG_PORT") or "54329"
    return f"postgresql+asyncpg://meielinn:meielinn@127.0.0.1:{port}/meielinn"


def _local_redis_url() -> str:
    port = os.environ.get("MEIELINN_REDIS_PORT") or "63799"
    return f"redis://127.0.0.1:{port}/0"


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
        default_factory=_local_database_url,
        description="SQLAlchemy URL of the PostgreSQL + PostGIS database (asyncpg driver); "
        "by default the local server `make services` starts (MEIELINN_PG_PORT, 54329).",
    )
    # All connections are kept (no overflow by default): an overflow connection is closed
    # when it is returned to a full pool, so under steady load above the pool's size every
    # request paid for a new connection (a backend started, statements prepared anew).
    database_pool_size: int = Field(20, ge=1, description="Connections kept per process.")
    database_max_overflow: int = Field(
        0, ge=0, description="Extra connections under load, closed again when returned."
    )
    database_pool_timeout_seconds: float = Field(
        2.0,
        gt=0,
        le=30,
        description="How long a request waits for a free database connection before it is "
        "answered 503 with Retry-After (instead of hanging while the pool is exhausted).",
    )
    database_statement_timeout_seconds: float = Field(
        15.0,
        gt=0,
        le=3600,
        description="PostgreSQL statement_timeout of every connection: a statement running (or "
        "waiting for a lock) longer is cancelled, and a request answered 503 with Retry-After.",
    )
    database_replica_urls: str = Field(
        "",
        description="Comma-separated SQLAlchemy URLs of streaming replicas of the database (or "
        "of a pooler in front of them); empty: every read goes to MEIELINN_DATABASE_URL. "
        "Public reads of anonymous callers go to a healthy replica (see service/replicas.py).",
    )
    replica_max_lag_seconds: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="A replica further behind the primary than this is skipped until it "
        "catches up; reads go to another replica or the primary.",
    )
    replica_check_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="How often each API process asks a replica how far behind it is (the "
        "answer is kept this long).",
    )
    database_pooler: Literal["none", "session", "transaction"] = Field(
        "none",
        description="What stands between the app and PostgreSQL: none, or PgBouncer in session "
        "or transaction mode. transaction turns off the statement caches (no prepared "
        "statement outlives its transaction) and sends no statement_timeout at connect: "
        "set it on the database role instead (README: Running a city).",
    )
    redis_url: str = Field(
        default_factory=_local_redis_url,
        description="Redis URL for the job queue and rate limits; by default the local server "
        "`make services` starts (MEIELINN_REDIS_PORT, 63799).",
    )
    arq_queue_name: str = Field("meielinn:queue", description="arq queue the workers consume.")
    redis_sentinels: str = Field(
        "",
        description="Comma-separated host:port of Redis Sentinels; when given, the job queue "
        "and the rate limits follow the master Sentinel names (MEIELINN_REDIS_SENTINEL_MASTER) "
        "through a failover, and MEIELINN_REDIS_URL only gives the database number and password.",
    )
    redis_sentinel_master: str = Field(
        "meielinn", description="The name the Sentinels monitor the Redis master under."
    )

    host: str = Field(
        "127.0.0.1",
        description="Address the API listens on (`make run` and the image pass it to uvicorn); "
        "off loopback the development secret key is refused.",
    )
    port: int = Field(8000, ge=1, le=65535, description="Port `make run` serves the API on.")
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Comma-separated addresses or networks (or *) of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; everyone else's are ignored.",
    )
    log_level: str = Field("INFO", description="Python log level of the JSON logs.")
    access_log_level: Literal["DEBUG", "INFO"] = Field(
        "INFO",
        description="Level of the one log line per request: INFO, or DEBUG to show them only "
        "with MEIELINN_LOG_LEVEL=DEBUG (`make run` sets DEBUG).",
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated origins (scheme://host[:port]) of web apps allowed to call "
        "the API from a browser; empty: none. `*` allows any origin, but never with "
        "MEIELINN_CORS_ALLOW_CREDENTIALS.",
    )
    cors_allow_credentials: bool = Field(
        False,
        description="Let browsers send cookies and HTTP authentication to the API from "
        "MEIELINN_CORS_ORIGINS (bearer tokens in the Authorization header need no cookies).",
    )
    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest request body accepted outside photo uploads (413 above).",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token a Prometheus scraper presents at /metrics. Unset: /metrics "
        "answers only clients connecting from loopback (a scraper beside the API).",
    )
    readiness_timeout_seconds: float = Field(
        2.0, gt=0, description="How long /readyz waits for each dependency."
    )
    secret_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_SECRET),
        description="Key for signing tokens; must be set to a long random value in production.",
    )
    encryption_keys: SecretStr | None = Field(
        None,
        description="Fernet keys (comma-separated; the first encrypts, every one decrypts) for "
        "the secrets stored to be read back: webhook signing secrets. Required in production; "
        "elsewhere derived from MEIELINN_SECRET_KEY when unset.",
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL under which the API is reached from outside; emailed links "
        "point to its /v1/auth pages.",
    )
    timezone: str = Field(
        "Europe/Tallinn",
        description="The city's time zone: web pages show dates and times on its clock.",
    )
    map_tile_url: str = Field(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        max_length=300,
        description="Map tiles for the web app's maps ({z}/{x}/{y}); empty for none. Markers, "
        "clusters and the list beside each map work without tiles.",
    )
    map_tile_attribution: str = Field(
        "© OpenStreetMap contributors",
        max_length=200,
        description="The tiles' attribution, shown on every map.",
    )
    # Tokens.
    jwt_issuer: str = Field("meielinn", description="`iss` of access tokens.")
    jwt_audience: str = Field("meielinn-api", description="`aud` of access tokens.")
    access_token_minutes: int = Field(15, ge=1, le=1440, description="Access token lifetime.")
    refresh_token_days: int = Field(30, ge=1, le=365, description="Refresh token lifetime.")
    web_session_days: int = Field(
        14, ge=1, le=90, description="How long a web app sign-in lasts (its cookie and session)."
    )
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
    # Webhooks for integrators (service/notifications/webhooks).
    webhook_allow_private: bool = Field(
        False,
        description="Allow webhook URLs whose host resolves to a private, loopback, link-local, "
        "multicast or reserved address (refused by default: requests from inside the city's "
        "network must not be aimed by an admin account at internal services).",
    )
    webhook_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="Whole time one webhook request may take."
    )
    webhook_max_attempts: int = Field(
        8, ge=1, le=20, description="Attempts at one webhook delivery before it is given up."
    )
    webhook_retry_base_seconds: float = Field(
        30.0,
        gt=0,
        description="Backoff of webhook retries: attempt n waits a random time up to "
        "base × 2^(n-1) (full jitter), at most MEIELINN_WEBHOOK_RETRY_MAX_SECONDS.",
    )
    webhook_retry_max_seconds: float = Field(
        3600.0, gt=0, description="Longest wait between two webhook attempts."
    )
    webhook_disable_after_failures: int = Field(
        10,
        ge=1,
        description="Consecutive failed attempts after which a webhook is disabled.",
    )
    # Reports.
    report_quota_per_day: int = Field(
        10, ge=1, description="Reports one person may file in any 24 hours (429 above)."
    )
    api_key_report_quota_per_day: int = Field(
        200,
        ge=1,
        description="Reports one API key may file on behalf of residents in any 24 hours.",
    )
    engagement_changes_per_hour: int = Field(
        120,
        ge=1,
        description="Support and subscription changes one person may make in an hour (429 above).",
    )
    photo_uploads_per_hour: int = Field(
        30, ge=1, description="Photo uploads one person may make in an hour (429 above)."
    )
    photo_max_decode_megabytes: int = Field(
        128,
        ge=8,
        le=2048,
        description="Largest decoded image held in memory while cleaning a photo.",
    )
    escalation_interval_working_days: float = Field(
        2,
        gt=0,
        le=30,
        description="Working days from a breach to the parent department, and on to the admins.",
    )
    sla_sweep_seconds: int = Field(
        2, ge=1, le=60, description="Seconds between the SLA sweeps of the database."
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
    idea_attachments: int = Field(
        10, ge=1, le=50, description="Photos and PDF documents one idea may carry together."
    )
    document_max_pages: int = Field(
        200, ge=1, le=5000, description="Pages a PDF document attached to an idea may have."
    )
    idea_sweep_seconds: int = Field(
        10, ge=1, le=60, description="Seconds between sweeps of idea reviews' reminders and lapses."
    )
    lab_sweep_seconds: int = Field(
        30,
        ge=1,
        le=60,
        description="Seconds between sweeps of living lab invitations' deadlines and task notices.",
    )
    open311_posts_per_minute: int = Field(
        60, ge=1, description="Open311 POST requests one API key may make in a minute (429 above)."
    )
    media_fetch_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=60,
        description="How long fetching the media_url of one Open311 request may take, all "
        "of its URLs together.",
    )
    media_fetch_max_bytes: int = Field(
        20 * 1024 * 1024,
        ge=1024,
        description="Bytes the media_url of one Open311 request may bring together (each "
        "one also within MEIELINN_PHOTO_MAX_BYTES).",
    )
    media_fetch_allowed_networks: str = Field(
        "",
        description="Comma-separated private networks an Open311 media_url may point into; "
        "by default only public addresses are fetched.",
    )
    open_data_downloads: int = Field(
        4,
        ge=1,
        le=100,
        description="Open-data downloads streamed at once by one API process, each holding a "
        "database connection while it runs (503 with Retry-After above); keep it well below "
        "MEIELINN_DATABASE_POOL_SIZE so that every other route keeps its connections.",
    )
    open_data_downloads_per_hour: int = Field(
        30, ge=1, description="Open-data downloads one client address may start in an hour."
    )
    open_data_stall_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="How long a download's transaction may wait for its client to read on "
        "(PostgreSQL's idle_in_transaction_session_timeout): a client that reads slower is "
        "cut off and its connection freed.",
    )
    diploma_font_dir: str = Field(
        "/usr/share/fonts/truetype/dejavu",
        description="Directory with DejaVuSans.ttf and DejaVuSans-Bold.ttf (Debian's "
        "fonts-dejavu-core), the typeface embedded in diplomas: it has Estonian and Cyrillic "
        "letters.",
    )
    map_point_budget: int = Field(
        500, ge=10, le=10_000, description="Above this many reports in view, /v1/map clusters."
    )
    map_cells_seconds: int = Field(
        5,
        ge=1,
        le=60,
        description="How often a worker recounts the map cells changed reports touched "
        "(the most /v1/map clusters lag behind).",
    )
    # Feedback.
    rating_window_days: int = Field(
        14,
        ge=1,
        le=90,
        description="Days after an answer in which the reporter and supporters may rate it; "
        "an answered report nobody rated as unresolved closes when they pass.",
    )
    # Privacy.
    contact_retention_days: int = Field(
        1095,
        ge=1,
        le=3650,
        description="Days after a report reached a final state (closed, rejected, withdrawn, "
        "duplicate) until the reporter's contact data is removed from it; contact reporters "
        "without an account are then erased.",
    )
    heartbeat_seconds: int = Field(
        30, ge=1, le=60, description="Seconds between worker heartbeats (1–60)."
    )

    @property
    def replica_url_list(self) -> list[str]:
        return [url.strip() for url in self.database_replica_urls.split(",") if url.strip()]

    @property
    def redis_sentinel_list(self) -> list[tuple[str, int]]:
        """The Sentinels as (host, port) pairs."""
        found = []
        for address in self.redis_sentinels.split(","):
            if address.strip():
                host, _, port = address.strip().rpartition(":")
                found.append((host.strip("[]"), int(port)))
        return found

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @model_validator(mode="after")
    def _refuse_open_cors(self) -> Settings:
        origins = self.cors_origin_list
        if "*" in origins and self.cors_allow_credentials:
            raise ValueError(
                "MEIELINN_CORS_ORIGINS=* with MEIELINN_CORS_ALLOW_CREDENTIALS would let any web "
                "page act with a visitor's credentials: name the origins"
            )
        for origin in origins:
            parsed = urlsplit(origin)
            if origin != "*" and (
                parsed.scheme not in ("http", "https")
                or not parsed.netloc
                or parsed.path
                or parsed.query
                or "*" in origin
            ):
                raise ValueError(
                    f"MEIELINN_CORS_ORIGINS: {origin!r} is not an origin (scheme://host[:port], "
                    "no path), or `*` alone"
                )
        return self

    @model_validator(mode="after")
    def _refuse_malformed_cluster_addresses(self) -> Settings:
        for address in self.redis_sentinels.split(","):
            host, colon, port = address.strip().rpartition(":")
            if address.strip() and (not colon or not host or not port.isdigit()):
                raise ValueError(
                    f"MEIELINN_REDIS_SENTINELS: {address.strip()!r} is not host:port "
                    "(comma-separated)"
                )
        for url in self.replica_url_list:
            if not url.startswith("postgresql+asyncpg://"):
                raise ValueError(
                    "MEIELINN_DATABASE_REPLICA_URLS: each URL starts with postgresql+asyncpg://"
                )
        return self

    @model_validator(mode="after")
    def _refuse_unknown_zone_and_tiles(self) -> Settings:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"MEIELINN_TIMEZONE: {self.timezone!r} is not an IANA time zone"
            ) from exc
        tiles = urlsplit(self.map_tile_url)
        if self.map_tile_url and (tiles.scheme not in ("http", "https") or not tiles.netloc):
            raise ValueError("MEIELINN_MAP_TILE_URL: give an http(s) URL with {z}/{x}/{y}, or ''")
        return self

    @model_validator(mode="after")
    def _refuse_malformed_encryption_keys(self) -> Settings:
        if self.encryption_keys is None:
            return self
        parts = [p.strip() for p in self.encryption_keys.get_secret_value().split(",")]
        if not all(parts) or not all(_is_fernet_key(part) for part in parts):
            raise ValueError(
                "MEIELINN_ENCRYPTION_KEYS: each key (comma-separated) is 32 random bytes in "
                "URL-safe base64, 44 characters"
            )
        return self

    @model_validator(mode="after")
    def _refuse_weak_production_settings(self) -> Settings:
        if self.env is not Environment.test and (
            self.argon2_memory_kib < 19456 or self.argon2_time_cost < 2
        ):
            raise ValueError(
                "argon2 parameters below OWASP's minimum (19456 KiB, 2 iterations) "
                "are only allowed with MEIELINN_ENV=test"
            )
        key = self.secret_key.get_secret_value()
        if self.env is Environment.production:
            if key == DEVELOPMENT_SECRET or len(key) < 32:
                raise ValueError(
                    "MEIELINN_ENV=production needs MEIELINN_SECRET_KEY set to a random value "
                    "of 32+ characters (the published development key is refused)"
                )
            if self.encryption_keys is None:
                raise ValueError(
                    "MEIELINN_ENV=production needs MEIELINN_ENCRYPTION_KEYS set to a Fernet key "
                    "(32 random bytes, URL-safe base64): webhook secrets are stored encrypted "
                    "with it"
                )
        elif key == DEVELOPMENT_SECRET and not is_loopback(self.host):
            # Anyone can sign tokens with the published key: only this machine may reach it.
            raise ValueError(
                f"MEIELINN_HOST={self.host} is not a loopback address, and the published "
                "development MEIELINN_SECRET_KEY would let anyone who can reach it forge "
                "tokens: set MEIELINN_SECRET_KEY to a random value of 32+ characters, or "
                "listen on 127.0.0.1"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def settings_or_exit() -> Settings:
    """``get_settings()`` for the processes' entry points: refused settings end the process
    with the reasons, one line, instead of a traceback."""
    try:
        return get_settings()
    except ValidationError as error:
        reasons = []
        for problem in error.errors():
            message = str(problem["msg"]).removeprefix("Value error, ")
            if problem["loc"]:
                message = f"MEIELINN_{str(problem['loc'][0]).upper()}: {message}"
            reasons.append(message)
        raise SystemExit("meielinn: settings refused: " + "; ".join(reasons)) from None
