"""The HTTP load generator of ``make bench``: a process of its own, on loopback, bounded in time.

    python bench/loadgen.py < spec.json     prints one JSON object of figures

Why not wrk: the figures need a fixed-rate mode (p99 at 70 % of the measured maximum, with
latency counted from when a request was *due*, not from when a busy connection got round to
sending it — the coordinated-omission correction of wrk2, which Debian does not package),
a fresh ``Idempotency-Key`` and a different resident's token on every filing, and nothing
to install. A minimal HTTP/1.1 keep-alive client on asyncio streams (uvloop when present)
costs a few tens of microseconds a request, small beside the server's work; the bench
reports the client's own CPU time so that this stays visible.

The spec (JSON on stdin)::

    {"port": 8141, "connections": 16, "seconds": 8, "warmup": 1, "rate": null,
     "requests": [{"method": "POST", "path": "/v1/reports", "body": {...},
                   "token": "…", "idempotency": true}, …]}

Each request is taken round-robin from ``requests``; ``body`` may contain the string
``"$lat"``/``"$lon"`` (replaced by a point up to ``jitter`` degrees from the given one) and
``"$n"`` (a counter). ``rate``: requests per second for the whole run (open loop,
fixed schedule); absent: as fast as the connections go (closed loop).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import resource
import sys
import time
import uuid
from typing import Any


def _render(request: dict[str, Any], n: int) -> bytes:
    headers = [
        f"{request['method']} {request['path']} HTTP/1.1",
        "Host: 127.0.0.1",
        "Accept: application/json",
    ]
    if request.get("token"):
        headers.append(f"Authorization: Bearer {request['token']}")
    if request.get("cookie"):
        headers.append(f"Cookie: {request['cookie']}")
    if request.get("idempotency"):
        headers.append(f"Idempotency-Key: {uuid.uuid4()}")
    body = b""
    if "body" in request:
        payload = dict(request["body"])
        jitter = float(request.get("jitter", 0.002))
        for name, value in payload.items():
            if value == "$lat":
                payload[name] = round(request["lat"] + random.uniform(-jitter, jitter), 6)
            elif value == "$lon":
                payload[name] = round(request["lon"] + random.uniform(-jitter, jitter), 6)
            elif isinstance(value, str) and "$n" in value:
                payload[name] = value.replace("$n", str(n))
        body = json.dumps(payload).encode()
        headers.append("Content-Type: application/json")
        headers.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes, bad: list[bytes]
) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    if status >= 300 and len(bad) < 3:
        bad.append(body[:500])
    return status


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    port = int(spec["port"])
    connections = int(spec.get("connections", 16))
    seconds = float(spec.get("seconds", 8))
    warmup = float(spec.get("warmup", 1))
    rate = spec.get("rate")
    requests = spec["requests"]
    counter = itertools.count()
    started = time.perf_counter()
    measure_from = started + warmup
    stop_at = measure_from + seconds
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    bad: list[bytes] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                n = next(counter)
                if rate:
                    due = started + n / float(rate)
                    if due >= stop_at:
                        return
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                else:
                    due = time.perf_counter()
                    if due >= stop_at:
                        return
                raw = _render(requests[n % len(requests)], n)
                status = await _exchange(reader, writer, raw, bad)
                done = time.perf_counter()
                if due >= measure_from and done <= stop_at + 5:
                    latencies.append(done - due)
                    statuses[status] = statuses.get(status, 0) + 1
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors.append(repr(exc))
        finally:
            writer.close()

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(*(connection() for _ in range(connections)))
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    elapsed = min(time.perf_counter(), stop_at) - measure_from
    latencies.sort()

    def pct(q: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)

    ok = sum(count for status, count in statuses.items() if 200 <= status < 300)
    return {
        "requests": len(latencies),
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "per_second": round(ok / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
        "client_cpu_s": round(
            (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime),
            2,
        ),
        "connection_errors": len(errors),
        "errors": errors[:3] + [body.decode(errors="replace") for body in bad],
    }


def main() -> int:
    spec = json.load(sys.stdin)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        pass
    print(json.dumps(asyncio.run(run(spec))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
