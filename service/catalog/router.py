"""Catalogue endpoints: the public tree and admin changes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from service.auth.dependencies import AdminActor
from service.auth.policy import PUBLIC
from service.catalog import service
from service.catalog.models import Category, ObjectType
from service.catalog.schemas import (
    AcceptLanguage,
    Catalog,
    CategoryCreate,
    CategoryPublic,
    CategoryUpdate,
    LangQuery,
    ObjectTypeCreate,
    ObjectTypePublic,
    ObjectTypeUpdate,
    ReasonCreate,
    ReasonPublic,
    ReasonUpdate,
    pick_language,
)
from service.db import SessionDep
from service.errors import ERRORS, PROBLEM

router = APIRouter(tags=["catalogue"], dependencies=[PUBLIC])


@router.get("/v1/catalog", summary="The catalogue: object types → categories → reasons")
async def get_catalog(
    session: SessionDep,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Catalog:
    return await service.catalog_tree(session, pick_language(lang, accept_language))


@router.get("/v1/catalog/reasons/{reason_id}", summary="One reason", responses={404: PROBLEM})
async def get_reason(
    reason_id: uuid.UUID,
    session: SessionDep,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> ReasonPublic:
    reason = await service.get_reason(session, reason_id)
    return service.reason_public(reason, pick_language(lang, accept_language))


admin = APIRouter(prefix="/v1/admin/catalog", tags=["catalogue"])


@admin.get("", summary="The whole catalogue, inactive entries included", responses=ERRORS)
async def admin_catalog(actor: AdminActor, session: SessionDep, lang: LangQuery = None) -> Catalog:
    return await service.catalog_tree(session, lang or "et", include_inactive=True)


@admin.post(
    "/object-types",
    status_code=status.HTTP_201_CREATED,
    summary="Add an object type",
    responses=ERRORS,
)
async def create_object_type(
    body: ObjectTypeCreate, actor: AdminActor, session: SessionDep
) -> ObjectTypePublic:
    item = await service.create_object_type(session, body)
    return service.object_type_public(item, "et")


@admin.patch(
    "/object-types/{item_id}",
    summary="Rename, reorder or (de)activate an object type",
    responses=ERRORS,
)
async def update_object_type(
    item_id: uuid.UUID, body: ObjectTypeUpdate, actor: AdminActor, session: SessionDep
) -> ObjectTypePublic:
    item = await service.update_node(session, ObjectType, item_id, body)
    return service.object_type_public(item, "et")


@admin.post(
    "/categories",
    status_code=status.HTTP_201_CREATED,
    summary="Add a category",
    responses=ERRORS,
)
async def create_category(
    body: CategoryCreate, actor: AdminActor, session: SessionDep
) -> CategoryPublic:
    item = await service.create_category(session, body)
    return service.category_public(item, "et")


@admin.patch(
    "/categories/{item_id}",
    summary="Rename, reorder or (de)activate a category",
    responses=ERRORS,
)
async def update_category(
    item_id: uuid.UUID, body: CategoryUpdate, actor: AdminActor, session: SessionDep
) -> CategoryPublic:
    item = await service.update_node(session, Category, item_id, body)
    return service.category_public(item, "et")


@admin.post(
    "/reasons", status_code=status.HTTP_201_CREATED, summary="Add a reason", responses=ERRORS
)
async def create_reason(body: ReasonCreate, actor: AdminActor, session: SessionDep) -> ReasonPublic:
    reason = await service.create_reason(session, body)
    return service.reason_public(reason, "et")


@admin.patch(
    "/reasons/{reason_id}",
    summary="Change a reason's SLA, attributes, season or active flag",
    responses=ERRORS,
)
async def update_reason(
    reason_id: uuid.UUID, body: ReasonUpdate, actor: AdminActor, session: SessionDep
) -> ReasonPublic:
    reason = await service.update_reason(session, reason_id, body)
    return service.reason_public(reason, "et")


@admin.delete(
    "/reasons/{reason_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a reason no report uses (otherwise 409: deactivate it)",
    responses=ERRORS,
)
async def delete_reason(reason_id: uuid.UUID, actor: AdminActor, session: SessionDep) -> None:
    await service.delete_reason(session, reason_id)


router.include_router(admin)
