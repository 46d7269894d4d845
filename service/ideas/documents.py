"""PDF documents attached to ideas: the photo pipeline's rules for a second kind of file.

Like a photo, an upload is trusted for nothing: its type is read from the bytes (``%PDF-``)
and must agree with the declared content type, and it is refused above the same size limit
(``MEIELINN_PHOTO_MAX_BYTES``). It is then parsed with pypdf (damaged, encrypted or too long
documents are refused) and written anew page by page, so the document information
dictionary, XMP metadata, embedded files, JavaScript and open actions of the original do
not survive: an author's name in "Author" or "Creator" would defeat the experts' blindness.
Annotations go too (they may carry actions and their own authors).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import uuid
from dataclasses import dataclass

import anyio
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import NameObject

from service.config import Settings
from service.errors import InvalidInput, PayloadTooLarge
from service.reports.photos import MediaStore, UnsupportedMediaType

PDF_MAGIC = b"%PDF-"
PDF_TYPES = {"application/pdf", "application/x-pdf"}
# Per-page keys that carry actions or metadata of their own.
PAGE_KEYS_DROPPED = ("/Annots", "/AA", "/Metadata", "/PieceInfo")
# Documents cleaned at once per process (parsing holds the document in memory).
_CLEANING = threading.BoundedSemaphore(2)


@dataclass(frozen=True)
class CleanDocument:
    data: bytes
    pages: int


def clean_pdf(raw: bytes, declared_type: str | None, max_pages: int) -> CleanDocument:
    """Sniff, parse and rewrite one PDF without its metadata. CPU-bound: run it in a thread."""
    declared = (declared_type or "").split(";")[0].strip().lower()
    if not raw.startswith(PDF_MAGIC):
        raise UnsupportedMediaType("Documents must be PDF files.", field="file")
    if declared not in PDF_TYPES:
        raise UnsupportedMediaType(
            f"The file is application/pdf but was sent as {declared or 'no type'}.", field="file"
        )
    with _CLEANING:
        return _rewrite(raw, max_pages)


def _rewrite(raw: bytes, max_pages: int) -> CleanDocument:
    # pypdf logs every oddity of a damaged file; the answer to the uploader says enough.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        if reader.is_encrypted:
            raise InvalidInput("Encrypted PDF documents are not accepted.", field="file")
        count = len(reader.pages)
        if count == 0:
            raise InvalidInput("The PDF document has no pages.", field="file")
        if count > max_pages:
            raise InvalidInput(
                f"The PDF document has {count} pages; at most {max_pages} are accepted.",
                field="file",
            )
        writer = PdfWriter()
        for page in reader.pages:
            added = writer.add_page(page)
            for key in PAGE_KEYS_DROPPED:
                added.pop(NameObject(key), None)
        # No /Info dictionary at all: pypdf's own "Producer" would be the only entry.
        writer.metadata = None
        out = io.BytesIO()
        writer.write(out)
    except InvalidInput:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise InvalidInput("The PDF document is damaged or unreadable.", field="file") from exc
    return CleanDocument(data=out.getvalue(), pages=count)


@dataclass(frozen=True)
class StoredDocument:
    id: uuid.UUID
    path: str
    pages: int
    size_bytes: int
    sha256: str


async def store_document(
    settings: Settings, raw: bytes, declared_type: str | None, directory: str
) -> StoredDocument:
    """Refuse an upload over the size limit, clean it in a thread and store it as
    ``<directory>/<id>.pdf``."""
    if len(raw) > settings.photo_max_bytes:
        raise PayloadTooLarge(
            f"Documents are limited to {settings.photo_max_bytes} bytes "
            f"({settings.photo_max_bytes / 2**20:.0f} MiB)."
        )
    clean = await anyio.to_thread.run_sync(
        clean_pdf, raw, declared_type, settings.document_max_pages
    )
    document_id = uuid.uuid4()
    relative = f"{directory}/{document_id}.pdf"
    await anyio.to_thread.run_sync(MediaStore(settings.media_dir).write, relative, clean.data)
    return StoredDocument(
        id=document_id,
        path=relative,
        pages=clean.pages,
        size_bytes=len(clean.data),
        sha256=hashlib.sha256(clean.data).hexdigest(),
    )
