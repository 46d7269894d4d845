"""Worker pools: each job waits in its own pool's queue, so deadlines never wait behind mail."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.clock import system_clock
from service.config import Settings
from service.outbox.models import OutboxJob
from service.outbox.pools import POOL_OF_JOB, Pool, pool_of, queue_name
from service.outbox.service import add_job, relay
from workers.main import (
    CRON_JOBS,
    FUNCTIONS,
    DeadlineWorker,
    GeneralWorker,
    MailWorker,
    MediaWorker,
    pool_functions,
)

ROOT = Path(__file__).resolve().parent.parent


def _name(job: Any) -> str:
    return str(getattr(job, "name", None) or job.__name__)


def test_every_job_belongs_to_exactly_one_named_pool() -> None:
    names = {_name(job) for job in FUNCTIONS}
    # A job left out would silently land in the general pool: every job is placed on purpose.
    assert names == set(POOL_OF_JOB)
    placed = [job for pool in Pool for job in pool_functions(pool) if _name(job) != "heartbeat"]
    assert sorted(_name(job) for job in placed) == sorted(names - {"heartbeat"})


def test_each_pool_consumes_its_own_queue_with_only_its_own_jobs() -> None:
    classes = {
        Pool.general: GeneralWorker,
        Pool.deadlines: DeadlineWorker,
        Pool.mail: MailWorker,
        Pool.media: MediaWorker,
    }
    queues = {cls.queue_name for cls in classes.values()}  # type: ignore[attr-defined]
    assert len(queues) == 4
    for pool, cls in classes.items():
        jobs = {_name(job) for job in cls.functions}  # type: ignore[attr-defined]
        assert {pool_of(name) for name in jobs - {"heartbeat"}} <= {pool}
        assert "heartbeat" in jobs  # every pool's liveness is seen
        for cron in cls.cron_jobs:  # type: ignore[attr-defined]
            assert (
                cron.coroutine.__name__ == "heartbeat" or pool_of(cron.coroutine.__name__) is pool
            )
    # The deadline pool carries no delivery: a mail backlog cannot hold up a breach.
    deadline_jobs = {_name(job) for job in DeadlineWorker.functions}  # type: ignore[attr-defined]
    assert "sla_fire" in deadline_jobs and "sla_sweep" in deadline_jobs
    assert not deadline_jobs & {"deliver_email", "deliver_webhook", "make_thumbnail"}
    # Every periodic job is started by exactly one pool (arq's cron ids are global).
    started = [c.name for cls in classes.values() for c in cls.cron_jobs]  # type: ignore[attr-defined]
    assert len(started) == len(set(started))
    assert len(started) == len(CRON_JOBS) + len(classes)


async def test_the_relay_hands_each_job_to_its_pools_queue(
    session: AsyncSession, settings: Settings, redis: Any
) -> None:
    now = system_clock()
    key = uuid.uuid4().hex
    await add_job(session, "deliver_email", key, key)
    await add_job(session, "sla_fire", key, key)
    await add_job(session, "make_thumbnail", key, key, run_at=now + timedelta(minutes=1))
    assert await relay(session, redis, now) == 3
    base = settings.arq_queue_name
    assert await redis.zscore(queue_name(base, Pool.mail), f"deliver_email:{key}") is not None
    # (a timer's job under the id of its second: service.outbox.pools.COALESCED_SECONDS)
    assert len(await redis.zrange(queue_name(base, Pool.deadlines), 0, -1)) == 1
    assert await redis.zscore(queue_name(base, Pool.media), f"make_thumbnail:{key}") is not None
    # Nothing of theirs in the general queue, where the relay itself runs.
    assert await redis.zscore(base, f"deliver_email:{key}") is None
    assert await redis.zcard(base) == 0


async def test_a_job_enqueued_by_name_lands_in_its_pools_queue(
    settings: Settings, redis: Any
) -> None:
    job = await redis.enqueue_job("sla_sweep", _job_id=f"probe-{uuid.uuid4().hex}")
    assert job is not None
    assert await redis.zscore(f"{settings.arq_queue_name}:deadlines", job.job_id) is not None
    assert await redis.zscore(settings.arq_queue_name, job.job_id) is None


async def test_the_relay_job_routes_by_the_configured_queue_not_its_clients_default(
    session: AsyncSession, settings: Settings, sessionmaker: Any
) -> None:
    """A worker's own Redis client may default to another queue (arq's own, or the pool's):
    the relay job sends each job under the configured base name all the same."""
    from arq.connections import ArqRedis
    from redis.asyncio import ConnectionPool

    from workers.outbox import relay_outbox

    key = uuid.uuid4().hex
    await add_job(session, "deliver_email", key, key)
    client = ArqRedis(
        connection_pool=ConnectionPool.from_url(settings.redis_url),
        default_queue_name="arq:queue",
    )
    try:
        ctx = {"sessionmaker": sessionmaker, "settings": settings, "redis": client}
        assert await relay_outbox(ctx) >= 1
        mail_queue = queue_name(settings.arq_queue_name, Pool.mail)
        assert await client.zscore(mail_queue, f"deliver_email:{key}") is not None
        assert await client.zscore("arq:queue:mail", f"deliver_email:{key}") is None
    finally:
        await client.aclose()


async def test_one_process_runs_every_pool_and_stops_when_their_queues_are_empty(
    settings: Settings,
) -> None:
    """``python -m workers --burst`` (``make run`` runs it without ``--burst``): a job sent
    to each pool's queue is done by that pool's worker in the one process."""
    import asyncio
    import os
    import sys

    from arq.jobs import Job

    from service.main import create_redis

    queue = f"meielinn:test:runner:{uuid.uuid4().hex[:8]}"
    probe = settings.model_copy(update={"arq_queue_name": queue})
    redis = create_redis(probe)
    try:
        jobs = {
            pool: await redis.enqueue_job(
                "heartbeat", _queue_name=queue_name(queue, pool), _job_id=f"beat-{uuid.uuid4()}"
            )
            for pool in Pool
        }
        env = {
            **os.environ,
            "MEIELINN_DATABASE_URL": settings.database_url,
            "MEIELINN_REDIS_URL": settings.redis_url,
            "MEIELINN_ARQ_QUEUE_NAME": queue,
            "MEIELINN_LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "workers",
            "--burst",
            env=env,
            cwd=ROOT,
        )
        assert await asyncio.wait_for(process.wait(), 120) == 0
        for pool, job in jobs.items():
            assert job is not None
            assert isinstance(await Job(job.job_id, redis).result(timeout=1), int), pool
            assert await redis.zcard(queue_name(queue, pool)) == 0
    finally:
        await redis.aclose()


async def test_timers_due_in_the_same_second_reach_arq_as_one_job(
    session: AsyncSession, settings: Settings, redis: Any
) -> None:
    """A burst of deadlines is a job a second for arq (each run fires every due timer in
    batches), while every row stays in the outbox until its timer is done."""
    now = system_clock().replace(microsecond=0)
    soon = now + timedelta(seconds=30)
    keys = [uuid.uuid4().hex for _ in range(3)]
    for key in keys:
        await add_job(session, "sla_fire", key, key, run_at=soon + timedelta(milliseconds=300))
    await add_job(session, "sla_fire", "later", "later", run_at=soon + timedelta(seconds=5))
    await add_job(session, "deliver_email", "one", "one", run_at=soon)
    await add_job(session, "deliver_email", "two", "two", run_at=soon)
    assert await relay(session, redis, now) == 6
    deadlines = await redis.zrange(queue_name(settings.arq_queue_name, Pool.deadlines), 0, -1)
    assert len(deadlines) == 2  # one per second of due times
    mail = await redis.zrange(queue_name(settings.arq_queue_name, Pool.mail), 0, -1)
    assert len(mail) == 2  # other jobs are never coalesced
    rows = (
        await session.execute(select(OutboxJob).where(col(OutboxJob.job_name) == "sla_fire"))
    ).scalars()
    assert all(row.leased_until is not None and row.done_at is None for row in rows)


async def test_the_process_exits_with_an_error_when_redis_goes_away_under_it(
    settings: Settings,
) -> None:
    """Redis gone under running pools: the process ends with a failure status, so a
    supervisor (systemd's Restart=on-failure, Kubernetes) starts it again and it finds
    Redis (or the master the Sentinels name) anew."""
    import asyncio
    import os
    import shutil
    import socket
    import sys

    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    server = await asyncio.create_subprocess_exec(
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        stdout=asyncio.subprocess.DEVNULL,
    )
    process = None
    try:
        probe_client = Redis(port=port)
        for _ in range(100):
            try:
                await probe_client.ping()
                break
            except (OSError, RedisConnectionError):
                await asyncio.sleep(0.05)
        await probe_client.aclose()
        env = {
            **os.environ,
            "MEIELINN_DATABASE_URL": settings.database_url,
            "MEIELINN_REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "MEIELINN_LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "workers",
            "deadlines",
            "mail",
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await asyncio.sleep(4)
        assert process.returncode is None  # running
        server.terminate()
        await server.wait()
        assert await asyncio.wait_for(process.wait(), 120) != 0
    finally:
        if server.returncode is None:
            server.terminate()
            await server.wait()
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
