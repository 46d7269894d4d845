"""Real arq workers in burst mode, one per pool, as the tests run them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq.worker import Worker

from service.config import Settings
from service.main import create_redis
from service.outbox.pools import Pool, queue_name
from workers.main import worker_arguments

# The relay (general) first: it hands the outbox's jobs to the other pools' queues.
ORDER = (Pool.general, Pool.deadlines, Pool.mail, Pool.media)


@dataclass
class BurstResult:
    """What the pools' workers did, summed."""

    jobs_complete: int = 0
    jobs_failed: int = 0
    jobs_retried: int = 0


async def burst(
    settings: Settings,
    sessionmaker: Any,
    *jobs: str,
    clock: Callable[[], datetime] | None = None,
    worker_name: str = "test",
    max_jobs: int = 10,
) -> BurstResult:
    """Relay the outbox, enqueue ``jobs`` (each in its pool's queue), then run each pool's
    worker in burst mode until its queue is empty."""
    redis = create_redis(settings)
    try:
        # Jobs a test queued itself before (a sweep the cron would start) ran before the
        # relay's when all jobs shared one queue: their pools run first, as then.
        waiting = [
            pool
            for pool in ORDER[1:]
            if await redis.zcard(queue_name(settings.arq_queue_name, pool))
        ]
        await redis.enqueue_job("relay_outbox")
        for job in jobs:
            await redis.enqueue_job(job)
    finally:
        await redis.aclose()
    result = BurstResult()
    for pool in (*waiting, *ORDER):
        arguments = worker_arguments(pool, settings)
        arguments.pop("cron_jobs")  # the test says what runs
        worker = Worker(
            **arguments,
            redis_pool=create_redis(settings),
            burst=True,
            max_jobs=max_jobs,
            poll_delay=0.01,
            handle_signals=False,
            ctx={
                "sessionmaker": sessionmaker,
                "settings": settings,
                "worker_name": worker_name,
                **({"clock": clock} if clock is not None else {}),
            },
        )
        try:
            await worker.main()
        finally:
            await worker.close()
        result.jobs_complete += worker.jobs_complete
        result.jobs_failed += worker.jobs_failed
        result.jobs_retried += worker.jobs_retried
    return result
