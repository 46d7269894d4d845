"""The home page: the map of public reports, the latest reports, and search."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from service.web.dependencies import Page
from service.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(page: Page) -> Response:
    return render(page, "home.html")
