"""City-model endpoints: districts, departments, buildings, routing and calendars, each from
its own package. Public routes come first, then the admin's, as the OpenAPI document lists
them."""

from __future__ import annotations

from fastapi import APIRouter

from service.city.buildings import router as buildings
from service.city.calendars import router as calendars
from service.city.departments import router as departments
from service.city.districts import router as districts
from service.city.routing import router as routing

router = APIRouter()
for public in (districts.public, departments.public, buildings.public, routing.public):
    router.include_router(public)
router.include_router(calendars.public)
for admin in (districts.admin, departments.admin, routing.admin, calendars.admin):
    router.include_router(admin)
