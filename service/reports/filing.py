"""Filing a report: the reason must be usable, the place inside the city, the attributes
valid and the quota not spent; the report is routed, gets its tracking code, the
reporter's subscription and its first timeline event, in one transaction.

Filing on behalf (an API key with ``reports:on_behalf``, e.g. a call centre) is not
impersonation: the resident is named by email, known or not (an address without an account
becomes a *contact reporter*: unverified, without sign-in), the partner gets the answer a
partner may see (no account id, no name), the report shows no name publicly (the resident
did not choose to be named), the filing counts against the key's own daily quota, and the
resident is emailed "filed for you by …" with a link that withdraws it.

Open311 clients (``POST /open311/v2/requests``, an API key with ``open311:write``) file
through the same function with ``open311=True``: the ``email`` they send is filed for
exactly like ``on_behalf_of`` above (the same contact reporter, partner view, key quota and
email); without one, the key's owner files as themselves, under their own quota.

A building's ambassador helping a neighbour takes the same path, as a *helper*: only about
a building they are ambassador of (the report's building, given or the nearest), against a
daily quota of their own helped filings, recorded on the report (``helped_by_id``, shown to
the reporter and staff), and the neighbour's email names the building, not the helper.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from service.auth import email_tokens
from service.auth.actor import Actor
from service.auth.contacts import contact_reporter
from service.auth.models import EMAIL_TOKEN_PAGES, ApiKey, EmailTokenPurpose, User
from service.auth.scopes import Scope
from service.catalog.attributes import validate_attribute_values
from service.catalog.models import Reason
from service.catalog.service import in_season
from service.city import service as city
from service.city.models import Building
from service.config import Settings
from service.errors import Conflict, Forbidden, InvalidInput, TooManyRequests
from service.mail.service import OneTimeCode, queue_email
from service.reports import repository, statements
from service.reports.lifecycle import mark_submitted, new_event
from service.reports.models import Report
from service.reports.schemas import ReportCreate
from service.reports.states import ReportState

# Crockford's base32 without look-alikes (no I, L, O, U): codes read well over the phone.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
QUOTA_WINDOW = timedelta(hours=24)


class ReasonUnavailable(InvalidInput):
    slug, title = "reason-unavailable", "The reason cannot be chosen now"


class QuotaExceeded(TooManyRequests):
    slug, title = "report-quota-exceeded", "Too many reports"


def new_tracking_code() -> str:
    """Like ``ML-7K3Q-9XD2``: 40 random bits, grouped for reading aloud."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"ML-{chars[:4]}-{chars[4:]}"


@dataclass(frozen=True)
class Quota:
    """What is left of a daily filing quota after this filing."""

    limit: int
    remaining: int
    reset_seconds: int
    window_seconds: int = int(QUOTA_WINDOW.total_seconds())


@dataclass(frozen=True)
class Filed:
    """A filed report, the quota left, and whether it was filed for someone else."""

    report: Report
    quota: Quota
    on_behalf: bool


def quota_owner(
    *,
    reporter_id: uuid.UUID | None = None,
    api_key_id: uuid.UUID | None = None,
    helper_id: uuid.UUID | None = None,
) -> str:
    """Whose daily quota a filing counts against: an API key filing on behalf, an
    ambassador helping neighbours, or the reporter."""
    if api_key_id is not None:
        return f"key:{api_key_id}"
    if helper_id is not None:
        return f"helper:{helper_id}"
    return f"user:{reporter_id}"


