"""A pilot's results never show a group under five and never identify a tester: the results
view, the CSV and the JSON export, the recruitment and draw views, checked for small cells,
for complements that would give a hidden cell away, and for anything of the testers (ids,
participations, names, email addresses, free text they did not share). The suppression
rules also hold for any table (hypothesis)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.lab.suppression import ALL, MINIMUM_GROUP, OTHER, Group, suppress
from tests.factories import make_user
from tests.lab_factories import RunningPilot, running_pilot, set_stratum

SECRET = "Only-for-the-city"


async def _answer(
    client: AsyncClient,
    running: RunningPilot,
    headers: dict[str, str],
    values: list[Any],
    share: bool,
) -> None:
    answers = [
        {"question_id": q, "value": v}
        for q, v in zip(running.questions, values, strict=True)
        if v is not None
    ]
    answer = await client.post(
        f"/v1/me/lab/tasks/{running.task_id}/responses",
        json={"answers": answers, "share_text": share},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text


async def _finish(client: AsyncClient, running: RunningPilot) -> None:
    finished = await client.post(
        f"/v1/lab/pilots/{running.pilot_id}/transitions",
        json={"action": "finish"},
        headers=running.manager,
    )
    assert finished.status_code == 200, finished.text


def _lines(rows: list[dict[str, Any]]) -> list[list[int | None]]:
    """The rows and columns of a question's table (counts, None where hidden)."""
    table = [[c["count"] for c in row["cells"]] for row in rows]
    return table + [list(column) for column in zip(*table, strict=True)] if table else []


