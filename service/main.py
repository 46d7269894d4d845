"""The application factory: routers, middleware, error handlers and the lifespan."""

from __future__ import annotations

import gc
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq.connections import ArqRedis
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import service.models  # every table on the metadata, for foreign keys across packages
import service.wiring  # noqa: F401  (what the lower layers look up, installed)
from service import __version__
from service.auth.own_data_router import router as own_data_router
from service.auth.router import router as auth_router
from service.catalog.router import router as catalog_router
from service.city.router import router as city_router
from service.config import Settings, get_settings, settings_or_exit
from service.conflicts import RetryOnLockConflict
from service.db import create_engine, create_sessionmaker
from service.errors import install_error_handlers
from service.feedback.router import router as feedback_router
from service.ideas.office_router import router as ideas_office_router
from service.ideas.review_router import router as ideas_review_router
from service.ideas.router import router as ideas_router
from service.lab.resident_router import router as lab_resident_router
from service.lab.router import router as lab_router
from service.notifications.router import router as notifications_router
from service.observability import RequestContextMiddleware, configure_logging
from service.open311.router import router as open311_router
from service.openapi import install_openapi
from service.opendata.router import router as opendata_router
from service.ops.router import router as ops_router
from service.outbox.pools import PoolRedis
from service.queues.priorities_router import router as priorities_router
from service.queues.requests_router import router as work_requests_router
from service.queues.router import router as queues_router
from service.ratelimit import RateLimiter
from service.rawsql import create_read_pool
from service.redis_connections import rate_limit_storage, redis_connection_pool
from service.replicas import RememberWrites, ReplicaSet
from service.reports.moderation_router import router as moderation_router
from service.reports.reporter_router import router as reporter_router
from service.reports.router import router as reports_router
from service.security import install_security_headers
from service.training.resident_router import router as training_resident_router
from service.training.router import diploma_router
from service.training.router import router as training_router
from service.web.app import install_web
from service.web.errors import body_limit_page


def create_redis(settings: Settings) -> ArqRedis:
    """A Redis client that doubles as the arq job queue (each job in its pool's queue,
    ``service.outbox.pools``), on one server or the master the Sentinels name
    (``service.redis_connections``); connects lazily on first use."""
    return PoolRedis(
        connection_pool=redis_connection_pool(settings),
        default_queue_name=settings.arq_queue_name,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API. Tests pass their own settings; ``uvicorn --factory`` passes none."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings, pre_ping=False)  # see create_engine
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.read_pool = await create_read_pool(settings)
        if settings.replica_url_list:
            app.state.replicas = await ReplicaSet.from_settings(settings, engine)
            await app.state.replicas.check_all()
        # Everything built so far (the app, its routes, models and metadata) lives as long
        # as the process: out of the collector's sight, so that a full collection walks
        # only what requests allocate (a shorter pause in the tail of the latencies).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await app.state.redis.aclose()
            await app.state.read_pool.close()
            if settings.replica_url_list:
                await app.state.replicas.dispose()
            await engine.dispose()

    # /docs (Swagger UI) and /redoc load their scripts and styles from the app itself, under
    # /static-offline-docs, so they work on a network without internet.
    app = FastAPIOffline(
        title="meielinn",
        version=__version__,
        summary="Citizen issue reporting: reports, department queues, SLAs, Open311, training.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    # Anonymous reads' own pool (service.rawsql.reading), made by the lifespan.
    app.state.read_pool = None
    # Both connect lazily, on first use.
    app.state.redis = create_redis(settings)
    storage_uri, storage_options = rate_limit_storage(settings)
    app.state.rate_limiter = RateLimiter(storage_uri, **storage_options)
    install_error_handlers(app)
    # Inside the request context (one request id, one access line for both runs).
    app.add_middleware(RetryOnLockConflict, reads=bool(settings.replica_url_list))
    if settings.replica_url_list:
        # A client's reads after its own write go to the primary (service.replicas).
        app.add_middleware(RememberWrites, seconds=math.ceil(settings.replica_max_lag_seconds) + 1)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.photo_max_bytes + 64 * 1024,
        # A web form sends its photos with its fields: as many as a report may carry.
        form_upload_max_bytes=settings.photos_per_report * settings.photo_max_bytes + 64 * 1024,
        access_log_level=settings.access_log_level,
        too_large_page=body_limit_page(settings),
    )
    # The client address (per-address rate limits, audit) is the peer's, or, when the peer is
    # a trusted reverse proxy, the one it forwards. Applied here rather than by the server
    # (uvicorn runs with --no-proxy-headers) so that one setting rules whatever serves the app.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    # Outermost: the headers go on every answer, the body limit's 413 included.
    install_security_headers(app, settings)
    # Routes are tried in this order, router by router: the hot reads (a report, the map,
    # lists, Open311, the department queue) first, so a request for one of them is matched
    # after a handful of patterns, not a hundred. Only routers whose paths cannot match each
    # other's are moved ahead (tests/test_routing_order.py checks that every documented path
    # still reaches its own route).
    app.include_router(reports_router)
    app.include_router(reporter_router)
    app.include_router(open311_router)
    app.include_router(queues_router)
    app.include_router(ops_router)
    app.include_router(auth_router)
    app.include_router(city_router)
    app.include_router(catalog_router)
    app.include_router(moderation_router)
    app.include_router(notifications_router)
    app.include_router(work_requests_router)
    app.include_router(priorities_router)
    app.include_router(feedback_router)
    app.include_router(training_router)
    app.include_router(training_resident_router)
    app.include_router(diploma_router)
    app.include_router(own_data_router)
    app.include_router(opendata_router)
    app.include_router(ideas_router)
    app.include_router(ideas_review_router)
    app.include_router(ideas_office_router)
    app.include_router(lab_router)
    app.include_router(lab_resident_router)
    install_openapi(app)
    # The web app at / (after the API's routes and error handlers, which its pages reuse).
    install_web(app, settings)
    return app


def run_app() -> FastAPI:
    """Entry point for ``uvicorn --factory service.main:run_app``: logging, then the app."""
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    return create_app(settings)