async def take_quota(
    session: AsyncSession,
    limit: int,
    now: datetime,
    *,
    reporter_id: uuid.UUID | None = None,
    api_key_id: uuid.UUID | None = None,
    helper_id: uuid.UUID | None = None,
    locked: bool = False,
) -> Quota:
    """Count the filings of the last 24 h of a reporter (or of an API key filing on
    behalf, or of an ambassador helping neighbours) under a lock, so concurrent filings
    are serialised; 429 when none is left. ``locked``: the caller took the owner's lock in
    an earlier statement of this transaction (:func:`repository.reason_for_filing`)."""
    if not locked:
        owner = quota_owner(reporter_id=reporter_id, api_key_id=api_key_id, helper_id=helper_id)
        await repository.lock_quota(session, owner)
    times = await repository.filing_times(
        session,
        now - QUOTA_WINDOW,
        reporter_id=reporter_id,
        api_key_id=api_key_id,
        helper_id=helper_id,
    )
    reset = int((times[0] + QUOTA_WINDOW - now).total_seconds()) + 1 if times else 0
    if len(times) >= limit:
        wait = max(1, reset)
        raise QuotaExceeded(
            f"At most {limit} reports in 24 hours; the next one is possible in "
            f"{wait // 60 + 1} minutes.",
            retry_after=wait,
            limit=limit,
            window_seconds=int(QUOTA_WINDOW.total_seconds()),
        )
    return Quota(
        limit=limit,
        remaining=limit - len(times) - 1,
        reset_seconds=reset or int(QUOTA_WINDOW.total_seconds()),
    )


async def _reporter(
    session: AsyncSession, actor: Actor, body: ReportCreate, *, open311: bool
) -> User | None:
    """The resident a report is filed for, or None when the caller files for themselves."""
    if open311 and not actor.holds_scope(Scope.open311_write):
        raise Forbidden(f"Open311 filing needs an API key with {Scope.open311_write}.")
    if body.on_behalf_of is None:
        return None
    # An Open311 client names the person submitting by ``email``: its scope covers that;
    # otherwise a partner key with reports:on_behalf, or an ambassador helping a neighbour.
    if open311:
        if not actor.holds_scope(Scope.open311_write):
            raise Forbidden(f"Filing for someone else needs an API key with {Scope.open311_write}.")
    elif not (actor.holds_scope(Scope.reports_on_behalf) or _helps_neighbours(actor)):
        raise Forbidden(
            f"Filing for someone else needs an API key with {Scope.reports_on_behalf}, or a "
            "building's ambassador filing for a neighbour."
        )
    resident = await contact_reporter(session, str(body.on_behalf_of), str(actor.language))
    if resident.disabled_at is not None:
        # Refused like any other filing problem, without saying the account exists.
        raise Forbidden("Reports cannot be filed for this address.")
    return resident


def _helps_neighbours(actor: Actor) -> bool:
    """A person who is a building's ambassador (an API key never is one)."""
    return not actor.is_api_key and bool(actor.buildings)


def check_reason(reason: Reason | None, category_active: bool, today: date) -> Reason:
    """A reason that is active, in an active category and in season; 422 otherwise."""
    if reason is None:
        raise InvalidInput("No such reason.", field="reason_id")
    if not reason.active or not category_active:
        raise ReasonUnavailable("This reason is no longer in use.", field="reason_id")
    if not in_season(reason, today):
        raise ReasonUnavailable(
            f"This reason is seasonal ({reason.season_start_month:02d}-"
            f"{reason.season_start_day:02d} to {reason.season_end_month:02d}-"
            f"{reason.season_end_day:02d}).",
            field="reason_id",
            reason="out_of_season",
        )
    return reason


