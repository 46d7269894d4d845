"""Worker pools: which arq queue each job waits in, so that one kind of work never waits
behind another.

A deadline must not wait behind a mail backlog: when 100,000 breaches are each mailed to a
department, the ``deliver_email`` jobs would fill a shared queue, and the sweep that fires
the next deadlines would queue behind them. So each pool has its own queue and its own
workers, scaled on their own:

* ``deadlines`` — the SLA sweep and timers, closing rated-out reports, expert review
  deadlines, the living lab's invitation deadlines and task notices: small, latency-bound
  database work;
* ``mail`` — email and webhook deliveries: network-bound, slow peers;
* ``media`` — thumbnails, diplomas, the media sweep: CPU-bound;
* ``general`` — the outbox relay and everything else (map cells, retention, outreach,
  idea checks, purges).

The queue of pool ``p`` is ``<MEIELINN_ARQ_QUEUE_NAME>:<p>``; the general pool's is
the base name itself, so enqueuing without a queue name lands there. A job's pool is looked
up here by the outbox relay (``service.outbox.service.relay``), by the worker settings
(``workers.main``) and by the tests' burst worker, so a job is consumed where it is sent.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job


class Pool(StrEnum):
    general = "general"
    deadlines = "deadlines"
    mail = "mail"
    media = "media"


POOL_OF_JOB: dict[str, Pool] = {
    # deadlines
    "sla_sweep": Pool.deadlines,
    "sla_fire": Pool.deadlines,
    "close_rated_out": Pool.deadlines,
    "idea_review_sweep": Pool.deadlines,
    "lab_sweep": Pool.deadlines,
    # mail and webhooks
    "deliver_email": Pool.mail,
    "deliver_webhook": Pool.mail,
    # media
    "make_thumbnail": Pool.media,
    "make_idea_thumbnail": Pool.media,
    "make_diploma": Pool.media,
    "sweep_media": Pool.media,
    # general
    "heartbeat": Pool.general,
    "relay_outbox": Pool.general,
    "purge_idempotency_records": Pool.general,
    "refresh_map_cells": Pool.general,
    "sweep_diplomas": Pool.general,
    "training_outreach": Pool.general,
    "retention_sweep": Pool.general,
    "idea_checks": Pool.general,
}


# Jobs whose outbox rows falling due within the same window (seconds) are handed to arq as
# one job: a job of these does all that is due when it runs, not only its own row's work
# (``sla_fire`` fires batches of every due timer), so a burst of 100,000 deadlines is a job
# a second instead of 100,000 jobs each paying arq's and a transaction's overhead. Each row
# stays in the outbox until its own work is done (the engine marks the fired timers' rows),
# so a lost job is handed over again after its lease, as any other.
COALESCED_SECONDS: dict[str, int] = {"sla_fire": 1}


def pool_of(job_name: str) -> Pool:
    """The pool that runs ``job_name`` (a job not listed runs in the general pool)."""
    return POOL_OF_JOB.get(job_name, Pool.general)


def queue_name(base: str, pool: Pool) -> str:
    """The arq queue of ``pool`` under the configured base queue name."""
    return base if pool is Pool.general else f"{base}:{pool.value}"


def queue_of(base: str, job_name: str) -> str:
    """The arq queue ``job_name`` is enqueued in."""
    return queue_name(base, pool_of(job_name))


class PoolRedis(ArqRedis):
    """An arq Redis client that enqueues each job in its pool's queue unless told a queue."""

    async def enqueue_job(
        self, function: str, *args: Any, _queue_name: str | None = None, **kwargs: Any
    ) -> Job | None:
        queue = _queue_name or queue_of(self.default_queue_name, function)
        return await super().enqueue_job(function, *args, _queue_name=queue, **kwargs)
