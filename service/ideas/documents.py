"""PDF documents attached to ideas: the photo pipeline's rules for a second kind of file.

Like a photo, an upload is trusted for nothing: its type is read from the bytes (``%PDF-``)
and must agree with the declared content type, and it is refused above the same size limit
(``MEIELINN_PHOTO_MAX_BYTES``). It is then parsed with pypdf (damaged, encrypted or too long
documents are refused) and written anew page by page, so the document information
dictionary, XMP metadata, embedded files, JavaScript and open actions of the original do
not survive: an author's name in "Author" or "Creator" would defeat the experts' blindness.
Annotations go too (they may carry actions and their own authors).

What the pages keep is cleaned as well, object by object: metadata streams (``/Metadata``),
application data (``/PieceInfo``) and links to the author's files (``/OPI``) are dropped from
every object, and every JPEG image is decoded and encoded again with Pillow (its own
quantisation tables, so it looks the same) without its EXIF, XMP, IPTC and comments: a
photo taken with a phone carries the position it was taken at and often the owner's name.
Images in other encodings are plain samples with nowhere to keep metadata. What cannot be
cleaned is refused rather than kept: JPEG 2000 images, JPEG images written inline in a page's
content, images above the photo pipeline's pixel and decoding limits, and unreadable ones.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
import uuid
from dataclasses import dataclass

import anyio
from PIL import Image, UnidentifiedImageError
from PIL.JpegImagePlugin import JpegImageFile
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    ContentStream,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
)

from service.config import Settings
from service.errors import InvalidInput, PayloadTooLarge
from service.reports.photos import MediaStore, UnsupportedMediaType

PDF_MAGIC = b"%PDF-"
PDF_TYPES = {"application/pdf", "application/x-pdf"}
# Per-page keys that carry actions or annotations with authors of their own.
PAGE_KEYS_DROPPED = ("/Annots", "/AA")
# Keys dropped from every object: XMP metadata, an application's private data, and links
# to the high-resolution originals on the author's disk (OPI), which name their paths.
OBJECT_KEYS_DROPPED = ("/Metadata", "/PieceInfo", "/OPI")
JPEG_FILTERS = {"/DCTDecode", "/DCT"}
JPEG_2000_FILTERS = {"/JPXDecode"}
# An inline image's filter in a content stream, before the stream is parsed to be sure.
_INLINE_JPEG_HINT = re.compile(rb"/(?:DCTDecode|DCT|JPXDecode)(?![A-Za-z])")
# Documents cleaned at once per process (parsing holds the document in memory).
_CLEANING = threading.BoundedSemaphore(2)


@dataclass(frozen=True)
class CleanDocument:
    data: bytes
    pages: int


@dataclass(frozen=True)
class ImageLimits:
    """The photo pipeline's bounds, applied to every image a document carries."""

    max_pixels: int
    max_decode_bytes: int


class UncleanableDocument(InvalidInput):
    slug, title = "document-not-cleanable", "The document cannot be cleaned of metadata"


def clean_pdf(
    raw: bytes, declared_type: str | None, max_pages: int, limits: ImageLimits
) -> CleanDocument:
    """Sniff, parse and rewrite one PDF without its metadata. CPU-bound: run it in a thread."""
    declared = (declared_type or "").split(";")[0].strip().lower()
    if not raw.startswith(PDF_MAGIC):
        raise UnsupportedMediaType("Documents must be PDF files.", field="file")
    if declared not in PDF_TYPES:
        raise UnsupportedMediaType(
            f"The file is application/pdf but was sent as {declared or 'no type'}.", field="file"
        )
    with _CLEANING:
        return _rewrite(raw, max_pages, limits)


def _rewrite(raw: bytes, max_pages: int, limits: ImageLimits) -> CleanDocument:
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
        _clean_objects(writer, limits)
        cleaned = io.BytesIO()
        writer.write(cleaned)
        # Written once more, page by page: a writer keeps every object it copied, so what
        # was cut off the pages (an image's metadata stream) would still be in the file.
        # Copying the cleaned pages takes only what they still refer to.
        final = PdfWriter()
        for page in PdfReader(cleaned, strict=False).pages:
            final.add_page(page)
        # No /Info dictionary at all: pypdf's own "Producer" would be the only entry.
        final.metadata = None
        out = io.BytesIO()
        final.write(out)
    except InvalidInput:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise InvalidInput("The PDF document is damaged or unreadable.", field="file") from exc
    return CleanDocument(data=out.getvalue(), pages=count)


