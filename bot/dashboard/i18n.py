"""The dashboard's UI strings: one JSON catalogue per language (`locales/<lang>.json`, the same keys in each)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from fastapi import Request

LOCALES = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("ru", "en")
DEFAULT = "ru"
COOKIE = "voicebot_lang"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The strings of `lang` (one of LANGUAGES)."""
    return json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))


def language(request: Request) -> str:
    """The chosen language (cookie), else the browser's first supported one, else Russian."""
    chosen = request.cookies.get(COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGUAGES:
            return code
    return DEFAULT
