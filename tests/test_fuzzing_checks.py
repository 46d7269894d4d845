"""The conformance check the fuzzing runs apply (tests/fuzzing.py) refuses every 5xx but a
readiness route's 503 whose body says which check failed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from schemathesis.core.failures import FailureGroup, ServerError

from tests.fuzzing import assert_documented

PROBLEM = "application/problem+json"


def _answer(status: int, path: str, body: dict[str, Any]) -> httpx.Response:
    response = httpx.Response(
        status,
        json=body,
        headers={"content-type": PROBLEM if status >= 400 else "application/json"},
        request=httpx.Request("GET", f"http://testserver{path}"),
    )
    response.elapsed = timedelta(0)
    return response


def _problem(status: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "/problems/x",
        "title": "X",
        "status": status,
        "detail": "x",
        "instance": "/x",
        **extra,
    }


@pytest.mark.parametrize(
    ("path", "checks"),
    [
        ("/readyz", {"database": {"status": "ok"}, "redis": {"status": "failed"}}),
        ("/readyz/workers", {"workers": {"status": "stale"}}),
    ],
)
def test_a_readiness_503_naming_a_failed_check_passes(path: str, checks: dict[str, Any]) -> None:
    assert_documented(_answer(503, path, _problem(503, checks=checks)), "get", path)


@pytest.mark.parametrize("path", ["/readyz", "/readyz/workers"])
def test_a_readiness_503_whose_checks_all_pass_fails(path: str) -> None:
    body = _problem(503, checks={"workers": {"status": "ok"}})
    with pytest.raises(FailureGroup) as failures:
        assert_documented(_answer(503, path, body), "get", path)
    assert failures.group_contains(ServerError)


def test_a_documented_503_elsewhere_fails() -> None:
    # The open-data export documents a 503 (too many downloads): the fuzzing runs never
    # reach that limit, so a 503 there is a fault.
    path = "/v1/open-data/reports.csv"
    body = _problem(503, checks={"workers": {"status": "failed"}})
    with pytest.raises(FailureGroup) as failures:
        assert_documented(_answer(503, path, body), "get", path)
    assert failures.group_contains(ServerError)


@pytest.mark.parametrize("path", ["/readyz", "/v1/catalog/reasons/{reason_id}"])
def test_a_500_fails(path: str) -> None:
    with pytest.raises(FailureGroup) as failures:
        assert_documented(
            _answer(500, path.replace("{reason_id}", "x"), _problem(500)), "get", path
        )
    assert failures.group_contains(ServerError)
