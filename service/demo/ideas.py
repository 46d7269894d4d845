"""Demo ideas: three functional areas (transport and streets, owned by the roads service
whose supervisor is the demo supervisor; greenery; the city centre), each with an expert
pool (the demo expert and three colleagues), and ideas of the demo resident at different
stages, taken there through the idea bank's own services:

* "Covered bicycle parking at the railway station" — decided (implement), public;
* "Raised crossing in front of Kesklinna school" — waiting for the transport committee;
* "Rain gardens along Riia street" — with the experts; the demo expert owes a review.

Skipped when the areas exist, so a second seed changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth import repository as accounts
from service.auth.actor import Actor
from service.auth.models import Role, User
from service.city.models import Department
from service.config import Settings
from service.db import table_of
from service.demo.accounts import DEMO_DOMAIN, refuse_in_production
from service.ideas import (
    areas,
    checks,
    decisions,
    expert_repository,
    reviews,
    submissions,
)
from service.ideas.models import IdeaArea
from service.ideas.schemas import (
    AreaCreate,
    CommitteeDecisions,
    CommitteeItem,
    DesignDecision,
    ExpertAdd,
    IdeaCreate,
    Point,
    ReviewSubmit,
)

# code, name, department code
AREAS = [
    ("transport", "Transport and streets", "roads"),
    ("ecology", "Ecology and greenery", "greenery"),
    ("city-centre", "City centre", "downtown"),
]
EXPERTS = ["Helle Kuusk", "Andres Mets", "Ирина Волкова"]
TEXT = {
    "problem": "Residents have asked for this at every district meeting for years.",
    "solution": "Build it next season together with the residents' association.",
    "benefit": "Safer, greener and pleasanter streets for everyone who lives nearby.",
}
# (area, title, summary, lat, lon, how far it goes)
IDEAS = [
    (
        "transport",
        "Covered bicycle parking at the railway station",
        "Two hundred covered and lockable bicycle places next to Tartu railway station.",
        58.3733,
        26.7087,
        "decided",
    ),
    (
        "transport",
        "Raised crossing in front of Kesklinna school",
        "A raised zebra crossing on Kastani street so that cars slow down at the school.",
        58.3749,
        26.7140,
        "committee",
    ),
    (
        "ecology",
        "Rain gardens along Riia street",
        "Rain gardens in the green strips of Riia street that soak up storm water.",
        58.3720,
        26.7260,
        "experts",
    ),
]


async def _experts(session: AsyncSession, now: datetime) -> list[User]:
    rows = [
        {
            "id": uuid.uuid4(),
            "email": f"idea-expert{number}@{DEMO_DOMAIN}",
            "display_name": name,
            "language": "ru" if any("а" <= c <= "я" for c in name.lower()) else "et",
            "password_hash": "!",  # matches no password
            "email_verified_at": now,
        }
        for number, name in enumerate(EXPERTS, start=1)
    ]
    await session.execute(insert(table_of(User)).values(rows).on_conflict_do_nothing())
    found = await session.execute(
        select(User).where(col(User.email).like(f"idea-expert_@{DEMO_DOMAIN}"))
    )
    return list(found.scalars())


async def _score_all(session: AsyncSession, idea_id: uuid.UUID, now: datetime, score: int) -> None:
    for review in (await expert_repository.reviews_of(session, [idea_id]))[idea_id]:
        expert = await session.get(User, review.expert_id)
        assert expert is not None
        body = ReviewSubmit(
            scores={"relevance": score, "feasibility": score, "impact": 5},
            comment="Well argued and affordable.",
        )
        await reviews.submit_review(session, Actor.for_user(expert), review.id, body, now)


async def seed_ideas(session: AsyncSession, settings: Settings, now: datetime) -> bool:
    """The demo areas, pools and ideas; False when they are there already."""
    refuse_in_production(settings, "demo ideas")
    if (await session.execute(select(col(IdeaArea.id)).limit(1))).first() is not None:
        return False
    resident = await accounts.user_by_email(session, f"resident@{DEMO_DOMAIN}")
    expert = await accounts.user_by_email(session, f"expert@{DEMO_DOMAIN}")
    office = await accounts.user_by_email(session, f"office@{DEMO_DOMAIN}")
    supervisor = await accounts.user_by_email(session, f"supervisor@{DEMO_DOMAIN}")
    assert resident is not None
    assert expert is not None
    assert office is not None
    assert supervisor is not None
    colleagues = sorted(await _experts(session, now), key=lambda user: user.email)
    departments = dict(
        (await session.execute(select(col(Department.code), col(Department.id)))).all()
    )
    area_ids: dict[str, uuid.UUID] = {}
    for code, name, department in AREAS:
        area = await areas.create_area(
            session, AreaCreate(code=code, name=name, department_id=departments[department])
        )
        area_ids[code] = area.id
        # Greenery's pool is exactly as large as a review needs: the demo expert is always
        # among the reviewers of its idea.
        pool = colleagues[:2] if code == "ecology" else colleagues
        for member in (expert, *pool):
            await areas.add_expert(session, area.id, ExpertAdd(user_id=member.id))
    author = Actor.for_user(resident)
    for code, title, summary, lat, lon, stage in IDEAS:
        idea = await submissions.create_idea(
            session,
            author,
            IdeaCreate(
                area_id=area_ids[code],
                title=title,
                summary=summary,
                cost_band="10k_50k" if stage != "decided" else "50k_250k",
                location=Point(lat=lat, lon=lon),
                tags=[code],
                **TEXT,
            ),
            now,
        )
        await submissions.submit_idea(session, author, idea.id, now)
        await checks.run_checks(session, idea.id, idea.attempt, now)
        if stage == "experts":
            continue
        await _score_all(session, idea.id, now, 4 if stage == "decided" else 3)
        await decisions.decide_design(
            session,
            Actor.for_user(office, [(Role.idea_office, None)]),
            idea.id,
            DesignDecision(decision="approve", comment="Feasible within the cost band."),
            now,
        )
        if stage == "decided":
            committee = Actor.for_user(
                supervisor,
                [(Role.supervisor, departments["roads"])],
                supervised_departments=[departments["roads"]],
            )
            await decisions.decide_round(
                session,
                committee,
                area_ids[code],
                CommitteeDecisions(
                    round=now.year,
                    decisions=[
                        CommitteeItem(
                            idea_id=idea.id,
                            rank=1,
                            decision="implement",
                            reasoning="Cyclists at the station have nowhere dry to park; "
                            "the railway company shares the cost.",
                        )
                    ],
                ),
                now,
            )
    return True
