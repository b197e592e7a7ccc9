"""Phone numbers to E.164 with `phonenumbers`, plus the time zones a number's region spans.

Validity and time zones depend on a number's leading digits, so they are cached by country code and national
prefix (`PREFIX_DIGITS`) and number length: importing 100k numbers parses each only once cheaply.
"""

from __future__ import annotations

from typing import NamedTuple

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers import timezone as phone_timezones

PREFIX_DIGITS = 5
_UNKNOWN = object()
_SEPARATORS = str.maketrans("", "", " \t\u00a0()-.")


class PhoneError(ValueError):
    """The text is not a valid phone number; the message says why."""


class Phone(NamedTuple):
    e164: str
    timezones: tuple[str, ...]  # IANA zones of the number's region (several for e.g. Russian mobiles)
    zone_list: str = ""  # the same, comma-separated (as stored on a contact)


class PhoneNormalizer:
    """Turns user-typed numbers ('8 (912) 345-67-89', '+7 912 …') into E.164 for one default region."""

    def __init__(self, default_region: str = "RU") -> None:
        self.default_region = default_region.upper()
        self.country_code = phonenumbers.country_code_for_region(self.default_region)
        self.trunk_prefix = "8" if self.default_region == "RU" else None
        self._cache: dict[tuple[str, int], tuple[tuple[str, ...], str] | None] = {}
        self._home = f"+{self.country_code}"
        self._home_key = len(self._home) + PREFIX_DIGITS
        self._national_starts = (self.trunk_prefix, str(self.country_code)) if self.trunk_prefix else ()

    def normalize(self, raw: str) -> Phone:
        """The E.164 form and time zones of `raw`, or PhoneError."""
        text = raw.translate(_SEPARATORS)
        if len(text) == 11 and text[0] in self._national_starts and text.isdigit() and text.isascii():
            e164 = self._home + text[1:]  # national form with trunk prefix, e.g. 8 916 … in Russia
            key = e164[: self._home_key]
        else:
            if not text:
                raise PhoneError("empty phone number")
            digits = text[1:] if text[0] == "+" else text
            if not (6 <= len(digits) <= 16 and digits.isascii() and digits.isdigit()):
                return self._slow(raw)
            if text[0] == "+":
                e164 = text
            elif text.startswith("00"):
                e164 = "+" + text[2:]
            else:
                return self._slow(raw)
            cc_len = next((n for n in (1, 2, 3) if int(e164[1 : 1 + n]) in COUNTRY_CODE_TO_REGION_CODE), 3)
            key = e164[: 1 + cc_len + PREFIX_DIGITS]
        zones = self._cache.get((key, len(e164)), _UNKNOWN)
        if zones is _UNKNOWN:
            zones = self._learn((key, len(e164)), e164)
        return self._slow(raw) if zones is None else Phone(e164, *zones)

    def _learn(self, key: tuple[str, int], e164: str) -> tuple[tuple[str, ...], str] | None:
        """Cache what phonenumbers says of this prefix: only valid, already canonical numbers take the fast path."""
        try:
            canonical = self._slow(e164)
        except PhoneError:
            canonical = None
        good = canonical is not None and canonical.e164 == e164
        self._cache[key] = (canonical.timezones, canonical.zone_list) if good else None
        return self._cache[key]

    def _slow(self, raw: str) -> Phone:
        try:
            number = phonenumbers.parse(raw, self.default_region)
        except phonenumbers.NumberParseException as exc:
            raise PhoneError(f"not a phone number: {raw!r}") from exc
        if not phonenumbers.is_valid_number(number):
            raise PhoneError(f"invalid phone number: {raw!r}")
        zones = tuple(z for z in phone_timezones.time_zones_for_number(number) if z != "Etc/Unknown")
        return Phone(
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), zones, ",".join(zones)
        )
