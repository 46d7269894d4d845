"""arq workers, one pool per queue (``service.outbox.pools``):

* ``general`` — the outbox relay and the general jobs;
* ``deadlines`` — SLA timers and sweeps, review deadlines;
* ``mail`` — email and webhook deliveries;
* ``media`` — thumbnails, diplomas, the media sweep.

``python -m workers deadlines`` runs one pool in a process (on uvloop), ``python -m workers``
every pool in one process (``make run``, a small city). Each pool consumes its own queue, so
deadlines never wait behind a mail backlog, and each scales on its own (more processes of
one pool). The settings classes below (``arq workers.main.DeadlineWorker`` and the others)
serve arq's own command line too, on the default asyncio loop.

Jobs receive a context with a ``sessionmaker``; each job opens its own transaction through
:func:`workers.context.transaction` and calls the same services the API uses.
"""

from __future__ import annotations

import os
import socket
from typing import Any, cast

from arq import cron, func
from arq.cron import CronJob
from arq.typing import WorkerCoroutine

import service.models  # every table on the metadata
import service.wiring  # noqa: F401  (what the lower layers look up, installed)
from service.config import get_settings, settings_or_exit
from service.db import create_engine, create_sessionmaker
from service.observability import configure_logging
from service.outbox.pools import Pool, pool_of, queue_name
from service.redis_connections import arq_redis_settings
from workers.heartbeat import heartbeat
from workers.ideas import idea_checks, idea_review_sweep, make_idea_thumbnail
from workers.lab import lab_sweep
from workers.notifications import deliver_email, deliver_webhook
from workers.outbox import relay_outbox
from workers.privacy import retention_sweep
from workers.reports import (
    make_thumbnail,
    purge_idempotency_records,
    refresh_map_cells,
    sweep_media,
)
from workers.sla import close_rated_out, sla_fire, sla_sweep
from workers.training import make_diploma, sweep_diplomas, training_outreach


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    # Tests (and the one-process runner) hand in a sessionmaker.
    if "sessionmaker" not in ctx:
        engine = create_engine(settings)
        ctx["engine"] = engine
        ctx["sessionmaker"] = create_sessionmaker(engine)
    ctx.setdefault("settings", settings)
    ctx.setdefault("worker_name", f"{socket.gethostname()}:{os.getpid()}")


async def shutdown(ctx: dict[str, Any]) -> None:
    engine = ctx.get("engine")
    if engine is not None:
        await engine.dispose()


def _every(seconds: int) -> set[int]:
    """The seconds of each minute at which a job every ``seconds`` (1–60) runs."""
    return set(range(0, 60, seconds))


_settings = settings_or_exit()

FUNCTIONS: list[Any] = [
    heartbeat,
    relay_outbox,
    deliver_email,
    # A try is one attempt (or an early hand-over that waits for its backoff); the
    # delivery row bounds the attempts, so arq's limit only needs to stay above them.
    func(
        cast(WorkerCoroutine, deliver_webhook),
        name="deliver_webhook",
        timeout=2 * _settings.webhook_timeout_seconds + 10,
        max_tries=2 * _settings.webhook_max_attempts + 2,
    ),
    make_thumbnail,
    purge_idempotency_records,
    refresh_map_cells,
    sweep_media,
    sla_sweep,
    sla_fire,
    close_rated_out,
    make_diploma,
    sweep_diplomas,
    training_outreach,
    retention_sweep,
    idea_checks,
    make_idea_thumbnail,
    idea_review_sweep,
    lab_sweep,
]

CRON_JOBS: list[CronJob] = [
    # The outbox is the path every job takes; a second's delay at most.
    cron(relay_outbox, second=_every(1), unique=True, timeout=30),
    cron(purge_idempotency_records, minute={17}, unique=True),
    cron(sweep_media, minute={41}, unique=True, timeout=600),
    # The SLA safety net: whatever a lost job left behind fires within seconds.
    cron(sla_sweep, second=_every(_settings.sla_sweep_seconds), unique=True, timeout=20),
    cron(close_rated_out, second={45}, unique=True, timeout=120),
    cron(sweep_diplomas, second={45}, unique=True, timeout=300),
    # Contact data past the retention period: daily, at night in UTC.
    cron(retention_sweep, hour={2}, minute={23}, unique=True, timeout=1800),
    # Recounts only the cells changed reports touched: cheap at any size, so frequent.
    cron(
        refresh_map_cells,
        second=_every(_settings.map_cells_seconds),
        unique=True,
        timeout=60,
        run_at_startup=True,
    ),
    # Expert reviews: reminders a working day before the deadline, lapse and re-assign.
    cron(
        idea_review_sweep,
        second=_every(_settings.idea_sweep_seconds),
        unique=True,
        timeout=60,
    ),
    # The living lab: invitations lapse, tasks are announced and reminded of.
    cron(lab_sweep, second=_every(_settings.lab_sweep_seconds), unique=True, timeout=60),
]


def _job_name(job: Any) -> str:
    return str(getattr(job, "name", None) or job.__name__)


def pool_functions(pool: Pool) -> list[Any]:
    """The jobs ``pool`` runs: its own, and the heartbeat every pool beats."""
    return [job for job in FUNCTIONS if pool_of(_job_name(job)) is pool or job is heartbeat]


def pool_cron_jobs(pool: Pool) -> list[CronJob]:
    """The periodic jobs ``pool`` starts, its own heartbeat among them (each pool's under its
    own name: arq's job ids are global, not per queue)."""
    beat = cron(
        heartbeat,
        name=f"cron:heartbeat:{pool.value}",
        second=_every(_settings.heartbeat_seconds),
        run_at_startup=True,
    )
    return [beat, *(job for job in CRON_JOBS if pool_of(job.coroutine.__qualname__) is pool)]


def pool_startup(pool: Pool) -> Any:
    """``startup``, and the worker's name tells its pool (the heartbeat rows, per pool)."""

    async def start(ctx: dict[str, Any]) -> None:
        ctx.setdefault("worker_name", f"{socket.gethostname()}:{os.getpid()}:{pool.value}")
        await startup(ctx)

    return start


def worker_arguments(pool: Pool, settings: Any = None) -> dict[str, Any]:
    """What an arq ``Worker`` of ``pool`` is built with (the settings classes below, the
    one-process runner and the tests' burst worker share it)."""
    settings = settings or _settings
    return {
        "functions": pool_functions(pool),
        "cron_jobs": pool_cron_jobs(pool),
        "queue_name": queue_name(settings.arq_queue_name, pool),
        "on_startup": pool_startup(pool),
        "on_shutdown": shutdown,
        "job_timeout": 60,
        "max_tries": 8,
        "health_check_interval": 30,
    }


def _pool_settings(pool: Pool, doc: str) -> type:
    """The settings class ``arq`` reads for ``pool``."""
    attributes = worker_arguments(pool)
    attributes["redis_settings"] = arq_redis_settings(_settings)
    attributes["__doc__"] = doc
    return type(f"{pool.value.capitalize()}Worker", (), attributes)


GeneralWorker = _pool_settings(Pool.general, "The outbox relay and the general jobs.")
DeadlineWorker = _pool_settings(Pool.deadlines, "SLA timers and sweeps, review deadlines.")
MailWorker = _pool_settings(Pool.mail, "Email and webhook deliveries.")
MediaWorker = _pool_settings(Pool.media, "Thumbnails, diplomas, the media sweep.")
