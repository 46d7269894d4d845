"""The order routes are tried in: every route's own paths reach that route first.

The app tries its routers in the order ``service.main`` includes them (the hot reads first).
A router moved ahead must not capture another's paths: for every route, a path built from
its pattern (with sample values for the parameters) is matched, pattern by pattern in the
app's order, and the first route that takes that method and path must be the route itself.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

SAMPLES = {"fmt": "json", "day": "2026-03-02", "action": "claim", "decision": "approve"}


def _flattened(routes: list[Any]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found.extend(_flattened(included.routes))
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


def _sample(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        if name in SAMPLES:
            return SAMPLES[name]
        if name.endswith("_id"):
            return str(uuid.UUID(int=0x1234))
        return "sample1"

    return re.sub(r"\{([^}]+)\}", value, path)


def test_every_route_is_reached_by_its_own_paths(app: FastAPI) -> None:
    routes = _flattened(app.router.routes)
    assert len(routes) > 150
    captured = []
    for route in routes:
        path = _sample(route.path)
        for method in route.methods or ():
            first = next(
                candidate
                for candidate in routes
                if method in (candidate.methods or ()) and candidate.path_regex.match(path)
            )
            if first is not route:
                captured.append(f"{method} {path}: {route.path} taken by {first.path}")
    assert captured == []


def test_the_hot_reads_are_tried_first(app: FastAPI) -> None:
    routes = _flattened(app.router.routes)
    position = {
        (route.path, tuple(sorted(route.methods or ()))): n for n, route in enumerate(routes)
    }
    assert position[("/v1/reports/{report_id}", ("GET",))] < 20
    assert position[("/open311/v2/requests.{fmt}", ("GET",))] < 40
