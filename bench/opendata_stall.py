"""Slow open-data clients against the pool, at city scale.

With N reports bulk-loaded (bench/loader.py, the same city bench/scale_reads.py builds), an
API process of its own (uvicorn, as scripts/run.sh serves it, its settings as configured)
gets SLOW_CLIENTS anonymous downloads of the whole CSV export whose clients read the status
line and then nothing more, more of them than the pool has connections. While they hang:

* a normal request (``GET /v1/reports?limit=20``, anonymous) is timed RUNS times: it must
  still answer, in milliseconds, not wait for a connection;
* the database is asked how many of the API's connections sit in a transaction;
* the stalled downloads are watched until the server has cut every one of them (its
  connection out of the transaction and the response closed), and each one's bytes are
  counted against the full export's.

    BENCH_REPORTS=1000000 python bench/opendata_stall.py     (make bench-full runs it)
    BENCH_SLOW_CLIENTS=25 BENCH_REPORTS=100000 python bench/opendata_stall.py

One JSON line. The per-address hourly limit is raised for this API process only (every
slow client comes from 127.0.0.1, and a second run within the hour would be refused by it,
which is that bound working, not the one measured here).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loader  # noqa: E402
from bench.scale_reads import _free_port, percentile, start_api, wait_up  # noqa: E402
from service.config import get_settings  # noqa: E402

REPORTS = int(os.environ.get("BENCH_REPORTS", "1000000"))
SLOW_CLIENTS = int(os.environ.get("BENCH_SLOW_CLIENTS", "25"))
RUNS = int(os.environ.get("BENCH_RUNS", "50"))
EXPORT = "/v1/open-data/reports.csv"
# A client that reads nothing: the kernel's receive buffer as small as it allows.
RECEIVE_BUFFER = 4096


class SlowClient:
    """A download whose client reads the status line and then stops reading."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.status = 0
        self.received = 0
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
        self.reader, self.writer = await asyncio.open_connection(sock=sock, limit=RECEIVE_BUFFER)
        self.writer.write(
            f"GET {EXPORT} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        await self.writer.drain()
        line = await self.reader.readline()
        self.received = len(line)
        self.status = int(line.split()[1]) if line else 0

    async def drain(self) -> int:
        """Read what is left (after the server cut it off): the bytes this client got."""
        assert self.reader is not None
        assert self.writer is not None
        while chunk := await self.reader.read(65536):
            self.received += len(chunk)
        self.writer.close()
        return self.received


# The API's connections held in a transaction while nothing runs: the stalled exports (the
# list's short transactions are not idle in one).
EXPORTS_IN_TRANSACTION = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND state LIKE 'idle in transaction%'
"""


async def measure(city: loader.City) -> dict[str, Any]:
    settings = get_settings()
    port = _free_port()
    os.environ["MEIELINN_OPEN_DATA_DOWNLOADS_PER_HOUR"] = "100000"
    api = start_api(city.url, port)
    db = await asyncpg.connect(city.dsn)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as client:
            await wait_up(client)
            started = time.perf_counter()
            full = 0
            async with client.stream("GET", EXPORT) as whole:
                async for chunk in whole.aiter_bytes():
                    full += len(chunk)
            full_seconds = time.perf_counter() - started
            for _ in range(10):  # warm the list
                assert (await client.get("/v1/reports", params={"limit": 20})).status_code == 200
            baseline: list[float] = []
            for _ in range(RUNS):
                at = time.perf_counter()
                await client.get("/v1/reports", params={"limit": 20})
                baseline.append((time.perf_counter() - at) * 1000)

            slow = [SlowClient(port) for _ in range(SLOW_CLIENTS)]
            stalled_at = time.perf_counter()
            await asyncio.gather(*(c.start() for c in slow))
            await asyncio.sleep(2)  # the streams fill the socket buffers and stop
            in_transaction = await db.fetchval(EXPORTS_IN_TRANSACTION)
            during: list[float] = []
            statuses: list[int] = []
            for _ in range(RUNS):
                at = time.perf_counter()
                listed = await client.get("/v1/reports", params={"limit": 20})
                during.append((time.perf_counter() - at) * 1000)
                statuses.append(listed.status_code)
            # Wait for the server to cut them: no export left in a transaction.
            deadline = time.perf_counter() + settings.open_data_stall_seconds * 4 + 60
            while time.perf_counter() < deadline:
                if not await db.fetchval(EXPORTS_IN_TRANSACTION):
                    break
                await asyncio.sleep(0.5)  # polling the database, not waiting for an event
            freed_after = time.perf_counter() - stalled_at
            got = await asyncio.wait_for(asyncio.gather(*(c.drain() for c in slow)), 120)
    finally:
        api.terminate()
        api.wait(timeout=10)
        await db.close()
    statuses_of = [c.status for c in slow]
    streamed = [received for c, received in zip(slow, got, strict=True) if c.status == 200]
    line = {
        "bench": "scale",
        "name": "open_data_slow_clients",
        "reports": REPORTS,
        "slow_clients": SLOW_CLIENTS,
        "pool_size": settings.database_pool_size,
        "download_slots": settings.open_data_downloads,
        "stall_seconds": settings.open_data_stall_seconds,
        "export_bytes": full,
        "export_seconds_reading_client": round(full_seconds, 1),
        "slow_statuses": {str(s): statuses_of.count(s) for s in sorted(set(statuses_of))},
        "exports_in_transaction_while_stalled": in_transaction,
        "list_p50_ms_before": round(statistics.median(baseline), 2),
        "list_p95_ms_before": round(percentile(baseline, 0.95), 2),
        "list_p50_ms_while_stalled": round(statistics.median(during), 2),
        "list_p95_ms_while_stalled": round(percentile(during, 0.95), 2),
        "list_ok_while_stalled": statuses.count(200),
        "list_runs": RUNS,
        "stalled_freed_after_s": round(freed_after, 1),
        "stalled_bytes_max": max(streamed, default=0),
        "stalled_cut_short": sum(1 for received in streamed if received < full),
        "met": statuses.count(200) == RUNS
        and not await _left(city)
        and all(received < full for received in streamed),
    }
    print(json.dumps(line), flush=True)
    return line


async def _left(city: loader.City) -> int:
    db = await asyncpg.connect(city.dsn)
    try:
        left: int = await db.fetchval(EXPORTS_IN_TRANSACTION)
        return left
    finally:
        await db.close()


async def main() -> int:
    await measure(await loader.city("scale", REPORTS))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
