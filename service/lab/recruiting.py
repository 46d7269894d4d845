"""Recruiting testers: seeded stratified draws (``sampling.py``), invitations through the
notifications, accepting or declining by the invitation's deadline, invitations lapsing
(the worker's sweep), and top-ups from the same strata.

The first draw fixes each stratum's quota (stored with it). A top-up draws, per stratum, the
quota less the testers the stratum still holds (invited, accepted or completed), from its
panellists not yet drawn for the pilot. Every draw is audited with its seed.

Who is never drawn: a person not on the panel (withdrawn), erased, disabled or unverified,
on an older consent text, already drawn for this pilot (whatever they answered), or held by
another pilot of an overlapping period, unless both pilots allow overlapping testers.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit import service as audit
from service.auth.actor import Actor
from service.city import service as city
from service.db import table_of
from service.errors import Conflict
from service.lab import access, consent, repository, sampling
from service.lab.models import (
    Allocation,
    Dimension,
    Draw,
    Participation,
    ParticipationStatus,
    Pilot,
    PilotState,
)
from service.lab.schemas import (
    DrawCreate,
    DrawPublic,
    Recruitment,
    StratumAllocation,
    StratumRecruitment,
)
from service.notifications.dispatch import Notice, notify_many
from service.readable import day_value, time_value

DRAWABLE = (PilotState.draft, PilotState.recruiting, PilotState.running)
STATUSES = [s for s in ParticipationStatus if s is not ParticipationStatus.cancelled]


def _stratum(pilot: Pilot, row: Any) -> str:
    _, district, age_band, household = row
    values = {
        Dimension.district: district,
        Dimension.age_band: age_band,
        Dimension.household: sampling.household_band(household),
    }
    return sampling.stratum_key(pilot.dimensions, {str(k): v for k, v in values.items()})


async def pool(session: AsyncSession, pilot: Pilot) -> dict[str, list[uuid.UUID]]:
    """The pilot's eligible panellists now, by stratum."""
    found: dict[str, list[uuid.UUID]] = defaultdict(list)
    for row in await repository.eligible_pool(session, pilot, consent.CURRENT_VERSION):
        found[_stratum(pilot, row)].append(row[0])
    return dict(found)


async def _quotas(
    session: AsyncSession, pilot: Pilot, populations: dict[str, int], earlier: list[Draw]
) -> dict[str, int]:
    if not earlier:
        custom = dict(pilot.quotas) if pilot.allocation == Allocation.custom else None
        return sampling.allocate(pilot.target_size, populations, custom)
    fixed = {s: int(v["quota"]) for s, v in earlier[0].allocation.items()}
    held = await repository.status_counts(session, pilot.id)
    holding: dict[str, int] = defaultdict(int)
    for (stratum, status), count in held.items():
        if status in repository.HOLDING:
            holding[stratum] += count
    return {
        s: max(0, min(fixed.get(s, 0) - holding[s], populations.get(s, 0)))
        for s in set(fixed) | set(populations)
    }


