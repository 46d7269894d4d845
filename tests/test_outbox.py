"""The outbox: a row is done only when its job did its work; a job lost in Redis is handed
over again after its lease; deferred rows wait for their time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.languages import Language
from service.mail.models import DeliveryStatus
from service.mail.service import queue_email
from service.notifications.service import deliver
from service.outbox.models import OutboxJob
from service.outbox.service import LEASE, add_job, relay
from tests.conftest import Mailbox, RunWorker


async def _row(session: AsyncSession, job_name: str, job_key: str) -> OutboxJob:
    row = (
        await session.execute(
            select(OutboxJob)
            .where(OutboxJob.job_name == job_name, OutboxJob.job_key == job_key)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return row


async def test_a_job_lost_in_redis_is_relayed_again_after_its_lease(
    session: AsyncSession,
    settings: Settings,
    redis: Any,
    mailbox: Mailbox,
    run_worker: RunWorker,
) -> None:
    message = await queue_email(
        session,
        recipient="lost-and-found@example.org",
        language=Language.en,
        template="report_accepted",
        code="ML-TEST-0001",
        due="2026-12-01",
    )
    now = datetime.now(UTC)
    assert await relay(session, redis, now) == 1
    row = await _row(session, "deliver_email", str(message.id))
    assert row.done_at is None
    assert row.attempts == 1
    # Redis loses everything: the job is gone, the row is not done.
    await redis.flushdb()
    assert await relay(session, redis, now + LEASE / 2) == 0  # still leased
    assert await relay(session, redis, now + LEASE + timedelta(seconds=1)) == 1
    row = await _row(session, "deliver_email", str(message.id))
    assert row.attempts == 2
    await run_worker()
    assert len(mailbox.to("lost-and-found@example.org")) == 1
    row = await _row(session, "deliver_email", str(message.id))
    assert row.done_at is not None
    await session.refresh(message)
    assert message.status == DeliveryStatus.sent
    # Done rows are never relayed again, whatever the lease says.
    assert await relay(session, redis, now + LEASE * 10) == 0


async def test_a_failing_delivery_stays_pending_until_it_succeeds(
    session: AsyncSession,
    settings: Settings,
    redis: Any,
) -> None:
    message = await queue_email(
        session,
        recipient="nobody-listens@example.org",
        language=Language.en,
        template="report_accepted",
        code="ML-TEST-0002",
        due="2026-12-01",
    )
    # The SMTP server is unreachable: the attempt fails, the outbox row is not done.
    broken = settings.model_copy(update={"smtp_port": 9})
    status = await deliver(session, broken, message.id, datetime.now(UTC))
    assert status is DeliveryStatus.pending
    row = await _row(session, "deliver_email", str(message.id))
    assert row.done_at is None


async def test_deferred_rows_wait_for_their_time(
    session: AsyncSession, redis: Any, settings: Settings
) -> None:
    now = datetime.now(UTC)
    await add_job(session, "make_thumbnail", "later", "later", run_at=now + timedelta(hours=2))
    await add_job(session, "make_thumbnail", "soon", "soon", run_at=now + timedelta(minutes=5))
    assert await relay(session, redis, now) == 1  # within the horizon: handed over, deferred
    soon = await _row(session, "make_thumbnail", "soon")
    assert soon.leased_until is not None
    assert soon.leased_until >= soon.run_at + LEASE
    later = await _row(session, "make_thumbnail", "later")
    assert later.attempts == 0
    # Two hours on, "later" is due, and "soon" was never marked done: its lease ran out.
    assert await relay(session, redis, now + timedelta(hours=2)) == 2
    # Queued in arq as a deferred job with the deterministic id.
    assert await redis.exists("arq:job:make_thumbnail:soon")
    # In the media pool's queue (service.outbox.pools).
    score = await redis.zscore(f"{settings.arq_queue_name}:media", "make_thumbnail:soon")
    assert score is not None
    assert score / 1000 >= (now + timedelta(minutes=4)).timestamp()


def test_the_per_second_relay_is_not_logged_at_info(caplog: Any) -> None:
    import logging

    from service.observability import configure_logging

    configure_logging("INFO")
    worker_log = logging.getLogger("arq.worker")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    worker_log.addHandler(handler)
    try:
        worker_log.info("  0.01s → cron:relay_outbox()")
        worker_log.info("  0.02s → deliver_email:1234('1234')")
        worker_log.error("relay_outbox failed")
    finally:
        worker_log.removeHandler(handler)
    assert [r.getMessage() for r in records] == [
        "  0.02s → deliver_email:1234('1234')",
        "relay_outbox failed",
    ]


def test_every_job_the_outbox_hands_over_marks_its_row_done() -> None:
    """Jobs that no cron schedule runs reach arq only through the outbox: each must be an
    ``outbox_job``, or its row would be handed over again after every lease."""
    from arq.worker import Function

    from workers.main import CRON_JOBS, FUNCTIONS

    scheduled = {job.coroutine.__qualname__ for job in CRON_JOBS}
    for function in FUNCTIONS:
        coroutine = function.coroutine if isinstance(function, Function) else function
        if coroutine.__qualname__ in scheduled or coroutine.__qualname__ == "heartbeat":
            continue
        assert hasattr(coroutine, "__wrapped__"), f"{coroutine.__qualname__} is not an outbox_job"
