"""The staff console's front page (``/staff``): the parts of the console the signed-in
person's roles open (``service.web.staff_parts``), and nothing else."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from service.web.dependencies import PageContext, role_page
from service.web.staff_parts import CONSOLE_ROLES, console_parts
from service.web.templating import render

router = APIRouter(include_in_schema=False)

ConsolePage = Depends(role_page(*CONSOLE_ROLES))


@router.get("/staff")
async def console(page: PageContext = ConsolePage) -> Response:
    return render(page, "staff/index.html", parts=console_parts(page.actor))