async def file_report(
    session: AsyncSession,
    actor: Actor,
    body: ReportCreate,
    now: datetime,
    settings: Settings,
    *,
    open311: bool = False,
) -> Filed:
    """File ``body`` for the caller, or for the resident it names (on behalf).

    ``open311``: the caller is an Open311 client (``open311:write`` instead of
    ``reports:on_behalf`` lets it name the resident); the rules are otherwise the same."""
    resident = await _reporter(session, actor, body, open311=open311)
    reporter_id = resident.id if resident is not None else actor.user_id
    helper = resident is not None and _helps_neighbours(actor)
    # Whose quota this filing counts against; its lock is taken by the reason's statement.
    quota_args: dict[str, Any]
    if helper:
        quota_args = {"helper_id": actor.user_id}
        quota_limit = settings.report_quota_per_day
    elif resident is not None:
        quota_args = {"api_key_id": actor.api_key_id}
        quota_limit = settings.api_key_report_quota_per_day
    else:
        quota_args = {"reporter_id": reporter_id}
        quota_limit = settings.report_quota_per_day
    found = await repository.reason_for_filing(session, body.reason_id, quota_owner(**quota_args))
    reason_row, category_active, calendar_token = found or (None, False, None)
    calendar = await city.city_working_calendar(session, calendar_token)
    reason = check_reason(reason_row, category_active, now.astimezone(calendar.zone).date())
    if body.building_id is not None:
        lat, lon = await city.get_building_point(session, body.building_id)
    else:
        assert body.lat is not None
        assert body.lon is not None
        lat, lon = body.lat, body.lon
    decision = await city.route(session, reason.id, lat, lon, body.building_id, inside_city=True)
    if helper and resident is not None and resident.id == actor.user_id:
        raise InvalidInput("To file for yourself, leave out on_behalf_of.", field="on_behalf_of")
    if helper and not actor.ambassador_of(decision.building_id):
        raise Forbidden(
            "An ambassador files for neighbours about the buildings they are ambassador of.",
            reason="not_your_building",
        )
    attributes = validate_attribute_values(reason.attributes, body.attributes)
    quota = await take_quota(session, quota_limit, now, locked=True, **quota_args)

    state = ReportState.draft if reason.requires_photo else ReportState.submitted
    report = Report(
        tracking_code=new_tracking_code(),
        reporter_id=reporter_id,
        filed_via_api_key_id=actor.api_key_id,
        filed_on_behalf=resident is not None,
        helped_by_id=actor.user_id if helper else None,
        reason_id=reason.id,
        category_id=reason.category_id,
        department_id=decision.department_id,
        district_id=decision.district_id,
        building_id=decision.building_id,
        location=from_shape(Point(lon, lat), srid=4326),
        address_text=body.address_text,
        description=body.description,
        attributes=attributes,
        anonymous_public=body.anonymous_public or resident is not None,
        # Only the reporter consents to publishing their words, not whoever files for them.
        text_in_open_data=body.text_in_open_data and resident is None,
        state=state,
        created_at=now,
        updated_at=now,
        subscribers_count=1,
    )
    if state is ReportState.submitted:
        mark_submitted(report, reason, calendar, now)
    event = new_event(
        report,
        actor,
        "filed",
        now,
        to_state=str(state),
        public=False,
        routing=decision.basis,
        via_api_key=actor.is_api_key,
        on_behalf=resident is not None,
        **({"channel": "open311"} if open311 else {}),
        **({"helped_by": str(actor.user_id)} if helper else {}),
    )
    # The report, the reporter's subscription and the event in one statement.
    for attempt in range(3):
        if await statements.insert_filed(session, report, lon, lat, reporter_id, event):
            break
        if attempt == 2:
            raise Conflict("No free tracking code was found; please try again.")
        report.tracking_code = new_tracking_code()
    # Known to the session as stored (no statement): later changes in this transaction
    # (photos, sending a draft) are flushed as updates.
    make_transient_to_detached(report)
    session.add(report)
    if resident is not None:
        await _tell_resident(session, settings, actor, resident, report, now)
    return Filed(report=report, quota=quota, on_behalf=resident is not None)


DISOWN_DAYS = 30


async def _tell_resident(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    resident: User,
    report: Report,
    now: datetime,
) -> None:
    """Email the resident that a report was filed for them, with a link to disown it."""
    key = await session.get(ApiKey, actor.api_key_id) if actor.api_key_id else None
    helped = report.helped_by_id is not None and report.building_id is not None
    building = await session.get(Building, report.building_id) if helped else None
    # The link's secret is a one-time email token, minted only when the mail is delivered.
    token = await email_tokens.issue(
        session, resident.id, EmailTokenPurpose.disown_report, now + timedelta(days=DISOWN_DAYS)
    )
    page = EMAIL_TOKEN_PAGES[EmailTokenPurpose.disown_report]
    one_time = OneTimeCode(
        email_token_id=token.id, link_path=f"{page}?report={report.id}&lang={resident.language}"
    )
    if building is not None:  # an ambassador helping a neighbour
        await queue_email(
            session,
            recipient=resident.email,
            language=resident.language,
            template="report_filed_by_ambassador",
            user_id=resident.id,
            one_time=one_time,
            code=report.tracking_code,
            address=building.address,
        )
        return
    await queue_email(
        session,
        recipient=resident.email,
        language=resident.language,
        template="report_filed_for_you",
        user_id=resident.id,
        one_time=one_time,
        code=report.tracking_code,
        filer=key.name if key is not None else actor.display_name,
    )
