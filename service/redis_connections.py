"""Where Redis is: one server (``MEIELINN_REDIS_URL``), or the master a set of Sentinels name.

With ``MEIELINN_REDIS_SENTINELS`` the API's job queue, its rate limits and the workers ask
the Sentinels for the master whenever they connect, so they follow a failover: the
connections to the old master fail once (a closed socket, or READONLY from a demoted master)
and the next ones go to the new master. ``MEIELINN_REDIS_URL`` then only gives the database
number and the password. arq supports Sentinel, not Redis Cluster.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote

from arq.connections import RedisSettings
from redis.asyncio import ConnectionPool
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from service.config import Settings


def arq_redis_settings(settings: Settings) -> RedisSettings:
    """What arq's worker connects with: the URL's server, or the Sentinels' master."""
    base = RedisSettings.from_dsn(settings.redis_url)
    if not settings.redis_sentinel_list:
        return base
    return dataclasses.replace(
        base,
        host=settings.redis_sentinel_list,
        sentinel=True,
        sentinel_master=settings.redis_sentinel_master,
    )


def redis_connection_pool(settings: Settings) -> ConnectionPool:
    """The connections of the API's Redis client (``service.main.create_redis``): to the
    URL's server, or to the master the Sentinels name at each new connection."""
    timeout = settings.readiness_timeout_seconds
    if not settings.redis_sentinel_list:
        return ConnectionPool.from_url(settings.redis_url, socket_connect_timeout=timeout)
    base = RedisSettings.from_dsn(settings.redis_url)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        settings.redis_sentinel_list,
        sentinel_kwargs={"socket_connect_timeout": timeout, "socket_timeout": timeout},
    )
    pool: ConnectionPool = SentinelConnectionPool(  # type: ignore[no-untyped-call]
        settings.redis_sentinel_master,
        sentinel,
        is_master=True,
        db=base.database,
        username=base.username,
        password=base.password,
        socket_connect_timeout=timeout,
    )
    return pool


def rate_limit_storage(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The ``limits`` storage URI and options: the URL's server, or the Sentinels' master
    (its windows are read from the master too: a replica's counts may be behind)."""
    if not settings.redis_sentinel_list:
        return "async+" + settings.redis_url, {}
    base = RedisSettings.from_dsn(settings.redis_url)
    auth = ""
    if base.password:
        auth = f"{quote(base.username or '', safe='')}:{quote(base.password, safe='')}@"
    hosts = ",".join(f"{host}:{port}" for host, port in settings.redis_sentinel_list)
    uri = f"async+redis+sentinel://{auth}{hosts}/{settings.redis_sentinel_master}"
    return uri, {"use_replicas": False, "db": base.database}
