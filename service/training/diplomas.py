"""Diplomas: a one-page PDF in Estonian, English and Russian, made by a worker (fpdf2, with
the DejaVu Sans typeface embedded so that õ, ä, ö, ü, š, ž and Cyrillic render), with a
verification code and a QR code of the public page that checks it (segno). Stored like
photos, under the media directory; anyone may check a code, only the holder and the
programme's coordinators get the PDF."""

from __future__ import annotations

import hashlib
import io
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import anyio
import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.actor import Actor
from service.config import Settings
from service.errors import Conflict, Forbidden, NotFound
from service.languages import Language
from service.readable import readable_day
from service.reports.photos import MediaStore
from service.training import access, awards_repository, repository
from service.training.models import Diploma
from service.training.schemas import DiplomaVerification

DIPLOMA_JOB = "make_diploma"
# Crockford's base32 without look-alikes; 12 characters are 60 random bits.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FONT = "DejaVu"


def new_diploma_code() -> str:
    """Like ``7KQ3-9XD2-M4TB``."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def normalise_code(code: str) -> str:
    return code.strip().upper()


def verify_url(settings: Settings, code: str) -> str:
    """The web page that verifies a diploma (``/diplomas/{code}``, for people holding the
    paper); ``GET /v1/diplomas/{code}`` answers the same for programs."""
    return f"{settings.public_base_url.rstrip('/')}/diplomas/{code}"


@dataclass(frozen=True)
class DiplomaContent:
    holder_name: str
    programme_title: str
    building_address: str
    sessions_attended: int
    sessions_total: int
    awarded_on: date
    code: str
    url: str


def content_of(diploma: Diploma, settings: Settings) -> DiplomaContent:
    return DiplomaContent(
        holder_name=diploma.holder_name,
        programme_title=diploma.programme_title,
        building_address=diploma.building_address,
        sessions_attended=diploma.sessions_attended,
        sessions_total=diploma.sessions_total,
        awarded_on=diploma.awarded_on,
        code=diploma.code,
        url=verify_url(settings, diploma.code),
    )


# The date's label in each of the diploma's languages, in the order its statements are in.
DATE_LABELS = {Language.et: "Kuupäev", Language.en: "Date", Language.ru: "Дата"}


def date_line(content: DiplomaContent) -> str:
    """The award day in each of the diploma's languages, its month by name ("Kuupäev: 5.
    detsember 2026 · Date: December 5, 2026 · Дата: 5 декабря 2026 г."). ``awarded_on`` is
    the day on the city's clock already."""
    return " · ".join(
        f"{label}: {readable_day(content.awarded_on, language, 'UTC')}"
        for language, label in DATE_LABELS.items()
    )


def statements(content: DiplomaContent) -> list[str]:
    """What the diploma says, in Estonian, English and Russian."""
    c = content
    return [
        f"on osalenud programmi „{c.programme_title}“ {c.sessions_attended} koolitusel "
        f"{c.sessions_total}-st ja on nüüdsest oma maja saadik: {c.building_address}.",
        f"took part in {c.sessions_attended} of the {c.sessions_total} sessions of "
        f"“{c.programme_title}” and is now the ambassador of their building: "
        f"{c.building_address}.",
        f"посетил(а) {c.sessions_attended} из {c.sessions_total} занятий программы "
        f"«{c.programme_title}» и теперь является амбассадором своего дома: "
        f"{c.building_address}.",
    ]


