"""Photos: checking, re-encoding without metadata, storing and thumbnails. Reports use all
of it; any other owner of photos (the idea bank) stores through :func:`store_image` and
:func:`store_thumbnail` and keeps its own rows.

An upload is trusted for nothing: its type is read from the bytes (JPEG, PNG, WebP or
HEIC/HEIF) and must agree with the declared content type; its pixel count is checked from
the header before any pixel is decoded (a decompression bomb is refused without being
expanded); it is decoded, turned upright by its EXIF orientation and re-encoded as JPEG
without any metadata, so EXIF (GPS position, camera serials) never reaches the disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.auth.actor import Actor
from service.config import Settings
from service.errors import AppError, Conflict, InvalidInput, NotFound, PayloadTooLarge
from service.outbox.service import add_job
from service.reports import access, repository
from service.reports.lifecycle import not_editable, own_report, record_event, touch
from service.reports.models import Report, ReportPhoto
from service.reports.states import EDITABLE_STATES

pillow_heif.register_heif_opener()

THUMBNAIL_JOB = "make_thumbnail"
THUMBNAIL_SIZE = (480, 480)
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}
# Declared types that stand for each sniffed format.
ACCEPTED_DECLARATIONS = {
    "JPEG": {"image/jpeg", "image/jpg", "image/pjpeg"},
    "PNG": {"image/png"},
    "WEBP": {"image/webp"},
    "HEIF": {"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"},
}


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    width: int
    height: int
    source_format: str


# Bytes per pixel of the modes a decoder may produce (unknown modes count as 4).
BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "I;16": 2, "RGB": 3, "YCbCr": 3}
# Stored photos are at most this many pixels on their long side.
MAX_SIDE = 4096
# Photos cleaned at once per process: with the decode budget, this bounds the memory used.
_CLEANING = threading.BoundedSemaphore(2)


def clean_image(
    raw: bytes, declared_type: str | None, max_pixels: int, max_decode_bytes: int
) -> CleanImage:
    """Sniff, check and re-encode one upload. CPU-bound: run it in a thread.

    Memory is bounded before any pixel is decoded: the header gives the size and mode, a
    JPEG is decoded at a reduced scale when it is larger than a stored photo (``draft``),
    and an image whose decoded pixels would exceed ``max_decode_bytes`` is refused (a 165 KB
    PNG can stand for 40 million pixels). The image is then shrunk and turned upright in
    place, so at most one more, smaller, copy exists at a time."""
    with _CLEANING:
        return _clean(raw, declared_type, max_pixels, max_decode_bytes)


def _clean(
    raw: bytes, declared_type: str | None, max_pixels: int, max_decode_bytes: int
) -> CleanImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=list(FORMATS))
    except UnidentifiedImageError:
        raise UnsupportedMediaType(
            "Photos must be JPEG, PNG, WebP or HEIC images.", field="file"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput(
            f"The photo has too many pixels; at most {max_pixels:,} are accepted.", field="file"
        ) from None
    except (OSError, ValueError, SyntaxError):
        raise InvalidInput("The photo is damaged or truncated.", field="file") from None
    source = image.format or ""
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared not in ACCEPTED_DECLARATIONS.get(source, set()):
        raise UnsupportedMediaType(
            f"The file is {FORMATS.get(source, source)} but was sent as {declared or 'no type'}.",
            field="file",
        )
    width, height = image.size
    if width * height > max_pixels:
        raise InvalidInput(
            f"The photo has {width}×{height} pixels; at most {max_pixels:,} are accepted.",
            field="file",
        )
    if source == "JPEG":
        # Decode at 1/2, 1/4 or 1/8 scale while the long side stays at least MAX_SIDE / 2.
        image.draft("RGB", (MAX_SIDE // 2, MAX_SIDE // 2))
    decoded = image.size[0] * image.size[1] * BYTES_PER_PIXEL.get(image.mode, 4)
    if decoded > max_decode_bytes:
        raise PayloadTooLarge(
            f"The photo would take {decoded // 2**20} MiB to decode; at most "
            f"{max_decode_bytes // 2**20} MiB are accepted. Send a smaller image "
            f"(at most {MAX_SIDE} pixels on the long side is plenty).",
            field="file",
        )
    try:
        image.load()
        image.thumbnail((MAX_SIDE, MAX_SIDE))  # in place; only shrinks
        ImageOps.exif_transpose(image, in_place=True)
        rgb = image if image.mode == "RGB" else image.convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput("The photo is damaged or truncated.", field="file") from exc
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=85)  # no exif= argument: none kept
    return CleanImage(data=out.getvalue(), width=rgb.width, height=rgb.height, source_format=source)


def make_thumbnail(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail(THUMBNAIL_SIZE)
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG", quality=80, optimize=True)
        return out.getvalue()


class MediaStore:
    """Files under the media directory, written atomically (temporary file, then rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def path(self, relative: str) -> Path:
        full = (self.root / relative).resolve()
        if self.root not in full.parents:
            raise ValueError("path outside the media directory")
        return full

    def write(self, relative: str, data: bytes) -> None:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def read(self, relative: str) -> bytes:
        return self.path(relative).read_bytes()

    def delete(self, relative: str | None) -> None:
        if relative:
            self.path(relative).unlink(missing_ok=True)

    def files(self, store: FileStore) -> list[tuple[str, float]]:
        """(relative path, modification time) of every file of ``store``."""
        found = []
        for pattern in store.patterns:
            for file in (self.root / store.directory).glob(pattern):
                found.append((str(file.relative_to(self.root)), file.stat().st_mtime))
        return found


@dataclass(frozen=True)
class FileStore:
    """Files kept under ``directory`` of the media directory (``patterns`` below it), each
    referred to by a row's ``columns`` (relative paths), e.g. a photo and its thumbnail."""

    directory: str
    patterns: tuple[str, ...]
    columns: tuple[Any, ...]


# Stored paths looked up per query by the orphan sweep.
SWEEP_BATCH = 1000
# Report photos and their thumbnails: ``reports/<report id>/<photo id>[.thumb].jpg``.
REPORT_FILES = FileStore(
    "reports", ("*/*.jpg",), (col(ReportPhoto.path), col(ReportPhoto.thumbnail_path))
)


@dataclass(frozen=True)
class StoredImage:
    """A cleaned photo written to the media directory (``path`` is relative to it)."""

    id: uuid.UUID
    path: str
    width: int
    height: int
    size_bytes: int
    sha256: str


async def store_image(
    settings: Settings, raw: bytes, declared_type: str | None, directory: str
) -> StoredImage:
    """The photo pipeline for any owner of photos (reports, ideas): refuse an upload over
    the size limit, sniff and clean it in a thread (:func:`clean_image`) and store the
    result as ``<directory>/<id>.jpg``. The caller records the row and queues a thumbnail
    (:func:`store_thumbnail`)."""
    if len(raw) > settings.photo_max_bytes:
        raise PayloadTooLarge(
            f"Photos are limited to {settings.photo_max_bytes} bytes "
            f"({settings.photo_max_bytes / 2**20:.0f} MiB)."
        )
    clean = await anyio.to_thread.run_sync(
        clean_image,
        raw,
        declared_type,
        settings.photo_max_pixels,
        settings.photo_max_decode_megabytes * 2**20,
    )
    image_id = uuid.uuid4()
    relative = f"{directory}/{image_id}.jpg"
    await anyio.to_thread.run_sync(MediaStore(settings.media_dir).write, relative, clean.data)
    return StoredImage(
        id=image_id,
        path=relative,
        width=clean.width,
        height=clean.height,
        size_bytes=len(clean.data),
        sha256=hashlib.sha256(clean.data).hexdigest(),
    )


async def store_thumbnail(settings: Settings, path: str) -> str | None:
    """Make the thumbnail of a stored photo next to it; its relative path, or None when the
    photo's file is gone."""
    store = MediaStore(settings.media_dir)
    try:
        data = await anyio.to_thread.run_sync(store.read, path)
    except FileNotFoundError:
        return None
    thumbnail = await anyio.to_thread.run_sync(make_thumbnail, data)
    relative = path.removesuffix(".jpg") + ".thumb.jpg"
    await anyio.to_thread.run_sync(store.write, relative, thumbnail)
    return relative


async def add_photo(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    report_id: uuid.UUID,
    raw: bytes,
    declared_type: str | None,
    now: datetime,
) -> ReportPhoto:
    """Attach a photo to the caller's own report while it can still be edited."""
    report = await own_report(session, actor, report_id)
    return await attach_photo(session, settings, actor, report, raw, declared_type, now)


async def attach_photo(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    report: Report,
    raw: bytes,
    declared_type: str | None,
    now: datetime,
) -> ReportPhoto:
    """Check, clean and store one photo of a report the caller may change (its reporter's,
    or one an Open311 client has just filed), while it can still be edited."""
    if report.state not in EDITABLE_STATES:
        raise not_editable(report, "given photos")
    if report.photo_count >= settings.photos_per_report:
        raise Conflict(f"A report carries at most {settings.photos_per_report} photos.")
    stored = await store_image(settings, raw, declared_type, f"reports/{report.id}")
    photo = ReportPhoto(
        id=stored.id,
        report_id=report.id,
        uploader_id=actor.user_id,
        content_type="image/jpeg",
        width=stored.width,
        height=stored.height,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        path=stored.path,
        created_at=now,
    )
    session.add(photo)
    report.photo_count += 1
    touch(report, now)
    record_event(session, report, actor, "photo_added", now, public=False, photo_id=str(photo.id))
    await add_job(session, THUMBNAIL_JOB, str(photo.id), str(photo.id))
    await session.flush()
    return photo


async def remove_photo(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    report_id: uuid.UUID,
    photo_id: uuid.UUID,
    now: datetime,
) -> None:
    report = await own_report(session, actor, report_id)
    photo = await session.get(ReportPhoto, photo_id)
    if photo is None or photo.report_id != report.id:
        raise NotFound("No such photo.")
    if report.state not in EDITABLE_STATES:
        raise not_editable(report, "changed")
    await session.delete(photo)
    report.photo_count -= 1
    touch(report, now)
    record_event(session, report, actor, "photo_removed", now, public=False, photo_id=str(photo_id))
    await session.flush()
    # The files stay until the sweep finds them unreferenced: deleting them here would lose
    # them if this transaction then rolled back.


async def photo_file(
    session: AsyncSession,
    settings: Settings,
    actor: Actor | None,
    report_id: uuid.UUID,
    photo_id: uuid.UUID,
    thumbnail: bool,
) -> Path:
    """The file of a photo the caller may see (the thumbnail, or the photo until it exists)."""
    report = await repository.get(session, report_id)
    if report is None:
        raise NotFound("No such photo.")
    access.check_visible(actor, report)
    photo = await session.get(ReportPhoto, photo_id)
    if photo is None or photo.report_id != report_id:
        raise NotFound("No such photo.")
    relative = photo.thumbnail_path if thumbnail and photo.thumbnail_path else photo.path
    path = MediaStore(settings.media_dir).path(relative)
    if not path.exists():
        raise NotFound("The photo file is missing.")
    return path


async def build_thumbnail(session: AsyncSession, settings: Settings, photo_id: uuid.UUID) -> bool:
    """Make the thumbnail of one photo (the worker job); False when the photo is gone."""
    photo = await session.get(ReportPhoto, photo_id)
    if photo is None:
        return False
    relative = await store_thumbnail(settings, photo.path)
    if relative is None:
        return False
    await session.execute(
        update(ReportPhoto).where(col(ReportPhoto.id) == photo_id).values(thumbnail_path=relative)
    )
    return True


async def sweep_orphans(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    grace: timedelta,
    stores: Sequence[FileStore] = (REPORT_FILES,),
) -> int:
    """Delete stored files of ``stores`` no row refers to: left by uploads whose transaction
    rolled back and by removed photos or attachments. Files younger than ``grace`` are kept
    (their upload may still be committing). Returns how many were deleted."""
    media = MediaStore(settings.media_dir)
    cutoff = (now - grace).timestamp()
    deleted = 0
    for store in stores:
        files = await anyio.to_thread.run_sync(media.files, store)
        old = [path for path, mtime in files if mtime < cutoff]
        if not old:
            continue
        referenced: set[str] = set()
        for start in range(0, len(old), SWEEP_BATCH):
            chunk = old[start : start + SWEEP_BATCH]
            rows = await session.execute(
                select(*store.columns).where(or_(*(column.in_(chunk) for column in store.columns)))
            )
            for row in rows:
                referenced.update(path for path in row if path)
        orphans = [path for path in old if path not in referenced]
        for path in orphans:
            await anyio.to_thread.run_sync(media.delete, path)
        deleted += len(orphans)
    return deleted
