"""Write the app's OpenAPI document to openapi/openapi.json (``make openapi``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.main import create_app  # noqa: E402

TARGET = ROOT / "openapi" / "openapi.json"


def render() -> str:
    """The committed form of the schema: sorted keys, two-space indent, final newline."""
    return json.dumps(create_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
