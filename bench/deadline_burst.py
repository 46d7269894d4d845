"""The deadline engine under a burst: N reports (default 100,000) whose rounds fall due in
the same minute, with 1 and with 2 deadline worker processes (the deadline pool, as
production runs it: ``python -m workers deadlines``, the SLA sweep every second) beside one
process for the other pools (the relay, mail, media), no faults. Every breach is mailed to
its department's staff and supervisor through the mail pool, so the figure shows whether a
mail backlog holds up the deadlines.

Uses bench/faults.py's machinery (a database, a Redis server and an SMTP sink of the run's
own). The rounds are planned as the engine plans them (a breach timer at the due time, two
escalation timers later, a deferred ``sla_fire`` job in the outbox for each) but in bulk
SQL, so the set-up takes seconds, not the engine's minutes. Then it measures how long after
the minute ends every breach has fired (recorded overdue, department and supervisor told)
and checks with SQL: exactly one fired breach and one ``overdue`` event per report, one
notification delivery per report, recipient and channel; mails arriving twice at the SMTP
sink are counted too.

    DEADLINE_REPORTS=100000 DEADLINE_WORKERS=1,2 python bench/deadline_burst.py

One JSON line per worker count. A run stops waiting after DEADLINE_LIMIT_SECONDS and says
how many had fired by then (and the rate), so the benchmark stays bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import faults  # noqa: E402
from service.clock import system_clock  # noqa: E402
from service.config import get_settings  # noqa: E402

REPORTS = int(os.environ.get("DEADLINE_REPORTS", "100000"))
WORKERS = [int(n) for n in os.environ.get("DEADLINE_WORKERS", "1,2").split(",")]
LIMIT_SECONDS = float(os.environ.get("DEADLINE_LIMIT_SECONDS", "240"))
SPREAD_SECONDS = 60.0
# How long after the last breach the run waits for the mail pool to deliver the rest.
MAIL_WAIT_SECONDS = float(os.environ.get("DEADLINE_MAIL_WAIT_SECONDS", "120"))

# What plan_round writes for a round due at D that opened less than two working hours
# before: the breach at D, escalations days later, and a deferred job per timer.
PLAN_SQL = """
WITH timers AS (
  INSERT INTO sla_timer (id, report_id, round_number, kind, level, fire_at, due_basis)
  SELECT gen_random_uuid(), r.report_id, r.number, t.kind, t.level, r.due_at + t.after,
         r.due_at
  FROM report_round r
  CROSS JOIN (VALUES ('breach', 1, interval '0'), ('escalation', 2, interval '3 days'),
                     ('escalation', 3, interval '6 days')) AS t (kind, level, after)
  WHERE r.timers_for_due IS DISTINCT FROM r.due_at
  ON CONFLICT ON CONSTRAINT uq_sla_timer_once DO NOTHING
  RETURNING id, fire_at
), jobs AS (
  INSERT INTO outbox_job (job_name, job_key, arguments, run_at)
  SELECT 'sla_fire', id::text || ':' || floor(extract(epoch FROM fire_at))::bigint,
         jsonb_build_array(id::text), fire_at
  FROM timers
)
UPDATE report_round SET timers_for_due = due_at
"""


async def _run(workers: int) -> dict[str, Any]:
    settings = get_settings()
    url = await faults._prepare_database(settings.database_url, f"deadline{workers}")
    dsn = faults._dsn(url)
    redis = faults.RedisServer()
    redis.start()
    inbox = faults.Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=faults._free_port())
    smtp.start()
    processes = []
    figures: dict[str, Any] = {"bench": "deadline", "reports": REPORTS, "workers": workers}
    try:
        env = faults._worker_env(url, redis.url, smtp.port)
        processes = [faults._start_worker(env, "deadlines") for _ in range(workers)]
        processes.append(faults._start_worker(env, "general", "mail", "media"))
        await faults._wait_for_heartbeats(url, workers + 3, processes=processes)
        # Set-up before the first deadline (bulk planning takes ~1 s per 4,000 reports on a
        # quiet machine; twice that leaves room on a busy one).
        lead = 20.0 + REPORTS / 2000
        first_due = system_clock() + timedelta(seconds=lead)
        config = faults.FaultConfig(reports=REPORTS, spread_seconds=SPREAD_SECONDS)
        staff, supervisor = await faults._setup(url, config, first_due)
        connection = await asyncpg.connect(dsn)
        try:
            # The workers' sweep plans the rounds it finds too: the table lock makes it
            # wait for this plan (and the plan for a sweep already under way), and the plan
            # leaves out the rounds a sweep planned first.
            async with connection.transaction():
                await connection.execute("LOCK TABLE report_round IN EXCLUSIVE MODE")
                await connection.execute(PLAN_SQL)
            figures["setup_left_s"] = round((first_due - system_clock()).total_seconds(), 1)
            last_due = first_due + timedelta(seconds=SPREAD_SECONDS)
            stop_at = time.monotonic() + (last_due - system_clock()).total_seconds()
            stop_at += LIMIT_SECONDS
            fired = 0
            while time.monotonic() < stop_at:
                fired = await connection.fetchval(
                    "SELECT count(*) FROM sla_timer WHERE kind = 'breach' AND fired_at IS NOT NULL"
                )
                if fired >= REPORTS:
                    break
                await asyncio.sleep(1.0)
            done_at = system_clock()
            # The mail pool delivers on meanwhile: wait a bounded time for the last mails
            # (a breach is mailed to the staff member and the supervisor).
            mail_until = time.monotonic() + MAIL_WAIT_SECONDS
            while inbox.total() < 2 * REPORTS and time.monotonic() < mail_until:  # noqa: ASYNC110
                await asyncio.sleep(1.0)
            mails_at = system_clock()
            await asyncio.sleep(2.0)  # anything duplicated would show now
            row = await connection.fetchrow(
                """
                SELECT count(*) FILTER (WHERE fired_at IS NOT NULL) AS fired,
                       max(fired_at) AS last_fired, min(fired_at) AS first_fired,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY lag_seconds) AS p50,
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY lag_seconds) AS p99,
                       max(lag_seconds) AS lag_max
                FROM sla_timer WHERE kind = 'breach'
                """
            )
            fired = int(row["fired"])
            mail_jobs = await connection.fetchrow(
                "SELECT count(*) AS queued, count(done_at) AS done FROM outbox_job "
                "WHERE job_name = 'deliver_email'"
            )
            duplicated_events = await connection.fetchval(
                "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM report_event "
                "WHERE type = 'overdue' GROUP BY report_id) AS per WHERE n > 1"
            )
            duplicated_deliveries = await connection.fetchval(
                """
                SELECT coalesce(sum(n - 1), 0) FROM (
                  SELECT count(*) AS n FROM notification_delivery d
                  JOIN notification_event e ON e.id = d.event_id
                  WHERE e.event_type = 'sla_breached'
                  GROUP BY e.report_id, d.user_id, d.channel) AS per WHERE n > 1
                """
            )
        finally:
            await connection.close()
        span = SPREAD_SECONDS + max(0.0, (done_at - last_due).total_seconds())
        per_recipient = [
            (n, len(inbox.message_ids.get((to, subject), ())))
            for (to, subject), n in inbox.received.items()
            if to in (staff, supervisor) and "overdue" in subject.lower()
        ]
        figures.update(
            {
                "fired": fired,
                "all_fired": fired >= REPORTS,
                # From the end of the minute the deadlines fell due in to the last breach.
                "seconds_after_minute": round(
                    (row["last_fired"] - last_due).total_seconds() if row["last_fired"] else -1,
                    1,
                ),
                "breaches_per_second": round(fired / span, 1),
                "lag_p50_s": round(float(row["p50"] or 0), 2),
                "lag_p99_s": round(float(row["p99"] or 0), 2),
                "lag_max_s": round(float(row["lag_max"] or 0), 2),
                "duplicated_overdue_events": int(duplicated_events),
                "duplicated_deliveries": int(duplicated_deliveries),
                "mails_received": sum(n for n, _ in per_recipient),
                "mails_all_delivered": inbox.total() >= 2 * REPORTS,
                "mail_jobs": int(mail_jobs["queued"]),
                "mail_jobs_done": int(mail_jobs["done"]),
                "mails_total": inbox.total(),
                "mails_seconds_after_minute": round((mails_at - last_due).total_seconds(), 1),
                # Two messages (distinct Message-IDs) for one report and recipient.
                "mails_duplicated": sum(max(0, ids - 1) for _, ids in per_recipient),
                # One message handed to SMTP again (the same Message-ID).
                "mails_resent": sum(n - max(1, ids) for n, ids in per_recipient),
                "worker_peak_rss_mb": max((_peak_rss_mb(p.pid) for p in processes), default=0.0),
            }
        )
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)
            process.wait()
        redis.stop()
        smtp.stop()
        admin = await asyncpg.connect(faults._dsn(settings.database_url))
        try:
            database = url.rsplit("/", 1)[-1]
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await admin.close()
    return figures


def _peak_rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def main() -> int:
    for workers in WORKERS:
        print(json.dumps(await _run(workers)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