def qr_png(url: str, scale: int = 8) -> bytes:
    """The QR code of ``url`` as a PNG, ``scale`` pixels a module, no quiet zone (the page
    around it is white)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=scale, border=0)
    return out.getvalue()


def render_pdf(content: DiplomaContent, font_dir: Path) -> bytes:
    """The diploma as PDF bytes (A4 landscape). CPU-bound: run it in a thread."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_title(f"{content.programme_title}: {content.holder_name}")
    pdf.set_creator("meielinn")
    pdf.set_lang("et")
    for style, name in FONT_FILES.items():
        path = font_dir / name
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: install Debian's fonts-dejavu-core or set "
                "MEIELINN_DIPLOMA_FONT_DIR"
            )
        pdf.add_font(FONT, style, str(path))
    pdf.add_page()
    width = pdf.w - 2 * 20
    pdf.set_draw_color(31, 92, 153)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_line_width(0.3)
    pdf.rect(13, 13, pdf.w - 26, pdf.h - 26)

    pdf.set_text_color(31, 92, 153)
    pdf.set_xy(20, 24)
    pdf.set_font(FONT, "B", 34)
    pdf.cell(width, 14, "DIPLOM", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(20)
    pdf.set_font(FONT, "", 14)
    pdf.cell(width, 8, "Diploma · Диплом", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(20, 56)
    pdf.set_font(FONT, "B", 26)
    pdf.cell(width, 14, content.holder_name, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font(FONT, "", 12)
    for text in statements(content):
        pdf.set_x(35)
        pdf.multi_cell(pdf.w - 70, 6.5, text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)

    pdf.set_xy(20, 150)
    pdf.set_font(FONT, "", 11)
    pdf.cell(0, 6, date_line(content), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(20)
    pdf.cell(
        0,
        6,
        "Kontrollkood · Verification code · Код проверки:",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_x(20)
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 9, content.code, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(20)
    pdf.set_font(FONT, "", 9)
    pdf.cell(0, 5, content.url, link=content.url, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    side = 38.0
    left, top = pdf.w - 22 - side, pdf.h - 22 - side
    pdf.image(io.BytesIO(qr_png(content.url)), x=left, y=top, w=side, h=side, link=content.url)
    return bytes(pdf.output())


async def build_diploma(
    session: AsyncSession, settings: Settings, diploma_id: uuid.UUID, now: datetime
) -> bool:
    """Render and store one diploma's PDF (the worker's job). Idempotent: False when it
    exists, was revoked, is gone, or another worker is making it."""
    diploma = await awards_repository.diploma_for_update(session, diploma_id)
    if diploma is None or diploma.pdf_path is not None or diploma.revoked_at is not None:
        return False
    data = await anyio.to_thread.run_sync(
        render_pdf, content_of(diploma, settings), Path(settings.diploma_font_dir)
    )
    relative = f"diplomas/{diploma.code}.pdf"
    await anyio.to_thread.run_sync(MediaStore(settings.media_dir).write, relative, data)
    diploma.pdf_path = relative
    diploma.pdf_sha256 = hashlib.sha256(data).hexdigest()
    diploma.generated_at = now
    return True


async def verify(session: AsyncSession, code: str) -> DiplomaVerification:
    """Whether a diploma with ``code`` was issued, and what it states in public."""
    row = await awards_repository.diploma_by_code(session, normalise_code(code))
    if row is None:
        raise NotFound("No diploma has this code.")
    diploma: Diploma = row.Diploma
    return DiplomaVerification(
        code=diploma.code,
        genuine=diploma.revoked_at is None,
        revoked=diploma.revoked_at is not None,
        holder_name=diploma.holder_name,
        programme_title=diploma.programme_title,
        awarded_on=diploma.awarded_on,
    )


async def diploma_file(
    session: AsyncSession, settings: Settings, actor: Actor, code: str
) -> tuple[Path, str]:
    """The PDF of a diploma, for its holder and the programme's coordinators; with a file
    name for the download."""
    row = await awards_repository.diploma_by_code(session, normalise_code(code))
    if row is None:
        raise NotFound("No diploma has this code.")
    diploma: Diploma = row.Diploma
    if row.Ambassador.user_id != actor.user_id:
        programme = await repository.programme(session, row.Ambassador.programme_id)
        if programme is None or not await access.runs(session, actor, programme):
            raise Forbidden("Only the holder and the programme's coordinators get the PDF.")
    if diploma.pdf_path is None:
        raise Conflict("The diploma is being made; try again in a minute.", reason="not_ready")
    path = MediaStore(settings.media_dir).path(diploma.pdf_path)
    if not path.exists():
        raise NotFound("The diploma's file is missing.")
    return path, f"diploma-{diploma.code}.pdf"
