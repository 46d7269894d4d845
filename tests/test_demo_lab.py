"""The demo's living lab: 320 panellists across every demo district, the finished
smart-meter pilot with survey results (suppressed as always), one pilot recruiting, and the
lab manager's account; a second seed adds nothing."""

from __future__ import annotations

from datetime import datetime

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth import repository as accounts
from service.city.models import District
from service.config import Settings
from service.demo.seed import DEMO_DOMAIN, seed
from service.lab.models import PanelMember
from tests.factories import bearer


async def test_the_demo_living_lab(
    client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    report = await seed(session, settings, now, reports=0)
    assert report.lab_added
    districts = await session.scalar(
        select(func.count(func.distinct(col(PanelMember.district_id))))
    )
    assert districts == await session.scalar(select(func.count()).select_from(District))
    manager = await accounts.user_by_email(session, f"lab@{DEMO_DOMAIN}")
    assert manager is not None
    headers = bearer(settings, manager)
    panel = await client.get("/v1/lab/panel", headers=headers)
    assert panel.json()["members"] == 320
    found = {
        p["code"]: p for p in (await client.get("/v1/lab/pilots", headers=headers)).json()["items"]
    }
    assert found["smart-meter-app"]["state"] == "finished"
    assert found["e-waste-pickup"]["state"] == "recruiting"
    results = await client.get(
        f"/v1/lab/pilots/{found['smart-meter-app']['id']}/results", headers=headers
    )
    (task,) = results.json()["tasks"]
    assert task["respondents"] >= 20
    likert = task["questions"][0]
    assert [r["stratum"] for r in likert["rows"]][-1] == "all"
    assert likert["rows"][-1]["mean"] is not None
    assert task["questions"][4]["shared_texts"]
    recruitment = await client.get(
        f"/v1/lab/pilots/{found['e-waste-pickup']['id']}/recruitment", headers=headers
    )
    totals = recruitment.json()["totals"]
    assert totals["quota"] == 60 and totals["accepted"] == 12 and totals["invited"] == 48
    again = await seed(session, settings, now, reports=0)
    assert not again.lab_added
