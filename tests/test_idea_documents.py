"""PDF documents of ideas keep no trace of their author: not in the document's metadata, not
in its images' EXIF (a phone photo's GPS position and owner), not in XMP attached to any
object; what cannot be cleaned is refused."""

from __future__ import annotations

import io

import pytest
from fpdf import FPDF
from httpx import AsyncClient
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.errors import InvalidInput
from service.ideas.documents import ImageLimits, clean_pdf
from tests.factories import bearer, make_user
from tests.idea_factories import admin, idea_body, make_area, propose

AUTHOR = "Mari Maasikas"
GPS_IFD = 0x8825
ARTIST = 0x013B
LIMITS = ImageLimits(max_pixels=40_000_000, max_decode_bytes=128 * 2**20)


def _phone_photo(mode: str = "RGB", color: tuple[int, ...] = (20, 120, 60)) -> bytes:
    """A JPEG as a phone writes it: the owner as Artist, the position in the GPS IFD."""
    exif = Image.Exif()
    exif[ARTIST] = AUTHOR
    exif[GPS_IFD] = {1: "N", 2: (58.0, 22.0, 40.0), 3: "E", 4: (26.0, 43.0, 20.0)}
    out = io.BytesIO()
    Image.new(mode, (64, 48), color).save(out, format="JPEG", exif=exif, quality=95)
    return out.getvalue()


def _pdf_with_photo(photo: bytes) -> bytes:
    """fpdf2 embeds a JPEG byte for byte; pypdf then hangs XMP naming the author on it."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="The corner as it is today")
    pdf.image(io.BytesIO(photo), x=10, y=20, w=60)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(pdf.output()))))
    xmp = DecodedStreamObject()
    xmp.set_data(f"<x:xmpmeta><dc:creator>{AUTHOR}</dc:creator></x:xmpmeta>".encode())
    xmp[NameObject("/Type")] = NameObject("/Metadata")
    xmp[NameObject("/Subtype")] = NameObject("/XML")
    reference = writer._add_object(xmp)
    for image in writer.pages[0].images:
        assert image.indirect_reference is not None
        image.indirect_reference.get_object()[NameObject("/Metadata")] = reference  # type: ignore[index]
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def test_images_in_documents_lose_exif_and_metadata(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    raw = _pdf_with_photo(_phone_photo())
    assert raw.count(AUTHOR.encode()) == 2 and b"Exif" in raw
    area = await make_area(client, session, settings, await admin(session, settings), "maps")
    author = bearer(settings, await make_user(session, settings))
    idea = await propose(client, author, idea_body(area.id, "A bench at the corner"), submit=False)
    stored = await client.post(
        f"/v1/ideas/{idea['id']}/documents",
        files={"file": ("corner.pdf", raw, "application/pdf")},
        headers=author,
    )
    assert stored.status_code == 201, stored.text
    fetched = await client.get(stored.json()["url"], headers=author)
    assert fetched.status_code == 200
    assert b"Maasikas" not in fetched.content
    assert b"Exif" not in fetched.content and b"xmpmeta" not in fetched.content
    images = PdfReader(io.BytesIO(fetched.content)).pages[0].images
    assert len(images) == 1
    image = images[0]
    assert image.indirect_reference is not None
    assert "/Metadata" not in image.indirect_reference.get_object()  # type: ignore[operator]
    assert image.image is not None
    exif = image.image.getexif()
    assert ARTIST not in exif and not exif.get_ifd(GPS_IFD)
    assert "exif" not in image.image.info
    # The same picture: size, colours (up to JPEG's loss).
    assert image.image.size == (64, 48)
    red, green, blue = image.image.convert("RGB").getpixel((32, 24))  # type: ignore[misc]
    assert abs(red - 20) < 8 and abs(green - 120) < 8 and abs(blue - 60) < 8


def _stored_samples(jpeg: bytes) -> tuple[int, ...]:
    """A CMYK JPEG's samples as stored, which is what a PDF reader draws (through the image's
    /Decode array); Pillow inverts them when Adobe's marker is present."""
    image = Image.open(io.BytesIO(jpeg))
    assert image.mode == "CMYK"
    pixel = image.getpixel((5, 5))
    assert isinstance(pixel, tuple)
    return tuple(255 - v for v in pixel) if "adobe" in image.info else tuple(pixel)


@pytest.mark.parametrize("adobe", [True, False])
def test_cmyk_images_keep_their_stored_samples(adobe: bool) -> None:
    photo = _phone_photo("CMYK", (10, 200, 30, 40))
    if not adobe:
        # Samples stored plainly, without Adobe's marker (Pillow writes one): cut it out.
        start = photo.index(b"Adobe\x00") - 4
        assert photo[start : start + 2] == b"\xff\xee"
        length = int.from_bytes(photo[start + 2 : start + 4], "big")
        photo = photo[:start] + photo[start + 2 + length :]
    clean = clean_pdf(_pdf_with_photo(photo), "application/pdf", 10, LIMITS)
    assert b"Maasikas" not in clean.data and b"Exif" not in clean.data
    image = PdfReader(io.BytesIO(clean.data)).pages[0].images[0].indirect_reference
    assert image is not None
    stored = image.get_object().get_data()  # type: ignore[union-attr]
    before, after = _stored_samples(photo), _stored_samples(stored)
    assert all(abs(a - b) < 8 for a, b in zip(after, before, strict=True)), (before, after)


def _page_with_content(content: bytes) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    stream = DecodedStreamObject()
    stream.set_data(content)
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_what_cannot_be_cleaned_is_refused() -> None:
    photo = _phone_photo()
    inline = _page_with_content(
        b"q 64 0 0 48 0 0 cm BI /W 64 /H 48 /CS /RGB /BPC 8 /F /DCT ID " + photo + b" EI Q"
    )
    with pytest.raises(InvalidInput, match="inline"):
        clean_pdf(inline, "application/pdf", 10, LIMITS)
    huge = _pdf_with_photo(photo)
    with pytest.raises(InvalidInput, match="larger than a photo"):
        clean_pdf(huge, "application/pdf", 10, ImageLimits(max_pixels=1000, max_decode_bytes=2**27))
    # Drawing without images is kept as it is.
    plain = clean_pdf(_page_with_content(b"0 0 m 100 100 l S"), "application/pdf", 10, LIMITS)
    assert plain.pages == 1
