"""`make run` (scripts/run.sh) refuses taken ports before starting anything, and says which
port and which variable to set."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def held() -> Iterator[socket.socket]:
    """A listening socket on a free loopback port: another program holding it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def _run(**env: str) -> subprocess.CompletedProcess[str]:
    # Nothing may start: without a database URL that answers, a start would fail later anyway.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEIELINN_")}
    clean["MEIELINN_DATABASE_URL"] = "postgresql+asyncpg://nobody:nothing@127.0.0.1:9/none"
    return subprocess.run(  # noqa: S603
        [str(ROOT / "scripts" / "run.sh")],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_taken_api_port_is_named_with_its_variable(held: socket.socket) -> None:
    port = held.getsockname()[1]
    result = _run(MEIELINN_PORT=str(port))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is taken" in result.stderr
    assert "MEIELINN_PORT" in result.stderr
    assert "meielinn API on" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_mail_sink_port_is_named_with_its_variable(held: socket.socket) -> None:
    sink = held.getsockname()[1]
    # The sink's port follows the API's: API port + 25.
    result = _run(MEIELINN_PORT=str(sink - 25))
    assert result.returncode == 1, result.stderr
    assert f"port {sink} (the local mail sink)" in result.stderr
    assert "MEIELINN_SMTP_PORT" in result.stderr
    assert "Traceback" not in result.stderr
    given = _run(MEIELINN_PORT=str(sink - 25), MEIELINN_SMTP_PORT=str(sink))
    assert f"port {sink} (the local mail sink)" in given.stderr
