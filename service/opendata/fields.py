"""The open data's fields, declared once: the CSV columns, the GeoJSON properties and the
dictionary (``GET /v1/open-data/dictionary``) all come from :data:`FIELDS`.

No field holds personal data: no reporter, no account, no contact detail, no photo, no
internal note. The report's own words (``description``, ``address_text``) are published only
where the reporter consented (``report.text_in_open_data``); otherwise they are empty.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpenField:
    name: str
    type: str  # string, integer, number, boolean, datetime (ISO 8601, UTC)
    description: str
    nullable: bool = False


FIELDS: tuple[OpenField, ...] = (
    OpenField("id", "string", "The report's stable identifier (UUID)."),
    OpenField("tracking_code", "string", "The public code residents quote about the report."),
    OpenField(
        "state",
        "string",
        "Where the report stands: accepted, in_progress, awaiting_info, transferred, answered, "
        "reopened, closed or duplicate.",
    ),
    OpenField("reason_code", "string", "The reason filed (the catalogue's code)."),
    OpenField("reason_name", "string", "The reason's name in the requested language."),
    OpenField("category_code", "string", "The reason's category (the catalogue's code)."),
    OpenField("department_code", "string", "The department handling the report."),
    OpenField("department_name", "string", "The department's name."),
    OpenField("district_code", "string", "The city district of the location.", nullable=True),
    OpenField("district_name", "string", "The district's name.", nullable=True),
    OpenField("lat", "number", "Latitude (WGS84) as filed."),
    OpenField("lon", "number", "Longitude (WGS84) as filed."),
    OpenField("created_at", "datetime", "When the report was filed (UTC)."),
    OpenField("accepted_at", "datetime", "When moderation accepted it (UTC).", nullable=True),
    OpenField("due_at", "datetime", "The department's deadline of the current round (UTC).", True),
    OpenField("answered_at", "datetime", "When the last answer was published (UTC).", True),
    OpenField("closed_at", "datetime", "When the report was closed (UTC).", nullable=True),
    OpenField("overdue", "boolean", "Whether the deadline was missed in the current round."),
    OpenField("rounds", "integer", "Rounds of work so far (1, more after reopening)."),
    OpenField("supporters_count", "integer", "Residents who supported it (\u201cme too\u201d)."),
    OpenField(
        "description",
        "string",
        "The reporter's description, only where the reporter allowed publishing it; empty "
        "(null in GeoJSON) otherwise.",
        nullable=True,
    ),
    OpenField(
        "address_text",
        "string",
        "The address as the reporter wrote it, under the same consent as the description.",
        nullable=True,
    ),
)

NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
