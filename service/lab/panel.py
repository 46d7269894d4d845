"""The test panel: joining with consent and an optional sampling profile, seeing and
changing it, and withdrawing, which deletes the profile and ends the person's open
participations (an invitation not yet answered, a pilot they are testing)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.audit import service as audit
from service.auth.actor import Actor
from service.city.buildings import service as buildings
from service.city.districts import service as districts
from service.errors import InvalidInput, NotFound
from service.lab import consent, repository, suppression
from service.lab.models import PanelMember, Participation, ParticipationStatus
from service.lab.schemas import PanelCount, PanelJoin, PanelMembership, PanelSummary

OPEN = (ParticipationStatus.invited, ParticipationStatus.accepted)


def membership_public(member: PanelMember) -> PanelMembership:
    return PanelMembership(
        consent_version=member.consent_version,
        consent_current=member.consent_version == consent.CURRENT_VERSION,
        consented_at=member.consented_at,
        joined_at=member.joined_at,
        updated_at=member.updated_at,
        age_band=member.age_band,
        household_size=member.household_size,
        languages=list(member.languages),
        devices=list(member.devices),
        accessibility_needs=list(member.accessibility_needs),
        building_id=member.building_id,
        district_id=member.district_id,
    )


async def membership(session: AsyncSession, actor: Actor) -> PanelMember:
    """The caller's membership; 404 when they are not on the panel."""
    found = await repository.member(session, actor.user_id)
    if found is None:
        raise NotFound("You are not on the test panel.", reason="not_on_panel")
    return found


async def _place(
    session: AsyncSession, building_id: uuid.UUID | None, district_id: uuid.UUID | None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The building and its district (a building's district wins over a district given)."""
    if building_id is not None:
        lat, lon = await buildings.get_building_point(session, building_id)
        located = await districts.locate(session, lat, lon)
        return building_id, located.id if located is not None else district_id
    if district_id is not None and await districts.get_district(session, district_id) is None:
        raise InvalidInput("No such district.", field="district_id")
    return None, district_id


async def join(session: AsyncSession, actor: Actor, body: PanelJoin, now: datetime) -> PanelMember:
    """Join the panel, or change one's profile (agreeing to the current consent again)."""
    if body.consent_version != consent.CURRENT_VERSION:
        raise InvalidInput(
            f"Agree to the current consent text (version {consent.CURRENT_VERSION}).",
            reason="consent_outdated",
            field="consent_version",
        )
    building_id, district_id = await _place(session, body.building_id, body.district_id)
    found = await repository.member(session, actor.user_id, lock=True)
    joined = found is None
    if found is None:
        found = PanelMember(
            user_id=actor.user_id,
            consent_version=body.consent_version,
            consented_at=now,
            joined_at=now,
            updated_at=now,
        )
        session.add(found)
    if found.consent_version != body.consent_version:
        found.consented_at = now
    found.consent_version = body.consent_version
    found.age_band = body.age_band
    found.household_size = body.household_size
    found.languages = sorted(set(body.languages))
    found.devices = sorted({str(d) for d in body.devices})
    found.accessibility_needs = sorted({str(n) for n in body.accessibility_needs})
    found.building_id = building_id
    found.district_id = district_id
    found.updated_at = now
    await audit.record(
        session,
        "lab.panel.joined" if joined else "lab.panel.changed",
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="lab_panel_member",
        subject_id=actor.user_id,
        consent_version=body.consent_version,
    )
    await session.flush()
    return found


async def end_open_participations(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    # After any draw running now: an invitation it is writing for the person ends too.
    await repository.serialise_draws(session)
    ended = await session.execute(
        update(Participation)
        .where(col(Participation.user_id) == user_id, col(Participation.status).in_(OPEN))
        .values(status=ParticipationStatus.withdrawn, ended_at=now)
    )
    return int(getattr(ended, "rowcount", 0) or 0)


async def withdraw(session: AsyncSession, actor: Actor, now: datetime) -> int:
    """Leave the panel: the profile is deleted and open participations end. Returns how
    many participations ended."""
    await membership(session, actor)
    await session.execute(delete(PanelMember).where(col(PanelMember.user_id) == actor.user_id))
    ended = await end_open_participations(session, actor.user_id, now)
    await audit.record(
        session,
        "lab.panel.withdrawn",
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="lab_panel_member",
        subject_id=actor.user_id,
        participations_ended=ended,
    )
    return ended


async def summary(session: AsyncSession) -> PanelSummary:
    """The panel's size by district and by age band, groups under five not shown."""
    by_district, by_age = await repository.panel_counts(session)

    def counts(found: dict[str, int]) -> list[PanelCount]:
        shown = suppression.suppress_counts(dict(sorted(found.items())))
        return [PanelCount(value=value, members=count) for value, count in shown.items()]

    return PanelSummary(
        members=sum(by_district.values()),
        by_district=counts(by_district),
        by_age_band=counts(by_age),
    )
