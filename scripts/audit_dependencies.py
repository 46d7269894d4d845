"""Known vulnerabilities in the locked dependencies (pip-audit against PyPI's advisories).

    python scripts/audit_dependencies.py

Audits exactly what ``uv.lock`` pins (``uv export``), not whatever happens to be installed.
Exit status 1 when any pinned version has a published advisory. When the advisory service
cannot be asked at all (no network, or a package mirror that does not serve PyPI's
per-version JSON, where every package comes back "not found"), it says so and exits 0: a
build without internet still lints, and ``MEIELINN_AUDIT_STRICT=1`` (set it in CI with
internet) turns that case into a failure too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = os.environ.get("UV", str(ROOT / ".local" / "uv" / "bin" / "uv"))
PIP_AUDIT = ROOT / ".venv" / "bin" / "pip-audit"


def locked_requirements() -> str:
    export = ["export", "--frozen", "--format", "requirements-txt", "--no-hashes"]
    return subprocess.run(  # noqa: S603 (our own tools, fixed arguments)
        [UV, *export, "--no-emit-project", "--quiet"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def main() -> int:
    strict = os.environ.get("MEIELINN_AUDIT_STRICT") == "1"
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as requirements:
        requirements.write(locked_requirements())
        requirements.flush()
        options = ["--vulnerability-service", "pypi", "--progress-spinner", "off", "-f", "json"]
        result = subprocess.run(  # noqa: S603 (our own tools, fixed arguments)
            [str(PIP_AUDIT), "-r", requirements.name, "--no-deps", "--disable-pip", *options],
            capture_output=True,
            text=True,
            timeout=600,
        )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        print(f"pip-audit: no report ({result.stderr.strip()[-300:]})", file=sys.stderr)
        return 1 if strict else 0
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    audited = [d for d in dependencies if "skip_reason" not in d]
    for dependency in vulnerable:
        ids = ", ".join(v["id"] for v in dependency["vulns"])
        print(f"pip-audit: {dependency['name']} {dependency['version']}: {ids}", file=sys.stderr)
    if vulnerable:
        return 1
    if not audited:
        print(
            f"pip-audit: the advisory service answered for none of the {len(dependencies)} "
            "locked packages (offline, or a mirror without per-version JSON); not audited",
            file=sys.stderr,
        )
        return 1 if strict else 0
    print(f"pip-audit: {len(audited)} locked packages, no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
