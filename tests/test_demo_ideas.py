"""The demo's idea bank: three areas with pools, a decided idea, one waiting for the
transport committee (the demo supervisor's) and one with the experts (the demo expert owes
a review); the README tour builds on these."""

from __future__ import annotations

from datetime import datetime

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import repository as accounts
from service.config import Settings
from service.demo.seed import DEMO_DOMAIN, seed
from tests.factories import bearer


async def test_the_demo_ideas(
    client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    report = await seed(session, settings, now, reports=0)
    assert report.ideas_added
    areas = {a["code"]: a for a in (await client.get("/v1/idea-areas")).json()}
    assert set(areas) == {"transport", "ecology", "city-centre"}
    public = {i["title"]: i for i in (await client.get("/v1/ideas")).json()["items"]}
    assert {i["state"] for i in public.values()} == {"decided", "committee", "experts"}
    decided = public["Covered bicycle parking at the railway station"]
    assert decided["decision"] == "implement" and decided["rank"] == 1
    people = {
        name: await accounts.user_by_email(session, f"{name}@{DEMO_DOMAIN}")
        for name in ("expert", "supervisor", "resident", "office")
    }
    owed = await client.get("/v1/me/idea-reviews", headers=bearer(settings, people["expert"]))
    assert owed.status_code == 200, owed.text
    assert [r["status"] for r in owed.json()["items"]].count("open") == 1
    assert "Maasikas" not in owed.text
    committee = await client.get(
        f"/v1/idea-areas/{areas['transport']['id']}/committee",
        headers=bearer(settings, people["supervisor"]),
    )
    assert [i["title"] for i in committee.json()["items"]] == [
        "Raised crossing in front of Kesklinna school"
    ]
    mine = await client.get("/v1/me/ideas", headers=bearer(settings, people["resident"]))
    assert len(mine.json()["items"]) == 3
    again = await seed(session, settings, now, reports=0)
    assert not again.ideas_added
