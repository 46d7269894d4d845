"""Idea bank tables (issue 16): functional areas with their rules and expert pools, ideas,
their attachments, expert reviews, supports and the timeline of each idea.

An idea moves through four stages: automatic checks (``submitted``), expert assessment
(``experts``), design assessment by the project office (``design``) and priority assessment
by the area's committee (``committee``); ``service.ideas.states`` holds the transitions.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    Identity,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from service.db import enum_field, timestamp, uuid_pk


class IdeaState(StrEnum):
    draft = "draft"
    submitted = "submitted"  # stage 1: waiting for the automatic checks
    returned = "returned"  # back with the author: failed checks, or the office's comments
    experts = "experts"  # stage 2: expert assessment
    design = "design"  # stage 3: the project office
    committee = "committee"  # stage 4: the area's committee
    rejected = "rejected"  # by the project office, with a reason
    decided = "decided"  # the committee's decision is in ``decision``
    withdrawn = "withdrawn"


class CostBand(StrEnum):
    under_10k = "under_10k"
    from_10k_to_50k = "10k_50k"
    from_50k_to_250k = "50k_250k"
    from_250k_to_1m = "250k_1m"
    over_1m = "over_1m"


class Decision(StrEnum):
    implement = "implement"
    pilot = "pilot"
    declined = "declined"


class AttachmentKind(StrEnum):
    photo = "photo"
    document = "document"


class IdeaArea(SQLModel, table=True):
    """A functional area (ecology, transport …), owned by a department whose supervisors
    form its committee. ``rules`` configure the automatic checks (``checks.AreaRules``)."""

    __tablename__ = "idea_area"
    __table_args__ = (
        CheckConstraint("min_reviews BETWEEN 1 AND 10", name="min_reviews_range"),
        CheckConstraint("review_days BETWEEN 1 AND 60", name="review_days_range"),
    )

    id: uuid.UUID = uuid_pk()
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    department_id: uuid.UUID = Field(foreign_key="department.id", index=True, ondelete="RESTRICT")
    # Experts per idea, and the working days each has for a review.
    min_reviews: int = Field(default=3)
    review_days: int = Field(default=5)
    criteria: list[str] = Field(sa_column=Column(ARRAY(String(64)), nullable=False))
    rules: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    active: bool = Field(default=True)
    created_at: datetime = timestamp(default_now=True)


class IdeaExpert(SQLModel, table=True):
    """A member of an area's expert pool. ``organisation`` is who they work for: they are
    never assigned an idea whose author declared the same organisation."""

    __tablename__ = "idea_expert"
    __table_args__ = (UniqueConstraint("area_id", "user_id", name="uq_idea_expert_member"),)

    id: uuid.UUID = uuid_pk()
    area_id: uuid.UUID = Field(foreign_key="idea_area.id", index=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    organisation: str | None = Field(default=None, max_length=200)
    active: bool = Field(default=True)
    added_at: datetime = timestamp(default_now=True)


class Idea(SQLModel, table=True):
    __tablename__ = "idea"
    __table_args__ = (
        # Duplicate detection (stage 1) by trigram similarity of titles and summaries.
        Index(
            "ix_idea_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ),
        Index(
            "ix_idea_summary_trgm",
            "summary",
            postgresql_using="gin",
            postgresql_ops={"summary": "gin_trgm_ops"},
        ),
        Index("ix_idea_area_state", "area_id", "state"),
    )

    id: uuid.UUID = uuid_pk()
    area_id: uuid.UUID = Field(foreign_key="idea_area.id", ondelete="RESTRICT")
    author_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    # The organisation the author proposes for (or works for), if any: its experts are left
    # out of the review.
    organisation: str | None = Field(default=None, max_length=200)
    title: str = Field(max_length=200)
    summary: str = Field(default="", max_length=2000)
    problem: str = Field(default="", max_length=4000)
    solution: str = Field(default="", max_length=4000)
    benefit: str = Field(default="", max_length=4000)
    cost_band: CostBand | None = enum_field(None, length=16)
    location: Any = Field(
        default=None,
        sa_column=Column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True),
    )
    district_id: uuid.UUID | None = Field(
        default=None, foreign_key="district.id", ondelete="SET NULL"
    )
    tags: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(40)), nullable=False, server_default="{}"),
    )
    state: IdeaState = enum_field(IdeaState.draft, length=16, index=True)
    # Submissions so far: each one runs the checks and, after them, a fresh expert round.
    attempt: int = Field(default=0)
    # The year of the first submission: the committee ranks the ideas of one round.
    round: int | None = Field(default=None)
    check_failures: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    score_mean: float | None = Field(default=None)
    score_spread: float | None = Field(default=None)
    design_comment: str | None = Field(default=None, max_length=4000)
    decision: Decision | None = enum_field(None, length=16)
    decision_reason: str | None = Field(default=None, max_length=4000)
    rank: int | None = Field(default=None)
    support_count: int = Field(default=0)
    attachment_count: int = Field(default=0)
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)
    submitted_at: datetime | None = timestamp(nullable=True)
    # When the idea passed the checks: from then on it is public.
    published_at: datetime | None = timestamp(nullable=True)
    decided_at: datetime | None = timestamp(nullable=True)


class IdeaAttachment(SQLModel, table=True):
    """A photo (cleaned by the report photo pipeline) or a PDF document (rewritten without
    its metadata). The uploaded file name is not kept: it may name the author."""

    __tablename__ = "idea_attachment"

    id: uuid.UUID = uuid_pk()
    idea_id: uuid.UUID = Field(foreign_key="idea.id", index=True, ondelete="CASCADE")
    kind: AttachmentKind = enum_field(length=16)
    content_type: str = Field(max_length=64)
    size_bytes: int
    sha256: str = Field(max_length=64)
    path: str = Field(max_length=300)
    thumbnail_path: str | None = Field(default=None, max_length=300)
    width: int | None = Field(default=None)
    height: int | None = Field(default=None)
    pages: int | None = Field(default=None)
    created_at: datetime = timestamp(default_now=True)


class IdeaReview(SQLModel, table=True):
    """One expert's assignment to one submission (``attempt``) of an idea: open until
    ``submitted_at``, or until ``due_at`` passes (``lapsed_at``) and another expert takes
    over. An expert is assigned an idea at most once per attempt."""

    __tablename__ = "idea_review"
    __table_args__ = (
        UniqueConstraint("idea_id", "attempt", "expert_id", name="uq_idea_review_once"),
        Index(
            "ix_idea_review_open",
            "due_at",
            postgresql_where=text("submitted_at IS NULL AND lapsed_at IS NULL"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    idea_id: uuid.UUID = Field(foreign_key="idea.id", index=True, ondelete="CASCADE")
    attempt: int
    expert_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    assigned_at: datetime = timestamp()
    remind_at: datetime | None = timestamp(nullable=True)
    due_at: datetime = timestamp()
    reminded_at: datetime | None = timestamp(nullable=True)
    lapsed_at: datetime | None = timestamp(nullable=True)
    submitted_at: datetime | None = timestamp(nullable=True)
    scores: dict[str, int] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    score: float | None = Field(default=None)
    comment: str | None = Field(default=None, max_length=4000)


class IdeaSupport(SQLModel, table=True):
    __tablename__ = "idea_support"

    idea_id: uuid.UUID = Field(foreign_key="idea.id", primary_key=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(
        foreign_key="user_account.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    created_at: datetime = timestamp(default_now=True)


class IdeaEvent(SQLModel, table=True):
    """The timeline of an idea. Public events carry no actor and no expert's identity."""

    __tablename__ = "idea_event"

    id: uuid.UUID = uuid_pk()
    # The order of events written in one instant (a round of decisions shares its "now").
    sequence: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), nullable=False)
    )
    idea_id: uuid.UUID = Field(foreign_key="idea.id", index=True, ondelete="CASCADE")
    actor_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    type: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str | None = Field(default=None, max_length=16)
    public: bool = Field(default=True)
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    created_at: datetime = timestamp()
