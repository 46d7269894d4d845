"""The web app's texts that lack a translation: ``python scripts/web_messages.py`` lists them
per language; ``--po AREA`` prints them as entries to add to ``locale/<lang>/AREA.po``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.languages import Language
from service.web.i18n import missing_messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--po", action="store_true", help="print .po entries to fill in")
    arguments = parser.parse_args()
    for language in (Language.et, Language.ru):
        missing = sorted(missing_messages(language))
        print(f"# {language}: {len(missing)} missing")
        for text in missing:
            if arguments.po:
                escaped = text.replace("\\", "\\\\").replace('"', '\\"')
                print(f'msgid "{escaped}"\nmsgstr ""\n')
            else:
                print(f"  {text}")


if __name__ == "__main__":
    main()
