"""Address search: the street by trigram similarity (typos too), then the house number.

The addresses are the demo Tartu's (``service/demo/tartu.py``), which every test database
holds: Kaunase pst has numbers 10, 11, 13 and 15 but no 12.
"""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.city.buildings.service import AddressQuery, parse_address_query


async def _search(client: AsyncClient, q: str, limit: int = 10) -> list[dict[str, Any]]:
    response = await client.get("/v1/buildings", params={"q": q, "limit": limit})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_the_house_number_decides_among_the_street(client: AsyncClient) -> None:
    thirteen = await _search(client, "Kaunase 13")
    assert thirteen[0]["address"] == "Kaunase pst 13, Tartu"
    assert thirteen[0]["similarity"] == 1.0
    assert thirteen[1]["similarity"] < 1.0
    fifteen = await _search(client, "Kaunase 15")
    assert fifteen[0]["address"] == "Kaunase pst 15, Tartu"
    # The whole address as printed, and in another case, finds it too.
    assert (await _search(client, "kaunase pst 13, tartu"))[0]["address"] == (
        "Kaunase pst 13, Tartu"
    )
    # No 12: the street's houses, nearest numbers first.
    twelve = await _search(client, "Kaunase 12", limit=4)
    assert {b["address"] for b in twelve[:2]} == {"Kaunase pst 11, Tartu", "Kaunase pst 13, Tartu"}
    assert all(b["address"].startswith("Kaunase pst ") for b in twelve)


async def test_a_typo_in_the_street_finds_the_same_house(client: AsyncClient) -> None:
    exact = await _search(client, "Kaunase 13")
    typo = await _search(client, "Kaunse 13")
    assert typo[0]["address"] == "Kaunase pst 13, Tartu"
    assert [b["id"] for b in typo] == [b["id"] for b in exact]
    assert (await _search(client, "Vanemuse 3"))[0]["address"] == "Vanemuise 3, Tartu"
    assert (await _search(client, "Kaunse"))[0]["address"].startswith("Kaunase pst ")


async def test_street_alone_lists_its_houses_in_number_order(client: AsyncClient) -> None:
    street = await _search(client, "Kaunase", limit=5)
    numbers = [int(b["address"].split(",")[0].rsplit(" ", 1)[1]) for b in street]
    assert numbers == sorted(numbers)
    assert all(b["similarity"] == 1.0 for b in street)


async def test_a_house_number_alone(client: AsyncClient) -> None:
    found = await _search(client, "13")
    assert found
    assert all(" 13, " in b["address"] for b in found)


async def test_nothing_alike_finds_nothing(client: AsyncClient) -> None:
    assert await _search(client, "zzzzqqq") == []
    assert await _search(client, "zzzzqqq 13") == []
    assert (await client.get("/v1/buildings", params={"q": "a"})).status_code == 422


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Kaunase 12", AddressQuery("Kaunase", "12", 12)),
        ("Kaunase pst 12A, Tartu", AddressQuery("Kaunase pst Tartu", "12a", 12)),
        ("Riia 12/2", AddressQuery("Riia", "12/2", 12)),
        ("Narva mnt", AddressQuery("Narva mnt", None, None)),
        ("7", AddressQuery("", "7", 7)),
        ("1-464 Annelinna", AddressQuery("Annelinna", "1-464", 1)),
    ],
)
def test_parse_address_query(typed: str, expected: AddressQuery) -> None:
    assert parse_address_query(typed) == expected


async def test_the_search_can_use_the_trigram_index(session: AsyncSession) -> None:
    """Asked to avoid sequential scans, the planner finds the street through the address's
    trigram index (with 320 demo buildings it would rightly scan)."""
    from service.city.buildings import repository

    statement = repository.search_statement(
        street="Kaunse", number="13", number_value=13, prefix="Kaunse 13", limit=5
    )
    connection = await session.connection()
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    explain = await connection.exec_driver_sql(f"EXPLAIN {compiled}")
    plan = "\n".join(row[0] for row in explain)
    assert "ix_building_address_trgm" in plan, plan
