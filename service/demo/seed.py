"""Writing the demo Tartu into a database. Idempotent: every entity is matched by its code
(buildings by address, accounts by email), so a second run changes nothing.

The city comes from :mod:`service.demo.tartu`, the accounts from :mod:`service.demo.accounts`,
the 2019 training programme from :mod:`service.demo.training`, the living lab from
:mod:`service.demo.lab` and the reports from
:mod:`service.demo.reports`; demo accounts, programmes and reports are refused when
``MEIELINN_ENV=production``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.catalog.models import Category, ObjectType, Reason
from service.city import service as city
from service.city.models import Building, Department, District, RoutingRule
from service.config import Settings
from service.db import table_of
from service.demo import tartu
from service.demo.accounts import DEMO_DOMAIN, DEMO_PASSWORD, DemoRefused, seed_accounts
from service.demo.ideas import seed_ideas
from service.demo.lab import seed_lab
from service.demo.reports import seed_reports
from service.demo.training import seed_training
from service.mail.models import DeliveryStatus, EmailMessage
from service.mail.service import DELIVER_EMAIL_JOB
from service.notifications.dispatch import DELIVER_WEBHOOK_JOB
from service.notifications.models import NotificationEvent
from service.outbox.models import OutboxJob

# The command line and the tests know these by this module.
__all__ = [
    "DEMO_DOMAIN",
    "DEMO_PASSWORD",
    "DemoRefused",
    "SeedReport",
    "is_empty",
    "seed",
    "seed_accounts",
    "seed_city",
]


@dataclass
class SeedReport:
    districts: int = 0
    departments: int = 0
    reasons: int = 0
    buildings_added: int = 0
    routing_rules: int = 0
    accounts_added: list[str] = field(default_factory=list)
    reports_added: int = 0
    training_added: bool = False
    ideas_added: bool = False
    lab_added: bool = False


async def _upsert(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows or update them by ``code`` (ids of existing rows are kept)."""
    if not rows:
        return
    table = table_of(model)
    statement = insert(table).values(rows)
    updates = {k: statement.excluded[k] for k in rows[0] if k not in ("id", "code")}
    await session.execute(
        statement.on_conflict_do_update(index_elements=[table.c.code], set_=updates)
    )


async def _ids(session: AsyncSession, model: Any) -> dict[str, uuid.UUID]:
    rows = await session.execute(select(model.code, model.id))
    return dict(rows.all())  # a Result has keys(), so dict(rows) would take it for a mapping


async def seed_city(session: AsyncSession) -> SeedReport:
    """Districts, calendar, departments, catalogue, routing rules and buildings."""
    report = SeedReport()
    result = await city.import_districts(session, tartu.district_collection())
    report.districts = result.total
    await city.city_calendar(session)

    for code, name, kind, parent, email in tartu.DEPARTMENTS:
        parents = await _ids(session, Department)
        await _upsert(
            session,
            Department,
            [
                {
                    "id": uuid.uuid4(),
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "parent_id": parents[parent] if parent else None,
                    "email": email,
                }
            ],
        )
    departments = await _ids(session, Department)
    report.departments = len(tartu.DEPARTMENTS)

    object_rows, category_rows, reason_rows = [], [], []
    for type_position, (type_code, type_names, type_categories) in enumerate(tartu.CATALOGUE):
        object_rows.append(
            {"id": uuid.uuid4(), "code": type_code, "names": type_names, "position": type_position}
        )
        for position, (category_code, category_names, _, specs) in enumerate(type_categories):
            category_rows.append((type_code, category_code, category_names, position))
            for reason_position, spec in enumerate(specs):
                reason_rows.append((category_code, spec, reason_position))
    await _upsert(session, ObjectType, object_rows)
    object_types = await _ids(session, ObjectType)
    await _upsert(
        session,
        Category,
        [
            {
                "id": uuid.uuid4(),
                "code": code,
                "object_type_id": object_types[type_code],
                "names": names,
                "position": position,
            }
            for type_code, code, names, position in category_rows
        ],
    )
    categories = await _ids(session, Category)
    await _upsert(
        session,
        Reason,
        [
            _reason_row(spec, categories[category], position)
            for category, spec, position in reason_rows
        ],
    )
    reasons = await _ids(session, Reason)
    report.reasons = len(reason_rows)

    districts = await _ids(session, District)
    rules: list[dict[str, Any]] = []
    for _, _, category_list in tartu.CATALOGUE:
        for category_code, _, department, _ in category_list:
            rules.append(
                _rule(category_id=categories[category_code], department=departments[department])
            )
    for category_code, district, department in tartu.DISTRICT_RULES:
        rules.append(
            _rule(
                category_id=categories[category_code],
                district_id=districts[district],
                department=departments[department],
            )
        )
    for reason_code, maybe_district, department in tartu.REASON_RULES:
        rules.append(
            _rule(
                reason_id=reasons[reason_code],
                district_id=districts[maybe_district] if maybe_district else None,
                department=departments[department],
            )
        )
    await session.execute(insert(table_of(RoutingRule)).values(rules).on_conflict_do_nothing())
    report.routing_rules = len(rules)

    known = set((await session.execute(select(col(Building.address)))).scalars())
    fresh = [spec for spec in tartu.buildings() if spec.address not in known]
    if fresh:
        await session.execute(
            insert(table_of(Building)).values(
                [
                    {
                        "id": uuid.uuid4(),
                        "address": spec.address,
                        "point": from_shape(Point(spec.lon, spec.lat), srid=4326),
                        "footprint": from_shape(tartu.footprint(spec), srid=4326)
                        if spec.apartments > 1
                        else None,
                        "year_built": spec.year_built,
                        "floors": spec.floors,
                        "apartments": spec.apartments,
                        "heating": spec.heating,
                        "managing_org_id": departments[spec.managing_org]
                        if spec.managing_org
                        else None,
                        "is_pilot_area": spec.is_pilot_area,
                        "passport": spec.passport,
                    }
                    for spec in fresh
                ]
            )
        )
    report.buildings_added = len(fresh)
    return report