async def make_draw(
    session: AsyncSession, actor: Actor, pilot_id: uuid.UUID, body: DrawCreate, now: datetime
) -> Draw:
    """Draw (or top up) the pilot's sample and invite whoever was drawn."""
    pilot = await access.managed_pilot(session, actor, pilot_id, lock=True)
    if pilot.state not in DRAWABLE:
        raise Conflict(f"A {pilot.state} pilot draws nobody.", reason="pilot_closed")
    await repository.serialise_draws(session)
    earlier = await repository.draws(session, pilot.id)
    found = await pool(session, pilot)
    populations = {s: len(people) for s, people in found.items()}
    quotas = await _quotas(session, pilot, populations, earlier)
    if not any(quotas.values()):
        raise Conflict(
            "Nobody is left to draw: the strata are full, or nobody eligible is left.",
            reason="nothing_to_draw",
        )
    seed = body.seed if body.seed is not None else secrets.randbits(63)
    drawn = sampling.draw(found, quotas, seed)
    record = Draw(
        pilot_id=pilot.id,
        number=len(earlier) + 1,
        seed=seed,
        allocation={
            s: {
                "population": populations.get(s, 0),
                "quota": quotas.get(s, 0),
                "drawn": len(drawn.get(s, [])),
            }
            for s in sorted(set(quotas) | set(populations))
        },
        pool_digest=sampling.pool_digest(found),
        invited=sum(len(people) for people in drawn.values()),
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(record)
    await session.flush()
    respond_by = now + timedelta(days=pilot.invitation_days)
    rows = [
        {
            "id": uuid.uuid4(),
            "pilot_id": pilot.id,
            "user_id": person,
            "draw_id": record.id,
            "stratum": stratum,
            "status": ParticipationStatus.invited,
            "invited_at": now,
            "respond_by": respond_by,
        }
        for stratum, people in drawn.items()
        for person in people
    ]
    if rows:
        await session.execute(insert(table_of(Participation)).values(rows))
    if pilot.state == PilotState.draft:
        pilot.state = PilotState.recruiting
    pilot.updated_at = now
    await audit.record(
        session,
        "lab.draw",
        actor_user_id=actor.user_id,
        ip=actor.ip,
        subject_type="lab_pilot",
        subject_id=pilot.id,
        number=record.number,
        seed=seed,
        invited=record.invited,
        pool_digest=record.pool_digest,
    )
    await _invite(session, pilot, rows, respond_by, now)
    return record


async def _invite(
    session: AsyncSession,
    pilot: Pilot,
    rows: list[dict[str, Any]],
    respond_by: datetime,
    now: datetime,
) -> None:
    people = {u.id: u for u in await repository.users(session, [r["user_id"] for r in rows])}
    values: dict[str, object] = {
        "title": pilot.title,
        "organisation": pilot.organisation,
        "starts": day_value(pilot.starts_on),
        "ends": day_value(pilot.ends_on),
        "respond_by": time_value(respond_by, await city.city_timezone(session)),
    }
    await notify_many(
        session,
        [
            (
                Notice("lab_invitation", f"lab_invitation:{row['id']}", "lab_invitation", values),
                [people[row["user_id"]]],
            )
            for row in rows
            if row["user_id"] in people
        ],
        now=now,
    )


def draw_public(draw: Draw) -> DrawPublic:
    return DrawPublic(
        id=draw.id,
        number=draw.number,
        seed=draw.seed,
        pool_digest=draw.pool_digest,
        invited=draw.invited,
        created_at=draw.created_at,
        strata=[
            StratumAllocation(stratum=s, **{k: int(v) for k, v in figures.items()})
            for s, figures in draw.allocation.items()
        ],
    )


async def pilot_draws(session: AsyncSession, actor: Actor, pilot_id: uuid.UUID) -> list[DrawPublic]:
    pilot = await access.managed_pilot(session, actor, pilot_id)
    return [draw_public(d) for d in await repository.draws(session, pilot.id)]


async def recruitment(session: AsyncSession, actor: Actor, pilot_id: uuid.UUID) -> Recruitment:
    """Counts per stratum and status (no names: the managers never see who)."""
    pilot = await access.managed_pilot(session, actor, pilot_id)
    earlier = await repository.draws(session, pilot.id)
    quotas = {s: int(v["quota"]) for s, v in earlier[0].allocation.items()} if earlier else {}
    counts = await repository.status_counts(session, pilot.id)
    strata = sorted(set(quotas) | {s for s, _ in counts})

    def line(name: str, quota: int, of: list[str]) -> StratumRecruitment:
        figures = {
            str(status): sum(counts.get((s, str(status)), 0) for s in of) for status in STATUSES
        }
        return StratumRecruitment(stratum=name, quota=quota, **figures)

    return Recruitment(
        target_size=pilot.target_size,
        strata=[line(s, quotas.get(s, 0), [s]) for s in strata],
        totals=line("all", sum(quotas.values()), strata),
    )


async def respond(
    session: AsyncSession, actor: Actor, participation_id: uuid.UUID, accept: bool, now: datetime
) -> Participation:
    """Accept or decline an invitation, by its deadline."""
    found = await access.own_participation(session, actor, participation_id, lock=True)
    if found.status == ParticipationStatus.invited and found.respond_by <= now:
        found.status = ParticipationStatus.expired
        found.ended_at = now
        await session.flush()
    if found.status != ParticipationStatus.invited:
        raise Conflict(
            f"The invitation is {found.status}.",
            reason="not_invited",
            participation_status=found.status,
        )
    found.status = ParticipationStatus.accepted if accept else ParticipationStatus.declined
    found.responded_at = now
    if not accept:
        found.ended_at = now
    await session.flush()
    return found


async def leave(
    session: AsyncSession, actor: Actor, participation_id: uuid.UUID, now: datetime
) -> Participation:
    """Leave one pilot (the answers given so far stay in its results, without the person)."""
    found = await access.own_participation(session, actor, participation_id, lock=True)
    if found.status not in (ParticipationStatus.invited, ParticipationStatus.accepted):
        raise Conflict(f"The participation is {found.status}.", reason="not_open")
    found.status = ParticipationStatus.withdrawn
    found.ended_at = now
    await session.flush()
    return found


async def expire_invitations(session: AsyncSession, now: datetime, batch: int = 500) -> int:
    """Invitations past their deadline lapse (the worker's sweep)."""
    lapsed = await repository.claim_expired_invitations(session, now, batch)
    for participation in lapsed:
        participation.status = ParticipationStatus.expired
        participation.ended_at = now
    await session.flush()
    return len(lapsed)
