"""The demo's living lab: a panel of 320 residents across the demo districts (a quarter of
them in Annelinn's pilot buildings), a finished pilot of a smart-meter app tested in those
buildings, with its survey's answers, and a pilot of booking an electronic waste pickup
that is recruiting now. Written in bulk (a few statements), so ``make seed`` stays fast.

No demo panellist owns a smartwatch: the README's tour creates a pilot for smartwatch
owners, which draws the demo resident once they say they have one.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth import repository as accounts
from service.auth.actor import Actor
from service.auth.models import Role, User
from service.city.models import Building, District
from service.config import Settings
from service.db import table_of
from service.demo.accounts import DEMO_DOMAIN, refuse_in_production, rng_name
from service.lab import consent, pilots, recruiting, tasks
from service.lab import repository as lab_repository
from service.lab.models import (
    AgeBand,
    Answer,
    PanelMember,
    Participation,
    ParticipationStatus,
    Pilot,
    TaskResponse,
)
from service.lab.schemas import DrawCreate, PilotCreate
from service.lab.task_schemas import TaskCreate

PANEL_SIZE = 320
IN_ANNELINN = 80
FINISHED_CODE = "smart-meter-app"
RECRUITING_CODE = "e-waste-pickup"
AGE_BANDS = list(AgeBand)
DEVICES = [["smartphone"], ["smartphone", "computer"], ["computer"], ["smartphone", "tablet"]]
LANGUAGES = [["et"], ["et", "en"], ["ru"], ["ru", "et"]]


def _texts(et: str, en: str, ru: str) -> dict[str, str]:
    return {"et": et, "en": en, "ru": ru}


SURVEY: dict[str, Any] = {
    "kind": "survey",
    "title": _texts(
        "Nutiarvesti rakenduse kasutamine",
        "Using the smart-meter app",
        "Использование приложения умного счётчика",
    ),
    "instructions": _texts(
        "Vastake pärast kuu aega kasutamist.",
        "Answer after a month of use.",
        "Ответьте после месяца использования.",
    ),
    "questions": [
        {
            "kind": "likert",
            "text": _texts(
                "Rakendust oli lihtne kasutada.",
                "The app was easy to use.",
                "Приложением было легко пользоваться.",
            ),
        },
        {
            "kind": "single",
            "text": _texts(
                "Kas kasutaksite rakendust edasi?",
                "Would you keep using the app?",
                "Продолжили бы вы пользоваться приложением?",
            ),
            "options": [
                {"code": "yes", "text": _texts("Jah", "Yes", "Да")},
                {"code": "maybe", "text": _texts("Võib-olla", "Maybe", "Возможно")},
                {"code": "no", "text": _texts("Ei", "No", "Нет")},
            ],
        },
        {
            "kind": "multiple",
            "text": _texts(
                "Mida te rakendusega tegite?",
                "What did you do with the app?",
                "Что вы делали с приложением?",
            ),
            "options": [
                {
                    "code": "heat",
                    "text": _texts(
                        "Vaatasin küttekulu", "Checked heating use", "Смотрел(а) расход тепла"
                    ),
                },
                {
                    "code": "water",
                    "text": _texts(
                        "Vaatasin veekulu", "Checked water use", "Смотрел(а) расход воды"
                    ),
                },
                {
                    "code": "alerts",
                    "text": _texts("Seadsin teavitusi", "Set alerts", "Настроил(а) уведомления"),
                },
            ],
        },
        {
            "kind": "number",
            "text": _texts(
                "Mitu minutit nädalas rakendust kasutasite?",
                "How many minutes a week did you use the app?",
                "Сколько минут в неделю вы пользовались приложением?",
            ),
            "min_value": 0,
            "max_value": 600,
        },
        {
            "kind": "text",
            "text": _texts("Mida muudaksite?", "What would you change?", "Что бы вы изменили?"),
            "required": False,
        },
    ],
}
REMARKS = [
    "Larger numbers on the main screen, please.",
    "A weekly summary by email would be enough.",
    "Show the cost in euros, not only kWh.",
    "It logged me out too often.",
    "Compare with the neighbours' average.",
    "Rohkem graafikuid kuude kaupa.",
    "Хотелось бы русскую версию справки.",
]


async def _places(
    session: AsyncSession,
) -> tuple[dict[str, uuid.UUID], dict[str, list[uuid.UUID]], list[uuid.UUID]]:
    """District ids by code, each district's buildings, and Annelinn's pilot buildings."""
    districts = dict((await session.execute(select(col(District.code), col(District.id)))).all())
    rows = await session.execute(
        select(col(District.code), col(Building.id), col(Building.is_pilot_area))
        .join(District, func.ST_Contains(col(District.geom), col(Building.point)))
        .order_by(col(Building.address))
    )
    buildings: dict[str, list[uuid.UUID]] = {}
    pilot_buildings = []
    for code, building_id, is_pilot in rows.all():
        buildings.setdefault(code, []).append(building_id)
        if code == "annelinn" and is_pilot:
            pilot_buildings.append(building_id)
    return districts, buildings, pilot_buildings


async def _panel(session: AsyncSession, now: datetime) -> None:
    districts, buildings, pilot_buildings = await _places(session)
    others = sorted(code for code in districts if code != "annelinn")
    users, members = [], []
    for number in range(1, PANEL_SIZE + 1):
        # Ids from the address: the same panel, and so the same draws, in every demo.
        user_id = uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:panel{number:03d}@{DEMO_DOMAIN}")
        building: uuid.UUID | None
        if number <= IN_ANNELINN:
            code, building = "annelinn", pilot_buildings[number % len(pilot_buildings)]
        else:
            code = others[number % len(others)]
            choices = buildings.get(code, [])
            building = choices[number % len(choices)] if choices else None
        users.append(
            {
                "id": user_id,
                "email": f"panel{number:03d}@{DEMO_DOMAIN}",
                "display_name": rng_name(number + 7),
                "language": "ru" if number % 4 == 0 else "et",
                "password_hash": "!",  # demo panellists cannot sign in
                "email_verified_at": now,
            }
        )
        members.append(
            {
                "user_id": user_id,
                "consent_version": consent.CURRENT_VERSION,
                "consented_at": now,
                "joined_at": now,
                "updated_at": now,
                "age_band": None if number % 17 == 0 else AGE_BANDS[(number * 7) % 4],
                "household_size": None if number % 11 == 0 else number % 5 + 1,
                "languages": LANGUAGES[number % 4],
                "devices": DEVICES[number % 4],
                "accessibility_needs": ["vision"] if number % 13 == 0 else [],
                "building_id": building,
                "district_id": districts[code],
            }
        )
    await session.execute(insert(table_of(User)).values(users).on_conflict_do_nothing())
    await session.execute(insert(table_of(PanelMember)).values(members))


async def _finished(session: AsyncSession, manager: Actor, now: datetime) -> None:
    """The smart-meter app: drawn three months ago, tested, surveyed and finished."""
    drawn_at = now - timedelta(days=95)
    starts, ends = (now - timedelta(days=90)).date(), (now - timedelta(days=60)).date()
    body = PilotCreate(
        code=FINISHED_CODE,
        title="Smart-meter app for apartment buildings",
        description=(
            "A phone app that shows your apartment's heat and water use from the building's "
            "smart meters. Use it for a month, then answer a short survey."
        ),
        organisation="Targad Arvestid OÜ",
        organisation_kind="company",
        starts_on=starts,
        ends_on=ends,
        target_size=40,
        dimensions=["age_band"],
        pilot_buildings_only=True,
        required_devices=["smartphone"],
    )
    pilot = await pilots.create(session, manager, body, drawn_at)
    await recruiting.make_draw(session, manager, pilot.id, DrawCreate(seed=2019), drawn_at)
    chosen = list(
        (
            await session.execute(
                select(Participation)
                .where(col(Participation.pilot_id) == pilot.id)
                .order_by(col(Participation.user_id))
            )
        ).scalars()
    )
    generator = random.Random(7)  # made-up answers, the same in every demo
    for number, participation in enumerate(chosen):
        participation.responded_at = drawn_at + timedelta(days=1 + number % 4)
        participation.status = (
            ParticipationStatus.declined if number % 9 == 4 else ParticipationStatus.accepted
        )
    await session.flush()
    task = await tasks.create_task(
        session,
        manager,
        pilot.id,
        TaskCreate.model_validate(
            {
                **SURVEY,
                "opens_at": (now - timedelta(days=65)).isoformat(),
                "due_at": (now - timedelta(days=58)).isoformat(),
            }
        ),
        drawn_at,
    )
    await pilots.transition(session, manager, pilot.id, "start", now - timedelta(days=90))
    questions = await lab_repository.questions(session, [task.id])
    responses, answers = [], []
    for participation in chosen:
        if participation.status != ParticipationStatus.accepted or generator.random() < 0.1:
            continue
        response_id = uuid.uuid4()
        responses.append(
            {
                "id": response_id,
                "task_id": task.id,
                "participation_id": participation.id,
                "share_text": generator.random() < 0.7,
                "submitted_at": now - timedelta(days=60, hours=generator.randint(0, 100)),
            }
        )
        values = [
            generator.choice([2, 3, 4, 4, 5, 5]),
            generator.choice(["yes", "yes", "maybe", "no"]),
            sorted({generator.choice(["heat", "water", "alerts"]) for _ in range(2)}),
            generator.randint(5, 90),
            generator.choice(REMARKS) if generator.random() < 0.6 else None,
        ]
        for question, value in zip(questions, values, strict=True):
            if value is not None:
                answers.append(
                    {"response_id": response_id, "question_id": question.id, "value": value}
                )
    await session.execute(insert(table_of(TaskResponse)).values(responses))
    await session.execute(insert(table_of(Answer)).values(answers))
    await pilots.transition(session, manager, pilot.id, "finish", now - timedelta(days=59))


async def _recruiting(session: AsyncSession, manager: Actor, now: datetime) -> None:
    """Booking an electronic waste pickup: invitations out now, answers due in a week."""
    body = PilotCreate(
        code=RECRUITING_CODE,
        title="Booking an electronic waste pickup",
        description=(
            "The environment department tests a web form for booking a pickup of old "
            "electronics from your door. Book one pickup within the month and tell us how it went."
        ),
        organisation="Tartu Linnavalitsus, keskkonnaosakond",
        organisation_kind="department",
        starts_on=(now + timedelta(days=10)).date(),
        ends_on=(now + timedelta(days=40)).date(),
        target_size=60,
        dimensions=["district"],
    )
    pilot = await pilots.create(session, manager, body, now)
    await recruiting.make_draw(session, manager, pilot.id, DrawCreate(seed=2026), now)
    # A few have answered already.
    await session.execute(
        update(Participation)
        .where(
            col(Participation.pilot_id) == pilot.id,
            col(Participation.id).in_(
                select(col(Participation.id))
                .where(col(Participation.pilot_id) == pilot.id)
                .order_by(col(Participation.user_id))
                .limit(12)
            ),
        )
        .values(status=ParticipationStatus.accepted, responded_at=now)
    )


async def seed_lab(session: AsyncSession, settings: Settings, now: datetime) -> bool:
    """The panel and the two pilots; False when they are there already."""
    refuse_in_production(settings, "demo living lab pilots")
    if await session.scalar(select(col(Pilot.id)).where(col(Pilot.code) == FINISHED_CODE)):
        return False
    manager_user = await accounts.user_by_email(session, f"lab@{DEMO_DOMAIN}")
    assert manager_user is not None
    manager = Actor.for_user(manager_user, [(Role.lab_manager, None)])
    await _panel(session, now)
    await _finished(session, manager, now)
    await _recruiting(session, manager, now)
    return True