def _reason_row(spec: tartu.ReasonSpec, category_id: uuid.UUID, position: int) -> dict[str, Any]:
    start = spec.season[0].split("-") if spec.season else None
    end = spec.season[1].split("-") if spec.season else None
    return {
        "id": uuid.uuid4(),
        "code": spec.code,
        "category_id": category_id,
        "names": spec.names,
        "sla_amount": spec.sla,
        "sla_unit": spec.unit,
        "moderation_sla_hours": spec.moderation_hours,
        "needs_answer_moderation": spec.needs_answer_moderation,
        "requires_photo": spec.requires_photo,
        "building_bound": spec.building_bound,
        "season_start_month": int(start[0]) if start else None,
        "season_start_day": int(start[1]) if start else None,
        "season_end_month": int(end[0]) if end else None,
        "season_end_day": int(end[1]) if end else None,
        "duplicate_radius_m": spec.duplicate_radius_m,
        "service_code": spec.code,
        "attributes": spec.attributes,
        "position": position,
    }


def _rule(
    *,
    department: uuid.UUID,
    reason_id: uuid.UUID | None = None,
    category_id: uuid.UUID | None = None,
    district_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "reason_id": reason_id,
        "category_id": category_id,
        "district_id": district_id,
        "department_id": department,
    }


async def is_empty(session: AsyncSession) -> bool:
    return (await session.execute(select(col(District.id)).limit(1))).first() is None


async def seed(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    *,
    accounts: bool = True,
    reports: int = 0,
) -> SeedReport:
    """The city, and optionally the demo accounts with the 2019 training programme, and
    ``reports`` demo reports over the half year before ``now``."""
    report = await seed_city(session)
    if accounts:
        report.accounts_added = await seed_accounts(session, settings, now)
        report.training_added = await seed_training(session, settings)
        report.ideas_added = await seed_ideas(session, settings, now)
        report.lab_added = await seed_lab(session, settings, now)
    if reports:
        report.reports_added = await seed_reports(session, settings, now, reports)
    if accounts or reports:
        await silence_history(session)
    return report


# Rows written by the seed's transaction (it runs in one; its savepoints' ids come after its
# own) or after it began: the history's rows carry their made-up times, so the transaction
# id tells them, not created_at. `make seed` is meant for a quiet demo database.
_WRITTEN_NOW = "age(xmin) <= age((txid_current() % 4294967296)::text::xid)"


async def silence_history(session: AsyncSession) -> None:
    """The demo's history (ideas decided, reviews assigned, ...) went through the services,
    which told people about it: nobody is mailed or notified about made-up events. Only
    what this transaction wrote is dropped, so a re-seed of a used database keeps the rest."""
    await session.flush()
    written_now = text(_WRITTEN_NOW)
    await session.execute(
        delete(OutboxJob).where(
            col(OutboxJob.enqueued_at).is_(None),
            col(OutboxJob.job_name).in_([DELIVER_EMAIL_JOB, DELIVER_WEBHOOK_JOB]),
            written_now,
        )
    )
    # Deliveries (inbox, email, webhooks) go with their events.
    await session.execute(delete(NotificationEvent).where(written_now))
    await session.execute(
        delete(EmailMessage).where(col(EmailMessage.status) == DeliveryStatus.pending, written_now)
    )
