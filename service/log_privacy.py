"""Logs never carry the values a database error quotes.

A failed statement's error names its bound parameters (SQLAlchemy's ``[parameters: …]``,
hidden by the engine's ``hide_parameters``), and the driver's and the server's messages quote
values too: asyncpg's "invalid input for query argument $1: 'mari@example.org'", PostgreSQL's
``DETAIL:  Key (email)=(mari@example.org) already exists`` or ``invalid input syntax for type
uuid: "…"``. Those are residents' emails, names and descriptions. So wherever a database error
reaches the log — a traceback (``exc_info``) or an argument of the message (arq logs
``"… failed, %s: %s"`` with the exception) — it is written as its class, SQLSTATE, the
constraint, table and column it names and the statement's text (parameters are placeholders,
``$1``), never as its message; so are the exceptions that led to it inside the driver. Other
exceptions are formatted as usual.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType
from typing import Any

from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.exc import StatementError

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
# What a driver's or server's error names besides its message (asyncpg's attributes).
_NAMED_PARTS = ("constraint_name", "table_name", "column_name", "data_type_name")
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def is_database_error(exc: BaseException) -> bool:
    """A SQLAlchemy statement error, or the driver's error (asyncpg's, or SQLAlchemy's
    adaptation of it) beneath one."""
    module = type(exc).__module__
    return (
        isinstance(exc, StatementError)
        or module.split(".")[0] == "asyncpg"
        or module == "sqlalchemy.dialects.postgresql.asyncpg"
    )


def describe(exc: BaseException) -> str:
    """A database error as a log may show it: no message, only what names no value."""
    parts = [f"{type(exc).__module__}.{type(exc).__qualname__}"]
    code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(exc, StatementError) and code is None:
        original = exc.orig
        code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if isinstance(code, str):
        parts.append(f"sqlstate {code}")
    for name in _NAMED_PARTS:
        value = getattr(exc, name, None)
        if isinstance(value, str) and value:
            parts.append(f"{name.removesuffix('_name')} {value}")
    if isinstance(exc, StatementError) and exc.statement:
        parts.append(f"statement: {' '.join(exc.statement.split())[:1000]}")
    return "database error (message withheld: it may quote values); " + "; ".join(parts)


def _chain(exc: BaseException) -> list[tuple[BaseException, str]]:
    """The exceptions Python would print for ``exc``, oldest first, each with the line that
    links it to the one before."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    # Printed oldest first: each one's link line goes before the exception that follows it.
    chain.reverse()
    return [(item, chain[index - 1][1] if index else "") for index, (item, _) in enumerate(chain)]


def format_exception(exc: BaseException) -> str:
    """``exc`` with its traceback and causes as Python prints them, database errors in the
    chain described by :func:`describe`."""
    chain = _chain(exc)
    # What led to a database error is the driver's own work on the values (a codec's error
    # may quote the value it could not encode): withheld as well.
    last = max((i for i, (item, _) in enumerate(chain) if is_database_error(item)), default=-1)
    lines: list[str] = []
    for index, (item, link) in enumerate(chain):
        lines.append(link)
        if item.__traceback__ is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_tb(item.__traceback__))
        if is_database_error(item):
            lines.append(describe(item) + "\n")
        elif index < last:
            name = f"{type(item).__module__}.{type(item).__qualname__}"
            lines.append(f"{name} (message withheld: it may quote values)\n")
        else:
            lines.extend(traceback.format_exception_only(type(item), item))
    return "".join(lines).rstrip("\n")


def _involves_database(exc: BaseException | None) -> bool:
    return exc is not None and any(is_database_error(item) for item, _ in _chain(exc))


def _redacted(value: Any) -> Any:
    return (
        describe(value) if isinstance(value, BaseException) and is_database_error(value) else value
    )


class PrivateJsonFormatter(JsonFormatter):
    """The JSON log formatter, with database errors described instead of quoted."""

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, BaseException) for a in args):
            record = logging.makeLogRecord(record.__dict__)
            record.args = tuple(_redacted(a) for a in args)
        message: object = record.msg
        if isinstance(message, BaseException) and is_database_error(message):
            record = logging.makeLogRecord(record.__dict__)
            record.msg = describe(message)
        return super().format(record)

    def formatException(self, ei: Any) -> str | list[str]:  # type: ignore[override]
        exc = ei[1] if isinstance(ei, tuple) else None
        if isinstance(exc, BaseException) and _involves_database(exc):
            return format_exception(exc)
        result: str | list[str] = super().formatException(ei)
        return result
