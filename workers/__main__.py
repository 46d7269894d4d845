"""Every worker pool in one process: ``python -m workers [pool …]`` (all pools by default).

For ``make run`` and a small city. Each pool still consumes its own queue with its own arq
``Worker`` (so deadlines never wait behind mail here either); they share one database
engine. A bigger city runs the pools as separate processes (``arq workers.main.DeadlineWorker``
and the others, see ``workers.main``) and scales each on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import uvloop
from arq.connections import create_pool
from arq.worker import Worker

from service.config import settings_or_exit
from service.db import create_engine, create_sessionmaker
from service.outbox.pools import Pool
from service.redis_connections import arq_redis_settings
from workers.main import worker_arguments


async def run_pools(pools: list[Pool], *, burst: bool = False) -> list[Worker]:
    """Run one arq worker per pool until SIGINT/SIGTERM (or, in burst mode, until every
    pool's queue is empty, with no periodic jobs); returns the workers."""
    settings = settings_or_exit()
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    workers: list[Worker] = []
    try:
        for pool in pools:
            arguments: dict[str, Any] = worker_arguments(pool, settings)
            if burst:  # what is queued, then stop: no periodic job keeps the queue filling
                arguments["cron_jobs"] = []
            redis = await create_pool(
                arq_redis_settings(settings),
                default_queue_name=arguments["queue_name"],
            )
            workers.append(
                Worker(
                    **arguments,
                    redis_pool=redis,
                    burst=burst,
                    handle_signals=False,
                    ctx={"sessionmaker": sessionmaker, "settings": settings},
                )
            )

        def stop(sig: signal.Signals) -> None:
            for worker in workers:
                worker.handle_sig(sig)

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop, sig)
        # A pool whose worker fails (Redis gone under it) takes the process down with it, so
        # that its supervisor starts all of them again, rather than running on without it.
        tasks = [asyncio.ensure_future(worker.async_run()) for worker in workers]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failed = [
            task.exception()
            for task in done
            if not task.cancelled() and task.exception() is not None
        ]
        if failed:
            stop(signal.SIGTERM)
            await asyncio.gather(*pending, return_exceptions=True)
            raise failed[0]  # type: ignore[misc]
        return workers
    finally:
        for worker in workers:
            await worker.close()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    names = ", ".join(p.value for p in Pool)
    parser.add_argument("pools", nargs="*", metavar="pool", help=f"any of {names}; all if none")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    options = parser.parse_args()
    unknown = [name for name in options.pools if name not in {p.value for p in Pool}]
    if unknown:
        parser.error(f"no pool named {', '.join(unknown)}; the pools are {names}")
    pools = [Pool(p) for p in options.pools] or list(Pool)
    # uvloop, as the API runs: the jobs' database and Redis traffic costs less on it.
    uvloop.run(run_pools(pools, burst=options.burst))


if __name__ == "__main__":
    main()