def _clean_objects(writer: PdfWriter, limits: ImageLimits) -> None:
    """Walk every object the rewritten pages reach (each once): drop the metadata keys,
    re-encode JPEG images, and refuse what cannot be cleaned."""
    seen: set[int] = set()
    pending: list[PdfObject] = list(writer.pages)
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            target = item.get_object()
            if target is None:
                continue
            item = target
        if isinstance(item, DictionaryObject):
            reference = getattr(item, "indirect_reference", None)
            if reference is not None:
                seen.add(reference.idnum)
            for key in OBJECT_KEYS_DROPPED:
                item.pop(NameObject(key), None)
            if isinstance(item, StreamObject):
                if item.get("/Subtype") == "/Image":
                    _clean_image(item, limits)
                else:
                    _refuse_inline_jpeg(item, writer)
            # The page tree's parents lead back to pages already on the way.
            pending.extend(value for key, value in item.items() if key != "/Parent")
        elif isinstance(item, ArrayObject):
            pending.extend(item)


def _filters(stream: StreamObject) -> list[str]:
    named = stream.get("/Filter")
    if named is None:
        return []
    named = named.get_object()
    return [str(name) for name in named] if isinstance(named, ArrayObject) else [str(named)]


def _clean_image(stream: StreamObject, limits: ImageLimits) -> None:
    """Replace a JPEG image's bytes by the same picture encoded anew without metadata.
    Images in other encodings are samples (Flate, LZW, CCITT, JBIG2 …): nothing to drop."""
    filters = _filters(stream)
    if JPEG_2000_FILTERS & set(filters):
        raise UncleanableDocument(
            "The PDF document holds JPEG 2000 images, which cannot be cleaned of their "
            "metadata; save or print it again as a PDF with JPEG images.",
            field="file",
        )
    if not JPEG_FILTERS & set(filters):
        return
    if filters[-1] not in JPEG_FILTERS:
        raise InvalidInput("The PDF document is damaged or unreadable.", field="file")
    # The filters before the last are undone; the JPEG decoder passes the bytes through.
    clean = reencode_jpeg(stream.get_data(), limits)
    StreamObject.set_data(stream, clean)
    if hasattr(stream, "decoded_self"):
        stream.decoded_self = None  # the cached decoding is of the old bytes
    stream[NameObject("/Filter")] = NameObject("/DCTDecode")
    stream.pop(NameObject("/DecodeParms"), None)


def reencode_jpeg(raw: bytes, limits: ImageLimits) -> bytes:
    """The picture of a JPEG image encoded anew with its own quantisation tables, keeping its
    colour components and stored sample values, without any metadata segment."""
    try:
        with Image.open(io.BytesIO(raw), formats=["JPEG"]) as source:
            assert isinstance(source, JpegImageFile)
            width, height = source.size
            bands = len(source.getbands())
            if width * height > limits.max_pixels or width * height * bands > (
                limits.max_decode_bytes
            ):
                raise UncleanableDocument(
                    f"The PDF document holds a {width}×{height} image, larger than a photo may "
                    "be; it cannot be cleaned of its metadata.",
                    field="file",
                )
            source.load()
            out = io.BytesIO()
            if source.mode == "CMYK" and "adobe" not in source.info:
                # Pillow writes CMYK inverted with Adobe's marker, and reads it back as it
                # wrote it: samples stored plainly are inverted first to keep their values.
                inverted = source.point(lambda value: 255 - value)
                inverted.save(out, format="JPEG", qtables=source.quantization)
            else:
                source.save(out, format="JPEG", quality="keep")
    except UncleanableDocument:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise UncleanableDocument(
            "An image in the PDF document cannot be read, so its metadata cannot be removed.",
            field="file",
        ) from exc
    return out.getvalue()


def _refuse_inline_jpeg(stream: StreamObject, writer: PdfWriter) -> None:
    """Refuse a content stream that writes a JPEG image inline (``BI … ID … EI``): its bytes
    sit inside the page's drawing instructions, where they are not re-encoded."""
    data = stream.get_data()
    if b"ID" not in data or not _INLINE_JPEG_HINT.search(data):
        return
    try:
        operations = ContentStream(stream, writer).operations
    except (PyPdfError, ValueError, KeyError, TypeError, AssertionError) as exc:
        raise UncleanableDocument(
            "The PDF document holds inline images that cannot be read.", field="file"
        ) from exc
    for operands, operator in operations:
        if operator != b"INLINE IMAGE":
            continue
        settings = operands.get("settings", {})
        named = settings.get("/F", settings.get("/Filter"))
        names = [str(n) for n in named] if isinstance(named, list) else [str(named)]
        if (JPEG_FILTERS | JPEG_2000_FILTERS) & set(names):
            raise UncleanableDocument(
                "The PDF document writes JPEG images inline in its pages, where they cannot "
                "be cleaned of their metadata; save or print it again as a PDF.",
                field="file",
            )


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
    limits = ImageLimits(
        max_pixels=settings.photo_max_pixels,
        max_decode_bytes=settings.photo_max_decode_megabytes * 2**20,
    )
    clean = await anyio.to_thread.run_sync(
        clean_pdf, raw, declared_type, settings.document_max_pages, limits
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
