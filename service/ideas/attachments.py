"""Photos and PDF documents of ideas: photos through the report photo pipeline
(``reports.photos.store_image``: sniffed, bounded, re-encoded without EXIF), documents through
``documents.store_document``; a worker makes photo thumbnails. The author adds and removes
them while the idea is editable; who may read a file follows who may read the idea."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.actor import Actor
from service.auth.scopes import Scope
from service.config import Settings
from service.errors import Conflict, NotFound
from service.ideas import access, expert_repository, repository
from service.ideas.documents import store_document
from service.ideas.models import AttachmentKind, Idea, IdeaAttachment
from service.ideas.states import EDITABLE_STATES, refuse_unless
from service.ideas.timeline import record_event
from service.outbox.service import add_job
from service.reports.photos import FileStore, MediaStore, store_image, store_thumbnail

THUMBNAIL_JOB = "make_idea_thumbnail"
# ``ideas/<idea id>/<attachment id>.jpg|.pdf`` and photo thumbnails (``.thumb.jpg``); the
# orphan sweep (``reports.photos.sweep_orphans``) deletes those no attachment refers to.
IDEA_FILES = FileStore(
    "ideas",
    ("*/*.jpg", "*/*.pdf"),
    (col(IdeaAttachment.path), col(IdeaAttachment.thumbnail_path)),
)


async def add_attachment(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    idea_id: uuid.UUID,
    kind: AttachmentKind,
    raw: bytes,
    declared_type: str | None,
    now: datetime,
) -> IdeaAttachment:
    """Clean, store and attach one photo or document to the caller's editable idea."""
    idea = await access.own_idea(session, actor, idea_id, lock=True)
    refuse_unless(idea.state, EDITABLE_STATES, "Adding attachments")
    if idea.attachment_count >= settings.idea_attachments:
        raise Conflict(f"An idea carries at most {settings.idea_attachments} attachments.")
    directory = f"ideas/{idea.id}"
    if kind is AttachmentKind.photo:
        image = await store_image(settings, raw, declared_type, directory)
        attachment = IdeaAttachment(
            id=image.id,
            idea_id=idea.id,
            kind=kind,
            content_type="image/jpeg",
            size_bytes=image.size_bytes,
            sha256=image.sha256,
            path=image.path,
            width=image.width,
            height=image.height,
            created_at=now,
        )
    else:
        document = await store_document(settings, raw, declared_type, directory)
        attachment = IdeaAttachment(
            id=document.id,
            idea_id=idea.id,
            kind=kind,
            content_type="application/pdf",
            size_bytes=document.size_bytes,
            sha256=document.sha256,
            path=document.path,
            pages=document.pages,
            created_at=now,
        )
    session.add(attachment)
    idea.attachment_count += 1
    idea.updated_at = now
    record_event(
        session, idea, actor.user_id, "attachment_added", now, public=False, kind=kind.value
    )
    if kind is AttachmentKind.photo:
        await add_job(session, THUMBNAIL_JOB, str(attachment.id), str(attachment.id))
    await session.flush()
    return attachment


async def remove_attachment(
    session: AsyncSession, actor: Actor, idea_id: uuid.UUID, attachment_id: uuid.UUID, now: datetime
) -> None:
    idea = await access.own_idea(session, actor, idea_id, lock=True)
    attachment = await session.get(IdeaAttachment, attachment_id)
    if attachment is None or attachment.idea_id != idea.id:
        raise NotFound("No such attachment.")
    refuse_unless(idea.state, EDITABLE_STATES, "Removing attachments")
    await session.delete(attachment)
    idea.attachment_count -= 1
    idea.updated_at = now
    record_event(session, idea, actor.user_id, "attachment_removed", now, public=False)
    await session.flush()


async def attachment_file(
    session: AsyncSession,
    settings: Settings,
    actor: Actor | None,
    idea_id: uuid.UUID,
    attachment_id: uuid.UUID,
    thumbnail: bool,
) -> tuple[Path, str]:
    """The file of an attachment the caller may see, with its media type."""
    idea = await repository.get_idea(session, idea_id)
    if idea is None or not await _may_read(session, actor, idea):
        raise NotFound("No such attachment.")
    attachment = await session.get(IdeaAttachment, attachment_id)
    if attachment is None or attachment.idea_id != idea.id:
        raise NotFound("No such attachment.")
    relative = (
        attachment.thumbnail_path if thumbnail and attachment.thumbnail_path else attachment.path
    )
    path = MediaStore(settings.media_dir).path(relative)
    if not path.exists():
        raise NotFound("The file is missing.")
    media_type = "image/jpeg" if relative.endswith(".jpg") else attachment.content_type
    return path, media_type


async def _may_read(session: AsyncSession, actor: Actor | None, idea: Idea) -> bool:
    """Everyone reads a public idea's files; before that its author (a person, or a key
    with ``ideas:write``), the project office and its assigned experts."""
    if access.is_public(idea) or access.is_office(actor):
        return True
    if actor is None or not actor.allows(Scope.ideas_write):
        return False
    return actor.user_id == idea.author_id or await expert_repository.is_reviewer(
        session, idea.id, actor.user_id
    )


async def build_thumbnail(
    session: AsyncSession, settings: Settings, attachment_id: uuid.UUID
) -> bool:
    """Make the thumbnail of one idea photo (the worker job); False when it is gone."""
    attachment = await session.get(IdeaAttachment, attachment_id)
    if attachment is None or attachment.kind != AttachmentKind.photo:
        return False
    relative = await store_thumbnail(settings, attachment.path)
    if relative is None:
        return False
    await session.execute(
        update(IdeaAttachment)
        .where(col(IdeaAttachment.id) == attachment_id)
        .values(thumbnail_path=relative)
    )
    return True
