"""The demo's 2019 Smart House programme: five sessions from 8 April to 29 May, 40
participants, the 8 who attended at least 4 awarded as ambassadors on 29 May."""

from __future__ import annotations

from datetime import datetime

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.models import Role, RoleGrant
from service.config import Settings
from service.demo.seed import DEMO_DOMAIN, seed
from service.demo.training import PROGRAMME_CODE
from service.outbox.models import OutboxJob
from service.training.models import Ambassador, Programme
from tests.factories import bearer


async def test_the_demo_programme(
    client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    report = await seed(session, settings, now, reports=0)
    assert report.training_added
    programme_id = await session.scalar(
        select(Programme.id).where(Programme.code == PROGRAMME_CODE)
    )
    programme = (await client.get(f"/v1/training/programmes/{programme_id}")).json()
    assert programme["state"] == "finished"
    assert programme["award_event_on"] == "2019-05-29"
    assert programme["min_sessions"] == 4
    assert [s["starts_at"][:10] for s in programme["sessions"]] == [
        "2019-04-08",
        "2019-04-22",
        "2019-05-06",
        "2019-05-20",
        "2019-05-29",
    ]
    stats = (await client.get(f"/v1/training/programmes/{programme_id}/stats")).json()
    assert stats["participants"] == 40
    histogram = {b["sessions"]: b["participants"] for b in stats["histogram"]}
    assert histogram[4] + histogram[5] == 8
    assert histogram[0] == 0
    assert (stats["qualified"], stats["ambassadors"]) == (8, 8)
    coverage = (await client.get(f"/v1/training/programmes/{programme_id}/coverage")).json()
    assert (coverage["covered"], coverage["pilot_buildings"]) == (7, 17)

    # The demo ambassador is one of the eight, ambassador of their building.
    from service.auth.repository import user_by_email

    ambassador = await user_by_email(session, f"ambassador@{DEMO_DOMAIN}")
    assert ambassador is not None
    grant = (
        await session.execute(
            select(RoleGrant).where(
                RoleGrant.user_id == ambassador.id, RoleGrant.role == Role.ambassador
            )
        )
    ).scalar_one()
    assert grant.building_id is not None
    mine = (await client.get("/v1/me/training", headers=bearer(settings, ambassador))).json()
    assert mine["programmes"][0]["sessions_attended"] == 5
    assert mine["programmes"][0]["ambassador"]["building_id"] == str(grant.building_id)
    # The demo coordinator runs it.
    coordinator = await user_by_email(session, f"coordinator@{DEMO_DOMAIN}")
    assert coordinator is not None
    participants = await client.get(
        f"/v1/training/programmes/{programme_id}/participants",
        headers=bearer(settings, coordinator),
    )
    assert participants.status_code == 200
    assert len(participants.json()) == 40

    # Nobody is emailed about 2019; the diplomas are made.
    jobs = (await session.execute(select(OutboxJob.job_name))).scalars().all()
    assert "training_outreach" not in jobs
    assert jobs.count("make_diploma") == 8

    again = await seed(session, settings, now, reports=0)
    assert not again.training_added
    assert await session.scalar(select(func.count()).select_from(Ambassador)) == 8
