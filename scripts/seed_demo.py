"""Load the demo Tartu (districts, departments, catalogue, buildings, routing rules, one
account per role, the 2019 Smart House training programme and a few thousand reports) into
the configured database. Idempotent.

    python scripts/seed_demo.py             load or refresh the demo city
    python scripts/seed_demo.py --if-empty  only when the database has no districts yet
    python scripts/seed_demo.py --no-accounts   the city only (no accounts, no reports)
    python scripts/seed_demo.py --reports 20000

Demo accounts and reports are refused when MEIELINN_ENV=production; the city data is not.
With --if-empty a database that has a city costs one query: the app is not even imported.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import db_state

ALREADY_SEEDED = "[seed] the database has a city already; nothing loaded"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--if-empty", action="store_true", help="skip a database with data")
    parser.add_argument("--no-accounts", action="store_true", help="no demo accounts or reports")
    parser.add_argument("--reports", type=int, default=3000, help="demo reports (default 3000)")
    args = parser.parse_args(argv)
    if args.if_empty and db_state.main(["has-city"]) == 0:
        print(ALREADY_SEEDED, file=sys.stderr)
        return 0
    return asyncio.run(load(args))


async def load(args: argparse.Namespace) -> int:
    # Imported here: loading the app's modules takes seconds, the check above milliseconds.
    from service.clock import system_clock
    from service.config import Environment, settings_or_exit
    from service.db import create_engine, create_sessionmaker, transaction
    from service.demo.seed import DEMO_DOMAIN, DEMO_PASSWORD, is_empty, seed

    settings = settings_or_exit()
    accounts = not args.no_accounts and settings.env is not Environment.production
    engine = create_engine(settings)
    started = time.perf_counter()
    print(
        f"[seed] demo: loading Tartu ({args.reports if accounts else 0} reports; "
        "about half a minute the first time)",
        file=sys.stderr,
    )
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            if args.if_empty and not await is_empty(session):
                print(ALREADY_SEEDED, file=sys.stderr)
                return 0
            report = await seed(
                session,
                settings,
                system_clock(),
                accounts=accounts,
                reports=args.reports if accounts else 0,
            )
    finally:
        await engine.dispose()
    print(
        f"[seed] demo Tartu: {report.districts} districts, {report.departments} departments, "
        f"{report.reasons} reasons, {report.routing_rules} routing rules, "
        f"{report.buildings_added} new buildings, {report.reports_added} new reports "
        f"({time.perf_counter() - started:.1f} s)",
        file=sys.stderr,
    )
    if report.training_added:
        print("[seed] the 2019 Smart House training programme (smart-house-2019)", file=sys.stderr)
    if report.ideas_added:
        print("[seed] the idea bank: 3 areas with expert pools and 3 ideas", file=sys.stderr)
    if report.lab_added:
        print(
            "[seed] the living lab: a panel of 320, a finished pilot (smart-meter-app) and "
            "one recruiting (e-waste-pickup)",
            file=sys.stderr,
        )
    if report.accounts_added:
        print(
            f"[seed] demo accounts (password {DEMO_PASSWORD!r}): "
            + ", ".join(report.accounts_added),
            file=sys.stderr,
        )
    elif accounts:
        print(
            f"[seed] demo accounts: <role>@{DEMO_DOMAIN}, password {DEMO_PASSWORD!r}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
