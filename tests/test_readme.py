"""The README's shell examples work on any day they are run: dates are computed relative to
today (GNU ``date -d``), never written out, so a deadline in an example cannot fall on or
before the one the server computed and leave the next command with ``null``."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
SHELL_BLOCK = re.compile(r"```(?:sh|bash|shell)\n(.*?)```", re.DOTALL)
WRITTEN_DATE = re.compile(r"\b(?:19|20)\d\d-\d\d-\d\d\b|\byear=(?:19|20)\d\d\b")


def _commands() -> list[str]:
    lines = []
    for block in SHELL_BLOCK.findall(README.read_text(encoding="utf-8")):
        for line in block.splitlines():
            # Comments show answers and forms ("# {"due_at": …}"); only commands run.
            command = re.sub(r"(^|\s)#.*$", "", line).strip()
            if command:
                lines.append(command)
    return lines


def test_the_readmes_commands_write_no_dates() -> None:
    commands = _commands()
    assert len(commands) > 100, "the README's shell blocks were not found"
    dated = [line for line in commands if WRITTEN_DATE.search(line)]
    assert not dated, "compute dates with $(date -d …) instead:\n" + "\n".join(dated)


def test_the_readmes_dates_are_gnu_date_relative_to_today() -> None:
    computed = [line for line in _commands() if "$(date" in line]
    assert any("extension-requests" in line or "due_at" in line for line in computed)