def _check_table(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert row["respondents"] is None or not 0 < row["respondents"] < MINIMUM_GROUP, row
        for cell in row["cells"]:
            assert cell["count"] is None or not 0 < cell["count"] < MINIMUM_GROUP, row
    if all(row["respondents"] is None for row in rows):
        return  # nothing shown, not even the totals a hidden cell could be worked out from
    for line in _lines(rows):
        assert sum(value is None for value in line) != 1, rows


async def test_results_and_exports_suppress_small_groups_and_name_nobody(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    testers = [
        await make_user(session, settings, name=f"Tester Secretname{n}", email=f"tester{n}@x.ee")
        for n in range(12)
    ]
    running = await running_pilot(app, client, session, settings, testers, now)
    # 7 in Annelinn, 3 in Kesklinn, 2 in Ropka.
    strata = ["annelinn"] * 7 + ["kesklinn"] * 3 + ["ropka"] * 2
    for tester, stratum in zip(testers, strata, strict=True):
        await set_stratum(session, running.pilot_id, tester.id, stratum)
    likert = [5, 5, 5, 5, 5, 4, 1, 5, 5, 3, 2, 5]
    keep = ["yes"] * 10 + ["no"] * 2
    for number, tester in enumerate(testers):
        share = number != 11
        text = "Great app, call me at +372 5555 1234" if number == 0 else f"Note {number}"
        if number == 11:
            text = SECRET
        _, headers = running.testers[tester.id]
        await _answer(
            client, running, headers, [likert[number], keep[number], 30 + number, text], share
        )
    # While answers may still come in, nothing is shown: two looks would differ by a person.
    early = await client.get(f"/v1/lab/pilots/{running.pilot_id}/results", headers=running.manager)
    (open_task,) = early.json()["tasks"]
    assert open_task["final"] is False and open_task["questions"] == []
    assert open_task["respondents"] is None
    await _finish(client, running)
    results = await client.get(
        f"/v1/lab/pilots/{running.pilot_id}/results", headers=running.manager
    )
    assert results.status_code == 200, results.text
    body = results.json()
    (task,) = body["tasks"]
    assert task["respondents"] == 12
    by_kind = {q["kind"]: q for q in task["questions"]}
    likert_rows = {r["stratum"]: r for r in by_kind["likert"]["rows"]}
    # Kesklinn (3) and Ropka (2) are one row of 5; Annelinn and everyone are shown.
    assert set(likert_rows) == {"annelinn", OTHER, ALL}
    assert likert_rows[OTHER]["respondents"] == 5 and likert_rows[ALL]["respondents"] == 12
    for question in task["questions"]:
        _check_table(question["rows"])
    # 10 of 12 would keep using it: the 2 "no" are hidden, and so is the "yes" beside them.
    keep_all = {
        c["option"]: c["count"]
        for c in {r["stratum"]: r for r in by_kind["single"]["rows"]}[ALL]["cells"]
    }
    assert keep_all == {"yes": None, "no": None}
    assert {r["stratum"]: r for r in by_kind["number"]["rows"]}[ALL]["mean"] == 35.5
    texts = by_kind["text"]["shared_texts"]
    assert len(texts) == 11 and SECRET not in texts
    assert "Great app, call me at [removed]" in texts
    csv_export = await client.get(
        f"/v1/lab/pilots/{running.pilot_id}/results.csv", headers=running.manager
    )
    json_export = await client.get(
        f"/v1/lab/pilots/{running.pilot_id}/results.json", headers=running.manager
    )
    assert csv_export.headers["content-type"].startswith("text/csv")
    assert "attachment" in json_export.headers["content-disposition"]
    assert json.loads(json_export.text) == body
    lines = list(csv.DictReader(io.StringIO(csv_export.text)))
    assert lines and {line["stratum"] for line in lines} == {"annelinn", OTHER, ALL}
    for line in lines:
        for name in ("respondents", "count"):
            if line[name] not in ("", "suppressed"):
                assert int(line[name]) >= MINIMUM_GROUP or int(line[name]) == 0, line
    recruitment = await client.get(
        f"/v1/lab/pilots/{running.pilot_id}/recruitment", headers=running.manager
    )
    draws = await client.get(f"/v1/lab/pilots/{running.pilot_id}/draws", headers=running.manager)
    tasks = await client.get(f"/v1/lab/pilots/{running.pilot_id}/tasks", headers=running.manager)
    # Nothing anywhere says who: no account, participation, name or address.
    views = [
        results.text,
        csv_export.text,
        json_export.text,
        recruitment.text,
        draws.text,
        tasks.text,
    ]
    for tester in testers:
        participation, _ = running.testers[tester.id]
        for view in views:
            assert str(tester.id) not in view and participation not in view
            assert "Secretname" not in view and tester.email not in view
            assert SECRET not in view
            assert not re.search(r"@x\.ee", view)


async def test_fewer_than_five_respondents_show_nothing(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings, now: datetime
) -> None:
    testers = [await make_user(session, settings) for _ in range(4)]
    running = await running_pilot(app, client, session, settings, testers, now)
    for tester in testers:
        _, headers = running.testers[tester.id]
        await _answer(client, running, headers, [4, "yes", 10, "Shared words"], True)
    await _finish(client, running)
    body = (
        await client.get(f"/v1/lab/pilots/{running.pilot_id}/results", headers=running.manager)
    ).json()
    (task,) = body["tasks"]
    assert task["respondents"] is None
    for question in task["questions"]:
        assert [r["stratum"] for r in question["rows"]] == [ALL]
        assert question["rows"][0]["respondents"] is None
        assert question["rows"][0]["mean"] is None
        assert all(c["count"] is None for c in question["rows"][0]["cells"])
        assert question["shared_texts"] == []
    csv_text = (
        await client.get(f"/v1/lab/pilots/{running.pilot_id}/results.csv", headers=running.manager)
    ).text
    assert "Shared words" not in csv_text
    lines = list(csv.DictReader(io.StringIO(csv_text)))
    assert lines and {line["respondents"] for line in lines} == {"suppressed"}


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[Group], list[str]]:
    options = ["a", "b", "c"][: draw(st.integers(1, 3))]
    groups = []
    for number in range(draw(st.integers(1, 6))):
        counts = {o: draw(st.integers(0, 12)) for o in options}
        groups.append(Group(stratum=f"s{number}", respondents=sum(counts.values()), counts=counts))
    return groups, options


@given(tables())
@hypothesis_settings(max_examples=300, deadline=None)
def test_no_table_shows_a_small_cell_or_a_lone_hidden_one(
    table: tuple[list[Group], list[str]],
) -> None:
    groups, options = table
    rows = suppress(groups, options)
    shown = {row.stratum: row for row in rows}
    hidden_strata = [g for g in groups if g.stratum not in shown]
    if hidden_strata and ALL in shown and shown[ALL].respondents is not None:
        # The hidden strata are shown together only as a group of five or more.
        assert (
            shown[OTHER].respondents == sum(g.respondents for g in hidden_strata) >= MINIMUM_GROUP
        )
    as_dicts = [
        {
            "respondents": row.respondents,
            "cells": [{"count": count} for count in row.counts.values()],
        }
        for row in rows
    ]
    _check_table(as_dicts)
    # What is shown is true.
    for row in rows:
        for option, count in row.counts.items():
            if count is not None and row.stratum not in (OTHER, ALL):
                assert count == next(g for g in groups if g.stratum == row.stratum).counts[option]
