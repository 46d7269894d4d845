"""What alembic's comparison of models and database must leave alone."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import alembic_helpers

# Owned by PostGIS itself, not by our models.
EXTENSION_TABLES = frozenset({"spatial_ref_sys"})


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if type_ == "table" and reflected and compare_to is None and name in EXTENSION_TABLES:
        return False
    included = alembic_helpers.include_object(obj, name, type_, reflected, compare_to)  # type: ignore[no-untyped-call]
    return bool(included)
