"""Checking district boundaries before they reach the database. Pure: no I/O.

A district import is a GeoJSON FeatureCollection (RFC 7946) of Polygon or MultiPolygon
features in WGS84 longitude/latitude, each with ``code`` and ``name`` properties (and an
optional ``is_pilot_area``). Everything wrong with the file is reported at once, each problem
with the index of its feature, so that an operator can fix the file in one go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from geojson_pydantic import Feature, MultiPolygon, Polygon
from pydantic import ValidationError
from shapely import STRtree
from shapely.geometry import MultiPolygon as ShapelyMultiPolygon
from shapely.geometry import shape
from shapely.validation import explain_validity

from service.city.schemas import FeatureError
from service.fields import has_control_characters

MAX_FEATURES = 500
MAX_VERTICES = 200_000
# Districts may touch; an overlap above this share of the smaller one is a mistake.
OVERLAP_TOLERANCE = 1e-6
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
WGS84_NAMES = {
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "urn:ogc:def:crs:EPSG::4326",
    "EPSG:4326",
}


@dataclass(frozen=True)
class DistrictShape:
    code: str
    name: str
    is_pilot_area: bool
    geometry: ShapelyMultiPolygon


class DistrictFileError(Exception):
    def __init__(self, errors: list[FeatureError]) -> None:
        super().__init__(f"{len(errors)} problems")
        self.errors = errors


def _crs_problem(crs: Any) -> str | None:
    """GeoJSON has no ``crs`` member since RFC 7946; older files name one. Only WGS84 passes."""
    if crs is None:
        return None
    name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
    if name in WGS84_NAMES:
        return None
    return f"coordinates must be WGS84 longitude/latitude (EPSG:4326), not {name or crs!r}"


def parse_district_collection(document: Any) -> list[DistrictShape]:
    """The districts of a FeatureCollection, or :class:`DistrictFileError` with every problem."""
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise DistrictFileError(
            [FeatureError(index=None, problem="expected a GeoJSON FeatureCollection")]
        )
    errors: list[FeatureError] = []
    crs_problem = _crs_problem(document.get("crs"))
    if crs_problem:
        raise DistrictFileError([FeatureError(index=None, problem=crs_problem)])
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise DistrictFileError([FeatureError(index=None, problem="features must be non-empty")])
    if len(features) > MAX_FEATURES:
        raise DistrictFileError(
            [FeatureError(index=None, problem=f"at most {MAX_FEATURES} features per import")]
        )

    shapes: list[tuple[int, DistrictShape]] = []
    seen: dict[str, int] = {}
    vertices = 0
    for index, raw in enumerate(features):
        problem, district = _parse_feature(raw)
        code = district.code if district else _code_of(raw)
        if problem:
            errors.append(FeatureError(index=index, code=code, problem=problem))
            continue
        assert district is not None
        if district.code in seen:
            errors.append(
                FeatureError(
                    index=index,
                    code=district.code,
                    problem=f"code repeats feature {seen[district.code]}",
                )
            )
            continue
        seen[district.code] = index
        vertices += sum(len(p.exterior.coords) for p in district.geometry.geoms)
        shapes.append((index, district))
    if vertices > MAX_VERTICES:
        errors.append(FeatureError(index=None, problem=f"more than {MAX_VERTICES} vertices in all"))
    errors.extend(_overlaps(shapes))
    if errors:
        raise DistrictFileError(sorted(errors, key=lambda e: (e.index is None, e.index or 0)))
    return [district for _, district in shapes]


def _code_of(raw: Any) -> str | None:
    if isinstance(raw, dict) and isinstance(raw.get("properties"), dict):
        code = raw["properties"].get("code")
        return code if isinstance(code, str) else None
    return None


def _parse_feature(raw: Any) -> tuple[str | None, DistrictShape | None]:
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        return "not a GeoJSON Feature", None
    geometry = raw.get("geometry")
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        return f"geometry must be a Polygon or MultiPolygon, not {kind}", None
    try:
        feature = Feature[Polygon | MultiPolygon, dict[str, Any]].model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"malformed geometry ({where}: {first['msg']})", None
    properties = feature.properties or {}
    code, name = properties.get("code"), properties.get("name")
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        return "properties.code must be a short lowercase code (a-z, 0-9, _ . -)", None
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > 120
        or has_control_characters(name)
    ):
        return "properties.name must be text of 1 to 120 characters", None
    pilot = properties.get("is_pilot_area", False)
    if not isinstance(pilot, bool):
        return "properties.is_pilot_area must be true or false", None

    assert feature.geometry is not None
    geom = shape(feature.geometry.model_dump())
    minx, miny, maxx, maxy = geom.bounds
    if not (minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90):
        return (
            "coordinates are outside longitude/latitude ranges: is the file in another "
            "reference system than WGS84 (EPSG:4326)?",
            None,
        )
    if geom.has_z:
        return "coordinates must be two-dimensional", None
    if not geom.is_valid:
        return f"invalid polygon: {explain_validity(geom)}", None
    if geom.area == 0:
        return "the polygon has no area", None
    multi = geom if isinstance(geom, ShapelyMultiPolygon) else ShapelyMultiPolygon([geom])
    return None, DistrictShape(code=code, name=name.strip(), is_pilot_area=pilot, geometry=multi)


def _overlaps(shapes: list[tuple[int, DistrictShape]]) -> list[FeatureError]:
    """Districts that overlap each other (sharing a border is fine)."""
    if len(shapes) < 2:
        return []
    geometries = [d.geometry for _, d in shapes]
    tree = STRtree(geometries)
    errors = []
    for i, j in zip(*tree.query(geometries, predicate="intersects"), strict=True):
        if i >= j:
            continue
        a, b = geometries[i], geometries[j]
        shared = a.intersection(b).area
        if shared > OVERLAP_TOLERANCE * min(a.area, b.area):
            index, district = shapes[j]
            errors.append(
                FeatureError(
                    index=index,
                    code=district.code,
                    problem=f"overlaps district {shapes[i][1].code} (feature {shapes[i][0]})",
                )
            )
    return errors
