"""The tests' arq worker (tests/conftest.py ``run_worker``) fails a test whose jobs fail,
unless the test says how many failures it expects: a crashing job must not pass a test that
checks only what was not done."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RunWorker


async def test_a_failed_job_fails_the_run(redis: Any, run_worker: RunWorker) -> None:
    # The heartbeat takes no argument: the job fails with a TypeError.
    await redis.enqueue_job("heartbeat", "an argument it does not take")
    with pytest.raises(AssertionError, match=r"1 job\(s\) failed, 0 expected"):
        await run_worker()


async def test_a_test_may_expect_failed_jobs(redis: Any, run_worker: RunWorker) -> None:
    await redis.enqueue_job("heartbeat", "an argument it does not take")
    worker = await run_worker(expect_failures=1)
    assert worker.jobs_failed == 1
    # Expecting a failure that does not happen fails too.
    await redis.enqueue_job("heartbeat")
    with pytest.raises(AssertionError, match=r"0 job\(s\) failed, 1 expected"):
        await run_worker(expect_failures=1)
