"""The 2019 Smart House Training Program in Annelinn, replayed through the training
services: five sessions every other Monday from 8 April (the fifth at the pilot area's
summer event on Wednesday 29 May), 40 participants from the pilot buildings on Kaunase
puiestee, 8 of whom attended at least 4 sessions and were awarded at the summer event.
The demo ambassador account (``ambassador@demo.meielinn.ee``) is one of the eight.

Skipped when the programme exists, so a second seed changes nothing. Participants other
than the demo accounts cannot sign in (no password), like the demo residents.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth import repository as accounts
from service.auth.actor import Actor
from service.auth.models import Role, User
from service.city.models import Building
from service.config import Settings
from service.db import table_of
from service.demo.accounts import DEMO_DOMAIN, refuse_in_production
from service.outbox.models import OutboxJob
from service.training import attendance, enrolment, programmes, repository
from service.training.models import Ambassador, Diploma
from service.training.outreach import OUTREACH_JOB
from service.training.schemas import EnrolmentCreate, ProgrammeCreate, SessionCreate
from service.training.states import ProgrammeAction

PROGRAMME_CODE = "smart-house-2019"
TALLINN = ZoneInfo("Europe/Tallinn")
VENUE = "Annelinna raamatukogu, Kaunase pst 23"
SUMMER_EVENT = date(2019, 5, 29)
# (day, topic): every other Monday from 8 April, the last one at the summer event.
SESSIONS: list[tuple[date, str]] = [
    (date(2019, 4, 8), "Home expenses and living in a smart apartment"),
    (date(2019, 4, 22), "Indoor climate, ventilation and environmentally friendly interiors"),
    (date(2019, 5, 6), "Waste, recycling and sustainability"),
    (date(2019, 5, 20), "The smart home system and the rights of an apartment owner"),
    (SUMMER_EVENT, "Green mobility"),
]
PILOT_BUILDINGS = 17  # the first Kaunase pst panel blocks, by house number
PARTICIPANTS = 40
# Sessions attended by each participant: eight with at least four (the ambassadors, the
# demo ambassador first), the others one to three.
ATTENDED = [5, 5, 5, 4, 4, 4, 4, 4] + [3] * 9 + [2] * 11 + [1] * 12
AMBASSADORS = 8
NAMES = [
    "Jüri Õunapuu",
    "Ольга Смирнова",
    "Tiiu Kärner",
    "Сергей Кузнецов",
    "Mati Põder",
    "Žanna Šestakova",
    "Ülle Mäesalu",
    "Андрей Волков",
    "Kristi Sõber",
    "Елена Попова",
    "Peeter Lõhmus",
    "Aino Küünarpuu",
    "Наталья Морозова",
    "Urmas Tšernõšov",
    "Anu Pärn",
    "Дмитрий Соколов",
    "Rein Ääremaa",
    "Svetlana Ivanova",
    "Liina Võsu",
    "Игорь Лебедев",
    "Meelis Jõgi",
    "Галина Новикова",
    "Eha Ööbik",
    "Toivo Kütt",
    "Татьяна Козлова",
    "Helgi Saar",
    "Виктор Павлов",
    "Kalev Pihlak",
    "Maie Süld",
    "Алексей Федоров",
    "Siiri Rüütel",
    "Nikolai Žukov",
    "Ene Tõnisson",
    "Людмила Егорова",
    "Arvo Kõiv",
    "Mare Lõokese",
    "Владимир Орлов",
    "Vello Täht",
    "Irina Šmidt",
]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), TALLINN).astimezone(UTC)


async def _participants(session: AsyncSession, demo_ambassador: User) -> list[User]:
    """The demo ambassador and 39 residents of the pilot area (no password)."""
    rows = [
        {
            "id": uuid.uuid4(),
            "email": f"participant{number:02d}@{DEMO_DOMAIN}",
            "display_name": name,
            "language": "ru" if any("а" <= c <= "я" for c in name.lower()) else "et",
            "password_hash": "!",  # matches no password
            "email_verified_at": datetime(2019, 3, 1, tzinfo=UTC),
        }
        for number, name in enumerate(NAMES, start=1)
    ]
    await session.execute(insert(table_of(User)).values(rows).on_conflict_do_nothing())
    found = await session.execute(
        select(User)
        .where(col(User.email).like(f"participant__@{DEMO_DOMAIN}"))
        .order_by(col(User.email))
    )
    return [demo_ambassador, *found.scalars()]


async def seed_training(session: AsyncSession, settings: Settings) -> bool:
    """The 2019 programme with its sessions, participants, attendance and awards; False
    when it is there already."""
    refuse_in_production(settings, "demo training programmes")
    if await repository.programme_by_code(session, PROGRAMME_CODE) is not None:
        return False
    coordinator = await accounts.user_by_email(session, f"coordinator@{DEMO_DOMAIN}")
    demo_ambassador = await accounts.user_by_email(session, f"ambassador@{DEMO_DOMAIN}")
    assert coordinator is not None
    assert demo_ambassador is not None
    runner = Actor.for_user(coordinator, [(Role.coordinator, None)])
    rows = await session.execute(
        select(col(Building.id), col(Building.address)).where(
            col(Building.address).like("Kaunase pst %"), col(Building.is_pilot_area)
        )
    )
    # By house number, as a person would list them.
    buildings = sorted(rows.all(), key=lambda row: int(row.address.split()[2].rstrip(",")))
    pilot = [row.id for row in buildings[:PILOT_BUILDINGS]]

    opened = _at(date(2019, 3, 18), 9)
    programme = await programmes.create_programme(
        session,
        runner,
        ProgrammeCreate(
            code=PROGRAMME_CODE,
            title="Smart House Training Program 2019",
            description=(
                "Five trainings for residents of the Annelinn pilot buildings, to train an "
                "ambassador in every building who helps neighbours with smart house and "
                "smart city living. Ambassadors attend at least 4 of the 5 trainings."
            ),
            pilot_building_ids=pilot,
            min_sessions=4,
            enrolment_opens_at=opened,
            enrolment_closes_at=_at(date(2019, 5, 6), 17),
            capacity=45,
            award_event_on=SUMMER_EVENT,
            award_event_place="Pilot area summer event, Kaunase puiestee",
        ),
        opened,
    )
    session_rows = []
    for day, topic in SESSIONS:
        start = _at(day, 16) if day == SUMMER_EVENT else _at(day, 17, 30)
        session_rows.append(
            await programmes.add_session(
                session,
                runner,
                programme.id,
                SessionCreate(
                    topic=topic,
                    starts_at=start,
                    ends_at=start + timedelta(minutes=90),
                    venue=VENUE,
                ),
                opened,
            )
        )
    for action in (ProgrammeAction.publish, ProgrammeAction.start):
        await programmes.change_state(session, runner, programme.id, action, opened)

    rng = random.Random(2019)
    people = await _participants(session, demo_ambassador)
    for index, person in enumerate(people[:PARTICIPANTS]):
        # The eight ambassadors live in seven buildings (two share one); the rest anywhere.
        building = pilot[min(index, 6)] if index < AMBASSADORS else rng.choice(pilot)
        await enrolment.enrol(
            session,
            Actor.for_user(person),
            programme.id,
            EnrolmentCreate(building_id=building),
            opened + timedelta(hours=index),
        )
    present: dict[uuid.UUID, list[uuid.UUID]] = {s.id: [] for s in session_rows}
    for person, count in zip(people, ATTENDED, strict=True):
        for chosen in rng.sample(session_rows, count):
            present[chosen.id].append(person.id)
    for chosen in session_rows:
        await attendance.set_roster(session, runner, chosen.id, present[chosen.id], chosen.ends_at)
    # Closing the programme at the summer event awards the eight.
    await programmes.change_state(
        session, runner, programme.id, ProgrammeAction.finish, _at(SUMMER_EVENT, 18)
    )
    # History: nobody is emailed about 2019 today (the diplomas are still made).
    await session.execute(
        delete(OutboxJob).where(
            col(OutboxJob.job_name) == OUTREACH_JOB,
            col(OutboxJob.enqueued_at).is_(None),
            col(OutboxJob.arguments)[1].astext.in_(
                [str(programme.id), *(str(d) for d in await _diploma_ids(session, programme.id))]
            ),
        )
    )
    return True


async def _diploma_ids(session: AsyncSession, programme_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        select(col(Diploma.id))
        .join(Ambassador, col(Ambassador.id) == Diploma.ambassador_id)
        .where(col(Ambassador.programme_id) == programme_id)
    )
    return list(rows.scalars())
