"""Filing on a served app: a resident's daily quota holds under concurrent filings (the
quota lock is taken by filing's first statement and held to the commit)."""

from __future__ import annotations

import asyncio
import uuid

from tests.browser import Live, api_client, city_ids, person


async def test_concurrent_filings_never_pass_the_daily_quota(live: Live) -> None:
    _, pothole = await city_ids(live)
    resident = await person(live, f"quota-{uuid.uuid4().hex[:8]}@example.com", "en")
    quota = live.settings.report_quota_per_day
    async with api_client(live, resident) as client:

        async def file(n: int) -> int:
            answer = await client.post(
                "/v1/reports",
                json={
                    "reason_id": str(pothole),
                    "lat": 58.3776 + n * 0.0001,
                    "lon": 26.7290,
                    "description": f"Pothole number {n} on the same street",
                    "attributes": {"size": "small"},
                },
            )
            return answer.status_code

        statuses = await asyncio.gather(*(file(n) for n in range(quota + 4)))
    assert statuses.count(201) == quota, statuses
    assert statuses.count(429) == 4, statuses
