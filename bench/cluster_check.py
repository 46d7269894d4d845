"""The city beyond one machine, rehearsed on this one: ``make cluster-check``.

Starts, on ports 55400–55499 and under ``.local/cluster`` (the PostgreSQL data under a
directory the ``postgres`` user owns when run as root, recorded in ``.local/cluster-location``):

* a PostgreSQL 15 + PostGIS primary and a streaming replica made with ``pg_basebackup``;
* PgBouncer (Debian's 1.18) in transaction mode in front of the primary;
* a Redis master, a replica and three Sentinels;
* two API processes on two ports (through PgBouncer, the replica for public reads, Redis
  through the Sentinels), two deadline workers, a mail worker and one for the general and
  media pools (the outbox relay), restarted when they exit
  as a process supervisor would;

then, in order:

1. the department loop across both API processes (filed on one, accepted on the other, …),
   reading the report back through the *other* process after each change (read-your-writes);
2. anonymous map, list and report reads at one and at two API processes (throughput), with
   the transactions each database served (``pg_stat_database``): the replica's share;
3. one API process killed under load: the other answers, with no 5xx;
4. 1,000 deadlines falling due over a minute while a deadline worker is killed and the Redis
   master is killed (the Sentinels promote its replica): zero lost, zero duplicated breaches
   and mails (``bench/faults.py``'s checks);
5. the database replica stopped under read load: reads fall back to the primary, no 5xx.

Prints what it does, then one JSON line of figures; exit status 1 when a check failed.
Everything it started is stopped and its files removed at the end (``--keep`` keeps them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.faults import FaultConfig, Figures, Inbox, _plan_all, _setup, check_outcomes  # noqa: E402
from service.clock import system_clock  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PRIMARY, REPLICA, BOUNCER = 55401, 55402, 55403
REDIS_MASTER, REDIS_REPLICA = 55411, 55412
SENTINELS = (55421, 55422, 55423)
API = (55431, 55432)
SMTP = 55441
USER = DATABASE = "meielinn"
PASSWORD = "meielinn"  # noqa: S105 - the rehearsal's own throwaway servers
MASTER_NAME = "meielinn"
VENV = ROOT / ".venv" / "bin"
LOCAL = ROOT / ".local"
STATE = LOCAL / "cluster"
# The read mix of the public at a news spike: the map, the newest reports, Open311's list.
MAP_PATH = "/v1/map?bbox=26.65,58.34,26.80,58.41&zoom=13"
LIST_PATH = "/v1/reports?limit=20"
OPEN311_PATH = "/open311/v2/requests.json?page_size=50"
# The worker processes: what each runs (service/outbox/pools.py). Two deadline workers and a
# mail worker, and one process for the general pool (the outbox relay) and the media pool.
POOLS = {
    "deadlines": ["arq", "workers.main.DeadlineWorker"],
    "mail": ["arq", "workers.main.MailWorker"],
    "general+media": ["python", "-m", "workers", "general", "media"],
}


def log(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


def direct_url(port: int) -> str:
    return f"postgresql+asyncpg://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"


def dsn(port: int, database: str = DATABASE) -> str:
    return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/{database}"


def is_root() -> bool:
    return os.geteuid() == 0


def as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL and PgBouncer refuse to run as root.
    return ["/usr/sbin/runuser", "-u", "postgres", "--", *command] if is_root() else command


def pg_home() -> Path:
    if is_root():
        checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
        return Path("/var/lib/meielinn") / f"{checkout}-cluster"
    return STATE / "pg"


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(command, check=True, capture_output=True, **kwargs)  # noqa: S603


def wait_port(port: int, within: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


def port_taken(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Results:
    ok: bool = True
    failures: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            self.ok = False
            self.failures.append(what)
            log(f"FAILED: {what}")


class Cluster:
    """Every server of the rehearsal, and the app's processes."""

    def __init__(self) -> None:
        self.home = pg_home()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.workers: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.worker_restarts = 0
        self.supervising = True
        self.inbox = Inbox()
        self.smtp = Controller(self.inbox, hostname="127.0.0.1", port=SMTP)

    # --- PostgreSQL ---------------------------------------------------------------------

    def data(self, name: str) -> Path:
        return self.home / name

    def pg_ctl(self, name: str, action: str, port: int, *extra: str) -> None:
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.data(name)), "-w", "-t", "60"]
        if action == "start":
            command += ["-l", str(self.home / f"{name}.log"), "-o", f"-p {port}"]
        run(as_postgres([*command, *extra, action]))

    def start_databases(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if is_root():
            shutil.chown(self.home, "postgres", "postgres")
            LOCAL.mkdir(exist_ok=True)
            (LOCAL / "cluster-location").write_text(f"{self.home}\n")
        self.home.chmod(0o700)
        password_file = self.home / "pw"
        password_file.write_text(PASSWORD + "\n")
        if is_root():
            shutil.chown(password_file, "postgres", "postgres")
        log("primary: initdb")
        run(
            as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data("primary")),
                    "-U",
                    USER,
                    f"--pwfile={password_file}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        )
        conf = f"""
listen_addresses = '127.0.0.1'
unix_socket_directories = '{self.home}'
max_connections = 200
shared_buffers = 128MB
fsync = off
full_page_writes = off
synchronous_commit = off
wal_level = replica
max_wal_senders = 5
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 30s
"""
        self._append(self.data("primary") / "postgresql.conf", conf)
        self._append(
            self.data("primary") / "pg_hba.conf",
            "host replication all 127.0.0.1/32 scram-sha-256\n",
        )
        self.pg_ctl("primary", "start", PRIMARY)
        admin = [
            str(PG_BIN / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(PRIMARY),
            "-U",
            USER,
            "-v",
            "ON_ERROR_STOP=1",
        ]
        environment = {**os.environ, "PGPASSWORD": PASSWORD}
        run([*admin, "-d", "postgres", "-qc", f"CREATE DATABASE {DATABASE}"], env=environment)
        run(
            [
                *admin,
                "-d",
                DATABASE,
                "-qc",
                "CREATE EXTENSION postgis; CREATE EXTENSION pg_trgm; "
                # Through a transaction-mode pooler no startup parameter carries the timeout.
                f"ALTER ROLE {USER} SET statement_timeout = '15s'",
            ],
            env=environment,
        )
        log("primary: migrations and the demo city (no demo reports)")
        app_env = {**os.environ, "MEIELINN_DATABASE_URL": direct_url(PRIMARY)}
        run([str(VENV / "alembic"), "upgrade", "head"], cwd=ROOT, env=app_env)
        run([str(VENV / "python"), "scripts/seed_demo.py", "--reports", "0"], cwd=ROOT, env=app_env)
        self.make_replica()

    def make_replica(self) -> None:
        log("replica: pg_basebackup from the primary, streaming")
        environment = {**os.environ, "PGPASSWORD": PASSWORD}
        shutil.rmtree(self.data("replica"), ignore_errors=True)
        run(
            as_postgres(
                [
                    "env",
                    f"PGPASSWORD={PASSWORD}",
                    str(PG_BIN / "pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(PRIMARY),
                    "-U",
                    USER,
                    "-D",
                    str(self.data("replica")),
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                ]
            ),
            env=environment,
        )
        self.pg_ctl("replica", "start", REPLICA)

    @staticmethod
    def _append(path: Path, text: str) -> None:
        with path.open("a") as handle:
            handle.write(text)

    def start_bouncer(self) -> None:
        directory = self.home / "pgbouncer"
        directory.mkdir(exist_ok=True)
        (directory / "userlist.txt").write_text(f'"{USER}" "{PASSWORD}"\n')
        (directory / "pgbouncer.ini").write_text(
            f"""[databases]
{DATABASE} = host=127.0.0.1 port={PRIMARY} dbname={DATABASE}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {BOUNCER}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {directory}/userlist.txt
pool_mode = transaction
# Lets a client that sends it connect (the role carries the timeout); with it, an engine
# without MEIELINN_DATABASE_POOLER=transaction connects, and its prepared statements fail.
ignore_startup_parameters = statement_timeout
max_client_conn = 500
default_pool_size = 40
logfile = {directory}/pgbouncer.log
"""
        )
        if is_root():
            for path in (directory, *directory.iterdir()):
                shutil.chown(path, "postgres", "postgres")
        # Started as the postgres user itself (not through runuser), so that killing this
        # process ends PgBouncer.
        owner: dict[str, Any] = {"user": "postgres", "group": "postgres"} if is_root() else {}
        self.processes["pgbouncer"] = subprocess.Popen(  # noqa: S603
            ["/usr/sbin/pgbouncer", "-q", str(directory / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **owner,
        )
        wait_port(BOUNCER)
        version = run(["/usr/sbin/pgbouncer", "--version"]).stdout.decode().splitlines()[0]
        log(f"PgBouncer in transaction mode on {BOUNCER} ({version})")

    # --- Redis --------------------------------------------------------------------------

    def start_redis(self, name: str, port: int, *extra: str) -> None:
        directory = STATE / "redis" / name
        directory.mkdir(parents=True, exist_ok=True)
        self.processes[name] = subprocess.Popen(  # noqa: S603
            [
                "/usr/bin/redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(directory),
                "--save",
                "",
                "--appendonly",
                "no",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(port)

    def start_sentinels(self) -> None:
        for index, port in enumerate(SENTINELS):
            directory = STATE / "redis" / f"sentinel-{index}"
            directory.mkdir(parents=True, exist_ok=True)
            conf = directory / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {REDIS_MASTER} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} 2000\n"
                f"sentinel failover-timeout {MASTER_NAME} 10000\n"
                f"sentinel parallel-syncs {MASTER_NAME} 1\n"
            )
            self.processes[f"sentinel-{index}"] = subprocess.Popen(  # noqa: S603
                ["/usr/bin/redis-sentinel", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_port(port)

    def sentinel_master(self) -> int | None:
        for port in SENTINELS:
            with contextlib.suppress(subprocess.CalledProcessError):
                answer = run(
                    [
                        "/usr/bin/redis-cli",
                        "-p",
                        str(port),
                        "--raw",
                        "SENTINEL",
                        "get-master-addr-by-name",
                        MASTER_NAME,
                    ]
                )
                lines = answer.stdout.decode().split()
                if len(lines) == 2:
                    return int(lines[1])
        return None

    # --- the app ------------------------------------------------------------------------

    def app_env(self) -> dict[str, str]:
        environment = dict(os.environ)
        for key in list(environment):
            if key.startswith("MEIELINN_"):
                del environment[key]
        environment.update(
            {
                "MEIELINN_ENV": "development",
                "MEIELINN_DATABASE_URL": direct_url(BOUNCER),
                "MEIELINN_DATABASE_POOLER": "transaction",
                "MEIELINN_DATABASE_REPLICA_URLS": direct_url(REPLICA),
                "MEIELINN_REPLICA_MAX_LAG_SECONDS": "5",
                "MEIELINN_REPLICA_CHECK_SECONDS": "1",
                "MEIELINN_DATABASE_POOL_SIZE": "10",
                "MEIELINN_REDIS_URL": "redis://127.0.0.1:6379/0",
                "MEIELINN_REDIS_SENTINELS": ",".join(f"127.0.0.1:{port}" for port in SENTINELS),
                "MEIELINN_REDIS_SENTINEL_MASTER": MASTER_NAME,
                "MEIELINN_ARQ_QUEUE_NAME": "meielinn:cluster",
                "MEIELINN_SMTP_HOST": "127.0.0.1",
                "MEIELINN_SMTP_PORT": str(SMTP),
                "MEIELINN_SLA_SWEEP_SECONDS": "1",
                "MEIELINN_HEARTBEAT_SECONDS": "5",
                "MEIELINN_LOG_LEVEL": "WARNING",
                "MEIELINN_MEDIA_DIR": str(STATE / "media"),
                # The rehearsal's load comes from one address.
                "MEIELINN_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP": "1000",
            }
        )
        return environment

    def start_api(self, index: int) -> None:
        port = API[index]
        self.processes[f"api-{index}"] = subprocess.Popen(  # noqa: S603
            [
                str(VENV / "uvicorn"),
                "--factory",
                "service.main:run_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-proxy-headers",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.app_env(),
            stdout=subprocess.DEVNULL,
            stderr=open(STATE / f"api-{index}.log", "ab"),  # noqa: SIM115
        )

    def wait_api(self, index: int, within: float = 90.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{API[index]}/readyz", timeout=2).is_success:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"API {index} did not become ready")

    def start_worker(self, pool: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603
            [str(VENV / POOLS[pool][0]), *POOLS[pool][1:]],
            cwd=ROOT,
            env=self.app_env(),
            stdout=subprocess.DEVNULL,
            stderr=open(STATE / f"worker-{pool}.log", "ab"),
        )

    async def supervise(self) -> None:
        while self.supervising:
            for index, (pool, process) in enumerate(self.workers):
                if process.poll() is not None:
                    self.workers[index] = (pool, self.start_worker(pool))
                    self.worker_restarts += 1
            await asyncio.sleep(0.3)

    # --- the end ------------------------------------------------------------------------

    def stop(self, keep: bool) -> None:
        self.supervising = False
        for _, process in self.workers:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()
        with contextlib.suppress(Exception):
            self.smtp.stop()
        for name, port in (("replica", REPLICA), ("primary", PRIMARY)):
            if (self.data(name) / "postmaster.pid").exists():
                with contextlib.suppress(subprocess.CalledProcessError):
                    self.pg_ctl(name, "stop", port, "-m", "immediate")
        if not keep:
            shutil.rmtree(self.home, ignore_errors=True)
            shutil.rmtree(STATE, ignore_errors=True)
            (LOCAL / "cluster-location").unlink(missing_ok=True)


# --- measurements -----------------------------------------------------------------------


# PostgreSQL 15 backends report their statistics when idle, up to 10 s late: counts are read
# once every backend has had that long.
STATS_DELAY = 11.0


async def transactions(port: int) -> int:
    """Transactions the server has finished in the database (its own statistics; call after
    STATS_DELAY of quiet for an exact count)."""
    connection = await asyncpg.connect(dsn(port))
    try:
        value: int = await connection.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
            DATABASE,
        )
        return value
    finally:
        await connection.close()


def loadgen(
    port: int, connections: int, seconds: float, paths: list[str]
) -> subprocess.Popen[bytes]:
    spec = {
        "port": port,
        "connections": connections,
        "seconds": seconds,
        "warmup": 0.5,
        "requests": [{"method": "GET", "path": path} for path in paths],
    }
    process = subprocess.Popen(  # noqa: S603
        [str(VENV / "python"), str(ROOT / "bench" / "loadgen.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(spec).encode())
    process.stdin.close()
    return process


def loadgen_result(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert process.stdout is not None
    output = process.stdout.read()
    process.wait()
    result: dict[str, Any] = json.loads(output)
    return result


def server_errors(result: dict[str, Any]) -> int:
    return sum(count for status, count in result["statuses"].items() if int(status) >= 500)


async def sign_in(client: httpx.AsyncClient, port: int, local: str) -> dict[str, str]:
    response = await client.post(
        f"http://127.0.0.1:{port}/v1/auth/token",
        data={"username": f"{local}@demo.meielinn.ee", "password": "meielinn-demo"},
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def department_loop(results: Results) -> None:
    """File on one API, change on the other, read back through the other after each step."""
    a, b = (f"http://127.0.0.1:{port}" for port in API)
    async with httpx.AsyncClient(timeout=10) as client:
        resident = await sign_in(client, API[0], "resident")
        moderator = await sign_in(client, API[1], "moderator")
        staff = await sign_in(client, API[0], "staff")
        connection = await asyncpg.connect(dsn(PRIMARY))
        try:
            reason_id = str(
                await connection.fetchval("SELECT id FROM reason WHERE code = 'pothole'")
            )
        finally:
            await connection.close()
        steps: list[tuple[str, float]] = []

        async def read_back(
            base: str, headers: dict[str, str], report_id: str, state: str, what: str
        ) -> None:
            started = time.perf_counter()
            seen = (await client.get(f"{base}/v1/reports/{report_id}", headers=headers)).json()
            steps.append((what, time.perf_counter() - started))
            results.check(
                seen.get("state") == state,
                f"read-your-writes after {what}: {seen.get('state')} != {state}",
            )

        filed = await client.post(
            f"{a}/v1/reports",
            json={
                "reason_id": reason_id,
                "lat": 58.3806,
                "lon": 26.7251,
                "description": "A deep pothole in front of the town hall.",
                "attributes": {"size": "large"},
            },
            headers={**resident, "Idempotency-Key": f"cluster-{time.monotonic_ns()}"},
        )
        results.check(
            filed.status_code == 201, f"filing answered {filed.status_code}: {filed.text[:200]}"
        )
        report_id = filed.json()["id"]
        await read_back(b, resident, report_id, "submitted", "filing (API 1 → read on API 2)")
        accepted = await client.post(
            f"{b}/v1/moderation/reports/{report_id}/accept",
            headers={**moderator, "If-Match": filed.headers["ETag"]},
        )
        results.check(accepted.status_code == 200, f"accept answered {accepted.status_code}")
        await read_back(a, moderator, report_id, "accepted", "acceptance (API 2 → API 1)")
        claimed = await client.post(f"{a}/v1/reports/{report_id}/claim", headers=staff)
        results.check(claimed.status_code == 200, f"claim answered {claimed.status_code}")
        await read_back(b, staff, report_id, "in_progress", "claim (API 1 → API 2)")
        answered = await client.post(
            f"{b}/v1/reports/{report_id}/responses",
            json={"outcome": "fixed", "text": "Patched this morning."},
            headers=staff,
        )
        results.check(
            answered.status_code == 201,
            f"answer answered {answered.status_code}: {answered.text[:200]}",
        )
        await read_back(a, resident, report_id, "answered", "answer (API 2 → API 1)")
        rated = await client.post(
            f"{a}/v1/reports/{report_id}/rating",
            json={"score": 5, "resolved": True},
            headers=resident,
        )
        results.check(
            rated.status_code == 201, f"rating answered {rated.status_code}: {rated.text[:200]}"
        )
        final = (await client.get(f"{b}/v1/reports/{report_id}", headers=resident)).json()["state"]
        results.check(final in ("closed", "answered"), f"after the rating: {final}")
        # The public (no credentials) reads from the replica: how soon it shows the change.
        started = time.monotonic()
        public_state = None
        while time.monotonic() - started < 10:
            public = await client.get(f"{b}/v1/reports/{report_id}")
            public_state = public.json().get("state") if public.is_success else None
            if public_state == final:
                break
            await asyncio.sleep(0.05)
        results.check(public_state == final, f"the public read never showed {final}")
        results.figures["department_loop"] = {
            "steps": len(steps),
            "final_state": final,
            "public_sees_it_after_s": round(time.monotonic() - started, 3),
        }


@contextlib.contextmanager
def workers_paused(cluster: Cluster) -> Iterator[None]:
    """The workers stopped (SIGSTOP) while reads are counted per database, so that the
    primary's transactions are the reads' own, not the sweeps' and heartbeats'."""
    for _, process in cluster.workers:
        process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for _, process in cluster.workers:
            process.send_signal(signal.SIGCONT)


async def throughput(cluster: Cluster, results: Results) -> None:
    paths = [MAP_PATH, LIST_PATH, OPEN311_PATH]
    seconds = 10.0
    figures: dict[str, Any] = {}
    for processes in (1, 2):
        with workers_paused(cluster):
            await asyncio.sleep(STATS_DELAY)
            before = {port: await transactions(port) for port in (PRIMARY, REPLICA)}
            runs = [loadgen(API[i], 16 // processes, seconds, paths) for i in range(processes)]
            outputs = [loadgen_result(p) for p in runs]
            await asyncio.sleep(STATS_DELAY)
            after = {port: await transactions(port) for port in (PRIMARY, REPLICA)}
        primary = after[PRIMARY] - before[PRIMARY]
        replica = after[REPLICA] - before[REPLICA]
        figures[f"{processes}_api"] = {
            "reads_per_second": round(sum(o["per_second"] for o in outputs), 1),
            "p95_ms": max(o["p95_ms"] or 0 for o in outputs),
            "5xx": sum(server_errors(o) for o in outputs),
            "primary_transactions": primary,
            "replica_transactions": replica,
            "replica_share": round(replica / max(1, primary + replica), 3),
        }
        results.check(
            figures[f"{processes}_api"]["5xx"] == 0, f"5xx under read load ({processes} API)"
        )
        log(f"reads with {processes} API process(es): {figures[f'{processes}_api']}")
    results.check(
        figures["2_api"]["replica_share"] > 0.5, "the replica served under half the reads"
    )
    results.figures["reads"] = figures


async def kill_an_api(cluster: Cluster, results: Results) -> None:
    paths = [MAP_PATH, LIST_PATH]
    survivor = loadgen(API[0], 8, 8.0, paths)
    victim = loadgen(API[1], 8, 8.0, paths)
    await asyncio.sleep(3.0)
    cluster.processes["api-1"].kill()
    cluster.processes["api-1"].wait()
    killed_at = time.monotonic()
    kept, lost = loadgen_result(survivor), loadgen_result(victim)
    results.check(server_errors(kept) == 0, "5xx from the API process left running")
    results.check(server_errors(lost) == 0, "5xx from the killed process before it died")
    cluster.start_api(1)
    cluster.wait_api(1)
    results.figures["api_killed"] = {
        "survivor_reads_per_second": kept["per_second"],
        "survivor_5xx": server_errors(kept),
        "killed_process_connections_cut": lost["connection_errors"],
        "killed_process_5xx": server_errors(lost),
        "restart_to_ready_s": round(time.monotonic() - killed_at, 1),
    }
    log(f"API process killed under load: {results.figures['api_killed']}")


async def deadlines(cluster: Cluster, results: Results, reports: int, spread: float) -> None:
    url = direct_url(PRIMARY)
    first_due = system_clock() + timedelta(seconds=5 + reports / 300)
    # The demo's own staff and supervisor of the department step aside: the run's two
    # recipients get every breach's mail, as in `make faults`.
    connection = await asyncpg.connect(dsn(PRIMARY))
    try:
        await connection.execute(
            "DELETE FROM role_grant WHERE department_id = "
            "(SELECT id FROM department WHERE code = 'roads')"
        )
    finally:
        await connection.close()
    staff, supervisor = await _setup(
        url, FaultConfig(reports=reports, spread_seconds=spread), first_due
    )
    await _plan_all(url)
    log(
        f"{reports} deadlines fall due over {spread:.0f} s; "
        "a deadline worker and the Redis master fail meanwhile"
    )
    start = time.monotonic()
    due_in = max(0.0, (first_due - system_clock()).total_seconds())
    await asyncio.sleep(due_in + spread * 0.25)
    # A deadline worker killed outright.
    pool, victim = cluster.workers[0]
    victim.kill()
    victim.wait()
    results.figures["worker_killed"] = pool
    await asyncio.sleep(spread * 0.2)
    # The Redis master killed: the Sentinels promote the replica.
    master = cluster.sentinel_master()
    cluster.processes["redis-master"].kill()
    cluster.processes["redis-master"].wait()
    killed_at = time.monotonic()
    promoted = None
    while time.monotonic() - killed_at < 30:
        if cluster.sentinel_master() not in (None, master):
            promoted = time.monotonic() - killed_at
            break
        await asyncio.sleep(0.1)
    results.check(promoted is not None, "the Sentinels promoted no replica")
    ready: list[float] = []
    async with httpx.AsyncClient(timeout=2) as client:
        for port in API:
            while time.monotonic() - killed_at < 60:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).is_success:
                        ready.append(time.monotonic() - killed_at)
                        break
                await asyncio.sleep(0.1)
    results.check(len(ready) == len(API), "an API process did not follow the failover")
    # The old master comes back; the Sentinels make it a replica of the new one.
    cluster.start_redis("redis-master", REDIS_MASTER)
    results.figures["redis_failover"] = {
        "promoted_after_s": round(promoted, 2) if promoted is not None else None,
        "apis_ready_after_s": [round(r, 2) for r in ready],
    }
    log(f"Redis failover: {results.figures['redis_failover']}")
    # Everything due has fired, its mails arrived (or time is up).
    deadline = start + due_in + spread + 180
    shown = 0.0
    async with asyncpg.create_pool(dsn(PRIMARY), min_size=1, max_size=1) as pool_:
        while time.monotonic() < deadline:
            fired = await pool_.fetchval(
                "SELECT count(*) FROM sla_timer WHERE kind = 'breach' AND fired_at IS NOT NULL"
            )
            mails = len(
                [
                    key
                    for key in cluster.inbox.received
                    if key[0] in (staff, supervisor) and "overdue" in key[1].lower()
                ]
            )
            if fired >= reports and mails >= 2 * reports:
                break
            if time.monotonic() - shown >= 15:
                shown = time.monotonic()
                log(f"  {fired} breaches fired, {mails} of {2 * reports} overdue mails arrived")
            await asyncio.sleep(0.5)
    await asyncio.sleep(2.0)
    outcome = Figures(reports=reports)
    await check_outcomes(url, cluster.inbox, reports, (staff, supervisor), outcome)
    results.check(outcome.ok(), f"deadlines lost or duplicated: {outcome.__dict__}")
    results.check(outcome.missing_mails == 0, f"overdue mails missing: {outcome.missing_mails}")
    results.figures["deadlines"] = {
        "reports": reports,
        "lost": outcome.lost,
        "duplicated_events": outcome.duplicated_events,
        "duplicated_mails": outcome.duplicated_mails,
        "missing_mails": outcome.missing_mails,
        "resent_same_message": outcome.resent_same_message,
        "lag_p50_s": outcome.lag_p50,
        "lag_p99_s": outcome.lag_p99,
        "lag_max_s": outcome.lag_max,
        "worker_restarts": cluster.worker_restarts,
    }
    log(f"deadlines: {results.figures['deadlines']}")


async def stop_the_replica(cluster: Cluster, results: Results) -> None:
    paths = [MAP_PATH, LIST_PATH, OPEN311_PATH]
    load = loadgen(API[0], 8, 8.0, paths)
    await asyncio.sleep(3.0)
    cluster.pg_ctl("replica", "stop", REPLICA, "-m", "immediate")
    stopped_at = time.monotonic()
    before = await transactions(PRIMARY)
    result = loadgen_result(load)
    after = await transactions(PRIMARY)
    results.check(server_errors(result) == 0, "5xx while the replica stopped")
    results.figures["replica_stopped"] = {
        "reads_per_second": result["per_second"],
        "5xx": server_errors(result),
        "connection_errors": result["connection_errors"],
        "primary_transactions_after_the_stop": after - before,
        "seconds_measured_after_the_stop": round(time.monotonic() - stopped_at, 1),
    }
    log(f"replica stopped under load: {results.figures['replica_stopped']}")
    # Started again, it catches up and takes the public reads back.
    cluster.pg_ctl("replica", "start", REPLICA)
    restarted_at = time.monotonic()
    back_after = None
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() - restarted_at < 60:
            # Public reads keep coming (the checks run when reads ask for a replica).
            await client.get(f"http://127.0.0.1:{API[0]}{MAP_PATH}")
            ready = (await client.get(f"http://127.0.0.1:{API[0]}/readyz")).json()
            if ready["checks"]["replicas"]["in_use"] == 1:
                back_after = round(time.monotonic() - restarted_at, 2)
                break
            await asyncio.sleep(0.1)
    results.check(back_after is not None, "the replica was not used again after its restart")
    results.figures["replica_stopped"]["back_in_use_after_restart_s"] = back_after
    with workers_paused(cluster):
        await asyncio.sleep(STATS_DELAY)
        counts = {port: await transactions(port) for port in (PRIMARY, REPLICA)}
        again = loadgen_result(loadgen(API[0], 8, 4.0, paths))
        await asyncio.sleep(STATS_DELAY)
        primary = await transactions(PRIMARY) - counts[PRIMARY]
        replica = await transactions(REPLICA) - counts[REPLICA]
    share = round(replica / max(1, primary + replica), 3)
    results.check(server_errors(again) == 0, "5xx after the replica came back")
    results.check(share > 0.5, f"the replica took back only {share} of the reads")
    results.figures["replica_stopped"]["replica_share_once_back"] = share


async def pooler(results: Results) -> None:
    """The app's engine through PgBouncer 1.18 in transaction mode: with
    MEIELINN_DATABASE_POOLER=transaction every statement works (ORM statements, which
    SQLAlchemy prepares, and ``service.rawsql``'s, which asyncpg runs unnamed); without it,
    the statements asyncpg prepared and cached on one server connection are looked for on
    another ("prepared statement … does not exist")."""
    from sqlalchemy import text

    from service import rawsql
    from service.config import Settings
    from service.db import create_engine, create_sessionmaker

    figures: dict[str, Any] = {}
    for mode in ("none", "transaction"):
        settings = Settings(
            database_url=direct_url(BOUNCER), database_pooler=mode, database_pool_size=8
        )
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        errors: dict[str, int] = {}
        done = 0

        async def work(
            number: int,
            sessionmaker: Any = sessionmaker,
            errors: dict[str, int] = errors,
        ) -> None:
            nonlocal done
            try:
                async with sessionmaker() as session:
                    await session.execute(
                        text("SELECT count(*) FROM reason WHERE code <> :code"),
                        {"code": str(number)},
                    )
                    await rawsql.fetch(
                        session, "SELECT id FROM district WHERE code <> $1", str(number)
                    )
                    await session.commit()
                done += 1
            except Exception as exc:  # counted by kind: what a caller would have seen
                cause: BaseException = exc
                while cause.__cause__ is not None:
                    cause = cause.__cause__
                kind = type(cause).__name__
                errors[kind] = errors.get(kind, 0) + 1

        for start in range(0, 400, 16):
            await asyncio.gather(*(work(n) for n in range(start, start + 16)))
        await engine.dispose()
        figures[mode] = {"transactions_ok": done, "errors": errors}
    results.check(figures["transaction"]["errors"] == {}, "statements failed through PgBouncer")
    results.figures["pgbouncer_transaction_mode"] = figures
    log(f"through PgBouncer: {figures}")


async def rehearse(args: argparse.Namespace) -> Results:
    results = Results()
    used = [
        p
        for p in (PRIMARY, REPLICA, BOUNCER, REDIS_MASTER, REDIS_REPLICA, *SENTINELS, *API, SMTP)
        if port_taken(p)
    ]
    if used:
        raise SystemExit(f"[cluster] ports in use: {used}; is another rehearsal running?")
    cluster = Cluster()
    shutil.rmtree(STATE, ignore_errors=True)
    shutil.rmtree(cluster.home, ignore_errors=True)
    STATE.mkdir(parents=True)
    started = time.monotonic()
    supervisor: asyncio.Task[None] | None = None
    try:
        cluster.start_databases()
        cluster.start_bouncer()
        cluster.start_redis("redis-master", REDIS_MASTER)
        cluster.start_redis(
            "redis-replica", REDIS_REPLICA, "--replicaof", "127.0.0.1", str(REDIS_MASTER)
        )
        cluster.start_sentinels()
        cluster.smtp.start()
        log(
            "Redis master, replica and three Sentinels up; "
            "starting two API processes and four workers"
        )
        for index in range(len(API)):
            cluster.start_api(index)
        cluster.workers = [
            (pool, cluster.start_worker(pool))
            for pool in ("deadlines", "deadlines", "mail", "general+media")
        ]
        for index in range(len(API)):
            cluster.wait_api(index)
        supervisor = asyncio.create_task(cluster.supervise())
        results.figures["setup_s"] = round(time.monotonic() - started, 1)
        phases = {
            "pooler": lambda: pooler(results),
            "loop": lambda: department_loop(results),
            "reads": lambda: throughput(cluster, results),
            "api": lambda: kill_an_api(cluster, results),
            "deadlines": lambda: deadlines(cluster, results, args.reports, args.spread),
            "replica": lambda: stop_the_replica(cluster, results),
        }
        for name in args.phases.split(","):
            await phases[name]()
    finally:
        if supervisor is not None:
            cluster.supervising = False
            supervisor.cancel()
        cluster.stop(args.keep)
    results.figures["seconds"] = round(time.monotonic() - started, 1)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reports", type=int, default=int(os.environ.get("CLUSTER_REPORTS", "1000"))
    )
    parser.add_argument(
        "--spread", type=float, default=float(os.environ.get("CLUSTER_SPREAD_SECONDS", "60"))
    )
    parser.add_argument("--keep", action="store_true", help="leave the servers' files behind")
    parser.add_argument(
        "--phases",
        default="pooler,loop,reads,api,deadlines,replica",
        help="which steps to run, in order (default: all)",
    )
    args = parser.parse_args()
    results = asyncio.run(rehearse(args))
    print(
        json.dumps(
            {"bench": "cluster", "ok": results.ok, "failures": results.failures, **results.figures}
        )
    )
    return 0 if results.ok else 1


if __name__ == "__main__":
    sys.exit(main())
